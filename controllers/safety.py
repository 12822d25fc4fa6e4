"""Safety rules around the plan: warm-up braking, stuck detection and a guarded creep."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from controllers.controller_config import SafetyConfig
from sensors.lidar import points_in_box


@dataclass(frozen=True)
class SafetyDecision:
    warmup: bool  # still in the warm-up ticks: brake
    creep: bool  # stuck long enough and (when required) the box ahead is clear: creep forward
    obstacle_ahead: bool  # LiDAR points inside the safety box


class SafetyMonitor:
    def __init__(self, config: SafetyConfig) -> None:
        self.config = config
        self.reset()

    def reset(self) -> None:
        self._standing_ticks = 0
        self._creep_left = 0
        self._start_position: np.ndarray | None = None  # where the car stood after the warm-up
        self.parked_start = False  # the route started in a parking spot: no creeping

    def reset_stuck(self) -> None:
        """Forget the standing count and any creep (the parking escape takes over)."""
        self._standing_ticks = 0
        self._creep_left = 0

    def obstacle_ahead(self, lidar_points_ego: np.ndarray) -> bool:
        c = self.config
        count = points_in_box(lidar_points_ego, c.box_x_min_m, c.box_x_max_m, c.box_half_width_m,
                              c.box_z_min_m, c.box_z_max_m)
        return count >= c.box_min_points

    def _check_parked_start(self, tick: int, position: np.ndarray | None) -> None:
        c = self.config
        if c.parked_start_check_ticks <= 0 or position is None:
            return
        if self._start_position is None:
            self._start_position = np.asarray(position, dtype=np.float64)[:2].copy()
        elif tick == c.warmup_ticks + c.parked_start_check_ticks:
            moved = float(np.linalg.norm(np.asarray(position)[:2] - self._start_position))
            self.parked_start = moved < c.parked_start_max_displacement_m
            if self.parked_start:
                self._creep_left = 0

    def step(self, tick: int, speed: float, lidar_points_ego: np.ndarray,
             position: np.ndarray | None = None) -> SafetyDecision:
        """position: world [2] m, only needed by the parked-start check."""
        c = self.config
        obstacle = self.obstacle_ahead(lidar_points_ego)
        if tick < c.warmup_ticks:
            return SafetyDecision(warmup=True, creep=False, obstacle_ahead=obstacle)
        self._check_parked_start(tick, position)
        if speed < c.stuck_speed_mps:
            self._standing_ticks += 1
        elif speed > c.stuck_reset_speed_mps:
            self._standing_ticks = 0
        stuck = self._standing_ticks >= c.stuck_ticks and not self.parked_start
        if stuck and (c.creep_while_stuck or self._creep_left == 0):
            self._creep_left = c.creep_ticks
            if not c.creep_while_stuck:
                self._standing_ticks = 0
        creep = False
        if self._creep_left > 0:
            self._creep_left -= 1
            # Creeping exists to break deadlocks with phantom obstacles; a real
            # one in the box ahead cancels it.
            blocked = obstacle and c.creep_needs_clear_box
            creep = not blocked
            if blocked:
                self._creep_left = 0
        return SafetyDecision(warmup=False, creep=creep, obstacle_ahead=obstacle)
