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

# How far behind / ahead of the last progress the projection may look (m): a
# window keeps a route that loops back near itself from jumping ahead.
_SEARCH_BEHIND_M = 5.0
_SEARCH_AHEAD_M = 80.0


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

    def _point_at(self, s: float) -> np.ndarray:
        """World point at arc length s; beyond the end, extended along the last direction."""
        assert self._dense is not None and self._dense_s is not None
        total = self._dense_s[-1]
        if s <= total:
            return np.array([np.interp(s, self._dense_s, self._dense[:, i]) for i in range(2)])
        direction = self._dense[-1] - self._dense[-2]
        direction = direction / np.linalg.norm(direction)
        return self._dense[-1] + (s - total) * direction

    def _update_progress(self, position: np.ndarray) -> float:
        assert self._dense is not None and self._dense_s is not None
        s_now = self._dense_s[self._progress_index]
        lo = np.searchsorted(self._dense_s, s_now - _SEARCH_BEHIND_M)
        hi = np.searchsorted(self._dense_s, s_now + _SEARCH_AHEAD_M, side="right")
        window = self._dense[lo:hi]
        nearest = lo + int(np.argmin(np.sum((window - position[:2]) ** 2, axis=1)))
        # never walk backwards: a car that reverses a little keeps its targets
        self._progress_index = max(self._progress_index, nearest)
        return float(self._dense_s[self._progress_index])

    def update(self, position: np.ndarray) -> RouteTargets:
        if not self.is_set:
            raise RuntimeError("RoutePlanner.update() before set_route()")
        assert self._sparse_s is not None and self._options is not None and self._dense_s is not None
        cfg = self.config
        s_ego = self._update_progress(np.asarray(position, dtype=np.float64))
        targets_s = []
        s_from = s_ego + cfg.min_distance_m
        for _ in range(2):
            upcoming = np.nonzero(self._sparse_s >= s_from - 1e-6)[0]
            s_next = self._sparse_s[upcoming[0]] if len(upcoming) else max(self._sparse_s[-1], s_from)
            anchor = targets_s[-1] if targets_s else s_ego
            s_next = min(s_next, anchor + cfg.max_distance_m)
            targets_s.append(float(s_next))
            s_from = s_next + 1e-3
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
