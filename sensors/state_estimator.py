"""Ego pose from GNSS, compass and speed: a small kinematic Kalman filter.

Prediction moves the car by speed x dt along its heading; a GNSS fix corrects
it. Heading comes from the compass (precise in CARLA), so the filter only
tracks the 2-D position with one isotropic variance. A missing or NaN GNSS fix
just skips the correction; a NaN compass keeps the last valid heading.
"""

from __future__ import annotations

import math

import numpy as np

from sensors.gnss import compass_to_yaw
from sensors.sensor_config import StateEstimatorConfig


class StateEstimator:
    def __init__(self, config: StateEstimatorConfig) -> None:
        self.config = config
        self.position: np.ndarray | None = None  # [2] world x/y, m
        self.yaw = 0.0  # rad, CARLA world yaw
        self._variance = 0.0  # m^2, per axis

    def reset(self) -> None:
        self.position = None
        self.yaw = 0.0
        self._variance = 0.0

    def update(self, gnss_xy: np.ndarray | None, compass: float, speed: float, dt: float) -> tuple[np.ndarray, float]:
        """Advance one tick; returns (position [2] m, yaw rad)."""
        self.yaw = compass_to_yaw(compass, self.yaw)
        fix_ok = gnss_xy is not None and bool(np.isfinite(gnss_xy).all())
        if self.position is None:
            if not fix_ok:
                raise ValueError("no valid GNSS fix yet: cannot initialise the ego position")
            self.position = np.asarray(gnss_xy, dtype=np.float64)[:2].copy()
            self._variance = self.config.gnss_noise_m ** 2
            return self.position.copy(), self.yaw
        speed = speed if math.isfinite(speed) else 0.0
        self.position = self.position + speed * dt * np.array([math.cos(self.yaw), math.sin(self.yaw)])
        self._variance += self.config.process_noise_m ** 2
        if fix_ok:
            gain = self._variance / (self._variance + self.config.gnss_noise_m ** 2)
            self.position = self.position + gain * (np.asarray(gnss_xy, dtype=np.float64)[:2] - self.position)
            self._variance *= 1.0 - gain
        return self.position.copy(), self.yaw
