"""Throttle / brake: PID on the desired speed read from the plan's waypoints."""

from __future__ import annotations

import numpy as np

from controllers.controller_config import LongitudinalConfig
from controllers.pid import PID


class LongitudinalController:
    def __init__(self, config: LongitudinalConfig) -> None:
        self.config = config
        self.pid = PID(config.pid)

    def reset(self) -> None:
        self.pid.reset()

    def desired_speed(self, waypoints_ego: np.ndarray) -> float:
        """Speed implied by the first waypoint step: ||wp[1] - wp[0]|| / dt (m/s).

        wp[0] is 0.5 s ahead and wp[1] 1.0 s ahead; their distance over 0.5 s is
        the speed the plan wants right after now (DESIGN §6: 2 x ||wp1 - wp0||).
        """
        if len(waypoints_ego) < 2:
            return 0.0
        step = float(np.linalg.norm(waypoints_ego[1] - waypoints_ego[0]))
        return step / self.config.waypoint_dt_s

    def step(self, desired_speed: float, speed: float) -> tuple[float, float]:
        """(throttle, brake) for the desired and current speed, m/s."""
        c = self.config
        desired_speed = min(desired_speed, c.max_speed_mps)
        brake = desired_speed < c.brake_below_speed_mps or (speed / max(desired_speed, 1e-6)) > c.brake_over_ratio
        if speed > c.max_speed_mps:
            brake = True
        error = desired_speed - speed
        if c.max_speed_error_mps > 0:
            error = float(np.clip(error, 0.0, c.max_speed_error_mps))
        if brake:
            # keep the PID's memory consistent with "no acceleration wanted" (or, as the
            # official agent does, with the speed deficit it would see when driving)
            self.pid.step(error if c.pid_error_while_braking else 0.0)
            return 0.0, c.brake_strength
        throttle = self.pid.step(error)
        return float(np.clip(throttle, 0.0, c.max_throttle)), 0.0
