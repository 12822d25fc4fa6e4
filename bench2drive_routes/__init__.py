"""Route-file tooling: parse, split, filter and write Bench2Drive route files; ability groups.

Public API (what launch code calls):
    parse_routes(path) -> list[RouteSpec]          write_routes(routes, path)
    split_routes(routes, n) -> list[list[RouteSpec]]
    filter_routes(routes, route_ids=, scenario_types=, abilities=, towns=)
    write_route_subset(routes_or_path, route_ids, out_path)
    ABILITIES / ABILITY_NAMES / abilities_of(scenario_type)
"""

from bench2drive_routes.abilities import ABILITIES, ABILITY_NAMES, abilities_of
from bench2drive_routes.route_sets import filter_routes, split_routes, write_route_subset
from bench2drive_routes.route_spec import (
    RouteSpec,
    ScenarioParam,
    ScenarioSpec,
    WeatherSpec,
    missing_weathers_note,
    normalize_route_id,
    routes_without_weathers,
    scenario_type_from_name,
)
from bench2drive_routes.route_xml import (
    RouteFileError,
    RouteFileWarning,
    parse_routes,
    parse_routes_text,
    routes_to_xml,
    write_routes,
)

__all__ = [
    "ABILITIES",
    "ABILITY_NAMES",
    "RouteFileError",
    "RouteFileWarning",
    "RouteSpec",
    "ScenarioParam",
    "ScenarioSpec",
    "WeatherSpec",
    "abilities_of",
    "filter_routes",
    "missing_weathers_note",
    "normalize_route_id",
    "parse_routes",
    "parse_routes_text",
    "routes_to_xml",
    "routes_without_weathers",
    "scenario_type_from_name",
    "split_routes",
    "write_route_subset",
    "write_routes",
]
