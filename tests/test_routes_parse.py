"""Route files: parse every element of Bench2Drive files, write them back exactly, fail loudly."""

from __future__ import annotations

import collections

import numpy as np
import pytest
from b2d_fixtures import B2D220, SHARED, make_route
from hypothesis import given, settings
from hypothesis import strategies as st

from bench2drive_routes import (
    RouteFileError,
    RouteSpec,
    ScenarioParam,
    ScenarioSpec,
    WeatherSpec,
    normalize_route_id,
    parse_routes,
    parse_routes_text,
    routes_to_xml,
    scenario_type_from_name,
    write_routes,
)

needs_b2d = pytest.mark.skipif(not B2D220.is_file(), reason="shared Bench2Drive route files not present")


@needs_b2d
def test_bench2drive220_every_route_scenario_and_weather_is_read():
    import xml.etree.ElementTree as ET

    routes = parse_routes(B2D220)
    root = ET.parse(B2D220).getroot()
    xml_routes = root.findall("route")
    assert len(routes) == len(xml_routes) == 220
    for spec, elem in zip(routes, xml_routes):
        assert spec.id == elem.get("id") and spec.town == elem.get("town")
        positions = elem.find("waypoints").findall("position")
        assert spec.waypoints.shape == (len(positions), 3)
        assert spec.waypoints[-1, 0] == float(positions[-1].get("x"))
        xml_scenarios = elem.find("scenarios").findall("scenario")
        assert [s.type for s in spec.scenarios] == [s.get("type") for s in xml_scenarios]
        for scenario, xml_scenario in zip(spec.scenarios, xml_scenarios):
            # every child element and every attribute of it survives, as text
            assert [(p.tag, dict(p.attrs)) for p in scenario.params] == [(c.tag, c.attrib) for c in xml_scenario]
            assert scenario.trigger_point == tuple(float(xml_scenario.find("trigger_point").get(k)) for k in "xyz") + (
                float(xml_scenario.find("trigger_point").get("yaw")),)
        xml_weathers = elem.find("weathers").findall("weather")
        assert [w.route_percentage for w in spec.weathers] == [float(w.get("route_percentage")) for w in xml_weathers]
    types = collections.Counter(r.scenario_type for r in routes)
    assert len(types) == 44 and set(types.values()) == {5}  # 44 scenario types x 5 routes


@needs_b2d
@pytest.mark.parametrize("name", ["bench2drive220.xml", "bench2drive_0.0.4_val.xml", "drivetransformer_bench2drive_dev10.xml"])
def test_shared_route_files_round_trip(name, tmp_path):
    path = SHARED / "bench2drive" / name
    routes = parse_routes(path)
    out = write_routes(routes, tmp_path / name)
    again = parse_routes(out)
    assert again == routes
    assert not (tmp_path / name).with_suffix(".xml.tmp").exists()


def test_round_trip_keeps_every_kind_of_element(tmp_path):
    route = make_route("7", town="Town05", scenario_type="HazardAtSideLane")
    extra = ScenarioSpec("Accident_2", "Accident", (ScenarioParam("direction", (("value", "right"),)),))
    route = RouteSpec(route.id, route.town, route.waypoints, route.scenarios + (extra,), route.weathers,
                      attrs=(("road_id", "892"),))
    no_weather = make_route("8")
    no_weather = RouteSpec(no_weather.id, no_weather.town, no_weather.waypoints, no_weather.scenarios, ())
    back = parse_routes(write_routes([route, no_weather], tmp_path / "r.xml"))
    assert back == [route, no_weather]
    assert back[0].attrs == (("road_id", "892"),)
    assert back[0].scenarios[1].value("direction") == "right"
    assert back[1].weathers == ()


finite = st.floats(min_value=-1e5, max_value=1e5, allow_nan=False, allow_infinity=False)


@settings(max_examples=40, deadline=None)
@given(
    points=st.lists(st.tuples(finite, finite, finite), min_size=1, max_size=6),
    weather=st.dictionaries(st.sampled_from(["cloudiness", "wetness", "fog_density", "route_percentage"]), finite),
    param_text=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=12),
)
def test_parse_of_write_is_identity(points, weather, param_text):
    route = RouteSpec(
        id="42", town="Town12", waypoints=np.array(points),
        scenarios=(ScenarioSpec("X_1", "X", (ScenarioParam("blocker_model", (("value", param_text),)),)),),
        weathers=(WeatherSpec(tuple(weather.items())),),
    )
    assert parse_routes_text(routes_to_xml([route])) == [route]


def test_route_length_and_ids():
    route = make_route("1", n_points=11, step_m=2.0)
    assert route.length_m == pytest.approx(20.0)
    assert normalize_route_id("RouteScenario_1711_rep3") == "1711"
    assert normalize_route_id(1711) == "1711"
    assert scenario_type_from_name("ParkingCutIn_1") == "ParkingCutIn"
    assert scenario_type_from_name("T_Junction") == "T_Junction"
    with pytest.raises(ValueError):
        route.waypoints[0, 0] = 5.0  # shared routes are read-only


GOOD = '<routes><route id="{rid}" town="Town01"><waypoints>{pos}</waypoints><scenarios>{scen}</scenarios></route></routes>'
POS = '<position x="1" y="2" z="0"/>'
SCEN = '<scenario name="A_1" type="A"><trigger_point x="1" y="2" z="0" yaw="90"/></scenario>'


@pytest.mark.parametrize(
    "text, fragments",
    [
        (GOOD.format(rid="9", pos='<position x="1" y="oops" z="0"/>', scen=SCEN), ["route id=9", "<position> #0", "y='oops'"]),
        (GOOD.format(rid="9", pos='<position x="1" z="0"/>', scen=SCEN), ["route id=9", "<position> #0", "'y'"]),
        (GOOD.format(rid="9", pos="", scen=SCEN), ["route id=9", "<waypoints>", "no <position>"]),
        (GOOD.format(rid="9", pos=POS, scen='<scenario name="A_1" type="A"><trigger_point x="1" y="2" z="0"/></scenario>'),
         ["route id=9", "<scenario> #0", "A_1", "<trigger_point>", "'yaw'"]),
        (GOOD.format(rid="9", pos=POS, scen='<scenario name="A_1"/>'), ["route id=9", "<scenario> #0", "'type'"]),
        (GOOD.format(rid="9", pos=POS, scen=SCEN).replace("</routes>", GOOD.format(rid="9", pos=POS, scen=SCEN)[8:]),
         ["route id=9", "duplicate"]),
        ('<routes><route id="9" town="Town01"><waypoints>' + POS + "</waypoints><weathers><weather cloudiness=\"x\"/>"
         "</weathers></route></routes>", ["route id=9", "<weather> #0", "cloudiness"]),
        ("<routes><route id=", ["not well-formed"]),
        ("<scenarios/>", ["expected <routes>"]),
    ],
)
def test_errors_name_file_route_and_element(tmp_path, text, fragments):
    path = tmp_path / "broken_routes.xml"
    path.write_text(text)
    with pytest.raises(RouteFileError) as info:
        parse_routes(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message


def test_missing_file_is_a_route_file_error(tmp_path):
    with pytest.raises(RouteFileError, match="cannot read"):
        parse_routes(tmp_path / "nope.xml")
