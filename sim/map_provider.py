"""The embedded towns as a metrics MapProvider (launch.metrics.junctions), for Bench2Drive's
Traffic_Signs junction credit on embedded runs: get_map(town).get_waypoint(location).is_junction."""

from __future__ import annotations

from typing import Any

from sim.world_map import Waypoint, WorldMap, available_towns


class EmbeddedMap:
    """carla.Map's get_waypoint for a loaded embedded town (nearest lane centre, projected)."""

    def __init__(self, world_map: WorldMap) -> None:
        self.world_map = world_map
        self.name = world_map.name

    def get_waypoint(self, location: Any, project_to_road: bool = True) -> Waypoint:
        return self.world_map.get_waypoint(float(location.x), float(location.y))


class EmbeddedMapProvider:
    description = "embedded simulator maps"

    def get_map(self, town: str) -> EmbeddedMap:
        if town not in available_towns():
            raise FileNotFoundError(f"{town} is not an embedded town ({', '.join(available_towns())})")
        return EmbeddedMap(WorldMap.load(town))
