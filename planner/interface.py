"""The planner contract: what the agent hands a planner each tick and what it gets back.

Frames: "ego" is the vehicle frame at the current tick, CARLA convention
(left-handed): x forward, y right, z up, metres, origin at the vehicle origin
(on the ground, centre of the car). "world" is the CARLA map frame.

A planner runs at two rates, which is the whole point of AutoMoT:
  understand(obs) -> context   slow; the network fills its key/value cache here.
  act(obs, context) -> Plan    fast; every tick, reading the newest context.
Planners with no slow part return None from `understand`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

# Bench2Drive/AutoMoT decision vocabulary, read at now, +1 s and +2 s.
DECISION_WORDS: tuple[str, ...] = ("accelerate", "keep", "constant", "slow", "stop")


@dataclass(frozen=True)
class EgoState:
    """Estimated ego state in the world frame (from GNSS + compass + speed, filtered)."""

    position: np.ndarray  # [2] float64, world x/y, m
    yaw: float  # rad, CARLA world yaw (0 = +x, positive turns towards +y)
    speed: float  # m/s, >= 0


@dataclass(frozen=True)
class Observation:
    """Everything a planner may read at one tick, already in the ego frame."""

    tick: int  # agent ticks since the route started, 0-based
    timestamp: float  # s, simulation time
    images: np.ndarray  # [T, H, W, 3] uint8 RGB, front camera history oldest -> newest, 0.25 s apart
    lidar_bev: np.ndarray  # [2, S, S] float32 in [0, 1]: (below, above) split height; row 0 = far ahead
    lidar_points: np.ndarray  # [N, 4] float32 ego frame (x, y, z, intensity); merged full sweep
    speed: float  # m/s
    target_points: np.ndarray  # [2, 2] float32 ego frame (x fwd, y right) m: next and the one after
    command: int  # RoadOption value of the route segment ahead (LANEFOLLOW = 4, ...)
    route: np.ndarray  # [R, 2] float32 ego frame m: the global route ahead, resampled
    ego: EgoState
    extra_images: dict[str, np.ndarray] = field(default_factory=dict)  # other cameras: id -> [H, W, 3] RGB
    privileged: Any = None  # ground truth, only in the embedded simulator (expert driver)

    @property
    def current_image(self) -> np.ndarray:
        """[H, W, 3] uint8 RGB, the newest front frame."""
        return self.images[-1]


@dataclass(frozen=True)
class Plan:
    """What the planner wants; the controllers turn it into steer/throttle/brake."""

    waypoints: np.ndarray  # [6, 2] float32 ego frame m, future positions 0.5 s apart (t = 0.5 .. 3.0 s)
    route: np.ndarray  # [K, 2] float32 ego frame m, path to steer along (AutoMoT: 20 points)
    decisions: tuple[str, ...] = ()  # decision words (now, +1 s, +2 s) or () when the planner has none
    target_speed: float | None = None  # m/s; None -> derived from the waypoints
    emergency_stop: bool = False  # brake now regardless of the waypoints

    def __post_init__(self) -> None:
        if self.waypoints.ndim != 2 or self.waypoints.shape[1] != 2:
            raise ValueError(f"Plan.waypoints must be [N, 2], got {self.waypoints.shape}")
        if self.route.ndim != 2 or self.route.shape[1] != 2:
            raise ValueError(f"Plan.route must be [K, 2], got {self.route.shape}")

    def is_finite(self) -> bool:
        return bool(np.isfinite(self.waypoints).all() and np.isfinite(self.route).all())


@runtime_checkable
class Planner(Protocol):
    """A planner may also say `reads_camera = False` (it never looks at Observation.images:
    the agent skips preparing them and a simulator need not render the cameras) and
    `reads_lidar_bev = False` (never Observation.lidar_bev: the agent leaves it empty).
    Without the attributes: True."""

    def reset(self) -> None:
        """Forget everything about the previous route."""

    def understand(self, observation: Observation) -> Any:
        """Slow pass; returns a context (e.g. the network's KV cache) or None."""

    def act(self, observation: Observation, context: Any) -> Plan:
        """Fast pass; must not modify `context`."""
