"""Sensors in the leaderboard's formats and CARLA's conventions, checked against the agent's own decoders."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from agent.debug_frames import project_ego_points
from core.typed_config import ConfigError
from sensors.gnss import compass_to_yaw, gnss_to_world
from sensors.lidar import sensor_to_ego
from sensors.rig import build_sensor_dicts
from sensors.sensor_config import CameraSpec, LidarSpec, SensorConfig
from sim.config import NoiseConfig, SimConfig
from sim.lidar import LidarSimulator
from sim.route_file import RouteSpec
from sim.route_runner import RouteRunner
from sim.sensor_suite import SensorSuite
from sim.world import World
from sim.world_map import WorldMap

EGO = (-100.0, 1.75, 0.0)  # straight rural road, nothing else within 25 m
BOX_TYPE = "vehicle.audi.a2"


def _world(cfg: SimConfig) -> World:
    return World(WorldMap.load("EmbeddedRural"), cfg, 0, EGO)


def _noiseless() -> SimConfig:
    zero = NoiseConfig(gnss_lat_std_deg=0.0, gnss_lon_std_deg=0.0, gnss_alt_std_m=0.0, imu_accel_std=(0.0, 0.0, 0.0),
                       imu_gyro_std=0.0)
    return replace(SimConfig(), noise=zero)


def test_box_ahead_shows_up_at_the_expected_lidar_coordinates() -> None:
    cfg = SimConfig()
    world = _world(cfg)
    box = world.spawn(BOX_TYPE, "scenario", EGO[0] + 12.0, EGO[1], 0.0)
    spec = LidarSpec()  # the agent's mount: z 2.5 m, yaw -90 deg
    mount = {"x": spec.x, "y": spec.y, "z": spec.z, "roll": spec.roll, "pitch": spec.pitch, "yaw": spec.yaw}
    lidar = LidarSimulator(mount, cfg.lidar, cfg.dt, np.random.default_rng(0))
    sweep = np.concatenate([lidar.scan(world.ego.x, world.ego.y, world.ego.yaw, world.boxes()) for _ in range(2)])
    assert sweep.dtype == np.float32 and sweep.shape[1] == 4
    ego_pts = sensor_to_ego(sweep, spec)
    ex, ey, ez = box.extent
    on_box = ego_pts[(ego_pts[:, 2] > 0.2) & (ego_pts[:, 0] > 4.0) & (ego_pts[:, 0] < 30.0)]
    assert len(on_box) > 50
    assert np.all(on_box[:, 0] >= 12.0 - ex - 0.02) and np.all(on_box[:, 0] <= 12.0 + ex + 0.02)
    assert np.all(np.abs(on_box[:, 1]) <= ey + 0.02) and np.all(on_box[:, 2] <= 2 * ez + 0.02)
    assert on_box[:, 0].min() == pytest.approx(12.0 - ex, abs=0.03)  # the rear face
    radius = np.hypot(ego_pts[:, 0], ego_pts[:, 1])
    off_box = (np.abs(ego_pts[:, 1]) > ey + 0.3) | (ego_pts[:, 0] < 12.0 - ex - 0.3)
    ground = ego_pts[(radius > 5.0) & (radius < 18.0) & off_box]  # no other object this close
    assert len(ground) > 1000 and np.abs(ground[:, 2]).max() < 0.005  # the ground is the ego frame's z = 0
    assert np.all(np.linalg.norm(sweep[:, :3], axis=1) <= cfg.lidar.range_m + 1e-3)
    assert np.all((sweep[:, 3] > 0) & (sweep[:, 3] <= 1))


def test_lidar_pattern_is_half_a_sweep_per_tick() -> None:
    cfg = SimConfig()
    lidar = LidarSimulator({"x": 0, "y": 0, "z": 2.5, "yaw": 0}, cfg.lidar, cfg.dt, np.random.default_rng(0))
    first, second = lidar.rays(), lidar.rays()
    assert first.shape == (64, 469, 3)  # round(600000 / 20 / 64) rays per channel per tick
    elevation = np.degrees(np.arcsin(first[:, 0, 2]))
    assert elevation[0] == pytest.approx(10.0) and elevation[-1] == pytest.approx(-30.0)
    az1 = np.degrees(np.arctan2(first[0, :, 1], first[0, :, 0]))
    az2 = np.degrees(np.arctan2(second[0, :, 1], second[0, :, 0]))
    assert np.ptp(np.unwrap(np.radians(az1))) == pytest.approx(math.pi, abs=0.02)
    assert np.abs(np.sin(np.radians(az1[:, None] - az2[None, :]) / 2)).min() > 1e-4  # the other half


def test_box_ahead_shows_up_at_the_expected_pixels() -> None:
    cfg = SimConfig()
    sensor_cfg = SensorConfig()
    camera = sensor_cfg.cameras[0]  # 1024 x 512, fov 110, at (-1.5, 0, 2.0)
    rig = [s for s in build_sensor_dicts(sensor_cfg) if s["type"] == "sensor.camera.rgb"]
    empty_world, world = _world(cfg), _world(cfg)
    box = world.spawn(BOX_TYPE, "scenario", EGO[0] + 15.0, EGO[1] + 1.0, 0.0)
    before = SensorSuite(rig, empty_world, cfg, np.random.default_rng(0)).capture(empty_world)[camera.id][1]
    after = SensorSuite(rig, world, cfg, np.random.default_rng(0)).capture(world)[camera.id][1]
    assert after.shape == (camera.height, camera.width, 4) and after.dtype == np.uint8
    assert np.all(after[..., 3] == 255)
    ex, ey, ez = box.extent
    rear_face = np.array([[15.0 - ex, 1.0, ez], [15.0 - ex, 1.0 - 0.6 * ey, 0.5 * ez]])
    above = np.array([[15.0 - ex, 1.0, 2 * ez + 0.4]])
    uv, front = project_ego_points(np.vstack([rear_face, above]), camera, sensor_cfg, camera.width, camera.height)
    assert front.all()
    for u, v in uv[:2].round().astype(int):
        assert np.abs(after[v, u, :3].astype(int) - before[v, u, :3]).sum() > 30  # the box covers it
        assert np.abs(after[v, u, :3].astype(int) - np.asarray(box.color)).max() < 120  # in the box's colour
    u, v = uv[2].round().astype(int)
    assert np.array_equal(after[v, u], before[v, u])  # just above the box: unchanged background
    changed = np.argwhere(np.abs(after.astype(int) - before).sum(axis=2) > 0)
    assert changed[:, 1].min() > uv[0, 0] - 60 and changed[:, 1].max() < uv[0, 0] + 60  # nothing else moved


def test_gnss_and_compass_round_trip_through_the_agents_sensor_code() -> None:
    cfg = _noiseless()
    world = _world(cfg)
    world.apply_control(0.3, 0.8, 0.0)
    for _ in range(40):
        world.tick()
    suite = SensorSuite(build_sensor_dicts(SensorConfig()), world, cfg, np.random.default_rng(0))
    data = suite.capture(world)
    frame, gnss = data["gps"]
    assert frame == world.frame and gnss.dtype == np.float64 and gnss.shape == (3,)
    xyz = gnss_to_world(*gnss, ref=world.map.geo)
    assert np.allclose(xyz[:2], [world.ego.x, world.ego.y], atol=1e-6)
    imu = data["imu"][1]
    assert imu.shape == (7,) and imu[2] == pytest.approx(9.81)
    assert compass_to_yaw(imu[6]) == pytest.approx(math.remainder(world.ego.yaw, 2 * math.pi), abs=1e-9)
    assert imu[5] == pytest.approx(world.ego.yaw_rate)
    speed = data["speed"][1]["speed"]
    forward = world.ego.vx * math.cos(world.ego.yaw) + world.ego.vy * math.sin(world.ego.yaw)
    assert speed == pytest.approx(forward, rel=1e-9) and speed > 3.0  # SpeedometerReader: velocity . forward


def test_global_plan_gps_converts_back_to_the_dense_route() -> None:
    runner = RouteRunner(RouteSpec("1", "EmbeddedRural", np.array([[-300.0, 1.75, 0.0], [-150.0, 1.75, 0.0]])),
                         SimConfig(), 0)
    plan = runner.global_plan()
    assert len(plan.gps) == len(plan.world) == len(runner.route)
    for (gps, option), (transform, option_w) in zip(plan.gps[::25], plan.world[::25]):
        xyz = gnss_to_world(gps["lat"], gps["lon"], gps["z"], ref=runner.map.geo)
        assert np.allclose(xyz[:2], [transform.location.x, transform.location.y], atol=1e-6)
        assert int(option) == int(option_w)


def test_rigs_the_leaderboard_rejects_are_rejected() -> None:
    cfg = SimConfig()
    world = _world(cfg)
    good = build_sensor_dicts(SensorConfig())
    duplicate = good + [dict(good[0])]
    too_far = [dict(good[0], x=5.0)]
    nine_cameras = [dict(good[0], id=f"cam{i}") for i in range(9)]
    for bad in (duplicate, too_far, nine_cameras):
        with pytest.raises(ConfigError):
            SensorSuite(bad, world, cfg, np.random.default_rng(0))
    small = SensorConfig(cameras=(CameraSpec(id="rgb_front", x=-1.5, y=0.0, z=2.0, width=64, height=32),))
    icons = SensorSuite(build_sensor_dicts(small), world, cfg, np.random.default_rng(0)).icons
    assert icons == ["carla_camera", "carla_lidar", "carla_imu", "carla_gnss", "carla_speedometer"]
