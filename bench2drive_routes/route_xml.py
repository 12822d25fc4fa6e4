"""Read and write Bench2Drive / leaderboard-2.0 route XML files.

parse_routes(path) -> list[RouteSpec]; write_routes(routes, path) writes a file the
leaderboard reads back (atomically). Errors name the file, the route id and the element.
Routes without <weathers> are valid (the leaderboard uses its base weather) but worth knowing:
parsing says so with a RouteFileWarning naming them (bench2drive_0.0.4_val.xml has four).
"""

from __future__ import annotations

import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from bench2drive_routes.route_spec import (
    RouteSpec,
    ScenarioParam,
    ScenarioSpec,
    WeatherSpec,
    is_finite_number,
    missing_weathers_note,
)
from core.atomic_files import atomic_write_text


class RouteFileError(ValueError):
    """A route file that cannot be read; the message names file, route and element."""


class RouteFileWarning(UserWarning):
    """A route file that parses but has something a user should know (routes without <weathers>)."""


def _where(source: str, route_id: str | None, element: str | None = None) -> str:
    parts = [source]
    if route_id is not None:
        parts.append(f"route id={route_id}")
    if element:
        parts.append(element)
    return ": ".join(parts)


def _float_attr(elem: ET.Element, name: str, where: str) -> float:
    text = elem.get(name)
    if text is None:
        raise RouteFileError(f"{where}: missing attribute {name!r}")
    if not is_finite_number(text):
        raise RouteFileError(f"{where}: attribute {name}={text!r} is not a finite number")
    return float(text)


def _parse_waypoints(route: ET.Element, source: str, route_id: str) -> np.ndarray:
    waypoints = route.find("waypoints")
    if waypoints is None:
        raise RouteFileError(_where(source, route_id, "<waypoints>") + ": missing")
    positions = waypoints.findall("position")
    if not positions:
        raise RouteFileError(_where(source, route_id, "<waypoints>") + ": no <position> elements")
    points = np.empty((len(positions), 3), dtype=np.float64)
    for index, position in enumerate(positions):
        where = _where(source, route_id, f"<position> #{index}")
        points[index] = [_float_attr(position, axis, where) for axis in ("x", "y", "z")]
    return points


def _parse_scenarios(route: ET.Element, source: str, route_id: str) -> tuple[ScenarioSpec, ...]:
    container = route.find("scenarios")
    if container is None:
        return ()
    scenarios = []
    for index, scenario in enumerate(container):
        where = _where(source, route_id, f"<{scenario.tag}> #{index}")
        if scenario.tag != "scenario":
            raise RouteFileError(f"{where}: unexpected element inside <scenarios>")
        scenario_type = scenario.get("type")
        if not scenario_type:
            raise RouteFileError(f"{where}: missing attribute 'type'")
        name = scenario.get("name") or scenario_type
        params = []
        for child in scenario:
            if child.tag == "trigger_point":
                # Every scenario class reads x, y, z, yaw from its trigger point: check them here
                # so a typo fails at parse time, not minutes into a CARLA run.
                for axis in ("x", "y", "z", "yaw"):
                    _float_attr(child, axis, f"{where} ({name}): <trigger_point>")
            params.append(ScenarioParam(tag=child.tag, attrs=tuple(child.attrib.items())))
        scenarios.append(ScenarioSpec(name=name, type=scenario_type, params=tuple(params)))
    return tuple(scenarios)


def _parse_weathers(route: ET.Element, source: str, route_id: str) -> tuple[WeatherSpec, ...]:
    container = route.find("weathers")
    if container is None:
        return ()  # the leaderboard then keeps its default weather; some validation routes do this
    weathers = []
    for index, weather in enumerate(container.findall("weather")):
        where = _where(source, route_id, f"<weather> #{index}")
        values = tuple((name, _float_attr(weather, name, where)) for name in weather.attrib)
        weathers.append(WeatherSpec(values=values))
    return tuple(weathers)


def parse_routes_text(text: str | bytes, source: str = "<string>") -> list[RouteSpec]:
    """Parse route XML held in memory; `source` names it in error messages."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise RouteFileError(f"{source}: not well-formed XML ({exc})") from exc
    if root.tag != "routes":
        raise RouteFileError(f"{source}: root element is <{root.tag}>, expected <routes>")
    routes: list[RouteSpec] = []
    seen: set[str] = set()
    for index, route in enumerate(root.findall("route")):
        route_id = route.get("id")
        if not route_id:
            raise RouteFileError(_where(source, None, f"<route> #{index}") + ": missing attribute 'id'")
        town = route.get("town")
        if not town:
            raise RouteFileError(_where(source, route_id, "<route>") + ": missing attribute 'town'")
        if route_id in seen:
            raise RouteFileError(_where(source, route_id, "<route>") + ": duplicate route id")
        seen.add(route_id)
        extra = tuple((k, v) for k, v in route.attrib.items() if k not in ("id", "town"))
        routes.append(RouteSpec(
            id=route_id,
            town=town,
            waypoints=_parse_waypoints(route, source, route_id),
            scenarios=_parse_scenarios(route, source, route_id),
            weathers=_parse_weathers(route, source, route_id),
            attrs=extra,
        ))
    note = missing_weathers_note(routes, source)
    if note is not None:
        warnings.warn(note, RouteFileWarning, stacklevel=3)
    return routes


def parse_routes(path: str | Path) -> list[RouteSpec]:
    """All routes of a route file, in file order."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RouteFileError(f"{path}: cannot read route file ({exc.strerror or exc})") from exc
    return parse_routes_text(data, source=str(path))


def _number(value: float) -> str:
    # repr() is the shortest text that parses back to the same float: exact round trips.
    return repr(float(value))


def routes_to_xml(routes: Iterable[RouteSpec]) -> str:
    """The route file text for `routes` (leaderboard layout, 3-space indents like Bench2Drive's)."""
    root = ET.Element("routes")
    for route in routes:
        route_elem = ET.SubElement(root, "route", {"id": route.id, "town": route.town, **dict(route.attrs)})
        waypoints = ET.SubElement(route_elem, "waypoints")
        for x, y, z in route.waypoints:
            ET.SubElement(waypoints, "position", {"x": _number(x), "y": _number(y), "z": _number(z)})
        scenarios = ET.SubElement(route_elem, "scenarios")
        for scenario in route.scenarios:
            scenario_elem = ET.SubElement(scenarios, "scenario", {"name": scenario.name, "type": scenario.type})
            for param in scenario.params:
                ET.SubElement(scenario_elem, param.tag, dict(param.attrs))
        if route.weathers:
            weathers = ET.SubElement(route_elem, "weathers")
            for weather in route.weathers:
                ET.SubElement(weathers, "weather", {name: _number(value) for name, value in weather.values})
    ET.indent(root, space="   ")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_routes(routes: Iterable[RouteSpec], path: str | Path) -> Path:
    """Write a route file atomically (a crash never leaves a half-written file behind)."""
    return atomic_write_text(path, routes_to_xml(routes))
