"""Controller constants (DESIGN §6 starting values). Units: m, m/s, s, ticks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from core.typed_config import require


@dataclass(frozen=True)
class PIDConfig:
    k_p: float
    k_i: float
    k_d: float
    window: int  # ticks of error history used for the I and D terms
    # The window starts full of zeros (True), or empty, so that the first ticks average only
    # the errors seen so far (False: the official agent's lateral PID).
    prefill_window: bool = True

    def __post_init__(self) -> None:
        require(1 <= self.window <= 10_000, "pid window must be in [1, 10000]")


@dataclass(frozen=True)
class LongitudinalConfig:
    pid: PIDConfig = field(default_factory=lambda: PIDConfig(k_p=1.75, k_i=1.0, k_d=2.0, window=20))
    waypoint_dt_s: float = 0.5  # spacing of the plan's waypoints in time
    brake_below_speed_mps: float = 0.4  # desired speed under this -> brake
    brake_over_ratio: float = 1.1  # speed / desired over this -> brake
    max_throttle: float = 1.0
    brake_strength: float = 1.0  # brake value when braking
    max_speed_mps: float = 20.0  # hard brake above this, whatever the plan says
    # > 0: the PID sees the speed error clipped to [0, this] (the official agent: 1.0 m/s);
    # 0: the raw error desired - speed.
    max_speed_error_mps: float = 0.0
    # While braking the PID steps with 0 (False), or with the (clipped) error as if it were
    # driving, so its memory keeps the speed deficit (True: the official agent).
    pid_error_while_braking: bool = False

    def __post_init__(self) -> None:
        require(0.0 < self.max_throttle <= 1.0, "max_throttle must be in (0, 1]")
        require(self.max_speed_error_mps >= 0, "max_speed_error_mps must be >= 0")
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
    # How the route is resampled at interpolation_step_m: straight segments ('linear') or a
    # monotone cubic through the points ('pchip', the official agent's PchipInterpolator).
    interpolation: Literal["linear", "pchip"] = "linear"
    # A planned route shorter than this (m) carries no direction (e.g. an untrained
    # network predicting ~0): steer along the global route instead.
    min_route_length_m: float = 1.0

    def __post_init__(self) -> None:
        require(0.01 <= self.interpolation_step_m <= 10.0, "interpolation_step_m must be in [0.01, 10] m")
        require(0 < self.lookahead_min <= self.lookahead_max <= 10_000, "need 0 < lookahead_min <= lookahead_max <= 10000")


@dataclass(frozen=True)
class SafetyConfig:
    warmup_ticks: int = 20  # brake during the first ticks (sensors settle, car drops)
    stuck_speed_mps: float = 0.1  # below this the car counts as standing
    # Above this the standing count restarts; between the two it holds (the official agent: 0.2).
    stuck_reset_speed_mps: float = 0.1
    stuck_ticks: int = 1100  # standing this long (55 s at 20 Hz) -> creep
    creep_ticks: int = 30  # creep for this many ticks
    creep_throttle: float = 0.4
    creep_speed_mps: float = 1.0  # creep aims at this speed
    # False: one creep of creep_ticks, then the standing count starts over. True: the creep is
    # re-armed every tick the car still counts as stuck (the official agent's force_move).
    creep_while_stuck: bool = False
    # LiDAR points in the safety box cancel a creep (False: the official agent creeps blind).
    creep_needs_clear_box: bool = True
    # > 0: a car that moved less than parked_start_max_displacement_m in its first this-many
    # ticks after the warm-up started in a parking spot, and never creeps on that route
    # (the official agent: 200 ticks, 6 m). 0: off.
    parked_start_check_ticks: int = 0
    parked_start_max_displacement_m: float = 6.0
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
        require(self.stuck_reset_speed_mps >= self.stuck_speed_mps, "stuck_reset_speed_mps must be >= stuck_speed_mps")
        require(self.parked_start_check_ticks >= 0, "parked_start_check_ticks must be >= 0")


@dataclass(frozen=True)
class ParkingEscapeConfig:
    """The official agent's way out of a long deadlock (e.g. a route starting in a parking bay).

    Every snapshot_interval_ticks the position is noted; when the car moved less than
    max_displacement_m over window_ticks, the escape starts: the route skips skip_plan_points
    plan points ahead, the planner sees target points beside the car on the escape side,
    and the controls are overridden (steer towards that side, fixed throttle) for at most
    phase_ticks, until the car moved end_displacement_m or turned end_heading_change_deg.
    Then cooldown_ticks without a new escape."""

    enabled: bool = False
    snapshot_interval_ticks: int = 200
    window_ticks: int = 1500
    max_displacement_m: float = 5.0
    side: Literal["left", "right"] = "left"  # the release always escapes left (parking is on the right)
    phase_ticks: int = 40
    steer: float = 0.65  # |steer| towards the escape side
    throttle: float = 0.45
    forward_m: float = 3.0  # the override target point: this far ahead ...
    lateral_m: float = 5.0  # ... and this far to the side,
    lateral_per_attempt_m: float = 1.5  # ... plus this per escape so far
    next_target_extra_forward_m: float = 3.0  # the second target point: as far to the side, this much farther ahead
    end_displacement_m: float = 6.0
    end_heading_change_deg: float = 25.0
    cooldown_ticks: int = 2400
    skip_plan_points: int = 5

    def __post_init__(self) -> None:
        require(self.snapshot_interval_ticks >= 1 and self.window_ticks >= self.snapshot_interval_ticks,
                "parking_escape: need 1 <= snapshot_interval_ticks <= window_ticks")
        require(0.0 <= self.steer <= 1.0 and 0.0 <= self.throttle <= 1.0,
                "parking_escape: steer and throttle must be in [0, 1]")
        require(self.phase_ticks >= 1 and self.cooldown_ticks >= 0 and self.skip_plan_points >= 0,
                "parking_escape: phase_ticks >= 1, cooldown_ticks >= 0, skip_plan_points >= 0")


@dataclass(frozen=True)
class ControllerConfig:
    longitudinal: LongitudinalConfig = field(default_factory=LongitudinalConfig)
    lateral: LateralConfig = field(default_factory=LateralConfig)
    safety: SafetyConfig = field(default_factory=SafetyConfig)
    parking_escape: ParkingEscapeConfig = field(default_factory=ParkingEscapeConfig)
    max_steer: float = 1.0  # |steer| is clipped here
