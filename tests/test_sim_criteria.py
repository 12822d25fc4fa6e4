"""Each leaderboard criterion, provoked by a scripted driver: infraction key, message, penalty, status."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from sim.agents import ClassAgentFactory
from sim.config import SimConfig
from sim.evaluation import RunOptions, evaluate
from sim.route_file import RouteSpec, ScenarioSpec, write_routes
from sim.scripted_driver import scripted_driver

LOC = r"\(x=-?\d+(\.\d+)?, y=-?\d+(\.\d+)?, z=-?\d+(\.\d+)?\)"
RURAL = RouteSpec("1", "EmbeddedRural", np.array([[-300.0 + 5 * k, 1.75, 0.0] for k in range(31)]))  # 150 m east
GRID = RouteSpec("2", "EmbeddedGrid", np.array([[95.0 + 5 * k, 151.75, 0.0] for k in range(9)]
                                               + [[165.0 + 5 * k, 151.75, 0.0] for k in range(8)]))
T_SIDE = RouteSpec("3", "EmbeddedTJunction", np.array([[1.75, 80.0 - 5 * k, 0.0] for k in range(14)]
                                                      + [[15.0 + 5 * k, 1.75, 0.0] for k in range(10)]))


def _cfg(**criteria: object) -> SimConfig:
    cfg = SimConfig()
    return replace(cfg, traffic=replace(cfg.traffic, background_vehicles=0), criteria=replace(cfg.criteria, **criteria))


def _run(tmp_path: Path, spec: RouteSpec, driver: type, cfg: SimConfig | None = None) -> dict:
    tmp_path.mkdir(parents=True, exist_ok=True)
    write_routes([spec], tmp_path / "route.xml")
    results = evaluate(tmp_path / "route.xml", ClassAgentFactory(driver), cfg or _cfg(), RunOptions(tmp_path, resume=False))
    (record,) = results.records
    return record


def _spawn_ahead(type_id: str, metres: float, lateral: float = 0.0):
    def on_bind(runner) -> None:
        k = int(np.searchsorted(runner.route.cum, metres))
        x, y = runner.route.xy[k]
        yaw = float(runner.route.yaw[k])
        runner.world.spawn(type_id, "scenario", x - np.sin(yaw) * lateral, y + np.cos(yaw) * lateral, yaw)
    return on_bind


def test_clean_drive_completes_with_min_speed_checkpoints_only(tmp_path: Path) -> None:
    record = _run(tmp_path, RURAL, scripted_driver(speed=8.0))
    assert record["status"] == "Completed"  # min-speed messages are infractions, without a penalty
    assert record["scores"] == {"score_route": 100, "score_penalty": 1.0, "score_composed": 100.0}
    speeds = record["infractions"]["min_speed_infractions"]
    assert 18 <= len(speeds) <= 21
    assert all(m == "Average speed is 100% of the surrounding traffic's one" for m in speeds)  # no traffic
    assert sum(len(v) for k, v in record["infractions"].items() if k != "min_speed_infractions") == 0
    assert record["meta"]["route_length"] == pytest.approx(150.0, abs=0.5)


def test_min_speed_ratios_against_background_traffic_do_not_penalise(tmp_path: Path) -> None:
    cfg = SimConfig()
    record = _run(tmp_path, GRID, scripted_driver(speed=4.0), replace(cfg, traffic=replace(cfg.traffic, background_vehicles=6)))
    speeds = record["infractions"]["min_speed_infractions"]
    values = [float(re.fullmatch(r"Average speed is (\d+(?:\.\d+)?)% of the surrounding traffic's one", m).group(1))
              for m in speeds]
    assert values and any(v != 100 for v in values)
    assert record["scores"]["score_penalty"] == pytest.approx(1.0 if not record["infractions"]["red_light"] else 0.7)


@pytest.mark.parametrize(("type_id", "key", "penalty"), [
    ("vehicle.audi.a2", "collisions_vehicle", 0.6),
    ("static.prop.constructioncone", "collisions_layout", 0.65),
    ("walker.pedestrian.0001", "collisions_pedestrian", 0.5),
])
def test_collisions_by_class(tmp_path: Path, type_id: str, key: str, penalty: float) -> None:
    driver = scripted_driver(speed=6.0, on_bind=_spawn_ahead(type_id, 40.0))
    record = _run(tmp_path, RURAL, driver, _cfg(blocked_max_time_s=3.0))
    (message,) = record["infractions"][key]
    assert re.fullmatch(rf"Agent collided against object with type={re.escape(type_id)} and id=\d+ at {LOC}", message)
    assert record["scores"]["score_penalty"] == penalty
    assert record["scores"]["score_composed"] == pytest.approx(record["scores"]["score_route"] * penalty, abs=1e-6)
    if key == "collisions_pedestrian":  # knocked aside: the drive goes on
        assert record["status"] == "Completed"
    else:  # a car or a cone stops the ego for good
        assert record["status"] == "Failed - Agent got blocked" and record["scores"]["score_route"] < 40


def test_red_light(tmp_path: Path) -> None:
    def red(runner) -> None:
        entry = next(int(k) for k in runner.route.lane_ids if int(k) in runner.world.lane_lights)
        runner.world.set_light(runner.world.lane_lights[entry], "red")
    record = _run(tmp_path, GRID, scripted_driver(speed=7.0, on_bind=red))
    (message,) = record["infractions"]["red_light"]
    assert re.fullmatch(rf"Agent ran a red light \d+ at {LOC}", message)
    assert record["status"] == "Completed" and record["scores"]["score_penalty"] == 0.7


def test_stop_sign_run_and_respected(tmp_path: Path) -> None:
    record = _run(tmp_path / "run", T_SIDE, scripted_driver(speed=6.0))
    (message,) = record["infractions"]["stop_infraction"]
    assert re.fullmatch(rf"Agent ran a stop with id=\d+ at {LOC}", message)
    assert record["scores"]["score_penalty"] == 0.8

    line = 80.0 - 9.0 - 3.2  # route metres where the bumper reaches the stop line (centre 3.2 m behind it)
    state = {"stopped_at": None}

    def speed_at(s: float, t: float) -> float:
        if s < line - 0.5 and state["stopped_at"] is None:
            return min(6.0, max(0.0, (line - 0.5 - s) * 0.8))
        state["stopped_at"] = state["stopped_at"] or t
        return 0.0 if t - state["stopped_at"] < 1.5 else 5.0
    record = _run(tmp_path / "stop", T_SIDE, scripted_driver(speed_at=speed_at))
    assert record["infractions"]["stop_infraction"] == []
    assert record["status"] == "Completed"


def test_outside_route_lanes(tmp_path: Path) -> None:
    driver = scripted_driver(speed=7.0, offset=lambda s: -3.5 if 50.0 < s < 90.0 else 0.0)
    record = _run(tmp_path, RURAL, driver)
    (message,) = record["infractions"]["outside_route_lanes"]
    match = re.fullmatch(r"Agent went outside its route lanes for about (\d+(?:\.\d+)?) meters "
                         r"\((\d+(?:\.\d+)?)% of the completed route\)", message)
    assert match and 25.0 < float(match.group(1)) < 55.0
    pct = float(match.group(2))
    assert record["scores"]["score_penalty"] == pytest.approx(1 - pct / 100, abs=1e-4)
    assert record["status"] == "Completed"


def test_route_deviation(tmp_path: Path) -> None:
    driver = scripted_driver(speed=8.0, offset=lambda s: 0.0 if s < 40.0 else -min(60.0, (s - 40.0) * 1.5))
    record = _run(tmp_path, RURAL, driver)
    (message,) = record["infractions"]["route_dev"]
    assert re.fullmatch(rf"Agent deviated from the route at {LOC}", message)
    assert record["status"] == "Failed - Agent deviated from the route"


def test_agent_blocked(tmp_path: Path) -> None:
    record = _run(tmp_path, RURAL, scripted_driver(speed=0.0), _cfg(blocked_max_time_s=2.0))
    (message,) = record["infractions"]["vehicle_blocked"]
    assert re.fullmatch(rf"Agent got blocked at {LOC}", message)
    assert record["status"] == "Failed - Agent got blocked" and record["scores"]["score_composed"] == 0.0


def test_route_timeout(tmp_path: Path) -> None:
    record = _run(tmp_path, RURAL, scripted_driver(speed=0.0), _cfg(route_timeout_min_s=2.0))
    assert record["infractions"]["route_timeout"] == ["Route timeout."]
    assert record["status"] == "Failed - Agent timed out"
    assert record["meta"]["duration_game"] == pytest.approx(2.05, abs=0.06)


def test_tick_runtime_cap(tmp_path: Path) -> None:
    record = _run(tmp_path, RURAL, scripted_driver(speed=5.0), _cfg(tick_limit=40))
    assert record["status"] == "Failed - TickRuntime"
    assert record["meta"]["duration_game"] == pytest.approx(41 * 0.05)
    assert 0 < record["scores"]["score_route"] < 20


def test_scenario_timeout(tmp_path: Path) -> None:
    spec = replace(RURAL, scenarios=(ScenarioSpec("ParkedObstacle_1", "ParkedObstacle", (-280.0, 1.75, 0.0, 0.0),
                                                  {"distance": {"value": "40"}}),))
    record = _run(tmp_path, spec, scripted_driver(speed_at=lambda s, t: 6.0 if s < 35.0 else 0.0),
                  _cfg(scenario_timeout_s=3.0, blocked_max_time_s=8.0))
    assert record["infractions"]["scenario_timeouts"] == ["Agent timed out a scenario"]
    assert record["scores"]["score_penalty"] == 0.7
    assert record["status"] == "Failed - Agent got blocked"


def test_failing_to_yield_to_an_emergency_vehicle(tmp_path: Path) -> None:
    spec = RouteSpec("4", "EmbeddedHighway", np.array([[-450.0 + 5 * k, 3.8, 0.0] for k in range(41)]),
                     (ScenarioSpec("YieldToEmergencyVehicle_1", "YieldToEmergencyVehicle", (-420.0, 3.8, 0.0, 0.0),
                                   {"distance": {"value": "25"}}),))
    record = _run(tmp_path, spec, scripted_driver(speed=6.0))
    assert record["infractions"]["yield_emergency_vehicle_infractions"] == ["Agent failed to yield to an emergency vehicle"]
    assert record["scores"]["score_penalty"] == 0.7 and record["status"] == "Completed"
    assert record["infractions"]["collisions_vehicle"] == []  # the ambulance waits behind, it does not ram
