"""SensorFrame + route -> Observation: the ego-frame view a planner reads each tick."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from agent.automot_config import AgentConfig
from planner.interface import EgoState, Observation
from planner.route_planner import RoutePlanner, targets_in_ego
from sensors.camera import FrameHistory, prepare_model_image
from sensors.lidar import SweepMerger, lidar_to_bev, sensor_to_ego
from sensors.rig import SPEED_ID
from sensors.sensor_frame import SensorFrame
from sensors.state_estimator import StateEstimate, StateEstimateError, StateEstimator


class ObservationBuilder:
    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        sensors = config.sensors
        self.route_planner = RoutePlanner(config.planner.route)
        self.state = StateEstimator(sensors.state_estimator)
        self.history = FrameHistory(sensors.history_frames, sensors.history_stride_ticks)
        self.sweeps = SweepMerger()
        self.dt = 1.0 / sensors.sim_frequency_hz
        self.last_estimate: StateEstimate | None = None
        self._blank_image: np.ndarray | None = None  # the history's frame when the planner reads no camera
        self._blank_bev: np.ndarray | None = None  # the BEV when the planner reads none

    def reset(self) -> None:
        self.state.reset()
        self.history.reset()
        self.sweeps.reset()
        self.last_estimate = None

    def estimate(self, frame: SensorFrame, control: tuple[float, float, float]) -> StateEstimate:
        """This tick's pose and speed; StateEstimateError when there is no pose or no speed to drive on."""
        self.last_estimate = None
        gnss_xy = None if frame.gnss_world is None else frame.gnss_world[:2]
        estimate = self.state.update(gnss_xy, frame.compass, frame.speed, self.dt,
                                     imu_forward_accel=float(frame.imu[0]), control=control)
        self.last_estimate = estimate
        if estimate.speed is None:
            raise StateEstimateError(f"speedometer '{SPEED_ID}' gave no believable reading and GNSS/IMU give "
                                     f"no speed estimate yet: the speed is unknown")
        return estimate

    def build(self, frame: SensorFrame, tick: int, timestamp: float, privileged: Any = None,
              control: tuple[float, float, float] = (0.0, 0.0, 1.0), need_images: bool = True,
              need_bev: bool = True) -> Observation:
        """control: the previous tick's (steer, throttle, brake) (the 'ukf' estimator's model input).
        need_images / need_bev False: nobody reads the image history / the LiDAR BEV this tick (a
        planner such as the expert, no debug frames): they are black / empty, not computed."""
        cfg = self.config.sensors
        estimate = self.estimate(frame, control)
        position, yaw, speed = estimate.position, estimate.yaw, float(estimate.speed or 0.0)
        self.history.push(prepare_model_image(frame.images[cfg.front_camera_id], cfg) if need_images
                          else self._blank(frame))
        if cfg.lidar is not None and len(frame.lidar):
            points = self.sweeps.merge(sensor_to_ego(frame.lidar, cfg.lidar), position, yaw)
        else:
            points = self.sweeps.merge(np.zeros((0, 4), dtype=np.float32), position, yaw)
        targets = self.route_planner.update(position, self.dt)
        target_points, route = targets_in_ego(targets, position, yaw)
        extra = {cid: img for cid, img in frame.images.items() if cid != cfg.front_camera_id}
        return Observation(
            tick=tick,
            timestamp=timestamp,
            images=self.history.stack(),
            lidar_bev=lidar_to_bev(points, cfg.bev) if need_bev else self._empty_bev(),
            lidar_points=points,
            speed=speed,
            target_points=target_points,
            command=targets.command,
            route=route,
            ego=EgoState(position=position, yaw=yaw, speed=speed),
            extra_images=extra,
            privileged=privileged,
        )

    def _blank(self, frame: SensorFrame) -> np.ndarray:
        if self._blank_image is None:
            cfg = self.config.sensors
            shape = prepare_model_image(np.zeros_like(frame.images[cfg.front_camera_id]), cfg).shape
            self._blank_image = np.zeros(shape, np.uint8)
            self._blank_image.setflags(write=False)
        return self._blank_image

    def _empty_bev(self) -> np.ndarray:
        if self._blank_bev is None:
            self._blank_bev = lidar_to_bev(np.zeros((0, 4), np.float32), self.config.sensors.bev)
            self._blank_bev.setflags(write=False)
        return self._blank_bev

    @staticmethod
    def with_target_points(observation: Observation, target_points_ego: np.ndarray) -> Observation:
        """The observation with other target points (parking escape overrides what the planner sees)."""
        return replace(observation, target_points=np.asarray(target_points_ego, dtype=np.float32))
