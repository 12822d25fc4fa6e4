"""Plan -> VehicleCommand: lateral + longitudinal control under the safety rules."""

from __future__ import annotations

import numpy as np

from controllers.command import VehicleCommand
from controllers.controller_config import ControllerConfig
from controllers.lateral import LateralController
from controllers.longitudinal import LongitudinalController
from controllers.safety import SafetyDecision, SafetyMonitor
from core.frames import polyline_lengths
from planner.interface import Plan


class DrivingController:
    def __init__(self, config: ControllerConfig) -> None:
        self.config = config
        self.lateral = LateralController(config.lateral)
        self.longitudinal = LongitudinalController(config.longitudinal)
        self.safety = SafetyMonitor(config.safety)
        self.last_safety: SafetyDecision | None = None
        self.last_desired_speed = 0.0  # m/s, for logging and debug views

    def reset(self) -> None:
        self.lateral.reset()
        self.longitudinal.reset()
        self.safety.reset()

    def steering_route(self, plan: Plan, fallback_route: np.ndarray | None) -> np.ndarray:
        """The plan's route, or the fallback (the global route ahead) when the plan's is degenerate."""
        if fallback_route is None or not plan.is_finite():
            return plan.route
        length = float(polyline_lengths(np.vstack([np.zeros((1, 2)), plan.route]))[-1])
        return plan.route if length >= self.config.lateral.min_route_length_m else fallback_route

    def step(self, plan: Plan, tick: int, speed: float, lidar_points_ego: np.ndarray,
             fallback_route: np.ndarray | None = None, position: np.ndarray | None = None) -> VehicleCommand:
        """position: the ego's world [2] m (the parked-start check reads it)."""
        safety = self.safety.step(tick, speed, lidar_points_ego, position)
        self.last_safety = safety
        steer = self.lateral.step(self.steering_route(plan, fallback_route), speed)
        steer = float(np.clip(steer, -self.config.max_steer, self.config.max_steer))
        if safety.warmup or plan.emergency_stop or not plan.is_finite():
            self.last_desired_speed = 0.0
            return VehicleCommand(steer=steer if plan.is_finite() else 0.0, throttle=0.0, brake=1.0)
        desired = plan.target_speed if plan.target_speed is not None else self.longitudinal.desired_speed(plan.waypoints)
        if safety.creep:
            desired = max(desired, self.config.safety.creep_speed_mps)
        self.last_desired_speed = desired
        throttle, brake = self.longitudinal.step(desired, speed)
        if safety.creep and brake == 0.0:
            throttle = max(throttle, self.config.safety.creep_throttle)
        return VehicleCommand(steer=steer, throttle=throttle, brake=brake)
