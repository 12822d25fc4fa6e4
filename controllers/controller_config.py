"""Controller constants (DESIGN §6 starting values). Units: m, m/s, s, ticks."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.typed_config import require


@dataclass(frozen=True)
class PIDConfig:
    k_p: float
    k_i: float
    k_d: float
    window: int  # ticks of error history used for the I and D terms

    def __post_init__(self) -> None:
        require(self.window >= 1, "pid window must be >= 1")


@dataclass(frozen=True)
class LongitudinalConfig:
    pid: PIDConfig = field(default_factory=lambda: PIDConfig(k_p=1.75, k_i=1.0, k_d=2.0, window=20))
    waypoint_dt_s: float = 0.5  # spacing of the plan's waypoints in time
    brake_below_speed_mps: float = 0.4  # desired speed under this -> brake
    brake_over_ratio: float = 1.1  # speed / desired over this -> brake
    max_throttle: float = 1.0
    brake_strength: float = 1.0  # brake value when braking
    max_speed_mps: float = 20.0  # hard brake above this, whatever the plan says

    def __post_init__(self) -> None:
        require(0.0 < self.max_throttle <= 1.0, "max_throttle must be in (0, 1]")
        require(0.0 < self.brake_strength <= 1.0, "brake_strength must be in (0, 1]")
        require(self.waypoint_dt_s > 0, "waypoint_dt_s must be positive")


@dataclass(frozen=True)
class LateralConfig:
    pid: PIDConfig = field(default_factory=lambda: PIDConfig(k_p=3.118, k_i=0.641, k_d=1.378, window=6))
    interpolation_step_m: float = 0.1  # the route is resampled at this spacing
    # look-ahead index (in interpolated points) = clip(slope * v_kmh + offset, min, max)
    lookahead_slope: float = 0.9755
    lookahead_offset: float = 1.9153
    lookahead_min: int = 24
    lookahead_max: int = 105
    error_normalizer_deg: float = 90.0  # heading error is divided by this before the PID
    # A planned route shorter than this (m) carries no direction (e.g. an untrained
    # network predicting ~0): steer along the global route instead.
    min_route_length_m: float = 1.0

    def __post_init__(self) -> None:
        require(self.interpolation_step_m > 0, "interpolation_step_m must be positive")
        require(0 < self.lookahead_min <= self.lookahead_max, "need 0 < lookahead_min <= lookahead_max")


@dataclass(frozen=True)
class SafetyConfig:
    warmup_ticks: int = 20  # brake during the first ticks (sensors settle, car drops)
    stuck_speed_mps: float = 0.1  # below this the car counts as standing
    stuck_ticks: int = 1100  # standing this long (55 s at 20 Hz) -> creep
    creep_ticks: int = 30  # creep for this many ticks
    creep_throttle: float = 0.4
    creep_speed_mps: float = 1.0  # creep aims at this speed
    # Safety box in the ego frame (m): LiDAR points inside it forbid creeping.
    box_x_min_m: float = 1.5
    box_x_max_m: float = 8.0
    box_half_width_m: float = 1.5
    box_z_min_m: float = 0.3  # above the ground
    box_z_max_m: float = 2.5
    box_min_points: int = 5  # fewer points than this are noise

    def __post_init__(self) -> None:
        require(self.warmup_ticks >= 0, "warmup_ticks must be >= 0")
        require(0.0 < self.creep_throttle <= 1.0, "creep_throttle must be in (0, 1]")
        require(self.box_x_max_m > self.box_x_min_m, "safety box: x_max must exceed x_min")


@dataclass(frozen=True)
class ControllerConfig:
    longitudinal: LongitudinalConfig = field(default_factory=LongitudinalConfig)
    lateral: LateralConfig = field(default_factory=LateralConfig)
    safety: SafetyConfig = field(default_factory=SafetyConfig)
    max_steer: float = 1.0  # |steer| is clipped here
