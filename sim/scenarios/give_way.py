"""Give_Way scenarios: YieldToEmergencyVehicle (let an ambulance from behind pass),
InvadingTurn (oncoming cars cut over the centre line around a bend)."""

from __future__ import annotations

import math

import numpy as np

from sim.events import YIELD_EMERGENCY, CriteriaContext, Criterion, TrafficEvent
from sim.lane_path import LanePath
from sim.scenarios.base import Scenario
from sim.scenarios.flows import ActorFlow

EV_SPEED_INCREMENT_KMH = 25.0  # how much faster than the ego the EV drives
EV_TRIGGER_DISTANCE_M = 50.0
EV_IDLE_S = 10.0  # once the EV is this close, the ego has this long to make way
EV_END_DISTANCE_M = 50.0  # ... or the EV passes and drives this far
INVADING_SOURCE_EXTRA_M = 30.0
INVADING_FLOW_GAP_M = 40.0
INVADING_OFFSET_CONSTANT_M = 0.7  # scenario_runner: "ideally half the vehicle lane width"


class YieldToEmergencyVehicleTest(Criterion):
    name = "YieldToEmergencyVehicleTest"

    def __init__(self, scenario: YieldToEmergencyVehicle) -> None:
        super().__init__()
        self.scenario = scenario

    def update(self, ctx: CriteriaContext) -> str:
        ev, ego = self.scenario.ev, ctx.world.ego
        if ev is None or ev.id not in ctx.world.actors:
            return "RUNNING"
        ahead = (ego.x - ev.x) * math.cos(ev.yaw) + (ego.y - ev.y) * math.sin(ev.yaw)
        self.test_status = "FAILURE" if ahead > 0 else "SUCCESS"
        return "RUNNING"

    def terminate(self, ctx: CriteriaContext) -> None:
        if self.test_status == "FAILURE":
            self.events.append(TrafficEvent(YIELD_EMERGENCY, ctx.world.frame, "Agent failed to yield to an emergency vehicle"))
        super().terminate(ctx)


class YieldToEmergencyVehicle(Scenario):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.ev = None
        self.criteria.append(YieldToEmergencyVehicleTest(self))

    def on_start(self) -> None:
        distance = self.spec.value("distance", 140.0)
        target = self.route.cum[self.trigger_index] - distance
        index = int(max(0, np.searchsorted(self.route.cum, target)))
        path, s = self.route_path(index, extend_m=200.0)
        ego = self.world.ego
        increment = EV_SPEED_INCREMENT_KMH / 3.6
        self.ev, self.driver = self.spawn_driver(
            path, s, max(ego.speed, 0.0) + increment, ego.speed + increment, type_id="vehicle.ford.ambulance",
            speed_fn=lambda w: max(w.ego.speed, 0.0) + increment, min_gap=4.0, headway=0.6, obey_lights=False)
        self.ev.emergency = True
        self.close_since: float | None = None
        self.passed_at: float | None = None

    def behave(self) -> bool:
        ev, ego = self.ev, self.world.ego
        if ev.id not in self.world.actors:
            return True
        if self.close_since is None and math.dist((ev.x, ev.y), (ego.x, ego.y)) < EV_TRIGGER_DISTANCE_M:
            self.close_since = self.world.time
        if self.close_since is not None and self.world.time - self.close_since >= EV_IDLE_S:
            return True
        ahead = (ev.x - ego.x) * math.cos(ev.yaw) + (ev.y - ego.y) * math.sin(ev.yaw)
        if self.passed_at is None and ahead > 0:
            self.passed_at = self.driver.s
        return self.passed_at is not None and self.driver.s - self.passed_at > EV_END_DISTANCE_M


class InvadingTurn(Scenario):
    uses_timeout = True

    def setup(self) -> None:
        wmap = self.world.map
        distance = self.spec.value("distance", 100.0)
        offset = self.spec.value("offset", 0.25)
        ref_lane = wmap.lanes[int(self.route.lane_ids[self.trigger_index])]
        if ref_lane.opposite is None:
            raise ValueError(f"{self.spec.name}: needs a road with one lane per direction")
        self.forward_index = self.index_ahead(self.trigger_index, distance + INVADING_SOURCE_EXTRA_M)
        opposite = wmap.lanes[ref_lane.opposite]
        path = LanePath(wmap, [opposite.id])
        source_s, _ = path.project(self.route.xy[self.forward_index])
        sink_s, _ = path.project(self.route.xy[self.trigger_index])
        width = opposite.width
        true_offset = -(offset + width / 2 - INVADING_OFFSET_CONSTANT_M)  # to the flow's left
        s = source_s + 10.0
        for _ in range(int(0.5 * distance // 5)):
            s += 5.0
            x, y, yaw = path.pose(s, 0.8 * width / 2)
            self.spawn_static("static.prop.constructioncone", np.array([x, y]), yaw)
        speed = opposite.speed_limit * self.spec.value("flow_speed_share", 0.6)
        self.flow = ActorFlow(self, path, source_s, sink_s, (INVADING_FLOW_GAP_M, INVADING_FLOW_GAP_M), speed,
                              offset=true_offset, active=False)

    def on_start(self) -> None:
        self.flow.active = True

    def behave(self) -> bool:
        self.flow.tick()
        return self.ego_index() >= self.forward_index

    def cleanup(self) -> None:
        self.flow.active = False
        super().cleanup()
