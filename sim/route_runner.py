"""One route: world + scenarios + criteria, the agent driven through the leaderboard's tick order.

Per tick, as leaderboard's ScenarioManager._tick_scenario: the world ticks (physics
with the last control), the tick counter is checked against the 4000-tick cap,
sensors deliver, the agent's run_step returns a control, then the scenario
behaviours and criteria update; the route ends when RouteCompletionTest succeeds
or a terminating criterion (route deviation, blocked) fails, or on route timeout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.carla_compat import RoadOption, make_transform
from sensors.gnss import world_to_gnss
from sim.background import BackgroundTraffic
from sim.config import SimConfig
from sim.criteria_events import CollisionTest, RunningRedLightTest, RunningStopTest
from sim.criteria_route import (
    ActorBlockedTest,
    InRouteTest,
    MinimumSpeedRouteTest,
    OutsideRouteLanesTest,
    RouteCompletionTest,
    RouteTimeout,
)
from sim.events import CriteriaContext, Criterion
from sim.route_file import RouteSpec
from sim.routing import DenseRoute, trace_route
from sim.scenarios import SCENARIO_TYPES, Scenario
from sim.world import World
from sim.world_map import WorldMap

WEATHER_ID = "0"  # the embedded world has one weather (Bench2Drive's case 0 values in the route files)


class TickRuntimeError(RuntimeError):
    """More ticks than the Bench2Drive cap: the route ends 'Failed - TickRuntime'."""


@dataclass(frozen=True)
class GlobalPlan:
    gps: list  # [({'lat', 'lon', 'z'}, RoadOption)]
    world: list  # [(carla.Transform, RoadOption)]


class RouteRunner:
    def __init__(self, spec: RouteSpec, cfg: SimConfig, seed: int) -> None:
        self.spec, self.cfg = spec, cfg
        self.map = WorldMap.load(spec.town)
        self.route: DenseRoute = trace_route(self.map, spec.positions)
        self.world = World(self.map, cfg, seed, (float(self.route.xy[0, 0]), float(self.route.xy[0, 1]),
                                                 float(self.route.yaw[0])))
        self.scenarios: list[Scenario] = []
        for scenario_spec in spec.scenarios:
            cls = SCENARIO_TYPES.get(scenario_spec.type)
            if cls is None:
                raise ValueError(f"route {spec.id}: no embedded scenario of type {scenario_spec.type!r} "
                                 f"(known: {', '.join(sorted(SCENARIO_TYPES))})")
            scenario = cls(scenario_spec, self.world, self.route, cfg)
            scenario.setup()
            self.scenarios.append(scenario)
        self.background = BackgroundTraffic(self.world, self.route, cfg.traffic, self.world.rng)
        self.ctx = CriteriaContext(self.world, self.route, cfg.criteria, self.world.blackboard)
        self.completion = RouteCompletionTest(self.ctx)
        self.criteria: list[Criterion] = [
            self.completion, OutsideRouteLanesTest(self.ctx), CollisionTest(self.ctx), RunningRedLightTest(self.ctx),
            RunningStopTest(self.ctx), MinimumSpeedRouteTest(self.ctx), InRouteTest(self.ctx),
            ActorBlockedTest(self.ctx),
        ]
        self.timeout = RouteTimeout(self.ctx)
        self.ego_index = 0
        self.terminated = False

    @property
    def route_length(self) -> float:
        """compute_route_length over the dense route's transforms (z = 0 here)."""
        return float(self.route.cum[-1])

    def global_plan(self) -> GlobalPlan:
        """The dense route as interpolate_trajectory hands it to set_global_plan (the agent downsamples)."""
        gps, world = [], []
        for (x, y), yaw, option in zip(self.route.xy, self.route.yaw, self.route.options):
            road_option = RoadOption(int(option))
            lat, lon, z = world_to_gnss(float(x), float(y), 0.0, self.map.geo)
            gps.append(({"lat": lat, "lon": lon, "z": z}, road_option))
            world.append((make_transform(float(x), float(y), 0.0, math.degrees(float(yaw))), road_option))
        return GlobalPlan(gps, world)

    def tick_world(self) -> None:
        """world.tick(); raises TickRuntimeError past the tick cap (before the agent runs, as Bench2Drive)."""
        self.world.tick()
        if self.world.tick_count > self.cfg.criteria.tick_limit:
            raise TickRuntimeError(f"RuntimeError, tick_count > {self.cfg.criteria.tick_limit}")

    def apply_control(self, control: object) -> None:
        self.world.apply_control(getattr(control, "steer", 0.0), getattr(control, "throttle", 0.0),
                                 getattr(control, "brake", 0.0), bool(getattr(control, "hand_brake", False)),
                                 bool(getattr(control, "reverse", False)))

    def update(self) -> bool:
        """Scenario behaviours and criteria after the agent acted; True while the route goes on."""
        ego = self.world.ego
        d = np.hypot(self.route.xy[:, 0] - ego.x, self.route.xy[:, 1] - ego.y)
        lo = max(0, self.ego_index - 5)
        hi = min(len(d), self.ego_index + 60)
        self.ego_index = lo + int(np.argmin(d[lo:hi]))
        for scenario in self.scenarios:
            scenario.tick(self.ctx, self.ego_index)
        self.background.tick()
        running = True
        for criterion in self.criteria:
            if criterion.update(self.ctx) != "RUNNING":
                running = False
        if self.timeout.update(self.ctx):
            running = False
        return running

    def terminate(self) -> None:
        """Scenario end: running scenarios finish (their criteria terminate), then the route criteria."""
        if self.terminated:
            return
        self.terminated = True
        for scenario in self.scenarios:
            scenario.finish(self.ctx)
        for criterion in self.criteria:
            criterion.terminate(self.ctx)

    def all_criteria(self) -> list[Criterion]:
        """Route criteria, then each scenario's (the leaderboard's get_criteria order)."""
        return self.criteria + [c for s in self.scenarios for c in s.criteria]
