"""Dataset configuration: the PDM-Lite layout's rates and the label rules, one frozen tree.

Rates: PDM-Lite (carla_garage, leaderboard 2) saves every `data_save_freq` = 5th tick of the
20 Hz simulation, i.e. one frame every 0.25 s. Everything below that counts "frames" counts
those saved frames, so 4 history frames 0.25 s apart are 4 consecutive saved frames, a
waypoint every 0.5 s is every 2nd future frame, and +1 s is 4 frames ahead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.typed_config import require


@dataclass(frozen=True)
class LayoutConfig:
    """How a route folder is written (and what the reader expects of one)."""

    sim_rate_hz: float = 20.0  # the simulator's tick rate
    save_every_ticks: int = 5  # PDM-Lite's data_save_freq: one saved frame per 5 ticks = 4 Hz
    jpeg_quality: int = 95  # cv2 JPEG quality of rgb/NNNN.jpg
    lidar_precision_m: float = 0.001  # LAZ coordinate scale (PDM-Lite's point_precision)
    box_radius_m: float = 50.0  # boxes/NNNN.json.gz keeps actors within this distance (bb_save_radius)
    route_points_saved: int = 30  # measurements 'route': this many points of the expert's path, 1 m apart

    def __post_init__(self) -> None:
        require(self.sim_rate_hz > 0, "layout.sim_rate_hz must be positive")
        require(self.save_every_ticks >= 1, "layout.save_every_ticks must be >= 1")
        require(1 <= self.jpeg_quality <= 100, "layout.jpeg_quality must be in [1, 100]")

    @property
    def frame_period_s(self) -> float:
        """Seconds between two saved frames (0.25 s)."""
        return self.save_every_ticks / self.sim_rate_hz


@dataclass(frozen=True)
class DecisionRuleConfig:
    """Decision words from the future speed profile.

    The official AutoMoT labels ship pre-built (its JSONL indexes); the code that made them is not
    public. Its reader maps the classes stop / accelerate / decelerate (alias 'slow') / keep (alias
    'constant'), so each word compares the speed at t and t + window: 'stop' when the speed at
    t + window is below stop_speed_mps, 'accelerate' / 'slow' when it changed by more than
    change_mps, else 'keep' ('constant' is the reader's alias of 'keep' and is never emitted).
    """

    window_s: float = 1.0  # each word looks this far ahead of its own time (now, +1 s, +2 s)
    stop_speed_mps: float = 0.5
    change_mps: float = 1.0  # |v(t + window) - v(t)| above this is a speed change

    def __post_init__(self) -> None:
        require(self.window_s > 0, "decisions.window_s must be positive")
        require(self.stop_speed_mps >= 0 and self.change_mps > 0, "decision thresholds must be positive")


@dataclass(frozen=True)
class LabelConfig:
    """Label horizons (seconds; each must be a whole number of saved frames)."""

    waypoint_count: int = 6  # AutoMoT: 6 waypoints ...
    waypoint_spacing_s: float = 0.5  # ... 0.5 s apart (t = 0.5 .. 3.0 s)
    route_points: int = 20  # route label: 20 points ...
    route_spacing_m: float = 1.0  # ... 1 m apart along the expert's path, from its first point
    speed_horizons_s: tuple[float, ...] = (1.0, 2.0, 3.0)  # official future_speeds: +1, +2, +3 s
    decision_times_s: tuple[float, ...] = (0.0, 1.0, 2.0)  # the three decision words: now, +1 s, +2 s
    decisions: DecisionRuleConfig = field(default_factory=DecisionRuleConfig)
    max_boxes: int = 32  # future_boxes pad / cut to this many actors (nearest first)
    box_classes: tuple[str, ...] = ("car", "walker", "static")  # PDM-Lite box classes that can be hit
    # Frames before the car first moves (speed above this, m/s) are no samples. Every recording
    # starts with the car at rest for ~1.25 s while the route settles, so those labels say "stand
    # still" for inputs that look exactly like a clear road: a network trained on them learns
    # that a car at rest stays at rest. 0 disables the rule.
    route_start_speed_mps: float = 0.1

    def __post_init__(self) -> None:
        require(self.waypoint_count >= 1 and self.waypoint_spacing_s > 0, "labels: need >= 1 waypoint, spacing > 0")
        require(self.route_points >= 2 and self.route_spacing_m > 0, "labels: need >= 2 route points, spacing > 0")
        require(self.max_boxes >= 1, "labels.max_boxes must be >= 1")
        require(self.route_start_speed_mps >= 0, "labels.route_start_speed_mps must be >= 0")


@dataclass(frozen=True)
class DataConfig:
    layout: LayoutConfig = field(default_factory=LayoutConfig)
    labels: LabelConfig = field(default_factory=LabelConfig)


def frames_for(seconds: float, frame_period_s: float, what: str) -> int:
    """A horizon in seconds -> whole saved frames; a horizon between frames is a config error."""
    frames = seconds / frame_period_s
    require(abs(frames - round(frames)) < 1e-6,
            f"{what} = {seconds} s is not a whole number of saved frames ({frame_period_s} s apart)")
    return round(frames)
