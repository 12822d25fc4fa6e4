"""Builders for the route-file and results-file fixtures of the routes/metrics/report tests.

Everything here is synthetic (made by the tests themselves); shared reference data is read
only through SHARED, and tests skip when it is absent.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from bench2drive_routes.route_spec import RouteSpec, ScenarioParam, ScenarioSpec, WeatherSpec

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
B2D220 = SHARED / "bench2drive" / "bench2drive220.xml"
B2D_VAL = SHARED / "bench2drive" / "bench2drive_0.0.4_val.xml"
PEER_RESULTS = SHARED / "peer_results"

# The leaderboard's fixed penalty per event (Bench2Drive: min speed does not count).
PENALTY = {
    "collisions_pedestrian": 0.5,
    "collisions_vehicle": 0.6,
    "collisions_layout": 0.65,
    "red_light": 0.7,
    "stop_infraction": 0.8,
    "scenario_timeouts": 0.7,
    "yield_emergency_vehicle_infractions": 0.7,
}

MESSAGES = {
    "collisions_pedestrian": "Agent collided against object with type=walker.pedestrian.0001 and id=7 at (x=1.0, y=2.0, z=0.0)",
    "collisions_vehicle": "Agent collided against object with type=vehicle.lincoln.mkz_2017 and id=8 at (x=1.0, y=2.0, z=0.0)",
    "collisions_layout": "Agent collided against object with type=static.guardrail and id=0 at (x=1.0, y=2.0, z=0.0)",
    "red_light": "Agent ran a red light 12359 at (x=1.0, y=2.0, z=0.0)",
    "stop_infraction": "Agent ran a stop with id=29346 at (x=1.0, y=2.0, z=0.0)",
    "outside_route_lanes": "Agent went outside its route lanes for about 12.5 meters (5.0% of the completed route)",
    "route_dev": "Agent deviated from the route at (x=1.0, y=2.0, z=0.0)",
    "route_timeout": "Route timeout.",
    "vehicle_blocked": "Agent got blocked at (x=1.0, y=2.0, z=0.0)",
    "yield_emergency_vehicle_infractions": "Agent failed to yield to an emergency vehicle",
    "scenario_timeouts": "Agent timed out a scenario",
    "min_speed_infractions": "Average speed is 80.0% of the surrounding traffic's one",
}

ALL_STATUSES = (
    "Perfect",
    "Completed",
    "Failed",
    "Failed - Agent got blocked",
    "Failed - Agent deviated from the route",
    "Failed - Agent timed out",
    "Failed - TickRuntime",
    "Failed - Simulation crashed",
    "Failed - Agent crashed",
    "Failed - Agent couldn't be set up",
    "Failed - Agent's sensors were invalid",
    "Started",
)


def make_route(route_id: str, town: str = "Town01", scenario_type: str = "ParkingCutIn",
               n_points: int = 11, origin: tuple[float, float] = (0.0, 0.0), step_m: float = 2.0) -> RouteSpec:
    xs = origin[0] + step_m * np.arange(n_points)
    points = np.stack([xs, np.full(n_points, origin[1]), np.full(n_points, 0.5)], axis=1)
    scenario = ScenarioSpec(
        name=f"{scenario_type}_1",
        type=scenario_type,
        params=(
            ScenarioParam("trigger_point", (("x", str(origin[0])), ("y", str(origin[1])), ("z", "0.5"), ("yaw", "0.0"))),
            ScenarioParam("distance", (("value", "40"),)),
            ScenarioParam("frequency", (("from", "20"), ("to", "70"))),
        ),
    )
    weathers = (
        WeatherSpec((("route_percentage", 0.0), ("cloudiness", 10.0), ("sun_altitude_angle", 45.0))),
        WeatherSpec((("route_percentage", 100.0), ("cloudiness", 90.0), ("sun_altitude_angle", 15.0))),
    )
    return RouteSpec(id=route_id, town=town, waypoints=points, scenarios=(scenario,), weathers=weathers)


def make_record(route_id: str, status: str = "Completed", infractions: dict[str, int] | None = None,
                score_route: float = 100.0, route_length: float = 20.0, scenario_type: str = "ParkingCutIn",
                town: str = "Town01", rep: int = 0, min_speed: list[float] | None = None,
                save_name: str | None = None, started: str = "01_01_00_00_00") -> dict:
    """A leaderboard-format record; the penalty and composed score follow the leaderboard's rules.

    route_length, town and scenario_type default to make_route's defaults (20 m, Town01,
    ParkingCutIn), so a record matches its route unless a test says otherwise;
    started: the '%m_%d_%H_%M_%S' start time the leaderboard appends to save_name."""
    lists = {name: [] for name in MESSAGES}
    for name, count in (infractions or {}).items():
        lists[name] = [MESSAGES[name]] * count
    if min_speed is not None:
        lists["min_speed_infractions"] = [f"Average speed is {v}% of the surrounding traffic's one" for v in min_speed]
    penalty = 1.0
    for name, events in lists.items():
        penalty *= PENALTY.get(name, 1.0) ** len(events)
    if lists["outside_route_lanes"]:
        penalty *= 1 - 5.0 / 100  # '(5.0% of the completed route)', the 'increases' rule with factor 0
    record_id = f"RouteScenario_{route_id}_rep{rep}"
    return {
        "index": 0,
        "route_id": record_id,
        "scenario_name": f"{scenario_type}_1",
        "weather_id": "3",
        "save_name": save_name if save_name is not None else f"{record_id}_{town}_{scenario_type}_1_3_{started}",
        "status": status,
        "num_infractions": sum(len(v) for v in lists.values()),
        "infractions": lists,
        "scores": {"score_route": score_route, "score_penalty": penalty, "score_composed": max(score_route * penalty, 0.0)},
        "meta": {"route_length": route_length, "duration_game": 30.0, "duration_system": 60.0},
        "town_name": town,
    }


def write_results(path: Path, records: list[dict], mtime: float | None = None) -> Path:
    """A results file as the leaderboard writes it; optionally back-date its mtime."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "_checkpoint": {"global_record": {}, "progress": [len(records), len(records)], "records": records},
        "entry_status": "Finished", "eligible": True, "sensors": [], "values": [], "labels": [],
    }
    path.write_text(json.dumps(document, indent=1))
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path
