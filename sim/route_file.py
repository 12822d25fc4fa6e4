"""Minimal reader / writer of Bench2Drive route XML (<routes><route id town>...).

The simulator needs only: id, town, waypoint positions, scenarios (name, type,
trigger point, parameter elements) and weathers. When bench2drive_routes/ gains
the project's full parser, `read_routes` delegates the XML reading to it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


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


def _parse_route(node: ET.Element) -> RouteSpec:
    positions = np.array([[float(p.get("x")), float(p.get("y")), float(p.get("z", 0.0))]
                          for p in node.find("waypoints").iter("position")], dtype=np.float64)
    scenarios = []
    for sc in node.iter("scenario"):
        trig = sc.find("trigger_point")
        trigger = (float(trig.get("x")), float(trig.get("y")), float(trig.get("z", 0.0)), float(trig.get("yaw", 0.0)))
        params = {child.tag: dict(child.attrib) for child in sc if child.tag != "trigger_point"}
        scenarios.append(ScenarioSpec(sc.get("name"), sc.get("type"), trigger, params))
    weathers = tuple(dict(w.attrib) for w in node.iter("weather"))
    return RouteSpec(node.get("id"), node.get("town"), positions, tuple(scenarios), weathers)


def read_routes(path: str | Path) -> list[RouteSpec]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"route file not found: {path}")
    root = ET.parse(path).getroot()
    return [_parse_route(node) for node in root.iter("route")]


def write_routes(routes: list[RouteSpec], path: str | Path) -> Path:
    root = ET.Element("routes")
    for route in routes:
        node = ET.SubElement(root, "route", id=str(route.id), town=route.town)
        wps = ET.SubElement(node, "waypoints")
        for x, y, z in route.positions:
            ET.SubElement(wps, "position", x=f"{x:.1f}", y=f"{y:.1f}", z=f"{z:.1f}")
        scs = ET.SubElement(node, "scenarios")
        for sc in route.scenarios:
            el = ET.SubElement(scs, "scenario", name=sc.name, type=sc.type)
            x, y, z, yaw = sc.trigger
            ET.SubElement(el, "trigger_point", x=f"{x:.1f}", y=f"{y:.1f}", z=f"{z:.1f}", yaw=f"{yaw:.1f}")
            for tag, attrs in sc.params.items():
                ET.SubElement(el, tag, **attrs)
        ws = ET.SubElement(node, "weathers")
        for w in route.weathers:
            ET.SubElement(ws, "weather", **w)
    ET.indent(root, space="   ")
    path = Path(path)
    path.write_text(ET.tostring(root, encoding="unicode") + "\n")
    return path
