"""Ego pose and speed from GNSS, compass, speedometer and IMU, robust to bad readings.

Two filters ('kind'):
- 'kalman': prediction moves the car by speed x dt along the compass heading, a GNSS fix
  corrects the 2-D position (one isotropic variance). Heading is the compass (precise in CARLA).
- 'ukf': the official agent's unscented filter over [x, y, yaw, speed] (sensors/ukf.py).

Around either filter:
- GNSS outliers are gated: a fix farther from the prediction than `gnss_gate_m` (widened by
  what the car could have moved since the last accepted fix) is ignored. Outliers that keep
  agreeing with each other for `gnss_reacquire_ticks` ticks restart the estimate there.
- Speed: the speedometer when it gave a believable reading; else ('kalman') the GNSS
  displacement over the last ticks, or the UKF's own speed; else the IMU's forward
  acceleration integrated for a few ticks; else None, and the agent brakes.
- A NaN compass keeps the last heading for at most `max_heading_gap_ticks`.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from sensors.gnss import compass_to_yaw
from sensors.rig import GNSS_ID, IMU_ID
from sensors.sensor_config import StateEstimatorConfig
from sensors.ukf import UnscentedFilter


class StateEstimateError(ValueError):
    """No usable pose yet (no GNSS fix to start from, or the heading is lost): the agent brakes."""


@dataclass(frozen=True)
class StateEstimate:
    position: np.ndarray  # [2] float64 world x/y, m
    yaw: float  # rad, CARLA world yaw
    speed: float | None  # m/s >= 0; None when nothing gives an estimate
    speed_source: str  # 'speedometer' | 'gnss' | 'ukf' | 'imu' | 'none'
    gnss_used: bool  # this tick's fix corrected the estimate
    warnings: tuple[str, ...] = ()


class StateEstimator:
    def __init__(self, config: StateEstimatorConfig) -> None:
        self.config = config
        self._ukf = UnscentedFilter(config.ukf) if config.kind == "ukf" else None
        self.reset()

    def reset(self) -> None:
        self.position: np.ndarray | None = None  # [2] world x/y, m
        self.yaw = 0.0  # rad, CARLA world yaw
        self.speed: float | None = None  # m/s, the last estimate
        self._variance = 0.0  # m^2 per axis ('kalman')
        self._tick = 0
        self._last_fix_tick = 0  # tick of the last accepted fix
        self._fixes: deque[tuple[int, np.ndarray]] = deque()  # accepted fixes of the speed window
        self._outliers: list[np.ndarray] = []  # consecutive rejected fixes that agree with each other
        self._heading_tick = -1  # tick of the last valid compass
        self._imu_ticks = 0  # ticks the speed has come from the IMU in a row

    # -- the pieces ----------------------------------------------------------------------
    def _heading(self, compass: float) -> bool:
        """Take the compass when valid (True); else keep the last heading while that is allowed."""
        if math.isfinite(compass):
            self.yaw = compass_to_yaw(compass, self.yaw)
            self._heading_tick = self._tick
            return True
        if self._heading_tick < 0:
            raise StateEstimateError(f"IMU '{IMU_ID}': no valid compass yet: the heading is unknown")
        elif self._tick - self._heading_tick > self.config.max_heading_gap_ticks:
            raise StateEstimateError(f"IMU '{IMU_ID}': no valid compass for {self._tick - self._heading_tick} ticks: "
                                     f"the heading is lost")
        return False

    def _gate(self, fix: np.ndarray, predicted: np.ndarray, dt: float, warnings: list[str]) -> str:
        """'accepted' (the fix may correct the estimate), 'rejected' (an outlier) or 'restarted'
        (outliers agreed long enough: the estimate now starts at the fix)."""
        c = self.config
        unobserved = max(0, self._tick - self._last_fix_tick - 1)
        gate = c.gnss_gate_m + c.max_motion_speed_mps * dt * unobserved
        miss = float(np.linalg.norm(fix - predicted))
        if miss <= gate:
            self._outliers.clear()
            return "accepted"
        step = c.gnss_gate_m + c.max_motion_speed_mps * dt
        if self._outliers and np.linalg.norm(fix - self._outliers[-1]) > step:
            self._outliers.clear()
        self._outliers.append(fix)
        if len(self._outliers) >= c.gnss_reacquire_ticks:
            warnings.append(f"GNSS '{GNSS_ID}': {len(self._outliers)} consistent fixes {miss:.1f} m from the estimate: "
                            f"restarting the estimate at the fix")
            self._restart(fix)
            return "restarted"
        warnings.append(f"GNSS '{GNSS_ID}': fix {miss:.1f} m from the estimate (gate {gate:.1f} m): ignored as an outlier")
        return "rejected"

    def _restart(self, fix: np.ndarray) -> None:
        self.position = fix.copy()
        self._variance = self.config.gnss_noise_m ** 2
        self._fixes.clear()
        self._fixes.append((self._tick, fix.copy()))
        self._outliers.clear()
        self._last_fix_tick = self._tick
        if self._ukf is not None:
            self._ukf.reset(np.array([fix[0], fix[1], self.yaw, self.speed or 0.0]))

    def _gnss_speed(self) -> float | None:
        if len(self._fixes) < 2 or self._fixes[-1][0] != self._tick:  # no fix this tick: the IMU carries on
            return None
        (t0, p0), (t1, p1) = self._fixes[0], self._fixes[-1]
        return float(np.linalg.norm(p1 - p0)) / ((t1 - t0) * self._dt)

    def _fallback_speed(self, imu_forward_accel: float, dt: float) -> tuple[float | None, str]:
        """The speed when the speedometer gave nothing believable this tick."""
        if self._ukf is not None:
            self._imu_ticks = 0
            return float(self._ukf.x[3]), "ukf"
        gnss = self._gnss_speed()
        if gnss is not None:
            self._imu_ticks = 0
            return gnss, "gnss"
        if self.speed is not None and math.isfinite(imu_forward_accel) and \
                self._imu_ticks < self.config.imu_speed_max_ticks:
            self._imu_ticks += 1
            return max(0.0, self.speed + imu_forward_accel * dt), "imu"
        return None, "none"

    # -- one tick ------------------------------------------------------------------------
    def update(self, gnss_xy: np.ndarray | None, compass: float, speed: float | None, dt: float,
               imu_forward_accel: float = math.nan, control: tuple[float, float, float] = (0.0, 0.0, 1.0),
               ) -> StateEstimate:
        """Advance one tick. speed: the believable speedometer reading or None; control: the
        previous tick's (steer, throttle, brake), which the 'ukf' model is driven by."""
        self._dt = dt
        warnings: list[str] = []
        compass_valid = self._heading(compass)
        fix = None
        if gnss_xy is not None and np.isfinite(gnss_xy[:2]).all():
            fix = np.asarray(gnss_xy, dtype=np.float64)[:2].copy()
        if self.position is None:
            if fix is None:
                raise StateEstimateError(f"GNSS '{GNSS_ID}': no valid fix yet: cannot place the car")
            self.speed = speed
            self._restart(fix)
            self._tick += 1
            return StateEstimate(self.position.copy(), self.yaw, speed, "speedometer" if speed is not None else "none",
                                 True, tuple(warnings))
        used = self._predict_and_correct(fix, speed, compass_valid, dt, control, warnings)
        if speed is not None:
            self.speed, source = speed, "speedometer"
            self._imu_ticks = 0
        else:
            self.speed, source = self._fallback_speed(imu_forward_accel, dt)
        self._tick += 1
        return StateEstimate(self.position.copy(), self.yaw, self.speed, source, used, tuple(warnings))

    def _predict_and_correct(self, fix: np.ndarray | None, speed: float | None, compass_valid: bool, dt: float,
                             control: tuple[float, float, float], warnings: list[str]) -> bool:
        assert self.position is not None
        if self._ukf is not None:
            steer, throttle, brake = (float(v) if math.isfinite(v) else 0.0 for v in control)
            self._ukf.predict(dt, steer, throttle, brake > 0.0)
            predicted = self._ukf.x[:2].copy()
        else:
            moving = speed if speed is not None else (self.speed or 0.0)
            predicted = self.position + moving * dt * np.array([math.cos(self.yaw), math.sin(self.yaw)])
            self._variance += self.config.process_noise_m ** 2
        status = "none" if fix is None else self._gate(fix, predicted, dt, warnings)
        if status == "restarted":
            return True
        used = status == "accepted"
        if self._ukf is not None:
            z = np.array([fix[0] if used else 0.0, fix[1] if used else 0.0, self.yaw,
                          speed if speed is not None else 0.0])
            measured = np.array([used, used, compass_valid, speed is not None])
            self._ukf.update(z, measured)
            self.position = self._ukf.x[:2].copy()
            self.yaw = float(self._ukf.x[2])
        else:
            self.position = predicted
            if used:
                assert fix is not None
                gain = self._variance / (self._variance + self.config.gnss_noise_m ** 2)
                self.position = self.position + gain * (fix - self.position)
                self._variance *= 1.0 - gain
        if used:
            assert fix is not None
            self._last_fix_tick = self._tick
            self._fixes.append((self._tick, fix))
            while self._fixes and self._tick - self._fixes[0][0] > self.config.gnss_speed_window_ticks:
                self._fixes.popleft()
        return used
