"""Overtaking scenarios: ParkedObstacle (change to the free same-direction lane), AccidentTwoWays
(pass an accident through the opposite lane, between oncoming vehicles)."""

from __future__ import annotations

import math

import numpy as np

from sim.actors import BACKGROUND_VEHICLES
from sim.events import SWITCH_WRONG_DIRECTION
from sim.lane_path import LanePath
from sim.scenarios.base import Scenario
from sim.scenarios.flows import ActorFlow

END_DISTANCE_M = 50.0  # the scenario ends this far past the obstacle
TRIGGER_DISTANCE_M = 50.0  # AccidentTwoWays: the flow starts once the ego is this close ...
WAIT_DURATION_S = 5.0  # ... plus this long
FLOW_SOURCE_AHEAD_M = 150.0  # oncoming cars appear this far past the accident


class _Obstacle(Scenario):
    uses_timeout = True

    def _forward(self, index: int, distance: float) -> int:
        """Move along the route but stop before a junction (scenario_runner's _move_waypoint_forward)."""
        target = self.index_ahead(index, distance)
        lanes = self.world.map.lanes
        for k in range(index, target + 1):
            if lanes[int(self.route.lane_ids[k])].is_junction:
                return max(index, k - 2)
        return target

    def _place(self, index: int, type_id: str, offset_share: float) -> None:
        lane = self.world.map.lanes[int(self.route.lane_ids[index])]
        xy, yaw = lane.sample(self.route.lane_s[index])
        right = np.array([-math.sin(yaw[0]), math.cos(yaw[0])])
        actor = self.spawn_static(type_id, xy[0] + right * offset_share * lane.width / 2, float(yaw[0]))
        actor.tags["parked"] = True
        self.world.blocked_lanes.add(lane.id)

    def _side_prop(self, index: int) -> None:
        lane = self.world.map.lanes[int(self.route.lane_ids[index])]
        while lane.right is not None:
            lane = self.world.map.lanes[lane.right]
        xy, yaw = lane.sample(self.world.map.nearest(*self.route.xy[index])[1])
        right = np.array([-math.sin(yaw[0]), math.cos(yaw[0])])
        self.spawn_static("static.prop.warningaccident", xy[0] + right * (lane.width / 2 + 0.3 * lane.width),
                          float(yaw[0]) + math.pi / 2)

    def behave(self) -> bool:
        return self.ego_index() >= self.end_index


class ParkedObstacle(_Obstacle):
    def setup(self) -> None:
        distance = self.spec.value("distance", 120.0)
        self._side_prop(self.trigger_index)
        index = self._forward(self.trigger_index, distance)
        self._place(index, self.rng.choice(BACKGROUND_VEHICLES), 0.7)
        self.end_index = self.index_ahead(index, END_DISTANCE_M)


class AccidentTwoWays(_Obstacle):
    def setup(self) -> None:
        distance = self.spec.value("distance", 120.0)
        self._side_prop(self.trigger_index)
        police = self._forward(self.trigger_index, distance)
        first = self._forward(police, 10.0)
        second = self._forward(first, 6.0)
        self._place(police, "vehicle.dodge.charger_police_2020", 0.6)
        self._place(first, self.rng.choice(BACKGROUND_VEHICLES), 0.6)
        self._place(second, self.rng.choice(BACKGROUND_VEHICLES), 0.6)
        self.first_xy = self.route.xy[first]
        self.end_index = self.index_ahead(second, END_DISTANCE_M)
        lane = self.world.map.lanes[int(self.route.lane_ids[second])]
        if lane.opposite is None:
            raise ValueError(f"{self.spec.name}: the accident lane has no opposite lane for the oncoming flow")
        opposite = self.world.map.lanes[lane.opposite]
        path = LanePath(self.world.map, [opposite.id])
        for _ in range(3):
            succ = self.world.map.lanes[path.last_lane].successors
            straight = [s for s in succ if self.world.map.lanes[s].turn in ("straight", "none")]
            if not straight:
                break
            path.extend(straight[0])
        source_xy = self.route.xy[self.index_ahead(second, FLOW_SOURCE_AHEAD_M)]
        source_s, _ = path.project(source_xy)
        speed = opposite.speed_limit * self.spec.value("flow_speed_share", 0.6)
        self.flow = ActorFlow(self, path, source_s, path.length - 1.0,
                              self.spec.interval("frequency", (20.0, 100.0)), speed, active=False)
        self.phase = "approach"
        self.close_since = 0.0

    def behave(self) -> bool:
        ego = self.world.ego
        if self.phase == "approach" and math.dist((ego.x, ego.y), self.first_xy) < TRIGGER_DISTANCE_M:
            self.phase, self.close_since = "waiting", self.world.time
        if self.phase == "waiting" and self.world.time - self.close_since >= WAIT_DURATION_S:
            self.phase = "flow"
            self.world.blackboard[SWITCH_WRONG_DIRECTION] = False
            self.flow.active = True
        if self.phase == "flow":
            self.flow.tick()
        return super().behave()

    def cleanup(self) -> None:
        if self.phase == "flow":
            self.world.blackboard[SWITCH_WRONG_DIRECTION] = True
        self.flow.active = False
        super().cleanup()
