"""Typed contents of a Bench2Drive / leaderboard-2.0 route file.

A route file is `<routes><route id= town=> <waypoints><position x y z/>...</waypoints>
<scenarios><scenario name= type=> <trigger_point .../> <distance value=/> ...</scenario></scenarios>
<weathers><weather route_percentage= cloudiness= .../>...</weathers></route>...</routes>`.

Scenario parameters are kept as raw attribute text (their meaning depends on the scenario
class: numbers, 'left'/'right', blueprint names); weather values are numbers. Everything
round-trips: parse(write(routes)) == routes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

# Weather attributes CARLA's WeatherParameters understands, in the order files usually list
# them. Units: percentages 0-100 except the sun angles (degrees) and the scattering terms.
WEATHER_FIELDS: tuple[str, ...] = (
    "route_percentage",  # % of the route at which this keyframe applies (0 = start, 100 = end)
    "cloudiness",
    "precipitation",
    "precipitation_deposits",
    "wetness",
    "wind_intensity",
    "sun_azimuth_angle",  # degrees
    "sun_altitude_angle",  # degrees
    "fog_density",
    "fog_distance",  # metres
    "fog_falloff",
    "scattering_intensity",
    "mie_scattering_scale",
    "rayleigh_scattering_scale",
    "dust_storm",
)

MAX_IDS_IN_NOTE = 12  # route ids a note lists before it says '... (N more)'

_ROUTE_ID_RE = re.compile(r"^RouteScenario_(?P<id>[^_]+)(?:_rep(?P<rep>\d+))?$")


def normalize_route_id(route_id: str | int) -> str:
    """'RouteScenario_1711_rep0' or 1711 or '1711' -> '1711' (the id used in route files)."""
    text = str(route_id).strip()
    match = _ROUTE_ID_RE.match(text)
    return match.group("id") if match else text


def route_repetition(route_id: str) -> int:
    """Repetition index of a leaderboard record id ('RouteScenario_1711_rep2' -> 2; else 0)."""
    match = _ROUTE_ID_RE.match(str(route_id).strip())
    return int(match.group("rep")) if match and match.group("rep") else 0


def scenario_type_from_name(name: str) -> str:
    """'ParkingCutIn_1' -> 'ParkingCutIn': leaderboard records carry the instance name only."""
    base, sep, suffix = name.rpartition("_")
    return base if sep and suffix.isdigit() else name


@dataclass(frozen=True)
class ScenarioParam:
    """One child element of a <scenario>, e.g. <trigger_point x= y= z= yaw=/> or <distance value=/>."""

    tag: str  # element name
    attrs: tuple[tuple[str, str], ...]  # (attribute, raw text) in file order

    def get(self, name: str, default: str | None = None) -> str | None:
        for key, value in self.attrs:
            if key == name:
                return value
        return default

    def as_float(self, name: str = "value") -> float:
        value = self.get(name)
        if value is None:
            raise KeyError(f"<{self.tag}> has no attribute {name!r}")
        return float(value)


@dataclass(frozen=True)
class ScenarioSpec:
    """A scenario instance on a route."""

    name: str  # instance name, e.g. 'ParkingCutIn_1'
    type: str  # scenario class, e.g. 'ParkingCutIn' (what abilities are keyed on)
    params: tuple[ScenarioParam, ...] = ()

    def param(self, tag: str) -> ScenarioParam | None:
        """The first child element named `tag` (files hold each tag once in practice)."""
        for param in self.params:
            if param.tag == tag:
                return param
        return None

    def value(self, tag: str, attr: str = "value") -> str | None:
        """Raw text of `<tag attr=...>`, e.g. value('distance') -> '70'."""
        param = self.param(tag)
        return None if param is None else param.get(attr)

    @property
    def trigger_point(self) -> tuple[float, float, float, float] | None:
        """(x, y, z) world metres and yaw in degrees, or None when the scenario has none."""
        param = self.param("trigger_point")
        if param is None:
            return None
        return tuple(float(param.get(k, "0") or 0.0) for k in ("x", "y", "z", "yaw"))  # type: ignore[return-value]


@dataclass(frozen=True)
class WeatherSpec:
    """One weather keyframe; values interpolate along the route by route_percentage."""

    values: tuple[tuple[str, float], ...]  # (attribute, value) pairs; names as in WEATHER_FIELDS

    def __post_init__(self) -> None:
        # Canonical order (WEATHER_FIELDS first, then unknown names sorted): attribute order in a
        # file carries no meaning, so two keyframes with the same values compare equal.
        rank = {name: i for i, name in enumerate(WEATHER_FIELDS)}
        ordered = sorted(((str(k), float(v)) for k, v in self.values), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))
        object.__setattr__(self, "values", tuple(ordered))

    def get(self, name: str, default: float | None = None) -> float | None:
        for key, value in self.values:
            if key == name:
                return value
        return default

    @property
    def route_percentage(self) -> float:
        return float(self.get("route_percentage", 0.0) or 0.0)


@dataclass(frozen=True, eq=False)
class RouteSpec:
    """One route of a route file."""

    id: str  # the file's id attribute, e.g. '1711' (records call it RouteScenario_1711_rep0)
    town: str  # CARLA map name, e.g. 'Town12'
    waypoints: np.ndarray  # [N, 3] float64, CARLA world x, y, z in metres (left-handed frame)
    scenarios: tuple[ScenarioSpec, ...] = ()
    weathers: tuple[WeatherSpec, ...] = ()
    attrs: tuple[tuple[str, str], ...] = field(default=())  # other <route> attributes (e.g. road_id)

    def __post_init__(self) -> None:
        points = np.array(self.waypoints, dtype=np.float64, copy=True).reshape(-1, 3)
        points.setflags(write=False)  # frozen means frozen: callers cannot edit a shared route
        object.__setattr__(self, "waypoints", points)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RouteSpec):
            return NotImplemented
        return (
            self.id == other.id
            and self.town == other.town
            and self.waypoints.shape == other.waypoints.shape
            and bool(np.array_equal(self.waypoints, other.waypoints))
            and self.scenarios == other.scenarios
            and self.weathers == other.weathers
            and self.attrs == other.attrs
        )

    def __hash__(self) -> int:
        return hash((self.id, self.town, self.waypoints.shape[0]))

    @property
    def length_m(self) -> float:
        """Polyline length through the file's waypoints (3D, metres).

        The leaderboard's meta.route_length measures the route after the global planner has
        densified it along the lanes (1 m hops); on Bench2Drive-220 the two differ by -2..+9 m
        per route. Metrics use the record's own route_length whenever a record exists.
        """
        if len(self.waypoints) < 2:
            return 0.0
        return float(np.linalg.norm(np.diff(self.waypoints, axis=0), axis=1).sum())

    @property
    def scenario_type(self) -> str | None:
        """Type of the route's first scenario: what Bench2Drive's ability tables key on."""
        return self.scenarios[0].type if self.scenarios else None

    @property
    def abilities(self) -> tuple[str, ...]:
        from bench2drive_routes.abilities import abilities_of  # local: abilities imports nothing of ours

        return abilities_of(self.scenario_type) if self.scenario_type else ()


def format_ids(ids: Sequence[str]) -> str:
    """'a, b, c' for a message, at most MAX_IDS_IN_NOTE shown and '... (N more)' after."""
    shown = ", ".join(ids[:MAX_IDS_IN_NOTE])
    return shown + (f", ... ({len(ids) - MAX_IDS_IN_NOTE} more)" if len(ids) > MAX_IDS_IN_NOTE else "")


def routes_without_weathers(routes: Iterable[RouteSpec]) -> list[str]:
    """Ids of routes with no <weathers> (the v0.0.4 validation file has four), in file order."""
    return [route.id for route in routes if not route.weathers]


def missing_weathers_note(routes: Iterable[RouteSpec], source: str) -> str | None:
    """The sentence to tell a user about routes without <weathers>; None when every route has one.

    The leaderboard's RouteParser then drives the route in its base weather (sun altitude 70,
    cloudiness 50, CARLA defaults otherwise), and Bench2Drive's get_weather_id finds no case
    for it: the record's weather_id and save_name say 'None'.
    """
    ids = routes_without_weathers(routes)
    if not ids:
        return None
    return (f"{source}: {len(ids)} routes have no <weathers> (ids {format_ids(ids)}): the leaderboard drives them "
            "in its base weather (sun altitude 70, cloudiness 50)")


def is_finite_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except (TypeError, ValueError):
        return False
