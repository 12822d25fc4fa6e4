"""Evaluate an agent on a route file: the leaderboard's run loop, results, resume, crash handling.

Per route (LeaderboardEvaluator._load_and_run_scenario): build the route
scenario, create the agent, set_global_plan, setup(config + '+' + save_name),
validate sensors, run ticks until the scenario ends, register the statistics
and write the checkpoint JSON atomically. A re-run with resume skips routes
that already have a final record; a route that failed before it could drive (the agent
could not be set up, its sensors were rejected, the simulation crashed) runs again.
Sensor rejection or a route that cannot be built stops the run ('Rejected' / 'Crashed'),
as in the leaderboard. A resume only continues the evaluation the folder holds
(sim/resume_check.py); the global record counts the route file's routes only.
"""

from __future__ import annotations

import logging
import time
import traceback
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from core.typed_config import ConfigError
from sim.agents import AgentFactory
from sim.config import SimConfig
from sim.pacer import WallClockPacer
from sim.resume_check import EvaluationFingerprint, EvaluationMismatch, check_or_record
from sim.route_file import RouteSpec, read_routes
from sim.route_runner import WEATHER_ID, RouteRunner, TickRuntimeError
from sim.sensor_suite import SensorSuite
from sim.statistics import (
    FAILURE_MESSAGES,
    ResultsFile,
    compute_global,
    compute_route_record,
    failed_record,
    new_route_record,
)

LOG = logging.getLogger("automot.sim")
RESULTS_NAME = "simulation_results.json"  # the leaderboard's default --checkpoint name
# Records of routes that never drove: a resume runs them again.
RETRY_STATUSES = frozenset(f"Failed - {FAILURE_MESSAGES[k][1]}" for k in ("Simulation", "Sensors", "Agent_init"))


@dataclass
class RunOptions:
    out_dir: Path
    resume: bool = True
    video: bool = False
    results_name: str = RESULTS_NAME
    wall_clock: Callable[[], float] = time.perf_counter  # duration_system (tests inject a fake)
    now: Callable[[], datetime] = datetime.now  # the save_name's timestamp
    on_tick: Callable[[RouteRunner, Any], None] | None = None  # (runner, agent) after every tick
    on_route_start: Callable[[RouteSpec, int, int], None] | None = None
    on_route_end: Callable[[dict], None] | None = None
    sensor_icons: list[str] = field(default_factory=list)
    # Pace the world to wall-clock time (sim/pacer.py). None: pace exactly when the agent asks for it
    # (AutoMoTAgent.needs_wall_clock: its scheduler runs the understanding pass in a thread).
    pace: bool | None = None
    sleep: Callable[[float], None] = time.sleep  # the pacer's sleep (tests inject a fake)


def route_seed(base: int, route_id: str) -> int:
    """Per-route seed: stable across runs, resumes and route orders."""
    return (base * 1_000_003 + zlib.crc32(route_id.encode())) % (2 ** 31)


def _load_results(results: ResultsFile) -> None:
    """Read the folder's checkpoint for a resume; an unreadable one is a named error, not a traceback."""
    try:
        results.load()
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise EvaluationMismatch(f"{results.path} is not a readable results file ({type(exc).__name__}: {exc}); "
                                 f"repair it, move it away, or run with --no-resume to start over") from None
    for k, record in enumerate(results.records):
        if not (isinstance(record, dict) and isinstance(record.get("route_id"), str)
                and isinstance(record.get("index"), int) and isinstance(record.get("status"), str)):
            raise EvaluationMismatch(f"{results.path}: record {k} lacks route_id / index / status; "
                                     f"repair it, move it away, or run with --no-resume to start over")


def finished_ids(results: ResultsFile) -> set[str]:
    """Record ids that end their route for good (a resume skips them)."""
    return {r["route_id"] for r in results.records if r.get("index", -1) != -1 and r["status"] not in RETRY_STATUSES}


def evaluate(routes_file: str | Path, factory: AgentFactory, cfg: SimConfig, options: RunOptions) -> ResultsFile:
    routes = read_routes(routes_file)
    if not routes:
        raise EvaluationMismatch(f"{routes_file} holds no routes")
    out = Path(options.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = ResultsFile(out / options.results_name)
    if options.resume:
        _load_results(results)
    check_or_record(out, EvaluationFingerprint.of(routes_file, routes, factory, cfg), options.resume,
                    [r["route_id"] for r in results.records])
    wanted = {f"{r.name}_rep0" for r in routes}
    done = finished_ids(results)
    total = len(routes)
    results.progress = [len(wanted & done), total]
    results.write()
    crashed = False
    for index, spec in enumerate(routes):
        if f"{spec.name}_rep0" in done:
            continue
        if options.on_route_start is not None:
            options.on_route_start(spec, index, total)
        record, crashed = run_route(spec, index, factory, cfg, options, results)
        results.put(record)
        results.progress = [len(wanted & finished_ids(results)), total]
        results.write()
        if options.on_route_end is not None:
            options.on_route_end(record)
        if crashed:
            LOG.error("route %s: %s; stopping the run", spec.id, record["status"])
            break
    if not crashed:
        # Only the route file's routes count, each once (StatisticsManager over this file's routes).
        records = [r for r in results.records if r["route_id"] in wanted]
        results.global_record, results.values, results.entry_status = compute_global(records, total)
        results.write()
    return results


def run_route(spec: RouteSpec, index: int, factory: AgentFactory, cfg: SimConfig, options: RunOptions,
              results: ResultsFile) -> tuple[dict, bool]:
    """(record, crashed): one route end to end."""
    route_name = f"{spec.name}_rep0"
    save_name = f"{route_name}_{spec.town}_{spec.scenario_name}_{WEATHER_ID}_{options.now().strftime('%m_%d_%H_%M_%S')}"
    record = new_route_record(route_name, spec.scenario_name, WEATHER_ID, save_name, spec.town)
    try:
        runner = RouteRunner(spec, cfg, route_seed(cfg.seed, spec.id))
    except Exception:
        LOG.error("route %s could not be loaded:\n%s", spec.id, traceback.format_exc())
        results.entry_status = FAILURE_MESSAGES["Simulation"][0]
        return failed_record(record, index, FAILURE_MESSAGES["Simulation"][1]), True
    agent = None
    try:
        agent = factory.create(runner, cfg.agent_host, cfg.agent_port)
        plan = runner.global_plan()
        agent.set_global_plan(plan.gps, plan.world)
        agent.setup(factory.setup_argument() + "+" + save_name)
        suite = SensorSuite(agent.sensors(), runner.world, cfg, _sensor_rng(runner))
        if not results.sensors:
            results.sensors = suite.icons
    except ConfigError as exc:
        LOG.error("the agent's sensors are invalid: %s", exc)
        results.entry_status = FAILURE_MESSAGES["Sensors"][0]
        _destroy(agent)
        return failed_record(record, index, FAILURE_MESSAGES["Sensors"][1]), True
    except Exception:
        LOG.error("could not set up the agent:\n%s", traceback.format_exc())
        _destroy(agent)
        return failed_record(record, index, FAILURE_MESSAGES["Agent_init"][1]), False

    video = _open_video(options, runner, save_name) if options.video else None
    pacer = _pacer(options, agent, cfg)
    read_ids = _sensor_ids_read(agent)
    failure = ""
    start = options.wall_clock()
    try:
        while True:
            if pacer is not None:
                pacer.wait()
            runner.tick_world()
            input_data = suite.capture(runner.world, read_ids)
            try:
                control = agent.run_step(input_data, runner.world.time)
            except Exception:
                LOG.error("the agent crashed:\n%s", traceback.format_exc())
                failure = FAILURE_MESSAGES["Agent_runtime"][1]
                break
            runner.apply_control(control)
            running = runner.update()
            if video is not None:
                video.add(runner, agent)
            if options.on_tick is not None:
                options.on_tick(runner, agent)
            if not running:
                break
    except TickRuntimeError:
        failure = "TickRuntime"
    except BaseException:  # Ctrl-C: let the agent flush its files, then stop
        runner.terminate()
        _destroy(agent)
        if video is not None:
            video.close()
        raise
    duration_system = options.wall_clock() - start
    runner.terminate()
    _destroy(agent)
    if video is not None:
        video.close()
    # GameTime counts every tick the scenario manager ran, the one that hit the tick cap included.
    record = compute_route_record(record, index, runner.all_criteria(), runner.timeout.timeout, runner.route_length,
                                  runner.world.tick_count * cfg.dt, duration_system, failure, cfg.criteria)
    return record, False


def _sensor_ids_read(agent: Any) -> frozenset[str] | None:
    """The ids the agent says it reads (cameras nobody reads are not rendered); None: all."""
    ask = getattr(agent, "sensor_ids_read", None)
    return ask() if callable(ask) else None


def _pacer(options: RunOptions, agent: Any, cfg: SimConfig) -> WallClockPacer | None:
    pace = options.pace if options.pace is not None else bool(getattr(agent, "needs_wall_clock", False))
    if not pace:
        return None
    LOG.info("pacing the world to wall-clock time (%.0f Hz)", 1.0 / cfg.dt)
    return WallClockPacer(cfg.dt, clock=options.wall_clock, sleep=options.sleep)


def _sensor_rng(runner: RouteRunner) -> np.random.Generator:
    return np.random.default_rng(runner.world.rng.getrandbits(32))


def _destroy(agent: Any) -> None:
    if agent is None:
        return
    try:
        agent.destroy()
    except Exception:
        LOG.error("failed to stop the agent:\n%s", traceback.format_exc())


def _open_video(options: RunOptions, runner: RouteRunner, save_name: str) -> Any:
    from sim.topdown import RouteVideo

    return RouteVideo(Path(options.out_dir) / save_name / "topdown.mp4", runner)
