"""SensorFrame + route -> Observation: the ego-frame view a planner reads each tick."""

from __future__ import annotations

from typing import Any

import numpy as np

from agent.automot_config import AgentConfig
from planner.interface import EgoState, Observation
from planner.route_planner import RoutePlanner, targets_in_ego
from sensors.camera import FrameHistory, prepare_model_image
from sensors.lidar import SweepMerger, lidar_to_bev, sensor_to_ego
from sensors.sensor_frame import SensorFrame
from sensors.state_estimator import StateEstimator


class ObservationBuilder:
    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        sensors = config.sensors
        self.route_planner = RoutePlanner(config.planner.route)
        self.state = StateEstimator(sensors.state_estimator)
        self.history = FrameHistory(sensors.history_frames, sensors.history_stride_ticks)
        self.sweeps = SweepMerger()
        self.dt = 1.0 / sensors.sim_frequency_hz

    def reset(self) -> None:
        self.state.reset()
        self.history.reset()
        self.sweeps.reset()

    def build(self, frame: SensorFrame, tick: int, timestamp: float, privileged: Any = None) -> Observation:
        cfg = self.config.sensors
        gnss_xy = None if frame.gnss_world is None else frame.gnss_world[:2]
        position, yaw = self.state.update(gnss_xy, frame.compass, frame.speed, self.dt)
        self.history.push(prepare_model_image(frame.images[cfg.front_camera_id], cfg))
        if cfg.lidar is not None and len(frame.lidar):
            points = self.sweeps.merge(sensor_to_ego(frame.lidar, cfg.lidar), position, yaw)
        else:
            points = self.sweeps.merge(np.zeros((0, 4), dtype=np.float32), position, yaw)
        targets = self.route_planner.update(position)
        target_points, route = targets_in_ego(targets, position, yaw)
        extra = {cid: img for cid, img in frame.images.items() if cid != cfg.front_camera_id}
        return Observation(
            tick=tick,
            timestamp=timestamp,
            images=self.history.stack(),
            lidar_bev=lidar_to_bev(points, cfg.bev),
            lidar_points=points,
            speed=frame.speed,
            target_points=target_points,
            command=targets.command,
            route=route,
            ego=EgoState(position=position, yaw=yaw, speed=frame.speed),
            extra_images=extra,
            privileged=privileged,
        )
