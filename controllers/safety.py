"""Safety rules around the plan: warm-up braking, stuck detection and a guarded creep."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from controllers.controller_config import SafetyConfig
from sensors.lidar import points_in_box


@dataclass(frozen=True)
class SafetyDecision:
    warmup: bool  # still in the warm-up ticks: brake
    creep: bool  # stuck long enough and the box ahead is clear: creep forward
    obstacle_ahead: bool  # LiDAR points inside the safety box


class SafetyMonitor:
    def __init__(self, config: SafetyConfig) -> None:
        self.config = config
        self._standing_ticks = 0
        self._creep_left = 0

    def reset(self) -> None:
        self._standing_ticks = 0
        self._creep_left = 0

    def obstacle_ahead(self, lidar_points_ego: np.ndarray) -> bool:
        c = self.config
        count = points_in_box(lidar_points_ego, c.box_x_min_m, c.box_x_max_m, c.box_half_width_m,
                              c.box_z_min_m, c.box_z_max_m)
        return count >= c.box_min_points

    def step(self, tick: int, speed: float, lidar_points_ego: np.ndarray) -> SafetyDecision:
        c = self.config
        obstacle = self.obstacle_ahead(lidar_points_ego)
        if tick < c.warmup_ticks:
            return SafetyDecision(warmup=True, creep=False, obstacle_ahead=obstacle)
        if speed < c.stuck_speed_mps:
            self._standing_ticks += 1
        else:
            self._standing_ticks = 0
        if self._creep_left == 0 and self._standing_ticks >= c.stuck_ticks:
            self._creep_left = c.creep_ticks
            self._standing_ticks = 0
        creep = False
        if self._creep_left > 0:
            self._creep_left -= 1
            # Creeping exists to break deadlocks with phantom obstacles; a real
            # one in the box ahead cancels it.
            creep = not obstacle
            if obstacle:
                self._creep_left = 0
        return SafetyDecision(warmup=False, creep=creep, obstacle_ahead=obstacle)
