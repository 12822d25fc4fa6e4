"""An unscented Kalman filter over [x, y, yaw, speed] with a kinematic bicycle model.

This is the official AutoMoT agent's state estimate (it runs filterpy's UKF with Merwe
sigma points and World on Rails' bicycle constants), written here from its description:

- predict: every sigma point moves one tick under the previous tick's control
  (steer, throttle, brake): slip angle beta = atan(rear / (front + rear) * tan(gain * steer)),
  position += v * dt * (cos, sin)(yaw + beta), yaw += v / rear * sin(beta) * dt,
  v += (brake_accel if brake else throttle_accel * throttle) * dt, floored at 0;
- update: the measurement is the state itself ([GNSS x, y, compass, speed]); here any
  subset of it, so a tick without a speedometer reading corrects only what was measured.

Means and residuals of the yaw are circular. Sums are taken relative to the central sigma
point: the released alpha (1e-5) gives weights of order 1e10, and subtracting first keeps
the position (hundreds of metres) from losing its millimetres.
"""

from __future__ import annotations

import math

import numpy as np

from core.frames import wrap_angle
from sensors.sensor_config import UkfConfig

YAW = 2  # index of the angle in the state and in the full measurement


def bicycle_step(state: np.ndarray, dt: float, steer: float, throttle: float, brake: bool,
                 c: UkfConfig) -> np.ndarray:
    """[x, y, yaw, v] one tick ahead under a control."""
    x, y, yaw, v = state
    accel = c.brake_accel_mps2 if brake else c.throttle_accel_mps2 * throttle
    wheel = c.steer_gain * steer
    beta = math.atan(c.rear_wheelbase_m / (c.front_wheelbase_m + c.rear_wheelbase_m) * math.tan(wheel))
    return np.array([
        x + v * math.cos(yaw + beta) * dt,
        y + v * math.sin(yaw + beta) * dt,
        yaw + v / c.rear_wheelbase_m * math.sin(beta) * dt,
        max(0.0, v + accel * dt),
    ])


def _residual(a: np.ndarray, b: np.ndarray, angle_index: int | None) -> np.ndarray:
    d = a - b
    if angle_index is not None:
        d[..., angle_index] = np.arctan2(np.sin(d[..., angle_index]), np.cos(d[..., angle_index]))
    return d


class UnscentedFilter:
    def __init__(self, config: UkfConfig) -> None:
        self.config = config
        n = 4
        lam = config.alpha ** 2 * (n + config.kappa) - n
        self._scale = n + lam
        self.wm = np.full(2 * n + 1, 1.0 / (2 * self._scale))
        self.wc = self.wm.copy()
        self.wm[0] = lam / self._scale
        self.wc[0] = lam / self._scale + (1.0 - config.alpha ** 2 + config.beta)
        self.x = np.zeros(4)
        self.P = np.diag(config.initial_variance).astype(np.float64)
        self._sigmas: np.ndarray | None = None  # [9, 4] the last prediction's sigma points

    def reset(self, x: np.ndarray) -> None:
        self.x = np.asarray(x, dtype=np.float64).copy()
        self.P = np.diag(self.config.initial_variance).astype(np.float64)
        self._sigmas = None

    def _sigma_points(self) -> np.ndarray:
        try:
            root = np.linalg.cholesky(self._scale * self.P)
        except np.linalg.LinAlgError:  # lost positive definiteness: restart the covariance
            self.P = np.diag(self.config.initial_variance).astype(np.float64)
            root = np.linalg.cholesky(self._scale * self.P)
        offsets = np.vstack([np.zeros(4), root.T, -root.T])
        return self.x + offsets

    def _mean(self, points: np.ndarray, angle_index: int | None) -> np.ndarray:
        delta = _residual(points, points[0], angle_index)
        mean = points[0] + self.wm @ delta
        if angle_index is not None:
            mean[angle_index] = wrap_angle(float(mean[angle_index]))
        return mean

    def predict(self, dt: float, steer: float, throttle: float, brake: bool) -> None:
        sigmas = self._sigma_points()
        moved = np.stack([bicycle_step(s, dt, steer, throttle, brake, self.config) for s in sigmas])
        self.x = self._mean(moved, YAW)
        d = _residual(moved, self.x, YAW)
        self.P = (self.wc[:, None] * d).T @ d + np.diag(self.config.process_variance)
        self.P = 0.5 * (self.P + self.P.T)
        self._sigmas = moved

    def update(self, z: np.ndarray, measured: np.ndarray) -> None:
        """z: [4] full measurement vector; measured: [4] bool, which entries are present."""
        if not measured.any():
            return
        sigmas = self._sigmas if self._sigmas is not None else self._sigma_points()
        index = np.flatnonzero(measured)
        angle = int(np.flatnonzero(index == YAW)[0]) if YAW in index else None
        zs = sigmas[:, index]
        z_mean = self._mean(zs, angle)
        dz = _residual(zs, z_mean, angle)
        dx = _residual(sigmas, self.x, YAW)
        S = (self.wc[:, None] * dz).T @ dz + np.diag(np.asarray(self.config.measurement_variance)[index])
        Pxz = (self.wc[:, None] * dx).T @ dz
        gain = Pxz @ np.linalg.inv(S)
        innovation = _residual(np.asarray(z, dtype=np.float64)[index], z_mean, angle)
        self.x = self.x + gain @ innovation
        self.x[YAW] = wrap_angle(float(self.x[YAW]))
        self.x[3] = max(0.0, float(self.x[3]))
        self.P = self.P - gain @ S @ gain.T
        self.P = 0.5 * (self.P + self.P.T)
        self._sigmas = None
