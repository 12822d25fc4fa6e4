"""Record one route with the expert (run in its own process by `automot collect`).

The route is driven exactly as `automot sim --agent expert` drives it (the leaderboard's loop in
sim/evaluation.py), through RecordingAgent. It is recorded into <out>/.partial/<name>/ and only
moved to its place, <out>/<ScenarioType>/<name>/, once results.json.gz is written: a folder in
place is a finished route, a leftover partial folder is redone. A route the expert fails (not
Bench2Drive-successful) is left out and its record goes to <out>/_failed/<name>.json.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from agent.automot_config import load_agent_config
from bench2drive_routes.route_spec import scenario_type_from_name
from core.atomic_files import atomic_write_json
from data.layout import RouteFolder
from sim.agents import AutoMoTAgentFactory
from sim.collect_config import CollectConfig, collect_config_from_dict
from sim.evaluation import RunOptions, route_seed, run_route
from sim.recorder import RecordingAgent, perturber_for
from sim.route_file import RouteSpec, read_routes
from sim.route_runner import RouteRunner
from sim.scenarios import ABILITY
from sim.statistics import ResultsFile

PARTIAL_DIR = ".partial"
FAILED_DIR = "_failed"
ROUTE_INFO = "automot_route.json"  # beside the PDM-Lite files: route id, town, scenario, seed, pulses
SUCCESS_STATUSES = ("Completed", "Perfect")


def route_folder_name(spec: RouteSpec) -> str:
    return f"{spec.town}_{spec.name}"


def final_path(out: Path, spec: RouteSpec) -> Path:
    return out / spec.scenarios[0].type / route_folder_name(spec) if spec.scenarios else \
        out / "NoScenario" / route_folder_name(spec)


def failed_path(out: Path, spec: RouteSpec) -> Path:
    return out / FAILED_DIR / f"{route_folder_name(spec)}.json"


def is_done(out: Path, spec: RouteSpec) -> bool:
    return RouteFolder(final_path(out, spec)).finished or failed_path(out, spec).is_file()


def succeeded(record: dict) -> bool:
    """Bench2Drive's success: Completed / Perfect and no infraction but min speed."""
    if not str(record.get("status", "")).startswith(SUCCESS_STATUSES):
        return False
    return all(not events for key, events in record.get("infractions", {}).items() if key != "min_speed_infractions")


@dataclass(frozen=True)
class RouteJob:
    routes_file: str
    index: int
    out_dir: str
    config: dict  # CollectConfig as a plain dict (crosses the process boundary)
    background_vehicles: int | None = None  # the generator's traffic density for this route
    progress: Any = None  # a multiprocessing queue for (route name, completion %, sim seconds), or None


class RecordingFactory:
    """AutoMoTAgentFactory(expert) whose agents are wrapped in RecordingAgent."""

    name = "expert"

    def __init__(self, scratch: Path, folder: Path, cfg: CollectConfig) -> None:
        self.inner = AutoMoTAgentFactory(scratch, None, expert=True, expert_config=cfg.sim.expert)
        self.folder, self.cfg = folder, cfg
        self.camera_id = load_agent_config(None).sensors.front_camera_id
        self.agent: RecordingAgent | None = None

    def create(self, runner: RouteRunner, host: str, port: int) -> RecordingAgent:
        inner = self.inner.create(runner, host, port)
        perturber = perturber_for(route_seed(self.cfg.sim.seed, runner.spec.id), self.cfg.recovery, self.cfg.sim.dt)
        self.agent = RecordingAgent(inner, runner, RouteFolder(self.folder), self.cfg.data.layout, perturber,
                                    self.camera_id)
        return self.agent

    def setup_argument(self) -> str:
        return self.inner.setup_argument()


def _folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def collect_route(job: RouteJob) -> dict:
    """Record one route; returns its outcome (name, success, record, frames, seconds, bytes)."""
    cfg = collect_config_from_dict(job.config)
    spec = read_routes(job.routes_file)[job.index]
    out = Path(job.out_dir)
    name = route_folder_name(spec)
    partial = out / PARTIAL_DIR / name
    if partial.exists():
        shutil.rmtree(partial)  # a half-written route from an interrupted run: redone from scratch
    sim_cfg = cfg.sim
    if job.background_vehicles is not None:
        sim_cfg = replace(sim_cfg, traffic=replace(sim_cfg.traffic, background_vehicles=job.background_vehicles))
    scratch = partial / "_agent"
    factory = RecordingFactory(scratch, partial, cfg)

    def on_tick(runner: RouteRunner, agent: Any) -> None:
        if job.progress is not None and runner.world.tick_count % 40 == 0:
            job.progress.put((name, float(runner.completion.actual_value), float(runner.world.time)))

    wall = time.perf_counter()
    options = RunOptions(scratch, resume=False, on_tick=on_tick)
    record, _crashed = run_route(spec, job.index, factory, sim_cfg, options, ResultsFile(scratch / "results.json"))
    wall = time.perf_counter() - wall
    agent = factory.agent
    folder = RouteFolder(partial)
    shutil.rmtree(scratch, ignore_errors=True)
    ok = succeeded(record) and agent is not None and agent.frames > 0
    scenario_type = spec.scenarios[0].type if spec.scenarios else "NoScenario"
    info = {"route_id": spec.id, "route_name": spec.name, "town": spec.town, "scenario_type": scenario_type,
            "scenario_name": scenario_type_from_name(spec.scenario_name), "ability": ABILITY.get(scenario_type, ""),
            "seed": route_seed(cfg.sim.seed, spec.id), "background_vehicles": sim_cfg.traffic.background_vehicles,
            "frames": agent.frames if agent is not None else 0, "frame_period_s": cfg.data.layout.frame_period_s,
            "pulses": [asdict(p) for p in agent.perturber.pulses] if agent is not None else [],
            "routes_file": str(job.routes_file), "wall_s": round(wall, 2)}
    outcome = {"name": name, "success": ok, "record": record, "frames": info["frames"], "wall_s": wall,
               "duration_game": float(record["meta"]["duration_game"]), "scenario_type": scenario_type,
               "ability": info["ability"], "town": spec.town, "bytes": 0}
    if ok:
        atomic_write_json(partial / ROUTE_INFO, info)
        folder.write_results(record)  # results last: from here on the folder counts as finished
        target = final_path(out, spec)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            shutil.rmtree(target)
        partial.replace(target)
        outcome["bytes"] = _folder_bytes(target)
    else:
        if cfg.keep_failed and partial.exists():
            kept = out / FAILED_DIR / name
            shutil.rmtree(kept, ignore_errors=True)
            kept.parent.mkdir(parents=True, exist_ok=True)
            partial.replace(kept)
        shutil.rmtree(partial, ignore_errors=True)
        atomic_write_json(failed_path(out, spec), {"record": record, "info": info})
    return outcome


def finished_outcome(out: Path, spec: RouteSpec) -> dict:
    """The outcome of a route recorded by an earlier run (for the end-of-run summary)."""
    folder = RouteFolder(final_path(out, spec))
    if folder.finished:
        record = folder.results()
        info = json.loads((folder.path / ROUTE_INFO).read_text())
        return {"name": folder.name, "success": True, "record": record, "frames": info["frames"], "wall_s": info["wall_s"],
                "duration_game": float(record["meta"]["duration_game"]), "scenario_type": info["scenario_type"],
                "ability": info["ability"], "town": spec.town, "bytes": _folder_bytes(folder.path)}
    data = json.loads(failed_path(out, spec).read_text())
    info = data["info"]
    return {"name": route_folder_name(spec), "success": False, "record": data["record"], "frames": info["frames"],
            "wall_s": info["wall_s"], "duration_game": float(data["record"]["meta"]["duration_game"]),
            "scenario_type": info["scenario_type"], "ability": info["ability"], "town": spec.town, "bytes": 0}
