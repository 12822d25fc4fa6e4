"""The embedded route sets, as code. `python -m sim.route_designs` rewrites
bench2drive_routes/embedded_full.xml (22 routes, all five abilities) and embedded_quick.xml
(5 routes, one per ability).

A route is written as Bench2Drive writes them: waypoint positions along the lanes
(here every 5 m, none inside junctions so any tracer recovers the lanes), one
scenario with its trigger point and parameters, and a weather pair.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sim.lane_path import LanePath
from sim.route_file import RouteSpec, ScenarioSpec, write_routes
from sim.world_map import WorldMap

ROUTES_DIR = Path(__file__).resolve().parent.parent / "bench2drive_routes"
POSITION_STEP_M = 5.0
# Bench2Drive's weather case 0 (clear noon), at 0 % and 100 % of the route.
CLEAR_NOON = {"cloudiness": "5.0", "precipitation": "0.0", "precipitation_deposits": "0.0", "wetness": "0.0",
              "wind_intensity": "10.0", "sun_azimuth_angle": "-1.0", "sun_altitude_angle": "90.0", "fog_density": "2.0"}


@dataclass(frozen=True)
class Design:
    id: str
    town: str
    start: tuple[float, float]  # on a lane centre
    turns: tuple[str, ...]  # choice at each junction met: 'straight' | 'left' | 'right'
    length_m: float
    scenario: str
    trigger_m: float  # trigger point, metres along the route
    params: dict[str, dict[str, str]] = field(default_factory=dict)


def drive(wmap: WorldMap, start: tuple[float, float], turns: tuple[str, ...], length: float) -> tuple[LanePath, float]:
    lane_id, s0, dist = wmap.nearest(*start)
    if dist > 0.5:
        raise ValueError(f"start {start} is {dist:.2f} m off the nearest lane centre")
    path = LanePath(wmap, [lane_id])
    pending = list(turns)
    while path.length - s0 < length:
        succ = wmap.lanes[path.last_lane].successors
        if not succ:
            raise ValueError(f"route from {start} hits a dead end after {path.length - s0:.0f} m")
        if wmap.lanes[succ[0]].is_junction:
            want = pending.pop(0) if pending else "straight"
            match = [s for s in succ if wmap.lanes[s].turn == want]
            if not match:
                raise ValueError(f"no '{want}' turn at lane {path.last_lane}")
            path.extend(match[0])
        else:
            path.extend(succ[0])
    return path, s0


def build(design: Design) -> RouteSpec:
    wmap = WorldMap.load(design.town)
    path, s0 = drive(wmap, design.start, design.turns, design.length_m)
    positions = []
    for s in np.arange(s0, s0 + design.length_m + 1e-6, POSITION_STEP_M):
        lane_id, _ = path.lane_at(s)
        if wmap.lanes[lane_id].is_junction:
            continue
        x, y, _ = path.pose(s)
        positions.append((x, y, 0.0))
    x, y, yaw = path.pose(s0 + design.trigger_m)
    n = sum(1 for d in DESIGNS if d.scenario == design.scenario and int(d.id) <= int(design.id))
    scenario = ScenarioSpec(f"{design.scenario}_{n}", design.scenario, (x, y, 0.0, float(np.degrees(yaw))),
                            design.params)
    weathers = ({"route_percentage": "0", **CLEAR_NOON}, {"route_percentage": "100", **CLEAR_NOON})
    return RouteSpec(design.id, design.town, np.asarray(positions), (scenario,), weathers)


G, TJ, HW, RU = "EmbeddedGrid", "EmbeddedTJunction", "EmbeddedHighway", "EmbeddedRural"
DESIGNS: tuple[Design, ...] = (
    # Emergency_Brake
    Design("101", G, (30.0, 155.25), ("straight",), 230.0, "PedestrianCrossing", 108.0),
    Design("102", G, (175.0, 155.25), ("right",), 230.0, "PedestrianCrossing", 95.0),
    Design("103", RU, (-300.0, 1.75), (), 380.0, "HardBreakRoute", 190.0),
    Design("104", HW, (-450.0, 3.8), (), 600.0, "HardBreakRoute", 300.0),
    # Overtaking
    Design("105", G, (175.0, 305.25), ("straight",), 210.0, "ParkedObstacle", 15.0,
           {"distance": {"value": "50"}, "direction": {"value": "right"}}),
    Design("106", HW, (300.0, 7.4), (), 400.0, "ParkedObstacle", 40.0,
           {"distance": {"value": "90"}, "direction": {"value": "right"}}),
    Design("107", RU, (-300.0, 1.75), (), 330.0, "AccidentTwoWays", 40.0,
           {"distance": {"value": "70"}, "frequency": {"from": "80", "to": "220"}}),
    Design("108", TJ, (-300.0, 1.75), ("straight",), 400.0, "AccidentTwoWays", 50.0,
           {"distance": {"value": "80"}, "frequency": {"from": "70", "to": "200"}}),
    # Merging
    Design("109", HW, (-300.0, 7.4), (), 650.0, "HighwayCutIn", 240.0,
           {"other_actor_location": {"x": "10.0", "y": "11.0", "z": "0.0"}}),
    Design("110", HW, (-200.0, 7.4), (), 600.0, "HighwayCutIn", 240.0,
           {"other_actor_location": {"x": "110.0", "y": "11.0", "z": "0.0"}}),
    Design("111", G, (30.0, 151.75), ("left",), 230.0, "SignalizedJunctionLeftTurn", 60.0,
           {"flow_speed": {"value": "8"}, "source_dist_interval": {"from": "25", "to": "60"}}),
    Design("112", G, (298.25, 170.0), ("left",), 240.0, "SignalizedJunctionLeftTurn", 60.0,
           {"flow_speed": {"value": "8"}, "source_dist_interval": {"from": "25", "to": "60"}}),
    # Give_Way
    Design("113", HW, (-450.0, 3.8), (), 700.0, "YieldToEmergencyVehicle", 200.0, {"distance": {"value": "40"}}),
    Design("114", G, (15.0, 301.75), ("straight",), 260.0, "YieldToEmergencyVehicle", 40.0,
           {"distance": {"value": "35"}}),
    Design("115", RU, (-250.0, 1.75), (), 380.0, "InvadingTurn", 110.0,
           {"distance": {"value": "100"}, "offset": {"value": "0.25"}}),
    Design("116", RU, (500.0, 222.173), (), 420.0, "InvadingTurn", 90.0,
           {"distance": {"value": "110"}, "offset": {"value": "0.25"}}),
    # Traffic_Signs
    Design("117", G, (151.75, 280.0), ("left",), 240.0, "VanillaSignalizedTurnEncounterRedLight", 90.0),
    Design("118", G, (430.0, 294.75), ("right",), 240.0, "VanillaSignalizedTurnEncounterRedLight", 95.0),
    Design("119", TJ, (1.75, 200.0), ("left",), 330.0, "VanillaNonSignalizedTurnEncounterStopsign", 160.0),
    Design("120", TJ, (1.75, 200.0), ("right",), 330.0, "VanillaNonSignalizedTurnEncounterStopsign", 160.0),
    Design("121", G, (148.25, 170.0), ("straight",), 230.0, "VanillaSignalizedTurnEncounterRedLight", 90.0),
    Design("122", G, (430.0, 148.25), ("straight",), 250.0, "PedestrianCrossing", 118.0),
)
QUICK_IDS = ("101", "105", "111", "114", "117")


def main() -> None:
    routes = [build(d) for d in DESIGNS]
    full = write_routes(routes, ROUTES_DIR / "embedded_full.xml")
    quick = write_routes([r for r in routes if r.id in QUICK_IDS], ROUTES_DIR / "embedded_quick.xml")
    print(f"{full}: {len(routes)} routes; {quick}: {len(QUICK_IDS)} routes")


if __name__ == "__main__":
    main()
