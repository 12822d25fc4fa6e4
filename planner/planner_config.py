"""Planner configuration: route handling and the choice of planner."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from core.typed_config import require


@dataclass(frozen=True)
class RoutePlannerConfig:
    min_distance_m: float = 7.5  # the next target point is at least this far ahead
    max_distance_m: float = 50.0  # ... and at most this far
    route_points: int = 20  # points of the dense route handed to the planner
    route_spacing_m: float = 1.0  # their spacing along the route
    # Progress is the car's projection on the route, searched this far behind / ahead of the
    # last progress (a route that loops back near itself must not make progress jump).
    search_behind_m: float = 5.0
    search_ahead_m: float = 80.0
    # Progress never advances more in one tick than the car can drive: max_progress_speed_mps x dt
    # plus progress_slack_m (the route is resampled at 0.5 m). The first tick is not limited.
    max_progress_speed_mps: float = 50.0
    progress_slack_m: float = 1.0
    # The navigation command: 'approaching' = the RoadOption of the first plan point ahead of
    # the car; 'before_target' = that of the last plan point before the target point (the
    # official agent's delayed command, commands[-2]).
    command_source: Literal["approaching", "before_target"] = "approaching"
    # A lane-change plan point only becomes the target from min_distance_m x this factor on
    # (the official route planner pops lane changes from twice its min distance).
    lane_change_reach_factor: float = 1.0

    def __post_init__(self) -> None:
        require(0 < self.min_distance_m < self.max_distance_m, "need 0 < min_distance_m < max_distance_m")
        require(2 <= self.route_points <= 10_000, "route_points must be in [2, 10000]")
        require(0 < self.route_spacing_m, "route_spacing_m must be positive")
        require(self.search_behind_m >= 0 and self.search_ahead_m > 0, "route search window must be positive")
        require(self.max_progress_speed_mps > 0 and self.progress_slack_m >= 0,
                "max_progress_speed_mps must be positive and progress_slack_m >= 0")
        require(self.lane_change_reach_factor >= 1.0, "lane_change_reach_factor must be >= 1")


@dataclass(frozen=True)
class RouteFollowerConfig:
    """The network-free planner: waypoints along the route at a target speed."""

    target_speed_mps: float = 6.0
    curve_speed_mps: float = 4.0  # used where the route bends sharply ahead
    curve_angle_deg: float = 30.0  # heading change over the route horizon that counts as a bend
    num_waypoints: int = 6
    waypoint_dt_s: float = 0.5
    # LiDAR stop: points above the ground within `corridor_half_width_m` of the route,
    # closer than stop_base_m + speed * stop_headway_s, stop the car.
    obstacle_stop: bool = True
    corridor_half_width_m: float = 1.4
    obstacle_min_height_m: float = 0.4  # ego-frame z; below is ground / kerb
    obstacle_max_height_m: float = 2.5
    obstacle_min_points: int = 5
    stop_base_m: float = 5.0
    stop_headway_s: float = 1.5

    def __post_init__(self) -> None:
        require(self.target_speed_mps >= 0, "target_speed_mps must be >= 0")
        require(self.corridor_half_width_m > 0, "corridor_half_width_m must be positive")
        require(2 <= self.num_waypoints <= 1000, "num_waypoints must be in 2..1000")


@dataclass(frozen=True)
class PlannerConfig:
    # Which planner drives: 'route_follower' (no network), 'automot' (the network).
    kind: Literal["route_follower", "automot"] = "route_follower"
    route: RoutePlannerConfig = field(default_factory=RoutePlannerConfig)
    route_follower: RouteFollowerConfig = field(default_factory=RouteFollowerConfig)
