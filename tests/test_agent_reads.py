"""What the planner reads decides what the agent prepares: no camera images or BEV for a planner that reads neither."""

from __future__ import annotations

import numpy as np

from agent.automot_agent import AutoMoTAgent
from launch.synthetic_drive import SyntheticDrive, curved_route
from planner.route_follower import RouteFollowerPlanner


class ReadsAll(RouteFollowerPlanner):
    reads_camera = True
    reads_lidar_bev = True


def _drive(planner_class: type | None, ticks: int = 5) -> tuple[AutoMoTAgent, list]:
    agent = AutoMoTAgent("localhost", 2000)
    drive = SyntheticDrive([], curved_route())
    agent.set_global_plan(*drive.global_plan())
    agent.setup("")
    assert agent.config is not None
    if planner_class is not None:
        agent.attach(planner=planner_class(agent.config.planner.route_follower))
    drive.sensors = agent.sensors()
    controls = []
    for tick in range(ticks):
        control = agent.run_step(drive.input_data(), tick * drive.dt)
        controls.append((control.steer, control.throttle, control.brake))
        drive.apply(control)
    agent.destroy()
    return agent, controls


def test_a_planner_reading_neither_gets_blank_images_and_an_empty_bev_and_drives_the_same() -> None:
    lean, lean_controls = _drive(None)  # the route follower reads neither
    full, full_controls = _drive(ReadsAll)
    lean_obs, full_obs = lean.last_observation, full.last_observation
    assert lean_obs.images.shape == full_obs.images.shape
    assert not lean_obs.images.any() and full_obs.images.any()  # the synthetic sky and road
    assert not lean_obs.lidar_bev.any() and full_obs.lidar_bev.any()
    assert lean_obs.lidar_bev.shape == full_obs.lidar_bev.shape
    np.testing.assert_array_equal(lean_obs.lidar_points, full_obs.lidar_points)
    assert lean_controls == full_controls
    assert lean.sensor_ids_read() is not None and "rgb_front" not in lean.sensor_ids_read()
    assert full.sensor_ids_read() is None


def test_debug_frames_need_the_camera_and_the_bev(tmp_path) -> None:
    agent = AutoMoTAgent("localhost", 2000)
    path = tmp_path / "agent.yaml"
    path.write_text(f"logging:\n  save_path: {tmp_path}\n  debug_frames: true\n")
    drive = SyntheticDrive([], curved_route())
    agent.set_global_plan(*drive.global_plan())
    agent.setup(str(path))
    drive.sensors = agent.sensors()
    agent.run_step(drive.input_data(), 0.0)
    agent.destroy()
    assert agent.sensor_ids_read() is None
    assert agent.last_observation.images.any() and agent.last_observation.lidar_bev.any()
