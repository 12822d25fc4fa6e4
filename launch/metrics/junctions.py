"""Where a route enters its first junction: the map hook behind Bench2Drive's Traffic_Signs credit.

Bench2Drive traces each route on the CARLA map (GlobalRoutePlanner, 1 m hops between the
file's waypoints), finds the first waypoint inside a junction, and computes
    junction_completion = (index_of_first_junction_waypoint + 1 + 8) / number_of_traced_waypoints.
A failed Traffic_Signs route whose route completion exceeds that fraction, without stop or
red-light infractions, still counts as a Traffic_Signs success.

Maps come from a MapProvider: OpenDRIVE files (`<dir>/<Town>.xodr`, read offline by the
`carla` client, no server needed) or a running CARLA server. With CARLA's `agents` package
importable, the exact GlobalRoutePlanner trace is used; without it (the `carla` wheel does not
ship it) the route polyline is sampled every 1 m and each sample projected onto the map, an
approximation of the planner's lane-following trace.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bench2drive_routes.abilities import JUNCTION_CREDIT_EXTRA_WAYPOINTS
from bench2drive_routes.route_spec import RouteSpec

HOP_M = 1.0  # Bench2Drive's GlobalRoutePlanner sampling resolution


class MapProvider(Protocol):
    """Gives a carla.Map-like object (get_waypoint(location) -> waypoint with .is_junction)."""

    description: str

    def get_map(self, town: str) -> Any: ...


class XodrMapProvider:
    """Town maps from OpenDRIVE files in a folder: <folder>/<Town>.xodr (e.g. CARLA's OpenDrive maps)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.description = f"OpenDRIVE maps in {self.folder}"
        self._cache: dict[str, Any] = {}

    def get_map(self, town: str) -> Any:
        if town not in self._cache:
            import carla  # only here: metrics run without carla unless a map is asked for

            path = self.folder / f"{town}.xodr"
            if not path.is_file():
                raise FileNotFoundError(f"{path}: no OpenDRIVE map for {town}")
            self._cache[town] = carla.Map(town, path.read_text())
        return self._cache[town]


class CarlaServerMapProvider:
    """Town maps from a running CARLA server (loads each town once, like ability_benchmark.py)."""

    def __init__(self, host: str = "localhost", port: int = 2000, timeout_s: float = 300.0) -> None:
        import carla

        self.client = carla.Client(host, port)
        self.client.set_timeout(timeout_s)
        self.description = f"CARLA server at {host}:{port}"
        self._cache: dict[str, Any] = {}

    def get_map(self, town: str) -> Any:
        if town not in self._cache:
            world = self.client.get_world()
            if not world.get_map().name.endswith(town):
                world = self.client.load_world(town)
            self._cache[town] = world.get_map()
        return self._cache[town]


@dataclass(frozen=True)
class _Point:
    """Location stand-in for maps that are not carla.Map (tests, other map backends)."""

    x: float
    y: float
    z: float


def _location(x: float, y: float, z: float) -> Any:
    try:
        import carla
    except ImportError:
        return _Point(float(x), float(y), float(z))
    return carla.Location(x=float(x), y=float(y), z=float(z))


def _sampled_trace(waypoints: np.ndarray, carla_map: Any, hop_m: float) -> list[Any]:
    trace = []
    for start, end in itertools.pairwise(waypoints):
        steps = max(1, math.ceil(float(np.linalg.norm(end - start)) / hop_m))
        for k in range(steps):
            x, y, z = start + (end - start) * (k / steps)
            trace.append(carla_map.get_waypoint(_location(x, y, z)))
    trace.append(carla_map.get_waypoint(_location(*waypoints[-1])))
    return trace


def _planner_trace(waypoints: np.ndarray, carla_map: Any, hop_m: float) -> list[Any] | None:
    try:
        from agents.navigation.global_route_planner import GlobalRoutePlanner
    except ImportError:
        return None
    planner = GlobalRoutePlanner(carla_map, hop_m)
    trace = []
    for start, end in itertools.pairwise(waypoints):
        trace.extend(wp for wp, _ in planner.trace_route(_location(*start), _location(*end)))
    return trace


def junction_completion(route: RouteSpec, carla_map: Any, hop_m: float = HOP_M) -> float | None:
    """Route fraction (0-1) the ego must exceed to have passed the first junction; None if none."""
    if len(route.waypoints) < 2:
        return None
    trace = _planner_trace(route.waypoints, carla_map, hop_m)
    if trace is None:
        trace = _sampled_trace(route.waypoints, carla_map, hop_m)
    for index, waypoint in enumerate(trace):
        if waypoint is not None and waypoint.is_junction:
            return (index + 1 + JUNCTION_CREDIT_EXTRA_WAYPOINTS) / len(trace)
    return None
