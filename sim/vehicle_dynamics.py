"""The ego's motion: a kinematic bicycle driven through a CARLA-like control response.

Steer maps to a front-wheel angle (max_steer_deg at |steer| = 1, shrunk by the
speed-dependent steering curve, capped by a lateral-acceleration limit, with a
short lag); throttle and brake are first-order lagged and produce an
acceleration that falls with speed, minus rolling resistance and drag. The
reference point is the box centre, as a CARLA actor's location is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.config import EgoDynamicsConfig


@dataclass
class EgoState:
    x: float  # m, world
    y: float
    yaw: float  # rad, CARLA world yaw
    speed: float = 0.0  # m/s along the heading, negative when reversing
    wheel_angle: float = 0.0  # rad, positive steers right
    throttle: float = 0.0  # lagged pedal
    brake: float = 0.0
    yaw_rate: float = 0.0  # rad/s
    vx: float = 0.0  # world velocity, m/s
    vy: float = 0.0
    ax: float = 0.0  # world acceleration, m/s^2
    ay: float = 0.0


def _lag(current: float, target: float, tau: float, dt: float) -> float:
    if tau <= 0:
        return target
    return current + (target - current) * (1.0 - math.exp(-dt / tau))


class EgoDynamics:
    def __init__(self, config: EgoDynamicsConfig, x: float, y: float, yaw: float) -> None:
        self.cfg = config
        self.state = EgoState(x, y, yaw)
        curve = np.asarray(config.steer_curve, dtype=np.float64)
        self._curve_kmh, self._curve_mult = curve[:, 0], curve[:, 1]

    def steer_limit(self, speed: float) -> float:
        """Max front-wheel angle (rad) at this speed: steering curve, then the lateral-accel cap."""
        mult = float(np.interp(abs(speed) * 3.6, self._curve_kmh, self._curve_mult))
        limit = math.radians(self.cfg.max_steer_deg) * mult
        if abs(speed) > 1.0:
            kappa_max = self.cfg.max_lateral_accel_mps2 / speed ** 2
            limit = min(limit, math.atan(kappa_max * self.cfg.wheelbase_m))
        return limit

    def step(self, steer: float, throttle: float, brake: float, hand_brake: bool, reverse: bool, dt: float) -> None:
        c, st = self.cfg, self.state
        steer = float(np.clip(steer, -1.0, 1.0))
        throttle = float(np.clip(throttle, 0.0, 1.0))
        brake = float(np.clip(brake, 0.0, 1.0))
        limit = self.steer_limit(st.speed)
        target = float(np.clip(steer * math.radians(c.max_steer_deg), -limit, limit))
        st.wheel_angle = _lag(st.wheel_angle, target, c.steer_time_constant_s, dt)
        st.throttle = _lag(st.throttle, throttle, c.throttle_time_constant_s, dt)
        st.brake = _lag(st.brake, brake, c.brake_time_constant_s, dt)

        v = st.speed
        direction = -1.0 if reverse else 1.0
        drive = st.throttle * c.max_accel_mps2 * max(0.0, 1.0 - abs(v) / c.top_speed_mps)
        if reverse and v <= -c.max_reverse_speed_mps:
            drive = 0.0
        resist = st.brake * c.max_brake_decel_mps2 + c.rolling_resistance_mps2 + c.drag_coefficient * v * v
        if hand_brake:
            resist += c.hand_brake_decel_mps2
        v_new = v + direction * drive * dt
        # Resistances oppose motion and never reverse it within a step.
        if abs(v_new) > 1e-9:
            sign = math.copysign(1.0, v_new)
            v_new = sign * max(0.0, abs(v_new) - resist * dt)
        v_mid = 0.5 * (v + v_new)

        lr = c.rear_axle_to_center_m
        tan_d = math.tan(st.wheel_angle)
        beta = math.atan(lr / c.wheelbase_m * tan_d)
        yaw_rate = v_mid * math.cos(beta) * tan_d / c.wheelbase_m
        heading = st.yaw + 0.5 * yaw_rate * dt + beta
        vx, vy = v_mid * math.cos(heading), v_mid * math.sin(heading)
        st.ax, st.ay = (vx - st.vx) / dt, (vy - st.vy) / dt
        st.x += vx * dt
        st.y += vy * dt
        st.yaw = math.atan2(math.sin(st.yaw + yaw_rate * dt), math.cos(st.yaw + yaw_rate * dt))
        st.vx, st.vy, st.yaw_rate, st.speed = vx, vy, yaw_rate, v_new

    def stop_dead(self, x: float, y: float, dt: float) -> None:
        """A blocking collision: back to the last free pose, all motion gone (CARLA's car would bounce)."""
        st = self.state
        st.x, st.y = x, y
        st.ax, st.ay = -st.vx / dt, -st.vy / dt
        st.vx = st.vy = st.speed = st.yaw_rate = 0.0
