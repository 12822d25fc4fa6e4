"""The leaderboard agent: call sequence, smoke loop, bad input, outputs, scheduler."""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from agent.automot_agent import AutoMoTAgent, get_entry_point
from agent.automot_config import SchedulerConfig
from agent.planner_scheduler import PlannerScheduler
from launch.synthetic_drive import SyntheticDrive, curved_route, run_synthetic_loop
from planner.interface import Plan
from planner.route_planner import GlobalPlanError

REPO = Path(__file__).resolve().parents[1]


def _config(tmp_path: Path, **sections) -> str:
    path = tmp_path / "agent.yaml"
    path.write_text(yaml.safe_dump(sections))
    return str(path)


def test_entry_point_and_load_by_path_like_the_leaderboard():
    assert get_entry_point() == "AutoMoTAgent"
    path = REPO / "agent" / "automot_agent.py"
    spec = importlib.util.spec_from_file_location("automot_agent_by_path", path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))  # what the leaderboard does
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    assert getattr(module, module.get_entry_point()).__name__ == "AutoMoTAgent"


def test_agent_folder_shadows_nothing():
    shadowing = {"config", "utils", "agent", "planner", "sensors", "scheduler", "common", "carla", "leaderboard"}
    names = {p.stem for p in (REPO / "agent").glob("*.py")}
    assert not names & shadowing


def test_smoke_loop_200_ticks_steers_towards_the_route():
    agent = AutoMoTAgent("localhost", 2000)
    result = run_synthetic_loop(agent, "", ticks=200, lateral_offset_m=1.5)
    controls, distances = result["controls"], result["distances"]
    # The leaderboard hands a plan downsampled to 50 m: the planner follows its chords.
    plan_route = agent.observations.route_planner.dense_route_world
    to_plan = np.array([np.min(np.linalg.norm(plan_route - p, axis=1)) for p in result["positions"]])
    assert np.isfinite(controls).all()
    assert (np.abs(controls[:, 0]) <= 1).all() and ((controls[:, 1:] >= 0) & (controls[:, 1:] <= 1)).all()
    assert controls[0, 2] == 1.0  # warm-up brake
    assert result["drive"].car.speed > 2.0 and result["drive"].car.x > 20.0  # it drove off
    assert distances[0] == pytest.approx(1.5, abs=0.05)
    assert to_plan[100:].max() < 0.3  # started 1.5 m off the road, converged onto the plan
    # it steered left (negative) to get back: the car started on the right of the road
    assert controls[20:60, 0].min() < -0.05


def test_outputs_with_a_save_path(tmp_path):
    config = _config(tmp_path, logging={"save_path": str(tmp_path / "out"), "metric_info_flush_every_ticks": 7})
    agent = AutoMoTAgent("localhost", 2000)

    class Hero:  # the CARLA actor methods metric_info reads
        def __init__(self, drive):
            self.drive = drive

        def get_acceleration(self):
            return type("V", (), {"x": 0.1, "y": 0.0, "z": 0.0})()

        get_angular_velocity = get_acceleration

        def get_transform(self):
            from core.carla_compat import make_transform

            return make_transform(self.drive.car.x, self.drive.car.y, 0.0, np.degrees(self.drive.car.yaw))

    drive = SyntheticDrive([], curved_route())
    agent.hero_actor = Hero(drive)
    agent.set_global_plan(*drive.global_plan())
    agent.setup(f"{config}+RouteScenario_7_rep0")
    drive.sensors = agent.sensors()
    for tick in range(30):
        x_at_tick = drive.car.x
        drive.apply(agent.run_step(drive.input_data(), tick * 0.05))
    agent.destroy()
    route_dir = tmp_path / "out" / "RouteScenario_7_rep0"
    info = json.loads((route_dir / "metric_info.json").read_text())
    assert sorted(info, key=int) == [str(i) for i in range(30)]
    assert set(info["0"]) == {"acceleration", "angular_velocity", "forward_vector", "right_vector", "location", "rotation"}
    assert info["29"]["location"][0] == pytest.approx(x_at_tick, abs=1e-3)
    assert (route_dir / "agent_config.yaml").is_file()
    ticks = [json.loads(line) for line in (route_dir / "ticks.jsonl").read_text().splitlines()]
    assert len(ticks) == 30 and {"steer", "throttle", "brake", "decisions"} <= set(ticks[-1])


def _agent_on_route(tmp_path, **sections):
    agent = AutoMoTAgent("localhost", 2000)
    drive = SyntheticDrive([], curved_route())
    agent.set_global_plan(*drive.global_plan())
    agent.setup(_config(tmp_path, **sections) if sections else "")
    drive.sensors = agent.sensors()
    return agent, drive


def test_bad_input_brakes_with_a_warning(tmp_path, caplog):
    agent, drive = _agent_on_route(tmp_path, controllers={"safety": {"warmup_ticks": 0}})
    for tick in range(10):  # get moving
        drive.apply(agent.run_step(drive.input_data(), tick * 0.05))
    data = drive.input_data()
    del data["lidar"]
    control = agent.run_step(data, 1.0)
    assert control.brake == 1.0 and control.throttle == 0.0
    assert "lidar" in caplog.text
    data = drive.input_data()
    data["rgb_front"] = (0, np.zeros((10, 10, 4), dtype=np.uint8))
    assert agent.run_step(data, 1.05).brake == 1.0
    data = drive.input_data()  # NaN compass and NaN LiDAR points are survivable
    data["imu"] = (0, np.array([0, 0, 9.8, 0, 0, 0, np.nan]))
    data["lidar"] = (0, np.full((100, 4), np.nan, dtype=np.float32))
    control = agent.run_step(data, 1.1)
    assert np.isfinite([control.steer, control.throttle, control.brake]).all()
    agent.destroy()


def test_malformed_global_plan_is_a_setup_error():
    agent = AutoMoTAgent("localhost", 2000)
    agent.set_global_plan([], [])
    with pytest.raises(GlobalPlanError, match="empty"):
        agent.setup("")
    with pytest.raises(RuntimeError, match="before setup"):
        AutoMoTAgent("localhost", 2000).sensors()


class SlowPlanner:
    """Understanding takes `delay` s and returns the tick it saw; act reports it."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.acted_on: list = []
        self.understood: list[int] = []
        self.gate = threading.Event()
        self.gate.set()

    def reset(self) -> None:
        pass

    def understand(self, observation):
        self.gate.wait()
        time.sleep(self.delay)
        self.understood.append(observation.tick)
        return {"tick": observation.tick}

    def act(self, observation, context):
        self.acted_on.append(context["tick"])
        return Plan(waypoints=np.zeros((6, 2), np.float32), route=np.zeros((20, 2), np.float32))


class Obs:
    def __init__(self, tick):
        self.tick = tick


def test_sync_scheduler_refreshes_every_interval():
    planner = SlowPlanner()
    scheduler = PlannerScheduler(planner, SchedulerConfig(ue_interval=3, mode="sync"))
    for tick in range(10):
        assert scheduler.step(Obs(tick)) is not None
    assert planner.understood == [0, 3, 6, 9]
    assert planner.acted_on == [0, 0, 0, 3, 3, 3, 6, 6, 6, 9]


def test_threaded_scheduler_never_waits_and_brakes_until_first_context():
    planner = SlowPlanner()
    planner.gate.clear()  # hold the first understanding pass
    scheduler = PlannerScheduler(planner, SchedulerConfig(ue_interval=2, mode="threaded"))
    start = time.perf_counter()
    assert scheduler.step(Obs(0)) is None  # no context yet: the agent brakes
    assert scheduler.step(Obs(1)) is None
    assert time.perf_counter() - start < 0.5  # the ticks did not wait for the worker
    planner.gate.set()
    scheduler.wait_idle(timeout=5)
    assert scheduler.step(Obs(2)) is not None
    scheduler.wait_idle(timeout=5)
    for tick in range(3, 8):
        scheduler.step(Obs(tick))
        scheduler.wait_idle(timeout=5)
    scheduler.close()
    assert planner.acted_on[0] == 0 and planner.acted_on == sorted(planner.acted_on)  # newest context, in order
    assert set(planner.understood) <= set(range(0, 8, 2))


def test_threaded_scheduler_surfaces_worker_errors():
    class Broken(SlowPlanner):
        def understand(self, observation):
            raise RuntimeError("model exploded")

    scheduler = PlannerScheduler(Broken(), SchedulerConfig(ue_interval=1, mode="threaded"))
    scheduler.step(Obs(0))
    with pytest.raises(RuntimeError, match="model exploded"):
        scheduler.wait_idle(timeout=5)
    scheduler.close()


@pytest.mark.carla
def test_run_step_returns_a_real_carla_vehicle_control():
    carla = pytest.importorskip("carla")
    agent = AutoMoTAgent("localhost", 2000)
    drive = SyntheticDrive([], curved_route())
    agent.set_global_plan(*drive.global_plan())
    agent.setup("")
    drive.sensors = agent.sensors()
    control = agent.run_step(drive.input_data(), 0.0)
    agent.destroy()
    assert isinstance(control, carla.VehicleControl)
    assert control.brake == pytest.approx(1.0)  # warm-up


def test_subclasses_the_leaderboards_agent_when_it_is_importable(monkeypatch):
    """Under the leaderboard the class must derive from its AutonomousAgent (sensor interface, plan downsampling)."""
    import types

    calls = []

    class AutonomousAgent:  # the leaderboard's constructor looks the hero up in CARLA
        def __init__(self, carla_host, carla_port, debug=False):
            self._global_plan = None
            self._global_plan_world_coord = None
            self.get_hero()

        def get_hero(self):
            calls.append("get_hero")
            raise AttributeError("'NoneType' object has no attribute 'get_actors'")  # no CARLA world

    fake = types.ModuleType("leaderboard.autoagents.autonomous_agent")
    fake.AutonomousAgent = AutonomousAgent
    fake.Track = type("Track", (), {"SENSORS": "SENSORS"})
    for name in ("leaderboard", "leaderboard.autoagents"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "leaderboard.autoagents.autonomous_agent", fake)
    spec = importlib.util.spec_from_file_location("automot_agent_under_leaderboard", REPO / "agent" / "automot_agent.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    agent = module.AutoMoTAgent("localhost", 2000)
    assert isinstance(agent, AutonomousAgent) and calls == ["get_hero"]
    assert agent.hero_actor is None  # no world (embedded simulator): tolerated, the simulator sets it
