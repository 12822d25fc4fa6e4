"""The network-free planner: waypoints along the global route at a target speed.

It drives the agent until a trained AutoMoT model exists, and is the
reference the network must beat. It knows nothing of traffic.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from planner.interface import Observation, Plan
from planner.planner_config import RouteFollowerConfig
from sensors.frames import resample_polyline


class RouteFollowerPlanner:
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

    def act(self, observation: Observation, context: Any) -> Plan:
        c = self.config
        route = np.asarray(observation.route, dtype=np.float64)
        speed = self._speed_for(route)
        path = np.vstack([np.zeros((1, 2)), route])
        step = max(speed * c.waypoint_dt_s, 1e-3)
        waypoints = resample_polyline(path, step, count=c.num_waypoints + 1)[1:]
        return Plan(
            waypoints=waypoints.astype(np.float32),
            route=route.astype(np.float32),
            target_speed=speed,
        )
