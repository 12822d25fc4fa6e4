"""The Traffic_Signs junction credit: map hook, Bench2Drive's double count, strict fallback."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from b2d_fixtures import make_record, make_route, write_results

from bench2drive_routes import write_routes
from launch.metrics import XodrMapProvider, build_report, junction_completion


@dataclass
class _Waypoint:
    is_junction: bool


class _FakeMap:
    """Junction wherever x >= junction_x (a stand-in for carla.Map.get_waypoint)."""

    def __init__(self, junction_x: float) -> None:
        self.junction_x = junction_x
        self.queries = 0

    def get_waypoint(self, location):
        self.queries += 1
        return _Waypoint(location.x >= self.junction_x)


class _FakeProvider:
    description = "fake maps"

    def __init__(self, junction_x: float) -> None:
        self.maps: dict[str, _FakeMap] = {}
        self.junction_x = junction_x

    def get_map(self, town):
        return self.maps.setdefault(town, _FakeMap(self.junction_x))


def test_junction_completion_counts_one_metre_hops_plus_eight():
    route = make_route("1", n_points=11, step_m=2.0)  # x = 0 .. 20 m
    fake = _FakeMap(junction_x=5.0)
    # samples every metre: x = 0, 1, ..., 20 -> 21 waypoints; first junction at index 5
    assert junction_completion(route, fake) == pytest.approx((5 + 1 + 8) / 21)
    assert fake.queries == 21
    assert junction_completion(route, _FakeMap(junction_x=1e9)) is None


def test_traffic_signs_credit_double_counts_like_bench2drive(tmp_path):
    ids = ["1", "2", "3", "4"]
    routes = [make_route(i, scenario_type="T_Junction", n_points=11, origin=(0.0, 30.0 * n)) for n, i in enumerate(ids)]
    routes_file = write_routes(routes, tmp_path / "routes.xml")
    raw = [
        make_record("1", status="Failed - Agent got blocked", score_route=90.0, infractions={"collisions_vehicle": 1}),
        make_record("2", status="Failed - Agent got blocked", score_route=10.0),
        make_record("3", status="Failed - Agent got blocked", score_route=90.0, infractions={"red_light": 1}),
        make_record("4"),
    ]
    results = write_results(tmp_path / "r.json", raw)
    strict = build_report(results, routes_file)
    assert strict.ability.counts["Traffic_Signs"] == (1, 4)
    assert strict.ability.traffic_signs_mode == "strict"
    assert any("Traffic_Signs is strict" in note for note in strict.notes)
    # junction at x >= 5 m of a 20 m route: completion must exceed 14/21 = 66.7 %
    credited = build_report(results, routes_file, map_provider=_FakeProvider(junction_x=5.0))
    # strict pass (route 4) + second count: 4 (success) and 1 (past the junction, collisions allowed)
    assert credited.ability.counts["Traffic_Signs"] == (3, 8)
    assert credited.abilities["Traffic_Signs"] == pytest.approx(37.5)
    assert "fake maps" in credited.ability.traffic_signs_mode
    # the other abilities and the success rate do not change with a map
    assert credited.success_rate == strict.success_rate
    no_junction = build_report(results, routes_file, map_provider=_FakeProvider(junction_x=1e9))
    assert no_junction.ability.counts["Traffic_Signs"] == (2, 8)  # only route 4's second count
    assert any("no junction found" in note for note in no_junction.notes)


def test_map_without_route_file_stays_strict(tmp_path):
    results = write_results(tmp_path / "r.json", [make_record("1", scenario_type="T_Junction")])
    report = build_report(results, map_provider=_FakeProvider(0.0))
    assert report.ability.traffic_signs_mode == "strict"
    assert any("needs a route file" in note for note in report.notes)


_STRAIGHT_ROAD = """<?xml version="1.0" standalone="yes"?>
<OpenDRIVE><header revMajor="1" revMinor="4" name="TownT" version="1"/>
<road name="r" length="100.0" id="1" junction="-1"><link/>
<planView><geometry s="0.0" x="0.0" y="0.0" hdg="0.0" length="100.0"><line/></geometry></planView>
<elevationProfile/><lateralProfile/>
<lanes><laneSection s="0.0"><left/><center><lane id="0" type="none" level="false"/></center>
<right><lane id="-1" type="driving" level="false"><width sOffset="0.0" a="3.5" b="0" c="0" d="0"/></lane></right>
</laneSection></lanes></road></OpenDRIVE>"""


@pytest.mark.carla
def test_xodr_maps_are_read_offline_by_the_carla_client(tmp_path):
    pytest.importorskip("carla")
    (tmp_path / "TownT.xodr").write_text(_STRAIGHT_ROAD)
    provider = XodrMapProvider(tmp_path)
    route = make_route("1", town="TownT", origin=(10.0, 1.75))
    assert junction_completion(route, provider.get_map("TownT")) is None  # a straight road has no junction
    with pytest.raises(FileNotFoundError, match="Town99"):
        provider.get_map("Town99")
