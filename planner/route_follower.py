"""The network-free planner: waypoints along the global route at a target speed.

It drives the agent until a trained AutoMoT model exists, and is the
reference the network must beat. Its only awareness of traffic is a LiDAR
stop: something standing in the corridor along the route ahead stops the car.
It cannot see traffic lights.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from core.frames import resample_polyline
from planner.interface import Observation, Plan
from planner.planner_config import RouteFollowerConfig


class RouteFollowerPlanner:
    reads_camera = False  # route + LiDAR only
    reads_lidar_bev = False  # the points themselves, if anything

    def __init__(self, config: RouteFollowerConfig) -> None:
        self.config = config

    def reset(self) -> None:
        pass

    def understand(self, observation: Observation) -> Any:
        return None

    def _speed_for(self, route: np.ndarray) -> float:
        c = self.config
        if len(route) < 3:
            return c.target_speed_mps
        start = route[1] - route[0]
        end = route[-1] - route[-2]
        turn = abs(math.degrees(math.atan2(start[0] * end[1] - start[1] * end[0], float(start @ end))))
        return c.curve_speed_mps if turn > c.curve_angle_deg else c.target_speed_mps

    def obstacle_distance(self, route: np.ndarray, points: np.ndarray, reach_m: float) -> float | None:
        """Distance ahead (m, along x) of the nearest obstacle point in the route corridor, or None."""
        c = self.config
        if len(points) == 0:
            return None
        z = points[:, 2]
        near = (points[:, 0] > 0.5) & (points[:, 0] < reach_m) & (z > c.obstacle_min_height_m) & (z < c.obstacle_max_height_m)
        # = points[near, :2]; whole rows first, then the columns: taking rows of the strided [:, :2]
        # view measured 60x slower (145 us against 2 us for 36k points)
        candidates = points.take(np.flatnonzero(near), axis=0)[:, :2].astype(np.float64)
        if len(candidates) < c.obstacle_min_points:
            return None
        path = resample_polyline(np.vstack([np.zeros((1, 2)), route]), 0.5)
        # Only route samples that can lie within a half width of a candidate matter: candidates have
        # 0.5 < x < reach, so samples farther than a half width outside that x band (and outside the
        # candidates' y band) are never the nearest sample inside the corridor. Same result, fewer pairs.
        half = c.corridor_half_width_m
        y_lo, y_hi = candidates[:, 1].min() - half, candidates[:, 1].max() + half
        band = (path[:, 0] > 0.5 - half) & (path[:, 0] < reach_m + half) & (path[:, 1] > y_lo) & (path[:, 1] < y_hi)
        path = path[band]
        if len(path) == 0:
            return None
        near_path = (candidates[:, 1] > path[:, 1].min() - half) & (candidates[:, 1] < path[:, 1].max() + half)
        candidates = candidates[near_path]
        if len(candidates) < c.obstacle_min_points:
            return None
        gaps = np.min(np.linalg.norm(candidates[:, None, :] - path[None, :, :], axis=2), axis=1)
        inside = candidates[gaps < c.corridor_half_width_m]
        if len(inside) < c.obstacle_min_points:
            return None
        k = c.obstacle_min_points - 1
        return float(np.partition(inside[:, 0], k)[k])  # the k-th nearest, as a full sort gives

    def act(self, observation: Observation, context: Any) -> Plan:
        c = self.config
        route = np.asarray(observation.route, dtype=np.float64)
        speed = self._speed_for(route)
        if c.obstacle_stop:
            reach = c.stop_base_m + observation.speed * c.stop_headway_s
            if self.obstacle_distance(route, observation.lidar_points, reach) is not None:
                speed = 0.0
        path = np.vstack([np.zeros((1, 2)), route])
        step = max(speed * c.waypoint_dt_s, 1e-3)
        waypoints = resample_polyline(path, step, count=c.num_waypoints + 1)[1:]
        return Plan(
            waypoints=waypoints.astype(np.float32),
            route=route.astype(np.float32),
            target_speed=speed,
            emergency_stop=speed == 0.0 and c.target_speed_mps > 0.0,
        )
