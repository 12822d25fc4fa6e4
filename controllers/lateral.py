"""Steering: PID on the heading error to a look-ahead point on the route."""

from __future__ import annotations

import math

import numpy as np

from controllers.controller_config import LateralConfig
from controllers.pid import PID
from controllers.route_interpolation import pchip_route
from core.frames import resample_polyline


class LateralController:
    def __init__(self, config: LateralConfig) -> None:
        self.config = config
        self.pid = PID(config.pid)

    def reset(self) -> None:
        self.pid.reset()

    def lookahead_index(self, speed_mps: float) -> int:
        c = self.config
        index = c.lookahead_slope * speed_mps * 3.6 + c.lookahead_offset
        return int(np.clip(round(index), c.lookahead_min, c.lookahead_max))

    def lookahead_point(self, route_ego: np.ndarray, speed_mps: float) -> np.ndarray:
        """The route (ego frame) resampled every interpolation_step_m, read at the speed's look-ahead index.

        'linear': point `index` lies index x step from the car along straight segments, extended
        past the route's end. 'pchip': the official read-out, point `index` of a PCHIP curve sampled
        from one step on, clamped to the route's end."""
        index = self.lookahead_index(speed_mps)
        if self.config.interpolation == "pchip":
            dense = pchip_route(route_ego, self.config.interpolation_step_m)
            return dense[min(index, len(dense) - 1)]
        route = np.vstack([np.zeros((1, 2)), np.asarray(route_ego, dtype=np.float64)])
        dense = resample_polyline(route, self.config.interpolation_step_m, count=index + 1)
        return dense[index]

    def step(self, route_ego: np.ndarray, speed_mps: float) -> float:
        """Steer in [-1, 1] (positive right) towards the route."""
        target = self.lookahead_point(route_ego, speed_mps)
        # ego frame: x forward, y right -> positive angle = target on the right = steer right
        heading_error_deg = math.degrees(math.atan2(target[1], target[0]))
        if target[0] <= 0.0 and abs(target[1]) < 1e-6:  # degenerate route (all points at the car)
            heading_error_deg = 0.0
        steer = self.pid.step(heading_error_deg / self.config.error_normalizer_deg)
        return float(np.clip(steer, -1.0, 1.0))
