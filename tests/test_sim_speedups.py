"""The simulator's speed-ups change nothing: the same route gives the same ticks and results as before.

tests/sim_golden_route.json was written by the simulator before the speed-ups (corner memos,
the vectorised nearby(), cached LiDAR patterns and self-hits, cameras nobody reads): per tick
the ego pose (exact floats), a hash of the LiDAR points the agent received and the actor
count, and the route's results record, for the expert (160 ticks) and the route follower
(100 ticks) on route 111 (a signalised junction with traffic and buildings). A deliberate
change of the simulator's behaviour rewrites it: `PYTHONPATH=. .venv/bin/python
tests/test_sim_speedups.py` from the repository root, and says so in its commit.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from sim.agents import AutoMoTAgentFactory
from sim.config import SimConfig
from sim.evaluation import RunOptions, run_route
from sim.lidar import LidarSimulator
from sim.route_file import read_routes
from sim.route_runner import RouteRunner
from sim.sensor_suite import SensorSuite
from sim.statistics import ResultsFile

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = json.loads((Path(__file__).parent / "sim_golden_route.json").read_text())


def _spec(route_id: str):
    return next(r for r in read_routes(ROOT / "bench2drive_routes" / "embedded_full.xml") if r.id == route_id)


def _trace(tmp_path: Path, route_id: str, ticks: int, expert: bool) -> tuple[list, dict]:
    cfg = SimConfig()
    cfg = replace(cfg, criteria=replace(cfg.criteria, tick_limit=ticks))
    rows = []

    def on_tick(runner, agent) -> None:
        e = runner.world.ego
        points = agent.last_observation.lidar_points
        rows.append([e.x, e.y, e.yaw, e.speed, hashlib.sha1(points.tobytes()).hexdigest()[:16],
                     len(runner.world.actors)])

    clock = iter(range(10**6))
    options = RunOptions(tmp_path, on_tick=on_tick, wall_clock=lambda: float(next(clock)),
                         now=lambda: datetime(2026, 1, 1))
    factory = AutoMoTAgentFactory(tmp_path, None, expert=expert, expert_config=cfg.expert)
    record, _ = run_route(_spec(route_id), 0, factory, cfg, options, ResultsFile(tmp_path / "r.json"))
    return rows, json.loads(json.dumps(record))


@pytest.mark.parametrize("golden", GOLDEN, ids=lambda g: f"{'expert' if g['expert'] else 'route_follower'}")
def test_same_route_same_ticks_and_results_as_before(tmp_path: Path, golden: dict) -> None:
    rows, record = _trace(tmp_path, golden["route"], golden["ticks"], golden["expert"])
    assert len(rows) == len(golden["poses"])
    for tick, (row, expected) in enumerate(zip(rows, golden["poses"])):
        assert row == expected, f"tick {tick} differs"
    assert record == golden["record"]
    assert max(r[3] for r in rows) > 3.0  # it drove: the trace is not a car standing still


def _brute_nearby(world, xy, radius, exclude=frozenset(), road_users_only=True) -> list[int]:
    """nearby() as it was: one pass over every actor."""
    out = []
    for a in world.actors.values():
        if a.id in exclude or not a.collidable:
            continue
        if road_users_only and (a.role == "infrastructure" or a.type_id == "static.building"):
            continue
        if (a.x - xy[0]) ** 2 + (a.y - xy[1]) ** 2 <= (radius + a.extent[0]) ** 2:
            out.append(a.id)
    return out


def test_nearby_matches_a_pass_over_every_actor() -> None:
    runner = RouteRunner(_spec("111"), SimConfig(), seed=5)
    world = runner.world
    rng = np.random.default_rng(0)
    checked = 0
    for tick in range(60):
        runner.tick_world()
        runner.update()
        if tick == 30:  # spawn / destroy invalidate the index
            world.destroy(next(a.id for a in world.actors.values() if a.role == "background"))
            world.spawn("vehicle.audi.a2", "scenario", world.ego.x + 8.0, world.ego.y, 0.0)
        for _ in range(5):
            xy = np.array([world.ego.x, world.ego.y]) + rng.normal(0, 30, 2)
            radius = float(rng.uniform(2, 40))
            for users in (True, False):
                got = [a.id for a in world.nearby(xy, radius, exclude={world.ego.id}, road_users_only=users)]
                assert got == _brute_nearby(world, xy, radius, {world.ego.id}, users)
                checked += len(got)
    assert checked > 100


def test_actor_corners_follow_the_pose_and_are_read_only() -> None:
    runner = RouteRunner(_spec("111"), SimConfig(), seed=5)
    actor = runner.world.ego
    first = actor.corners()
    assert actor.corners() is first  # memo
    with pytest.raises(ValueError):
        first[0, 0] = 1.0
    actor.set_pose(actor.x + 1.0, actor.y, actor.yaw + 0.1, 0.05)
    moved = actor.corners()
    assert not np.allclose(moved, first)
    c, s = math.cos(actor.yaw), math.sin(actor.yaw)
    front_centre = moved[:2].mean(axis=0)
    assert np.allclose(front_centre, [actor.x + c * actor.extent[0], actor.y + s * actor.extent[0]])


def test_lidar_self_hits_are_the_hits_of_testing_every_ray() -> None:
    """The ego's boxes against their precomputed candidate rays, the other boxes' azimuth windows
    from the rotated, pre-sorted pattern: the very points of testing every ray by arctan2 windows."""
    cfg = SimConfig()
    runner = RouteRunner(_spec("111"), cfg, seed=5)
    world = runner.world
    mount = {"x": 0.0, "y": 0.0, "z": 2.5, "yaw": -90.0}
    full = LidarSimulator(mount, cfg.lidar, cfg.dt, np.random.default_rng(3))
    full._level = False  # azimuths by arctan2 + argsort of every ray, as before (not the rotated pattern's)
    fast = LidarSimulator(mount, cfg.lidar, cfg.dt, np.random.default_rng(3))
    on_ego = 0
    for tick in range(8):
        ego = world.ego
        ego.x, ego.y, ego.yaw = ego.x + 0.7 * tick, ego.y + 0.1, ego.yaw + 0.37 * tick  # any pose
        world._boxes = None
        boxes = world.boxes()
        a = full.scan(ego.x, ego.y, ego.yaw, boxes)
        b = fast.scan(ego.x, ego.y, ego.yaw, boxes, self_ids=(ego.id,))
        np.testing.assert_array_equal(a, b)
        on_ego += int((a[:, 2] > -1.0).sum())  # points less than 1 m under the sensor: roof and bonnet
    assert on_ego > 100


def test_cameras_nobody_reads_are_not_rendered_but_the_recorder_s_is(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path) -> None:
    from sim.camera import CameraRenderer
    from sim.recorder import RecordingAgent

    rendered: list[int] = []
    real_render = CameraRenderer.render

    def counting_render(self, *args, **kwargs):
        rendered.append(1)
        return real_render(self, *args, **kwargs)

    monkeypatch.setattr(CameraRenderer, "render", counting_render)
    cfg = SimConfig()
    runner = RouteRunner(_spec("111"), cfg, seed=5)
    factory = AutoMoTAgentFactory(tmp_path, None, expert=True, expert_config=cfg.expert)
    agent = factory.create(runner, "localhost", 2000)
    agent.setup("")
    read = agent.sensor_ids_read()
    assert read is not None and "rgb_front" not in read and "lidar" in read
    suite = SensorSuite(agent.sensors(), runner.world, cfg, np.random.default_rng(0))
    runner.tick_world()
    data = suite.capture(runner.world, read)
    assert rendered == [] and not data["rgb_front"][1].any()
    assert len(data["lidar"][1]) > 1000

    recording = RecordingAgent.__new__(RecordingAgent)  # only its sensor bookkeeping
    recording.inner, recording.recorded_sensor_ids = agent, frozenset({"rgb_front"})
    data = suite.capture(runner.world, recording.sensor_ids_read())
    assert rendered == [1] and data["rgb_front"][1].any()


def _corridor_hits_loop(path, s_ego, ego_front, actors, half_width_of):
    """corridor_hits as it was: one actor at a time."""
    from sim.expert_geometry import Hit, project_points

    if not actors:
        return []
    corners = np.concatenate([a.corners() for a in actors])
    s_c, lat_c, k = project_points(path, corners)
    s_c, lat_c, k = s_c.reshape(-1, 4), lat_c.reshape(-1, 4), k.reshape(-1, 4)
    hits = []
    for i, actor in enumerate(actors):
        lat = lat_c[i]
        inside = (np.abs(lat) < half_width_of[actor.id]).any() or (lat.min() < 0 < lat.max())
        if not inside or (k[i] >= len(path.xy) - 1).all():
            continue
        s_near = float(s_c[i].min())
        if s_c[i].max() < s_ego - ego_front:
            continue
        j = int(np.clip(np.searchsorted(path.s, s_near), 0, len(path.s) - 1))
        speed_along = actor.vx * math.cos(path.yaw[j]) + actor.vy * math.sin(path.yaw[j])
        hits.append(Hit(actor, s_near, s_near - s_ego - ego_front, float(speed_along), float(np.min(np.abs(lat)))))
    return hits


def test_corridor_hits_match_the_per_actor_loop_on_random_scenes() -> None:
    from sim.expert_geometry import OffsetProfile, build_path, corridor_hits
    from sim.privileged import ActorInfo

    rng = np.random.default_rng(7)
    found = 0
    for _ in range(200):
        heading = np.cumsum(rng.normal(0, 0.05, 80))
        xy = np.cumsum(np.stack([np.cos(heading), np.sin(heading)], axis=1), axis=0)
        cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(xy, axis=0), axis=1))])
        path = build_path(xy, heading, cum, np.zeros(80, int), 5.0, 60.0, OffsetProfile(float(rng.normal(0, 1))))
        actors = [ActorInfo(i, "vehicle.audi.a2", "background", *(xy[rng.integers(0, 80)] + rng.normal(0, 3, 2)),
                            float(rng.uniform(-3, 3)), 5.0, float(rng.normal()), float(rng.normal()),
                            (2.0, 0.9, 0.8), "vehicle", True, False, None) for i in range(int(rng.integers(0, 12)))]
        halves = {a.id: float(rng.uniform(0.5, 2.0)) for a in actors}
        s_ego = float(rng.uniform(5, 30))
        assert corridor_hits(path, s_ego, 2.0, actors, halves) == _corridor_hits_loop(path, s_ego, 2.0, actors, halves)
        found += len(_corridor_hits_loop(path, s_ego, 2.0, actors, halves))
    assert found > 100


if __name__ == "__main__":  # rewrite the golden trace (only for a deliberate change of behaviour)
    import tempfile

    import sim

    assert Path(sim.__file__).resolve().is_relative_to(ROOT), f"{sim.__file__}: run with PYTHONPATH=."
    traces = []
    for route, ticks, expert in (("111", 160, True), ("111", 100, False)):
        with tempfile.TemporaryDirectory() as tmp:
            poses, record = _trace(Path(tmp), route, ticks, expert)
        traces.append({"route": route, "ticks": ticks, "expert": expert, "poses": poses, "record": record})
    (Path(__file__).parent / "sim_golden_route.json").write_text(json.dumps(traces))
