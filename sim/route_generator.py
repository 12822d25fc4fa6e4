"""Training routes for `automot collect --generate N`: random drives over the four towns.

Each route gets a scenario type in turn (all ten types, so all five abilities), a town where that
type can be placed, a random start lane and position, random turns at junctions, a random length,
a random trigger placement and random scenario parameters; its traffic density is drawn too
(written to the sidecar <routes>.meta.json). A candidate is kept only if the simulator can build
it (every scenario's setup succeeds) and it overlaps no evaluation route (embedded_full.xml,
embedded_quick.xml): see `overlaps`. The towns are small, so streets are shared with the evaluation
routes; scenario instances and whole drives are not.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from core.atomic_files import atomic_write_json
from sim.collect_config import GeneratorConfig
from sim.config import SimConfig
from sim.lane_path import LanePath
from sim.route_designs import CLEAR_NOON, POSITION_STEP_M, ROUTES_DIR
from sim.route_file import RouteSpec, ScenarioSpec, read_routes, write_routes
from sim.route_runner import RouteRunner
from sim.world_map import WorldMap

G, TJ, HW, RU = "EmbeddedGrid", "EmbeddedTJunction", "EmbeddedHighway", "EmbeddedRural"
FIRST_ROUTE_ID = 10001  # generated ids never collide with the evaluation sets' 1xx


@dataclass(frozen=True)
class Placement:
    town: str
    start_lane: int
    start_s: float
    length_m: float
    trigger_m: float  # along the route from its start
    turns: tuple[str, ...]
    params: dict[str, dict[str, str]]


def _v(value: float, digits: int = 1) -> dict[str, str]:
    return {"value": str(round(value, digits))}


def _interval(lo: float, hi: float) -> dict[str, str]:
    return {"from": str(round(lo)), "to": str(round(hi))}


def _random_turns(rng: random.Random, first: str | None = None) -> tuple[str, ...]:
    turns = [rng.choice(("straight", "left", "right")) for _ in range(4)]
    if first is not None:
        turns[0] = first
    return tuple(turns)


def _lanes(wmap: WorldMap, pred: Callable[[object], bool]) -> list[int]:
    return [lane.id for lane in wmap.lanes if not lane.is_junction and lane.length > 30.0 and pred(lane)]


def drive(wmap: WorldMap, lane_id: int, s0: float, turns: tuple[str, ...], length: float) -> tuple[LanePath, float]:
    """Follow the lanes from (lane, s0), taking `turns` at junctions (straight when not offered); stops early
    at a dead end. Returns (path, usable length)."""
    path = LanePath(wmap, [lane_id])
    pending = list(turns)
    while path.length - s0 < length:
        succ = wmap.lanes[path.last_lane].successors
        if not succ:
            break
        if wmap.lanes[succ[0]].is_junction:
            want = pending.pop(0) if pending else "straight"
            match = [s for s in succ if wmap.lanes[s].turn == want] or \
                    [s for s in succ if wmap.lanes[s].turn == "straight"] or list(succ)
            path.extend(match[0])
        else:
            path.extend(succ[0])
        if len(path.lanes) > 40:
            break
    return path, min(length, path.length - s0)


def first_junction_m(wmap: WorldMap, path: LanePath, s0: float) -> float | None:
    for lane_id, start in zip(path.lanes, path.lane_start):
        if wmap.lanes[lane_id].is_junction and start > s0:
            return start - s0
    return None


class Placer:
    """Per scenario type: where it may go and how its parameters are drawn."""

    def __init__(self, rng: random.Random, cfg: GeneratorConfig) -> None:
        self.rng, self.cfg = rng, cfg

    def _start(self, town: str, pred: Callable[[object], bool], margin_end: float = 40.0) -> tuple[int, float]:
        wmap = WorldMap.load(town)
        lane = wmap.lanes[self.rng.choice(_lanes(wmap, pred))]
        return lane.id, self.rng.uniform(0.0, max(0.0, lane.length - margin_end))

    def _length(self) -> float:
        return self.rng.uniform(*self.cfg.length_m)

    def place(self, scenario_type: str) -> Placement:
        r = self.rng
        if scenario_type == "PedestrianCrossing":
            lane, s = self._start(G, lambda lane: True)
            return Placement(G, lane, s, self._length(), r.uniform(20.0, 120.0), _random_turns(r),
                             {"walkers": _v(r.randint(1, 4), 0)})
        if scenario_type == "HardBreakRoute":
            town = r.choice((G, HW, RU, TJ))
            lane, s = self._start(town, lambda lane: True, 120.0)
            return Placement(town, lane, s, max(self._length(), 300.0), r.uniform(60.0, 200.0), _random_turns(r),
                             {"deceleration": _v(r.uniform(5.0, 8.0)), "stop_duration": _v(r.uniform(3.0, 7.0)),
                              "speed_share": _v(r.uniform(0.65, 0.9), 2)})
        if scenario_type == "ParkedObstacle":
            town = r.choice((G, HW))
            lane, s = self._start(town, lambda lane: lane.left is not None or lane.right is not None, 130.0)
            return Placement(town, lane, s, max(self._length(), 250.0), r.uniform(5.0, 40.0), _random_turns(r),
                             {"distance": _v(r.uniform(40.0, 90.0), 0), "direction": {"value": "right"}})
        if scenario_type == "AccidentTwoWays":
            town = r.choice((RU, TJ))
            lane, s = self._start(town, lambda lane: lane.opposite is not None and lane.length > 200.0, 180.0)
            lo = r.uniform(60.0, 90.0)
            return Placement(town, lane, s, max(self._length(), 300.0), r.uniform(20.0, 60.0), _random_turns(r),
                             {"distance": _v(r.uniform(50.0, 90.0), 0), "frequency": _interval(lo, lo + r.uniform(100, 150))})
        if scenario_type == "HighwayCutIn":
            actor_x = r.uniform(0.0, 120.0)
            start_x = r.uniform(-480.0, -150.0)
            return Placement(HW, 1, start_x + 500.0, r.uniform(550.0, 700.0), actor_x - 70.0 + r.uniform(-10, 10) - start_x,
                             (), {"other_actor_location": {"x": str(round(actor_x, 1)), "y": "11.0", "z": "0.0"}})
        if scenario_type == "SignalizedJunctionLeftTurn":
            lo = r.uniform(20.0, 35.0)
            return self._before_junction(G, "left", r.uniform(35.0, 60.0),
                                         {"flow_speed": _v(r.uniform(6.0, 10.0)),
                                          "source_dist_interval": _interval(lo, lo + r.uniform(25.0, 40.0))})
        if scenario_type == "YieldToEmergencyVehicle":
            town = r.choice((G, HW))
            lane, s = self._start(town, lambda lane: lane.left is not None or lane.right is not None, 150.0)
            return Placement(town, lane, s, max(self._length(), 300.0), r.uniform(30.0, 120.0), _random_turns(r),
                             {"distance": _v(r.uniform(30.0, 45.0), 0)})
        if scenario_type == "InvadingTurn":
            town = r.choice((RU, RU, TJ))
            lane, s = self._start(town, lambda lane: lane.opposite is not None and lane.length > 250.0, 250.0)
            return Placement(town, lane, s, max(self._length(), 350.0), r.uniform(40.0, 110.0), _random_turns(r),
                             {"distance": _v(r.uniform(80.0, 120.0), 0), "offset": _v(r.uniform(0.2, 0.3), 2)})
        if scenario_type == "VanillaSignalizedTurnEncounterRedLight":
            return self._before_junction(G, r.choice(("straight", "left", "right")), r.uniform(40.0, 70.0), {})
        if scenario_type == "VanillaNonSignalizedTurnEncounterStopsign":
            # the town's one stop sign is the evaluation routes' too: trigger far enough before it to be another instance
            return self._before_junction(TJ, r.choice(("left", "right")), r.uniform(75.0, 150.0),
                                         {"crossing_vehicles": _v(r.randint(1, 3), 0)},
                                         pred=lambda lane: lane.id == 4)
        raise ValueError(f"no placement rule for scenario type {scenario_type!r}")

    def _before_junction(self, town: str, turn: str, ahead_m: float, params: dict,
                         pred: Callable[[object], bool] = lambda lane: True) -> Placement:
        """A start far enough before the first junction that the trigger sits `ahead_m` before it."""
        wmap = WorldMap.load(town)
        lane_id, s = self._start(town, lambda lane: pred(lane) and lane.length > ahead_m + 20.0, ahead_m + 15.0)
        path, _ = drive(wmap, lane_id, s, (turn,), 400.0)
        to_junction = first_junction_m(wmap, path, s)
        if to_junction is None or to_junction < ahead_m + 10.0:
            raise ValueError("start too close to the junction")
        return Placement(town, lane_id, s, max(self._length(), to_junction + 120.0), to_junction - ahead_m,
                         _random_turns(self.rng, turn), params)


def build_route(route_id: str, scenario_type: str, index: int, p: Placement) -> RouteSpec:
    wmap = WorldMap.load(p.town)
    path, length = drive(wmap, p.start_lane, p.start_s, p.turns, p.length_m)
    if length < p.trigger_m + 60.0:
        raise ValueError("route too short for its scenario")
    positions = []
    for s in np.arange(p.start_s, p.start_s + length + 1e-6, POSITION_STEP_M):
        lane_id, _ = path.lane_at(s)
        if not wmap.lanes[lane_id].is_junction:
            x, y, _ = path.pose(s)
            positions.append((x, y, 0.0))
    x, y, yaw = path.pose(p.start_s + p.trigger_m)
    scenario = ScenarioSpec(f"{scenario_type}_{index}", scenario_type, (x, y, 0.0, float(np.degrees(yaw))), p.params)
    weathers = ({"route_percentage": "0", **CLEAR_NOON}, {"route_percentage": "100", **CLEAR_NOON})
    return RouteSpec(route_id, p.town, np.asarray(positions), (scenario,), weathers)


@dataclass(frozen=True)
class EvaluationRoute:
    town: str
    scenario_type: str
    trigger: np.ndarray  # [2] world m
    start: np.ndarray
    end: np.ndarray


def evaluation_routes(cfg: GeneratorConfig) -> list[EvaluationRoute]:
    out = []
    for name in cfg.evaluation_sets:
        for r in read_routes(ROUTES_DIR / name):
            for sc in r.scenarios:
                out.append(EvaluationRoute(r.town, sc.type, np.asarray(sc.trigger[:2]), r.positions[0, :2],
                                           r.positions[-1, :2]))
    return out


def overlaps(route: RouteSpec, evaluation: list[EvaluationRoute], cfg: GeneratorConfig) -> str | None:
    """Why `route` overlaps an evaluation route (the same scenario instance or the same drive), or None."""
    start, end = route.positions[0, :2], route.positions[-1, :2]
    for ev in evaluation:
        if ev.town != route.town:
            continue
        for sc in route.scenarios:
            gap = float(np.linalg.norm(np.asarray(sc.trigger[:2]) - ev.trigger))
            if sc.type == ev.scenario_type and gap < cfg.min_trigger_separation_m:
                return f"{sc.type} trigger {gap:.0f} m from an evaluation route's"
        if (np.linalg.norm(start - ev.start) < cfg.min_endpoint_separation_m
                and np.linalg.norm(end - ev.end) < cfg.min_endpoint_separation_m):
            return "same start and end as an evaluation route"
    return None


SCENARIO_ORDER = (
    "PedestrianCrossing", "ParkedObstacle", "HighwayCutIn", "YieldToEmergencyVehicle",
    "VanillaSignalizedTurnEncounterRedLight", "HardBreakRoute", "AccidentTwoWays", "SignalizedJunctionLeftTurn",
    "InvadingTurn", "VanillaNonSignalizedTurnEncounterStopsign",
)  # Emergency_Brake, Overtaking, Merging, Give_Way, Traffic_Signs, then the second type of each


def generate_routes(count: int, cfg: GeneratorConfig, sim_cfg: SimConfig | None = None,
                    progress: Callable[[int], None] | None = None) -> tuple[list[RouteSpec], dict[str, dict]]:
    """(routes, per-route meta {id: {'background_vehicles': n}}), deterministic in cfg.seed."""
    rng = random.Random(cfg.seed)
    placer = Placer(rng, cfg)
    evaluation = evaluation_routes(cfg)
    sim_cfg = sim_cfg or SimConfig()
    routes: list[RouteSpec] = []
    meta: dict[str, dict] = {}
    for n in range(count):
        route_id = str(FIRST_ROUTE_ID + n)
        for k in range(len(SCENARIO_ORDER)):
            scenario_type = SCENARIO_ORDER[(n + k) % len(SCENARIO_ORDER)]
            route = _try_place(placer, route_id, scenario_type, n, evaluation, cfg, sim_cfg)
            if route is not None:
                break
        else:
            raise RuntimeError(f"could not place any scenario for route {route_id} in "
                               f"{cfg.attempts_per_route} attempts per type")
        routes.append(route)
        meta[route_id] = {"background_vehicles": rng.randint(*cfg.background_vehicles)}
        if progress is not None:
            progress(n + 1)
    return routes, meta


def _try_place(placer: Placer, route_id: str, scenario_type: str, n: int, evaluation: list[EvaluationRoute],
               cfg: GeneratorConfig, sim_cfg: SimConfig) -> RouteSpec | None:
    for _ in range(cfg.attempts_per_route):
        try:
            route = build_route(route_id, scenario_type, n, placer.place(scenario_type))
            if overlaps(route, evaluation, cfg) is not None:
                continue
            RouteRunner(route, replace(sim_cfg, traffic=replace(sim_cfg.traffic, background_vehicles=0)), 0)
        except (ValueError, KeyError, IndexError):
            continue  # a placement the scenario cannot be built on: draw again
        return route
    return None


def meta_path(routes_file: str | Path) -> Path:
    path = Path(routes_file)
    return path.with_name(path.stem + ".meta.json")


def write_generated(routes: list[RouteSpec], meta: dict[str, dict], path: str | Path) -> Path:
    written = write_routes(routes, path)
    atomic_write_json(meta_path(written), meta)
    return written


def read_meta(routes_file: str | Path) -> dict[str, dict]:
    path = meta_path(routes_file)
    return json.loads(path.read_text()) if path.is_file() else {}


def scenario_mix(routes: list[RouteSpec]) -> dict[str, int]:
    mix: dict[str, int] = {}
    for r in routes:
        mix[r.scenario_name.rsplit("_", 1)[0]] = mix.get(r.scenario_name.rsplit("_", 1)[0], 0) + 1
    return mix


def route_length_m(route: RouteSpec) -> float:
    return float(sum(math.dist(a, b) for a, b in zip(route.positions[:-1, :2], route.positions[1:, :2])))
