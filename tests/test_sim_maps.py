"""Embedded maps and route sets: connected lanes, traceable routes, Bench2Drive XML, scenario coverage."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from bench2drive_routes.abilities import ABILITY_NAMES
from bench2drive_routes.route_xml import parse_routes
from core.carla_compat import RoadOption
from sim.map_provider import EmbeddedMapProvider
from sim.route_file import read_routes
from sim.routing import trace_route
from sim.scenarios import ABILITY, SCENARIO_TYPES
from sim.world_map import WorldMap, available_towns

ROOT = Path(__file__).resolve().parent.parent
FULL = ROOT / "bench2drive_routes" / "embedded_full.xml"
QUICK = ROOT / "bench2drive_routes" / "embedded_quick.xml"
TOWNS = ("EmbeddedGrid", "EmbeddedTJunction", "EmbeddedHighway", "EmbeddedRural")


def test_four_towns_ship_as_data() -> None:
    assert set(TOWNS) <= set(available_towns())


@pytest.mark.parametrize("town", TOWNS)
def test_lane_graph_is_geometrically_connected(town: str) -> None:
    wmap = WorldMap.load(town)
    for lane in wmap.lanes:
        for succ in lane.successors:
            gap = float(np.linalg.norm(lane.points[-1] - wmap.lanes[succ].points[0]))
            assert gap < 0.05, f"{town}: lane {lane.id} -> {succ} jumps {gap:.2f} m"
            turn = math.degrees(abs(math.remainder(wmap.lanes[succ].yaw[0] - lane.yaw[-1], 2 * math.pi)))
            assert turn < 20.0, f"{town}: lane {lane.id} -> {succ} kinks by {turn:.0f} deg"
        assert lane.width > 2.5 and lane.speed_limit > 0


def test_grid_has_signalised_junctions_with_stop_lines_and_crosswalks() -> None:
    wmap = WorldMap.load("EmbeddedGrid")
    assert len(wmap.lights) >= 16 and len(wmap.crosswalks) >= 16
    for t in np.arange(0.0, 80.0, 0.5):
        states = wmap.light_states(float(t))
        for controller in wmap.controllers:  # one phase not red at a time: crossing flows never both go
            going = {i for i, p in enumerate(controller.phases) if any(states[lid] != "red" for lid in p.green)}
            assert len(going) <= 1


def test_t_junction_side_road_has_a_stop_sign() -> None:
    wmap = WorldMap.load("EmbeddedTJunction")
    assert len(wmap.stop_signs) == 1
    lane = wmap.lanes[wmap.stop_signs[0].lane]
    assert any(wmap.lanes[s].is_junction for s in lane.successors)


def test_waypoint_query_matches_lane_geometry() -> None:
    wmap = WorldMap.load("EmbeddedRural")
    wp = wmap.get_waypoint(-100.0, 1.0)  # eastbound lane centre at y = +1.75
    assert wp.lane_id == -1 and abs(wp.y - 1.75) < 1e-6 and abs(wp.yaw) < 1e-6
    assert wmap.get_waypoint(-100.0, -1.0).lane_id == 1


def test_route_sets_parse_with_the_projects_route_parser_and_cover_every_ability() -> None:
    full, quick = parse_routes(FULL), parse_routes(QUICK)
    assert len(full) >= 20 and len(quick) == 5
    types = [r.scenario_type for r in full]
    for name in SCENARIO_TYPES:
        assert types.count(name) >= 2, name
    assert {ABILITY[r.scenario_type] for r in full} == set(ABILITY_NAMES)
    assert sorted(ABILITY[r.scenario_type] for r in quick) == sorted(ABILITY_NAMES)
    for route in full:
        assert set(route.abilities) >= {ABILITY[route.scenario_type]}


def test_every_route_traces_on_its_map_with_turn_options() -> None:
    for spec in read_routes(FULL):
        route = trace_route(WorldMap.load(spec.town), spec.positions)
        assert route.length > 150.0
        assert np.all(np.diff(route.cum) > 0.05) and np.max(np.diff(route.cum)) < 1.5
        turns = set(route.options.tolist()) - {int(RoadOption.LANEFOLLOW)}
        assert turns <= {int(RoadOption.LEFT), int(RoadOption.RIGHT), int(RoadOption.STRAIGHT)}


def test_map_provider_serves_the_metrics_junction_hook() -> None:
    from launch.metrics.junctions import junction_completion

    spec = next(r for r in parse_routes(FULL) if r.scenario_type == "VanillaSignalizedTurnEncounterRedLight")
    fraction = junction_completion(spec, EmbeddedMapProvider().get_map(spec.town))
    assert fraction is not None and 0.2 < fraction < 0.9
