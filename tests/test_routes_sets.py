"""Shards, filters, subset files and the ability groups."""

from __future__ import annotations

import collections

import pytest
from b2d_fixtures import B2D220, make_route

from bench2drive_routes import (
    ABILITIES,
    ABILITY_NAMES,
    abilities_of,
    filter_routes,
    parse_routes,
    split_routes,
    write_route_subset,
)


def _mixed_routes():
    routes = []
    for i in range(40):
        town = ("Town01", "Town02", "Town12", "Town13")[i % 4]
        kind = ("ParkingCutIn", "Accident", "InvadingTurn", "T_Junction", "EnterActorFlow")[i % 5]
        routes.append(make_route(str(100 + i), town=town, scenario_type=kind, n_points=5 + (i * 7) % 40))
    return routes


def _check_shards(routes, shards, slack):
    flat = [r.id for shard in shards for r in shard]
    assert sorted(flat) == sorted(r.id for r in routes)  # every route exactly once
    loads = [sum(max(r.length_m, 1.0) for r in shard) for shard in shards]
    longest = max(r.length_m for r in routes)
    assert max(loads) - min(loads) <= longest + slack + 1e-9
    for shard in shards:  # ordered so a runner loads each town once
        towns = [r.town for r in shard]
        assert towns == sorted(towns)


@pytest.mark.parametrize("n", [1, 3, 8])
def test_split_balances_length_and_groups_towns(n):
    routes = _mixed_routes()
    shards = split_routes(routes, n)
    assert len(shards) == n
    slack = sorted(r.length_m for r in routes)[len(routes) // 2]
    _check_shards(routes, shards, slack)
    # town affinity: fewer (shard, town) pairs than dealing the same routes round-robin
    if n > 1:
        pairs = sum(len({r.town for r in shard}) for shard in shards)
        dealt = sum(len({r.town for r in routes[i::n]}) for i in range(n))
        assert pairs <= dealt


def test_split_with_more_shards_than_routes_and_bad_counts():
    routes = _mixed_routes()[:3]
    shards = split_routes(routes, 5)
    assert sum(len(s) for s in shards) == 3 and sum(1 for s in shards if not s) == 2
    assert split_routes([], 2) == [[], []]
    with pytest.raises(ValueError):
        split_routes(routes, 0)


@pytest.mark.skipif(not B2D220.is_file(), reason="shared Bench2Drive route files not present")
def test_split_bench2drive220_into_8():
    routes = parse_routes(B2D220)
    shards = split_routes(routes, 8)
    _check_shards(routes, shards, slack=sorted(r.length_m for r in routes)[110])


def test_filters_combine_and_reject_typos():
    routes = _mixed_routes()
    by_ability = filter_routes(routes, abilities=["Give_Way"])
    assert by_ability and all(r.scenario_type == "InvadingTurn" for r in by_ability)
    both = filter_routes(routes, abilities=["Merging"], towns=["Town12"])
    assert both and all(r.town == "Town12" and "Merging" in r.abilities for r in both)
    assert [r.id for r in filter_routes(routes, route_ids=["RouteScenario_101_rep0", "100"])] == ["100", "101"]
    assert {r.scenario_type for r in filter_routes(routes, scenario_types=["Accident"])} == {"Accident"}
    assert filter_routes(routes) == routes
    with pytest.raises(ValueError, match="999"):
        filter_routes(routes, route_ids=["999"])
    with pytest.raises(ValueError, match="Give_Way"):
        filter_routes(routes, abilities=["GiveWay"])


def test_write_route_subset_keeps_file_order(tmp_path):
    routes = _mixed_routes()
    source = tmp_path / "all.xml"
    from bench2drive_routes import write_routes

    write_routes(routes, source)
    subset = write_route_subset(source, ["RouteScenario_130_rep0", "104"], tmp_path / "subset.xml")
    assert [r.id for r in subset] == ["104", "130"]
    assert parse_routes(tmp_path / "subset.xml") == [routes[4], routes[30]]


def test_ability_groups():
    assert tuple(ABILITIES) == ("Overtaking", "Merging", "Emergency_Brake", "Give_Way", "Traffic_Signs")
    assert set(ABILITY_NAMES) == set(ABILITIES)
    # Bench2Drive's corrected names (the v0.0.2 script had typos that matched nothing)
    assert abilities_of("VehicleOpensDoorTwoWays") == ("Overtaking",)
    assert abilities_of("ParkingCrossingPedestrian") == ("Emergency_Brake",)
    assert abilities_of("MergerIntoSlowTraffic") == ("Merging",)
    assert abilities_of("VanillaNonSignalizedTurnEncounterStopsign") == ("Traffic_Signs",)
    # only Traffic_Signs overlaps the others, and only with Merging and Emergency_Brake
    names = list(ABILITIES)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if ABILITIES[a] & ABILITIES[b]:
                assert "Traffic_Signs" in (a, b) and {a, b} - {"Traffic_Signs"} <= {"Merging", "Emergency_Brake"}


@pytest.mark.skipif(not B2D220.is_file(), reason="shared Bench2Drive route files not present")
def test_every_bench2drive220_route_has_an_ability():
    routes = parse_routes(B2D220)
    assert all(r.abilities for r in routes)
    counts = collections.Counter(a for r in routes for a in r.abilities)
    # Bench2Drive's ability denominators on the 220 routes
    assert counts == {"Merging": 80, "Overtaking": 45, "Emergency_Brake": 60, "Give_Way": 10, "Traffic_Signs": 95}
