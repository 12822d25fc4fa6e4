"""Global plan -> the two target points and the navigation command the network needs.

The leaderboard hands a sparse plan (Bench2Drive keeps a point every ~50 m plus
every change of RoadOption). We densify it to a polyline, track the car's
progress along it by projection (so a car that overshoots a point, or cuts a
corner, still advances), and read targets at arc lengths ahead of the car.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.carla_compat import RoadOption, road_option_value
from core.frames import polyline_lengths, resample_polyline, world_to_ego
from planner.planner_config import RoutePlannerConfig
from sensors.gnss import DEFAULT_GEO_REFERENCE, GeoReference, gnss_to_world


class GlobalPlanError(ValueError):
    """The global plan handed to the agent is malformed."""


@dataclass(frozen=True)
class RouteTargets:
    target_points_world: np.ndarray  # [2, 2] world x/y m: the next target and the one after
    command: int  # RoadOption value of the plan point being approached
    progress_m: float  # arc length of the car's projection on the route, m
    remaining_m: float  # route length still ahead, m
    route_world: np.ndarray  # [R, 2] world x/y, the route ahead resampled at route_spacing_m


def parse_global_plan(global_plan_world: Sequence[Any] | None, global_plan_gps: Sequence[Any] | None,
                      geo: GeoReference = DEFAULT_GEO_REFERENCE) -> tuple[np.ndarray, np.ndarray]:
    """Either form of the leaderboard's plan -> (points [N, 2] world m, RoadOption values [N])."""
    points, options = [], []
    if global_plan_world:
        for i, item in enumerate(global_plan_world):
            try:
                transform, option = item
                loc = transform.location
                points.append((float(loc.x), float(loc.y)))
                options.append(road_option_value(option))
            except (TypeError, ValueError, AttributeError) as exc:
                raise GlobalPlanError(f"global plan (world) entry {i}: expected (Transform, RoadOption), {exc}") from None
    elif global_plan_gps:
        for i, item in enumerate(global_plan_gps):
            try:
                gps, option = item
                xyz = gnss_to_world(float(gps["lat"]), float(gps["lon"]), float(gps.get("z", 0.0)), geo)
                points.append((xyz[0], xyz[1]))
                options.append(road_option_value(option))
            except (TypeError, ValueError, KeyError) as exc:
                raise GlobalPlanError(f"global plan (gps) entry {i}: expected ({{lat, lon, z}}, RoadOption), {exc}") from None
    else:
        raise GlobalPlanError("the global plan is empty")
    array = np.asarray(points, dtype=np.float64)
    if not np.isfinite(array).all():
        raise GlobalPlanError("the global plan contains non-finite coordinates")
    return array, np.asarray(options, dtype=np.int64)


class RoutePlanner:
    def __init__(self, config: RoutePlannerConfig) -> None:
        self.config = config
        self._sparse: np.ndarray | None = None  # [N, 2] world
        self._sparse_s: np.ndarray | None = None  # [N] arc length of each plan point on the dense route
        self._options: np.ndarray | None = None  # [N]
        self._dense: np.ndarray | None = None  # [M, 2] world, 0.5 m spacing
        self._dense_s: np.ndarray | None = None  # [M]
        self._progress_index = 0
        self._progress_started = False  # the first update may place the car anywhere in the window

    @property
    def dense_route_world(self) -> np.ndarray:
        """[M, 2] world m: the densified global plan the targets are read from."""
        if self._dense is None:
            raise RuntimeError("no route set")
        return self._dense

    @property
    def is_set(self) -> bool:
        return self._dense is not None

    def set_route(self, points_world: np.ndarray, options: np.ndarray) -> None:
        if len(points_world) == 0:
            raise GlobalPlanError("the global plan is empty")
        keep = np.concatenate([[True], np.linalg.norm(np.diff(points_world, axis=0), axis=1) > 1e-6])
        sparse, options = points_world[keep], options[keep]
        if len(sparse) == 1:  # a one-point route: extend 1 m along +x so there is a direction
            sparse = np.vstack([sparse, sparse + [1.0, 0.0]])
            options = np.concatenate([options, options])
        self._sparse, self._options = sparse, options
        self._sparse_s = polyline_lengths(sparse)
        dense = resample_polyline(sparse, 0.5)
        if np.linalg.norm(dense[-1] - sparse[-1]) > 1e-6:  # keep the exact end point
            dense = np.vstack([dense, sparse[-1:]])
        self._dense = dense
        self._dense_s = polyline_lengths(self._dense)
        self._progress_index = 0
        self._progress_started = False

    def _point_at(self, s: float) -> np.ndarray:
        """World point at arc length s; beyond the end, extended along the last direction."""
        assert self._dense is not None and self._dense_s is not None
        total = self._dense_s[-1]
        if s <= total:
            return np.array([np.interp(s, self._dense_s, self._dense[:, i]) for i in range(2)])
        direction = self._dense[-1] - self._dense[-2]
        direction = direction / np.linalg.norm(direction)
        return self._dense[-1] + (s - total) * direction

    def _update_progress(self, position: np.ndarray, dt: float | None) -> float:
        assert self._dense is not None and self._dense_s is not None
        cfg = self.config
        s_now = self._dense_s[self._progress_index]
        lo = np.searchsorted(self._dense_s, s_now - cfg.search_behind_m)
        hi = np.searchsorted(self._dense_s, s_now + cfg.search_ahead_m, side="right")
        window = self._dense[lo:hi]
        nearest = lo + int(np.argmin(np.sum((window - position[:2]) ** 2, axis=1)))
        # never walk backwards: a car that reverses a little keeps its targets
        index = max(self._progress_index, nearest)
        if dt is not None and self._progress_started:
            # ... nor forwards faster than a car drives: one bad position must not skip the route ahead
            reach = s_now + cfg.max_progress_speed_mps * dt + cfg.progress_slack_m
            index = min(index, max(self._progress_index, int(np.searchsorted(self._dense_s, reach, side="right")) - 1))
        self._progress_index = index
        self._progress_started = True
        return float(self._dense_s[self._progress_index])

    def skip_plan_points(self, count: int) -> int:
        """Move progress to the `count`-th plan point ahead (keeping the last two); returns how many were skipped.

        The official agent's parking escape pops route points so its next target lies farther on."""
        assert self._sparse_s is not None and self._dense_s is not None
        s_now = self._dense_s[self._progress_index]
        ahead = np.nonzero(self._sparse_s > s_now + 1e-6)[0]
        ahead = ahead[:max(0, len(ahead) - 2)][:count]
        if len(ahead) == 0:
            return 0
        s_target = self._sparse_s[ahead[-1]]
        self._progress_index = max(self._progress_index, int(np.searchsorted(self._dense_s, s_target - 1e-6)))
        return len(ahead)

    def _reach_m(self, index: int) -> float:
        """How far ahead of the car plan point `index` must lie to be a target."""
        assert self._options is not None
        lane_change = int(self._options[index]) in (RoadOption.CHANGELANELEFT, RoadOption.CHANGELANERIGHT)
        return self.config.min_distance_m * (self.config.lane_change_reach_factor if lane_change else 1.0)

    def update(self, position: np.ndarray, dt: float | None = None) -> RouteTargets:
        """Targets for the car at `position` (world m). With `dt` (s since the last update) the
        progress advances at most what a car can drive in that time."""
        if not self.is_set:
            raise RuntimeError("RoutePlanner.update() before set_route()")
        assert self._sparse_s is not None and self._options is not None and self._dense_s is not None
        cfg = self.config
        s_ego = self._update_progress(np.asarray(position, dtype=np.float64), dt)
        reach = np.array([self._reach_m(i) for i in range(len(self._sparse_s))])
        targets_s = []
        first_target_index = len(self._sparse_s) - 1
        s_from = s_ego
        for k in range(2):
            upcoming = np.nonzero(self._sparse_s >= s_from + (reach if k == 0 else 0.0) - 1e-6)[0]
            if k == 0 and len(upcoming):
                first_target_index = int(upcoming[0])
            fallback = max(self._sparse_s[-1], s_from + (cfg.min_distance_m if k == 0 else 0.0))
            s_next = self._sparse_s[upcoming[0]] if len(upcoming) else fallback
            anchor = targets_s[-1] if targets_s else s_ego
            s_next = min(s_next, anchor + cfg.max_distance_m)
            targets_s.append(float(s_next))
            s_from = s_next + 1e-3
        if cfg.command_source == "before_target":
            option_index = max(0, first_target_index - 1)
        else:
            approaching = np.nonzero(self._sparse_s > s_ego)[0]
            option_index = approaching[0] if len(approaching) else len(self._options) - 1
        command = int(self._options[option_index])
        if command == RoadOption.VOID:
            command = int(RoadOption.LANEFOLLOW)
        route_s = s_ego + np.arange(cfg.route_points) * cfg.route_spacing_m
        route_world = np.stack([self._point_at(s) for s in route_s])
        return RouteTargets(
            target_points_world=np.stack([self._point_at(s) for s in targets_s]),
            command=command,
            progress_m=s_ego,
            remaining_m=float(self._dense_s[-1] - s_ego),
            route_world=route_world,
        )


def targets_in_ego(targets: RouteTargets, position: np.ndarray, yaw: float) -> tuple[np.ndarray, np.ndarray]:
    """(target points [2, 2], route [R, 2]) in the ego frame, float32."""
    tp = world_to_ego(targets.target_points_world, position, yaw).astype(np.float32)
    route = world_to_ego(targets.route_world, position, yaw).astype(np.float32)
    return tp, route
