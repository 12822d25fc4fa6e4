"""Route files for the simulator, read and written by the project's Bench2Drive route parser
(bench2drive_routes.route_xml), seen through the few fields a route run needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench2drive_routes import route_spec as b2d
from bench2drive_routes.route_xml import parse_routes
from bench2drive_routes.route_xml import write_routes as write_b2d_routes


@dataclass(frozen=True)
class ScenarioSpec:
    name: str
    type: str
    trigger: tuple[float, float, float, float]  # x, y, z (m), yaw (deg)
    params: dict[str, dict[str, str]] = field(default_factory=dict)  # element tag -> its attributes

    def value(self, key: str, default: float) -> float:
        return float(self.params[key]["value"]) if key in self.params else default

    def text(self, key: str, default: str) -> str:
        return self.params[key]["value"] if key in self.params else default

    def interval(self, key: str, default: tuple[float, float]) -> tuple[float, float]:
        if key not in self.params:
            return default
        return float(self.params[key]["from"]), float(self.params[key]["to"])

    def location(self, key: str) -> tuple[float, float, float] | None:
        if key not in self.params:
            return None
        p = self.params[key]
        return float(p["x"]), float(p["y"]), float(p.get("z", 0.0))


@dataclass(frozen=True)
class RouteSpec:
    id: str
    town: str
    positions: np.ndarray  # [K, 3] float64 keypoints, m
    scenarios: tuple[ScenarioSpec, ...] = ()
    weathers: tuple[dict[str, str], ...] = ()

    @property
    def name(self) -> str:
        """The leaderboard's RouteScenario name (the record id is f'{name}_rep0')."""
        return f"RouteScenario_{self.id}"

    @property
    def scenario_name(self) -> str:
        return self.scenarios[0].name if self.scenarios else "NoScenario"


def _from_b2d(route: b2d.RouteSpec) -> RouteSpec:
    scenarios = []
    for sc in route.scenarios:
        trigger = sc.trigger_point or (0.0, 0.0, 0.0, 0.0)
        params = {p.tag: dict(p.attrs) for p in sc.params if p.tag != "trigger_point"}
        scenarios.append(ScenarioSpec(sc.name, sc.type, tuple(float(v) for v in trigger), params))
    weathers = tuple({k: repr(v) for k, v in w.values} for w in route.weathers)
    return RouteSpec(route.id, route.town, np.array(route.waypoints), tuple(scenarios), weathers)


def _to_b2d(route: RouteSpec) -> b2d.RouteSpec:
    scenarios = []
    for sc in route.scenarios:
        x, y, z, yaw = (round(float(v), 2) for v in sc.trigger)
        trigger = b2d.ScenarioParam("trigger_point", (("x", str(x)), ("y", str(y)), ("z", str(z)), ("yaw", str(yaw))))
        params = tuple(b2d.ScenarioParam(tag, tuple(attrs.items())) for tag, attrs in sc.params.items())
        scenarios.append(b2d.ScenarioSpec(sc.name, sc.type, (trigger, *params)))
    weathers = tuple(b2d.WeatherSpec(tuple((k, float(v)) for k, v in w.items())) for w in route.weathers)
    return b2d.RouteSpec(route.id, route.town, np.round(np.asarray(route.positions, dtype=np.float64), 3),
                         tuple(scenarios), weathers)


def read_routes(path: str | Path) -> list[RouteSpec]:
    return [_from_b2d(route) for route in parse_routes(path)]


def write_routes(routes: list[RouteSpec], path: str | Path) -> Path:
    return write_b2d_routes([_to_b2d(route) for route in routes], path)
