"""Threaded scheduler: a torch thread budget per side, and a simulator paced to wall-clock time for it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch
import yaml

from agent.automot_config import SchedulerConfig
from agent.planner_scheduler import PlannerScheduler
from agent.thread_budget import split_threads
from sim.agents import AutoMoTAgentFactory
from sim.config import SimConfig
from sim.evaluation import RunOptions, run_route
from sim.pacer import WallClockPacer
from sim.route_file import read_routes
from sim.statistics import ResultsFile

ROOT = Path(__file__).resolve().parents[1]


def approx(value: float):
    return pytest.approx(value, abs=1e-9)


class ThreadRecordingPlanner:
    def __init__(self) -> None:
        self.understand_threads: list[int] = []
        self.act_threads: list[int] = []

    def reset(self) -> None:
        pass

    def understand(self, observation):
        self.understand_threads.append(torch.get_num_threads())
        return observation.tick

    def act(self, observation, context):
        self.act_threads.append(torch.get_num_threads())
        return "plan"


class Obs:
    def __init__(self, tick: int) -> None:
        self.tick = tick


def test_split_threads_shares_the_cores() -> None:
    assert split_threads(0, 0, cores=2) == (1, 1)
    assert split_threads(0, 0, cores=16) == (8, 8)
    assert split_threads(0, 0, cores=1) == (1, 1)
    assert split_threads(3, 0, cores=8) == (3, 4)
    assert split_threads(0, 2, cores=8) == (6, 2)


def test_each_side_runs_with_its_budget_and_the_tick_thread_is_restored() -> None:
    before = torch.get_num_threads()
    act_budget = 2 if before != 2 else 3
    planner = ThreadRecordingPlanner()
    scheduler = PlannerScheduler(planner, SchedulerConfig(mode="threaded", ue_interval=1, understand_threads=1,
                                                          act_threads=act_budget))
    scheduler.step(Obs(0))
    scheduler.wait_idle(timeout=5)
    for tick in range(1, 4):
        assert scheduler.step(Obs(tick)) == "plan"
        scheduler.wait_idle(timeout=5)
    scheduler.close()
    assert planner.understand_threads and set(planner.understand_threads) == {1}
    assert planner.act_threads and set(planner.act_threads) == {act_budget}
    assert torch.get_num_threads() == before  # the simulator's own thread keeps its setting


def test_sync_scheduler_leaves_torch_alone() -> None:
    before = torch.get_num_threads()
    planner = ThreadRecordingPlanner()
    scheduler = PlannerScheduler(planner, SchedulerConfig(mode="sync", understand_threads=1, act_threads=1))
    scheduler.step(Obs(0))
    assert planner.understand_threads == [before] and planner.act_threads == [before]


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_pacer_holds_ticks_to_their_slots_and_restarts_after_an_overrun() -> None:
    clock = FakeClock()
    pacer = WallClockPacer(0.05, clock=clock, sleep=clock.sleep)
    pacer.wait()  # first tick: at once
    clock.now += 0.01  # a fast tick
    pacer.wait()
    assert clock.slept == [approx(0.04)]
    clock.now += 0.2  # an overrun: no sleep, no catch-up burst afterwards
    pacer.wait()
    assert len(clock.slept) == 1 and pacer.late_ticks == 1
    clock.now += 0.01
    pacer.wait()
    assert clock.slept[-1] == approx(0.04)


def _run(tmp_path: Path, mode: str, pace: bool | None, ticks: int = 12) -> tuple[dict, FakeClock]:
    config = tmp_path / f"{mode}.yaml"
    config.write_text(yaml.safe_dump({"scheduler": {"mode": mode}}))
    cfg = SimConfig()
    cfg = replace(cfg, criteria=replace(cfg.criteria, tick_limit=ticks), render=replace(cfg.render, enabled=False))
    spec = read_routes(ROOT / "bench2drive_routes" / "embedded_quick.xml")[0]
    clock = FakeClock()
    out = tmp_path / f"out_{mode}_{pace}"
    factory = AutoMoTAgentFactory(out, str(config), expert=True, expert_config=cfg.expert)
    options = RunOptions(out, wall_clock=clock, sleep=clock.sleep, pace=pace)
    record, _ = run_route(spec, 0, factory, cfg, options, ResultsFile(out / "r.json"))
    return record, clock


def test_threaded_agent_gets_a_paced_world_and_a_sync_one_does_not(tmp_path: Path) -> None:
    _, clock = _run(tmp_path, "threaded", None)
    # 13 world ticks (the 13th hits the cap): the first at once, then one 50 ms slot each on the fake clock
    assert len(clock.slept) == 12 and sum(clock.slept) == approx(12 * 0.05)
    _, clock = _run(tmp_path, "sync", None)
    assert clock.slept == []
    _, clock = _run(tmp_path, "sync", True)  # --pace on
    assert len(clock.slept) == 12


@pytest.mark.parametrize(("flag", "pace"), [([], None), (["--pace", "on"], True), (["--pace", "off"], False)])
def test_sim_cli_pace_option(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, flag: list, pace) -> None:
    import launch.cmd_sim as cmd_sim
    from launch.cli import main

    seen = {}
    monkeypatch.setattr(cmd_sim, "run_embedded_evaluation", lambda **kwargs: seen.update(kwargs) or 0)
    assert main(["sim", "--routes", "r.xml", "--out", str(tmp_path), *flag]) == 0
    assert seen["pace"] is pace
