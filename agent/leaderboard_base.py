"""A stand-in for the leaderboard's AutonomousAgent when the leaderboard is not importable.

Same constructor, attributes and set_global_plan downsampling (Bench2Drive keeps
a point every 50 m and at every change of RoadOption), so an agent built on it
sees exactly what it would see under the leaderboard.
"""

from __future__ import annotations

import math
from enum import Enum
from typing import Any

from core.carla_compat import RoadOption, road_option_value

# Bench2Drive's AutonomousAgent.set_global_plan downsamples to this spacing (m).
GLOBAL_PLAN_SAMPLE_DISTANCE_M = 50.0


class Track(Enum):
    SENSORS = "SENSORS"
    MAP = "MAP"


def downsample_route(route: list[tuple[Any, Any]], sample_distance: float) -> list[int]:
    """Indices kept: the start, lane changes, option changes, every `sample_distance` m, the end."""
    lane_changes = (RoadOption.CHANGELANELEFT, RoadOption.CHANGELANERIGHT)
    kept: list[int] = []
    previous = None
    distance = 0.0
    for i, (transform, option) in enumerate(route):
        current = road_option_value(option)
        if (
            previous is None
            or current in lane_changes
            or (current != previous and previous not in lane_changes)
            or distance > sample_distance
            or i == len(route) - 1
        ):
            kept.append(i)
            distance = 0.0
        else:
            a, b = transform.location, route[i - 1][0].location
            distance += math.sqrt((a.x - b.x) ** 2 + (a.y - b.y) ** 2 + (a.z - b.z) ** 2)
        previous = current
    return kept


class FallbackAutonomousAgent:
    def __init__(self, carla_host: str, carla_port: int, debug: bool = False) -> None:
        self.track = Track.SENSORS
        self._global_plan: list | None = None
        self._global_plan_world_coord: list | None = None
        self.wallclock_t0 = None
        self.hero_actor: Any = None  # the embedded simulator sets a CARLA-like facade here

    def setup(self, path_to_conf_file: str) -> None:
        pass

    def sensors(self) -> list[dict[str, Any]]:
        return []

    def run_step(self, input_data: dict[str, Any], timestamp: float) -> Any:
        raise NotImplementedError

    def destroy(self) -> None:
        pass

    def set_global_plan(self, global_plan_gps: list, global_plan_world_coord: list) -> None:
        ids = downsample_route(global_plan_world_coord, GLOBAL_PLAN_SAMPLE_DISTANCE_M)
        self._global_plan_world_coord = [(global_plan_world_coord[i][0], global_plan_world_coord[i][1]) for i in ids]
        self._global_plan = [global_plan_gps[i] for i in ids]
