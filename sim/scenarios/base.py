"""Scenario machinery: trigger on the route, run a behaviour each tick, own scenario criteria.

Mirrors the leaderboard's route scenarios: a scenario's actors exist from the
start, its behaviour starts when the ego reaches the trigger point along the
route (ScenarioTriggerer), its criteria (YieldToEmergencyVehicleTest,
ScenarioTimeoutTest) run while it is active and are terminated when it ends.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from sim.actors import BACKGROUND_VEHICLES, Actor
from sim.behaviors import IdmDriver
from sim.events import SCENARIO_TIMEOUT, CriteriaContext, Criterion, TrafficEvent
from sim.lane_path import LanePath
from sim.route_file import ScenarioSpec
from sim.routing import DenseRoute

if TYPE_CHECKING:
    from sim.config import SimConfig
    from sim.world import World


class ScenarioTimeoutTest(Criterion):
    """Fails at termination when the scenario's own timeout fired ('Agent timed out a scenario')."""

    name = "ScenarioTimeoutTest"

    def __init__(self, scenario: Scenario) -> None:
        super().__init__()
        self.scenario = scenario

    def terminate(self, ctx: CriteriaContext) -> None:
        if self.scenario.timed_out:
            self.test_status = "FAILURE"
            self.events.append(TrafficEvent(SCENARIO_TIMEOUT, ctx.world.frame, "Agent timed out a scenario"))
        super().terminate(ctx)


class Scenario:
    uses_timeout = False  # scenario_runner scenarios with a ScenarioTimeout behaviour

    def __init__(self, spec: ScenarioSpec, world: World, route: DenseRoute, cfg: SimConfig) -> None:
        self.spec, self.world, self.route, self.cfg = spec, world, route, cfg
        self.rng = world.rng
        self.trigger_index = self.route_index_of(spec.trigger[:2])
        self.state = "pending"  # pending -> running -> done
        self.start_time = 0.0
        self.timed_out = False
        self.actors: list[Actor] = []
        self.criteria: list[Criterion] = [ScenarioTimeoutTest(self)] if self.uses_timeout else []

    # -------------------------------------------------------------- lifecycle
    def setup(self) -> None:
        """Spawn the scenario's initial actors (called once, before the first tick)."""

    def on_start(self) -> None:
        """The ego reached the trigger point."""

    def behave(self) -> bool:
        """One tick of the running behaviour; True when the scenario has ended."""
        return True

    def cleanup(self) -> None:
        for actor in self.actors:
            self.world.destroy(actor.id)

    def always(self) -> None:
        """Every tick from the route start, whatever the state (flows that must already be running)."""

    def tick(self, ctx: CriteriaContext, ego_index: int) -> None:
        if self.state != "done":
            self.always()
        if self.state == "pending" and ego_index >= self.trigger_index:
            self.state, self.start_time = "running", self.world.time
            self.on_start()
        if self.state != "running":
            return
        for criterion in self.criteria:
            criterion.update(ctx)
        done = self.behave()
        if self.uses_timeout and self.world.time - self.start_time > self.cfg.criteria.scenario_timeout_s:
            self.timed_out, done = True, True
        if done:
            self.finish(ctx)

    def finish(self, ctx: CriteriaContext) -> None:
        if self.state == "running":
            for criterion in self.criteria:
                criterion.terminate(ctx)
            self.cleanup()
        self.state = "done"

    # ---------------------------------------------------------------- helpers
    def route_index_of(self, xy: tuple[float, float] | np.ndarray) -> int:
        d = np.hypot(self.route.xy[:, 0] - xy[0], self.route.xy[:, 1] - xy[1])
        return int(np.argmin(d))

    def index_ahead(self, index: int, distance: float) -> int:
        target = self.route.cum[index] + distance
        return int(min(np.searchsorted(self.route.cum, target), len(self.route) - 1))

    def ego_index(self) -> int:
        e = self.world.ego
        return self.route_index_of((e.x, e.y))

    def route_path(self, index: int, extend_m: float = 80.0) -> tuple[LanePath, float]:
        """LanePath along the route's lanes from route point `index` (plus `extend_m` beyond the end)."""
        lanes: list[int] = []
        for lane in self.route.lane_ids[index:]:
            if not lanes or lanes[-1] != lane:
                lanes.append(int(lane))
        path = LanePath(self.world.map, lanes)
        while path.length - path.lane_start[-1] < extend_m + 1:
            succ = self.world.map.lanes[path.last_lane].successors
            if not succ:
                break
            straight = [s for s in succ if self.world.map.lanes[s].turn in ("straight", "none")]
            path.extend(straight[0] if straight else succ[0])
            if len(path.lanes) > len(lanes) + 4:
                break
        return path, float(self.route.lane_s[index])

    def lane_path(self, lane_id: int, extend_lanes: int = 3) -> LanePath:
        """A path starting with lane `lane_id`, continued straight where possible."""
        path = LanePath(self.world.map, [lane_id])
        for _ in range(extend_lanes):
            succ = self.world.map.lanes[path.last_lane].successors
            if not succ:
                break
            straight = [s for s in succ if self.world.map.lanes[s].turn in ("straight", "none")]
            path.extend(straight[0] if straight else succ[0])
        return path

    def spawn_static(self, type_id: str, xy: np.ndarray, yaw: float, role: str = "scenario") -> Actor:
        actor = self.world.spawn(type_id, role, float(xy[0]), float(xy[1]), yaw)
        self.actors.append(actor)
        return actor

    def spawn_driver(self, path: LanePath, s: float, speed: float, desired: float, type_id: str | None = None,
                     offset: float = 0.0, **driver_kwargs: object) -> tuple[Actor, IdmDriver]:
        type_id = type_id or self.rng.choice(BACKGROUND_VEHICLES)
        x, y, yaw = path.pose(s, offset)
        actor = self.world.spawn(type_id, "scenario", x, y, yaw, speed=speed)
        actor.vx, actor.vy = speed * math.cos(yaw), speed * math.sin(yaw)
        driver = IdmDriver(path=path, s=s, desired_speed=desired, cfg=self.cfg.traffic.idm, speed=speed,
                           offset=offset, **driver_kwargs)
        actor.behavior = driver
        self.actors.append(actor)
        return actor, driver

    def first_junction_after(self, index: int) -> tuple[int, int] | None:
        """(route index entering, route index leaving) the first junction at or after `index`."""
        lanes = self.world.map.lanes
        inside = np.array([lanes[k].is_junction for k in self.route.lane_ids])
        hits = np.flatnonzero(inside[index:])
        if len(hits) == 0:
            return None
        start = index + int(hits[0])
        end = start
        while end + 1 < len(inside) and inside[end + 1]:
            end += 1
        return start, end + 1
