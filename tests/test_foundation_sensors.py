"""Sensors: rig dicts and the leaderboard's rules, camera history, LiDAR, GNSS, state estimation, decoding."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.automot_config import AgentConfig
from core.typed_config import ConfigError
from sensors.camera import FrameHistory, bgra_to_rgb, prepare_model_image
from sensors.gnss import compass_to_yaw, gnss_to_world, world_to_gnss, yaw_to_compass
from sensors.lidar import SweepMerger, lidar_to_bev, lidar_to_bev_reference, sensor_to_ego
from sensors.rig import build_sensor_dicts, validate_sensor_dicts
from sensors.sensor_config import BevConfig, CameraSpec, LidarSpec, SensorConfig, StateEstimatorConfig
from sensors.sensor_frame import SensorDataError, decode_input_data
from sensors.state_estimator import StateEstimator


def test_default_rig_dicts():
    sensors = build_sensor_dicts(SensorConfig())
    by_id = {s["id"]: s for s in sensors}
    front = by_id["rgb_front"]
    assert front["type"] == "sensor.camera.rgb"
    assert (front["width"], front["height"], front["fov"], front["x"], front["z"]) == (1024, 512, 110.0, -1.5, 2.0)
    assert by_id["lidar"]["yaw"] == -90.0 and by_id["lidar"]["z"] == 2.5
    assert {s["type"] for s in sensors} == {
        "sensor.camera.rgb", "sensor.lidar.ray_cast", "sensor.other.imu", "sensor.other.gnss", "sensor.speedometer",
    }


def test_extra_cameras_are_configurable():
    config = SensorConfig(cameras=(
        CameraSpec(id="rgb_front", x=-1.5, y=0, z=2),
        CameraSpec(id="rgb_left", x=0, y=-0.5, z=2, yaw=-60, width=512, height=256, fov=90),
    ))
    ids = [s["id"] for s in build_sensor_dicts(config)]
    assert "rgb_left" in ids


def test_leaderboard_rules():
    base = {"x": 0.0, "y": 0.0, "z": 1.0, "roll": 0.0, "pitch": 0.0, "yaw": 0.0}
    cam = {"type": "sensor.camera.rgb", "width": 10, "height": 10, "fov": 90, **base}
    with pytest.raises(ConfigError, match="duplicate"):
        validate_sensor_dicts([{**cam, "id": "a"}, {**cam, "id": "a"}])
    with pytest.raises(ConfigError, match="more than 8"):
        validate_sensor_dicts([{**cam, "id": str(i)} for i in range(9)])
    with pytest.raises(ConfigError, match="not allowed"):
        validate_sensor_dicts([{**base, "type": "sensor.camera.depth", "id": "d"}])
    with pytest.raises(ConfigError, match=r"3\.0 m"):
        validate_sensor_dicts([{**cam, "id": "far", "x": 5.0}])
    with pytest.raises(ConfigError, match="missing"):
        validate_sensor_dicts([{"type": "sensor.camera.rgb", "id": "c", **base}])
    with pytest.raises(ConfigError, match="unique"):
        SensorConfig(cameras=(CameraSpec(id="lidar", x=0, y=0, z=1),), front_camera_id="lidar")


def test_bgra_to_rgb_and_resize():
    image = np.zeros((512, 1024, 4), dtype=np.uint8)
    image[..., 0], image[..., 1], image[..., 2] = 10, 20, 30  # B, G, R
    rgb = bgra_to_rgb(image)
    assert rgb.shape == (512, 1024, 3) and tuple(rgb[0, 0]) == (30, 20, 10)
    model = prepare_model_image(rgb, SensorConfig())
    assert model.shape == (256, 512, 3) and tuple(model[5, 5]) == (30, 20, 10)
    with pytest.raises(ValueError):
        bgra_to_rgb(np.zeros((4, 4), dtype=np.uint8))


def test_frame_history_spacing_and_route_start():
    history = FrameHistory(frames=4, stride_ticks=5)
    history.push(np.full((2, 2, 3), 0, dtype=np.uint8))
    assert [int(f[0, 0, 0]) for f in history.stack()] == [0, 0, 0, 0]  # start: repeat the first frame
    for tick in range(1, 21):
        history.push(np.full((2, 2, 3), tick, dtype=np.uint8))
    # newest tick 20 -> frames 5, 10, 15, 20 (0.25 s apart at 20 Hz), oldest first
    assert [int(f[0, 0, 0]) for f in history.stack()] == [5, 10, 15, 20]
    history.reset()
    with pytest.raises(RuntimeError):
        history.stack()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 3000))
def test_bev_equals_histogramdd_reference(seed, n):
    rng = np.random.default_rng(seed)
    points = rng.uniform(-40, 40, (n, 4)).astype(np.float32)
    points[:, 2] = rng.uniform(-1, 3, n)
    if n > 10:  # exact bin edges, the split height and the far edge
        points[:3, 0] = 32.0
        points[3:6, 1] = -32.0
        points[6:9, 2] = 0.2
        points[9, :2] = 0.25
    config = BevConfig()
    np.testing.assert_array_equal(lidar_to_bev(points, config), lidar_to_bev_reference(points, config))


def test_bev_layout_front_is_up_left_is_left():
    config = BevConfig()
    points = np.array([[20.0, -10.0, 1.0, 1.0]] * 7, dtype=np.float32)  # ahead and to the left, above split
    bev = lidar_to_bev(points, config)
    assert bev.shape == (2, 256, 256)
    row, col = np.argwhere(bev[1] > 0)[0]
    assert row == 255 - int((20.0 + 32) * 4) and col == int((-10.0 + 32) * 4)
    assert bev[1, row, col] == 1.0  # 7 points clipped at 5, normalised
    assert bev[0].sum() == 0


def test_sensor_to_ego_with_the_default_mount():
    mount = LidarSpec()  # z 2.5, yaw -90
    points = np.array([[10.0, 0.0, 0.0, 0.5]], dtype=np.float32)
    ego = sensor_to_ego(points, mount)
    assert ego.shape == (1, 4)
    # the sensor's x axis is turned 90 deg to the left of the car: the point lies on the car's left
    np.testing.assert_allclose(ego[0], [0.0, -10.0, 2.5, 0.5], atol=1e-5)


def test_sweep_merge_compensates_ego_motion():
    merger = SweepMerger()
    obstacle_world = np.array([20.0, 5.0])
    first = np.array([[20.0, 5.0, 1.0, 1.0]], dtype=np.float32)  # car at the origin, yaw 0
    merger.merge(first, np.array([0.0, 0.0]), 0.0)
    # the car moved 2 m forward and turned 10 deg; the new half sweep is empty
    yaw = math.radians(10)
    merged = merger.merge(np.zeros((0, 4), dtype=np.float32), np.array([2.0, 0.0]), yaw)
    c, s = math.cos(yaw), math.sin(yaw)
    d = obstacle_world - [2.0, 0.0]
    np.testing.assert_allclose(merged[0, :2], [c * d[0] + s * d[1], -s * d[0] + c * d[1]], atol=1e-5)


def test_gnss_round_trip_on_a_town12_sized_map():
    rng = np.random.default_rng(0)
    worst = 0.0
    for x, y in rng.uniform(-6000, 6000, (500, 2)):
        lat, lon, alt = world_to_gnss(x, y, 12.0)
        back = gnss_to_world(lat, lon, alt)
        worst = max(worst, float(np.hypot(back[0] - x, back[1] - y)))
    assert worst < 0.01


def test_compass_conventions_and_nan_guard():
    for yaw in (-3.0, -1.57, 0.0, 0.5, 3.0):
        assert math.isclose(compass_to_yaw(yaw_to_compass(yaw)), yaw, abs_tol=1e-9)
    assert math.isclose(compass_to_yaw(0.0), -math.pi / 2)  # north is CARLA's -y
    assert compass_to_yaw(float("nan"), last_valid_yaw=0.7) == 0.7


def test_state_estimator_dead_reckons_through_missing_fixes():
    estimator = StateEstimator(StateEstimatorConfig())
    compass = yaw_to_compass(0.0)
    estimator.update(np.array([0.0, 0.0]), compass, 10.0, 0.05)
    for _ in range(20):  # 1 s at 10 m/s with no GNSS
        position = estimator.update(None, compass, 10.0, 0.05).position
    np.testing.assert_allclose(position, [10.0, 0.0], atol=1e-6)
    position = estimator.update(np.array([10.5, 0.0]), float("nan"), 0.0, 0.05).position
    assert 10.0 < position[0] <= 10.5  # the fix pulls the estimate towards it
    with pytest.raises(ValueError, match="GNSS"):
        StateEstimator(StateEstimatorConfig()).update(np.array([np.nan, 0.0]), compass, 0.0, 0.05)


def _input_data(config: SensorConfig) -> dict:
    data = {}
    for spec in build_sensor_dicts(config):
        if spec["type"] == "sensor.camera.rgb":
            data[spec["id"]] = (7, np.zeros((spec["height"], spec["width"], 4), dtype=np.uint8))
        elif spec["type"] == "sensor.lidar.ray_cast":
            data[spec["id"]] = (7, np.ones((10, 4), dtype=np.float32))
        elif spec["type"] == "sensor.other.gnss":
            data[spec["id"]] = (7, np.array([42.0, 2.0, 0.0]))
        elif spec["type"] == "sensor.other.imu":
            data[spec["id"]] = (7, np.array([0, 0, 9.8, 0, 0, 0, 1.0]))
        else:
            data[spec["id"]] = (7, {"speed": 3.0})
    return data


def test_decode_valid_and_bad_input():
    config = AgentConfig().sensors
    frame = decode_input_data(_input_data(config), config)
    assert frame.frame == 7 and frame.speed == 3.0 and frame.lidar.shape == (10, 4) and not frame.warnings
    np.testing.assert_allclose(frame.gnss_world[:2], [0.0, 0.0], atol=1e-6)

    missing = _input_data(config)
    del missing["lidar"]
    with pytest.raises(SensorDataError, match="'lidar' is missing"):
        decode_input_data(missing, config)

    wrong = _input_data(config)
    wrong["rgb_front"] = (7, np.zeros((256, 512, 4), dtype=np.uint8))
    with pytest.raises(SensorDataError, match="rgb_front"):
        decode_input_data(wrong, config)

    noisy = _input_data(config)
    noisy["lidar"] = (7, np.array([[np.nan, 0, 0, 0], [1, 2, 3, 4]], dtype=np.float32))
    noisy["imu"] = (7, np.array([0, 0, 9.8, 0, 0, 0, np.nan]))
    frame = decode_input_data(noisy, config)
    assert frame.lidar.shape == (1, 4) and math.isnan(frame.compass) and len(frame.warnings) == 2

    empty = _input_data(config)
    empty["lidar"] = (7, np.zeros((0, 4), dtype=np.float32))
    assert "empty" in decode_input_data(empty, config).warnings[0]
