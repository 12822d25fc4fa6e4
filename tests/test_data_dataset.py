"""The dataset on PDM-Lite folders written by hand (no simulator): layout, labels, BEV, errors, splits."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from data_fixtures import PERIOD, straight, write_route

from data.data_config import DecisionRuleConfig
from data.dataset import DrivingDataset, collate, split_by_route
from data.labels import decision_word
from data.layout import FrameFileError
from data.sample_view import WAYPOINT_RGB, draw_camera, project_ground
from sensors.lidar import lidar_to_bev
from sensors.sensor_config import SensorConfig


def test_hand_written_real_layout_loads_with_labels_from_the_future(tmp_path):
    poses, speeds = straight(20, 8.0)
    other = [(40.0 + 5.0 * PERIOD * k, 8.5, 0.0) for k in range(20)]  # a car 30 m ahead, 3.5 m right, 5 m/s
    write_route(tmp_path, "Town12_Route1", poses, speeds, other)
    ds = DrivingDataset([tmp_path], image_size=None)
    assert len(ds) == 20 - 12  # 3 s of future needed: 12 frames at 0.25 s
    s = ds[0]
    assert s.images.shape == (4, 64, 128, 3) and s.images.dtype == np.uint8
    assert np.array_equal(s.images[0], s.images[3])  # route start: the first frame repeats, as the agent does
    s5 = ds[5]
    assert [int(f[0, 0, 0]) for f in s5.images] == pytest.approx([14, 21, 28, 35], abs=2)  # frames 2..5 in order
    np.testing.assert_allclose(s.waypoints, [[4.0 * k, 0.0] for k in range(1, 7)], atol=1e-5)  # 8 m/s, every 0.5 s
    np.testing.assert_allclose(s.speed_targets, [8.0, 8.0, 8.0])
    assert s.decisions == ("keep", "keep", "keep")
    assert s.route.shape == (20, 2) and np.allclose(s.route[:, 0], np.arange(1, 21)) and np.allclose(s.route[:, 1], 0)
    np.testing.assert_allclose(s.target_points, [[20.0, 0.0], [40.0, 1.0]])
    assert s.future_boxes.shape == (6, 32, 5) and s.future_box_mask.sum(axis=1).tolist() == [1] * 6
    # the car gains 5 - 8 = -3 m/s on us: at t = 0.5 k s it is 30 - 1.5 k ahead, still 3.5 m right, in frame 0's ego frame
    expected_x = [30.0 + 5.0 * 0.5 * k for k in range(1, 7)]  # its world x minus our x NOW (frame 0)
    np.testing.assert_allclose(s.future_boxes[:, 0, 0], expected_x, atol=1e-5)
    np.testing.assert_allclose(s.future_boxes[:, 0, 1], 3.5, atol=1e-5)
    np.testing.assert_allclose(s.future_boxes[0, 0, 3:], [2.0, 1.0])
    np.testing.assert_allclose(s.ego_extent, [2.45, 1.06, 0.76])
    assert s.route_name == "Town12_Route1" and s.frame == 0
    batch = collate([ds[0], ds[1]])
    assert batch.images.shape == (2, 4, 64, 128, 3) and batch.decision_ids.tolist() == [[1, 1, 1], [1, 1, 1]]
    assert batch.waypoints.dtype == torch.float32 and batch.future_box_mask.dtype == torch.bool


def test_turning_waypoints_are_future_poses_in_the_current_ego_frame(tmp_path):
    radius, speed = 20.0, 5.0  # a right turn (CARLA: yaw grows towards +y = right)
    omega = speed / radius
    poses = []
    for k in range(16):
        a = omega * PERIOD * k
        poses.append((radius * math.sin(a), radius * (1 - math.cos(a)), a))
    write_route(tmp_path, "turn", poses, [speed] * 16)
    s = DrivingDataset([tmp_path])[0]
    for k, (x, y) in enumerate(s.waypoints, start=1):
        a = omega * 0.5 * k
        assert (x, y) == pytest.approx((radius * math.sin(a), radius * (1 - math.cos(a))), abs=1e-4)
    assert s.waypoints[-1, 1] > 0  # a right turn ends to the right: +y


def test_lidar_bev_is_the_agents(tmp_path):
    points = np.array([[5.0, -3.0, 0.1], [5.0, -3.0, 1.5], [-10.0, 7.0, 0.0], [31.0, 0.0, 2.0]])
    write_route(tmp_path, "bev", *straight(14, 4.0), points=points)
    s = DrivingDataset([tmp_path])[0]
    expected = lidar_to_bev(np.concatenate([points, np.zeros((4, 1))], axis=1).astype(np.float32), SensorConfig().bev)
    np.testing.assert_array_equal(s.lidar_bev, expected)
    assert s.lidar_bev.shape == (2, 256, 256) and s.lidar_bev.sum() > 0


def test_decision_rule():
    rule = DecisionRuleConfig(window_s=1.0, stop_speed_mps=0.5, change_mps=1.0)
    assert decision_word(8.0, 8.5, rule) == "keep"
    assert decision_word(5.0, 7.0, rule) == "accelerate"
    assert decision_word(7.0, 5.0, rule) == "slow"
    assert decision_word(3.0, 0.2, rule) == "stop"
    assert decision_word(0.0, 0.0, rule) == "stop"


def test_braking_profile_gives_slow_then_stop(tmp_path):
    speeds = [max(0.0, 10.0 - 2.0 * PERIOD * k) for k in range(30)]  # -2 m/s^2 until standstill at 5 s
    x = np.concatenate([[0.0], np.cumsum(speeds[:-1]) * PERIOD])
    write_route(tmp_path, "brake", [(float(v), 0.0, 0.0) for v in x], speeds)
    ds = DrivingDataset([tmp_path])
    assert ds[0].decisions == ("slow", "slow", "slow")
    np.testing.assert_allclose(ds[0].speed_targets, [8.0, 6.0, 4.0])
    assert ds[12].decisions == ("slow", "stop", "stop")  # at 3 s: 4 m/s, at 4 s 2, at 5 s standing


def test_frames_whose_label_horizon_touches_a_perturbation_are_left_out(tmp_path):
    write_route(tmp_path, "rec", *straight(30, 6.0), perturbed={15, 16})
    ds = DrivingDataset([tmp_path])
    frames = [ds.locate(k)[1] for k in range(len(ds))]
    # sample i reads the motion of frames i+1 .. i+12: i in 3..15 touch frame 15 or 16
    assert frames == [0, 1, 2, 16, 17]
    assert ds.skipped["label horizon overlaps a recovery perturbation"] == 13


def test_missing_files_are_counted_and_corrupt_ones_named(tmp_path):
    route = write_route(tmp_path, "bad", *straight(20, 6.0))
    (route / "rgb" / "0002.jpg").unlink()
    ds = DrivingDataset([tmp_path])
    assert ds.skipped.get("rgb file missing") == 4  # frames 2..5 have 0002.jpg in their history
    assert len(ds) == 8 - 4
    (route / "lidar" / "0000.laz").write_bytes(b"not a laz file")
    with pytest.raises(FrameFileError, match=r"lidar/0000\.laz"):
        ds[0]
    (route / "measurements" / "0001.json.gz").write_bytes(b"garbage")
    with pytest.raises(FrameFileError, match=r"measurements/0001\.json\.gz"):
        DrivingDataset([tmp_path])


def test_split_by_route_holds_out_whole_routes(tmp_path):
    for k in range(10):
        write_route(tmp_path, f"r{k}", *straight(13, 5.0))
    train, val = split_by_route([tmp_path], 0.2, seed=3)
    assert len(val) == 2 and len(train) == 8 and not set(train) & set(val)
    assert (train, val) == split_by_route([tmp_path], 0.2, seed=3)
    ds_val = DrivingDataset(val)
    assert {r.name for r in ds_val.routes} == {p.name for p in val}


def test_adding_a_dataset_keeps_the_first_datasets_split(tmp_path):
    """A later stage trains on more recordings: the routes the earlier stage validated on must stay
    in validation (and its training routes out of it), or the new validation set holds routes the
    initial network was trained on."""
    first, second = tmp_path / "a", tmp_path / "b"
    for k in range(10):
        write_route(first, f"r{k}", *straight(13, 5.0))
        write_route(second, f"s{k}", *straight(13, 5.0))
    train_a, val_a = split_by_route([first], 0.2, seed=3)
    train, val = split_by_route([first, second], 0.2, seed=3)
    assert set(val_a) <= set(val) and set(train_a) <= set(train)
    assert len(val) == 4 and sum(second.resolve() in p.parents for p in val) == 2
    assert split_by_route([first, first], 0.2, seed=3) == (train_a, val_a)  # a root named twice counts once


def test_dataloader_with_two_workers(tmp_path):
    write_route(tmp_path, "dl", *straight(20, 6.0))
    ds = DrivingDataset([tmp_path], image_size=(64, 32))
    ds[0]  # the parent reads LAZ and JPEG first: forked workers must not inherit a dead decoder thread pool
    loader = torch.utils.data.DataLoader(ds, batch_size=4, num_workers=2, collate_fn=collate)
    frames = sorted(int(f) for batch in loader for f in batch.frames)
    assert frames == list(range(8))


def test_labels_drawn_where_the_camera_sees_them(tmp_path):
    """The drawn waypoints sit at the pinhole projection of the future ground positions."""
    write_route(tmp_path, "view", *straight(20, 8.0))
    sensors = SensorConfig()
    sample = DrivingDataset([tmp_path], image_size=(512, 256), sensors=sensors)[0]
    cam = sensors.cameras[0]
    uv, visible = project_ground(sample.waypoints[:2], sensors, 512, 256)
    f = 512 / (2 * math.tan(math.radians(cam.fov) / 2))  # 1024 px wide camera resized to 512
    for (x, y), (u, v), ok in zip(sample.waypoints[:2], uv, visible):
        depth = x - cam.x
        assert ok and u == pytest.approx(256 + f * (y - cam.y) / depth) and v == pytest.approx(128 + f * cam.z / depth)
    drawn = draw_camera(sample, sensors)
    for u, v in uv:
        assert tuple(drawn[round(v), round(u)]) == WAYPOINT_RGB
