"""Merging scenarios: HighwayCutIn (a car from the on-ramp lane cuts in ahead), SignalizedJunctionLeftTurn
(turn left on green through an oncoming flow)."""

from __future__ import annotations

import math

from sim.lane_path import LanePath
from sim.scenarios.base import Scenario
from sim.scenarios.flows import ActorFlow

CUT_IN_AHEAD_M = 9.0  # the cutting car changes lanes once its rear is this far ahead of the ego's front
CUT_IN_WINDOW_M = 7.0  # ... and at most this much more
CUT_IN_DURATION_S = 2.2
CUT_IN_SLOW_SHARE = 0.75  # after merging it drives at this share of the ego's speed for a while
CUT_IN_SLOW_S = 5.0


class HighwayCutIn(Scenario):
    def setup(self) -> None:
        loc = self.spec.location("other_actor_location")
        if loc is None:
            raise ValueError(f"{self.spec.name}: needs <other_actor_location>")
        wmap = self.world.map
        lane_id, _s, _ = wmap.nearest(loc[0], loc[1])
        self.ramp_path = self.lane_path(lane_id, extend_lanes=1)
        s_path, _ = self.ramp_path.project(loc[:2])
        self.target_lane = wmap.lanes[lane_id].left
        if self.target_lane is None:
            # On the ramp itself: the lane it feeds has the neighbour.
            nxt = wmap.lanes[lane_id].successors
            self.target_lane = wmap.lanes[nxt[0]].left if nxt else None
        if self.target_lane is None:
            raise ValueError(f"{self.spec.name}: the cut-in lane has no left neighbour to merge into")
        self.car, self.driver = self.spawn_driver(self.ramp_path, s_path, 0.0, 0.0, despawn_at_end=False)
        self.phase = "waiting"
        self.merged_at = 0.0

    def on_start(self) -> None:
        self.phase = "chasing"
        self.driver.speed_fn = self._chase_speed
        self.driver.instant_speed = True

    def _gap_to_ego(self) -> float:
        """Metres the cutting car's rear is ahead of the ego's front, along the car's heading."""
        ego, car = self.world.ego, self.car
        rel = (car.x - ego.x) * math.cos(car.yaw) + (car.y - ego.y) * math.sin(car.yaw)
        return rel - car.extent[0] - ego.extent[0]

    def _chase_speed(self, world: object) -> float:
        ego_speed = max(self.world.ego.speed, 3.0)
        return max(0.0, ego_speed + 0.4 * (CUT_IN_AHEAD_M + 4.0 - self._gap_to_ego()))

    def behave(self) -> bool:
        if self.car.id not in self.world.actors:
            return True
        if self.phase == "chasing":
            room = self.ramp_path.length - self.driver.s
            gap = self._gap_to_ego()
            matched = self.driver.speed >= 0.7 * self.world.ego.speed
            if (CUT_IN_AHEAD_M <= gap <= CUT_IN_AHEAD_M + CUT_IN_WINDOW_M and matched) or room < 40.0:
                lane_id, _ = self.ramp_path.lane_at(self.driver.s)
                target = self.world.map.lanes[lane_id].left or self.target_lane
                self.driver.change_path(self.world, self.car, self.lane_path(target, extend_lanes=3), CUT_IN_DURATION_S)
                self.driver.despawn_at_end = True
                slow = max(self.world.ego.speed, 3.0) * CUT_IN_SLOW_SHARE
                self.driver.speed_fn = lambda _w, v=slow: v
                self.driver.instant_speed = False
                self.phase, self.merged_at = "merged", self.world.time
        elif self.phase == "merged" and self.world.time - self.merged_at > CUT_IN_SLOW_S:
            self.driver.speed_fn = None
            self.driver.desired_speed = self.world.map.lanes[self.driver.path.lanes[0]].speed_limit * 0.9
            return True
        return False

    def cleanup(self) -> None:
        """The car stays in traffic and leaves at the end of its path."""


class SignalizedJunctionLeftTurn(Scenario):
    """Oncoming traffic flows straight through the junction where the route turns left."""

    def setup(self) -> None:
        span = self.first_junction_after(self.trigger_index)
        if span is None:
            raise ValueError(f"{self.spec.name}: no junction after the trigger point")
        wmap = self.world.map
        entry_lane = wmap.lanes[int(self.route.lane_ids[span[0] - 1])]
        connector = wmap.lanes[int(self.route.lane_ids[span[0]])]
        # The oncoming approach: the incoming lane whose straight connector crosses our left turn.
        ego_end = connector.points[-1]
        best, best_d = None, math.inf
        for light in wmap.lights:
            if light.junction_id != connector.junction_id or entry_lane.id in light.lanes:
                continue
            for lane_id in light.lanes:
                lane = wmap.lanes[lane_id]
                yaw_diff = math.cos(lane.yaw[-1] - entry_lane.yaw[-1])
                if yaw_diff < -0.9:  # driving towards us
                    d = math.dist(lane.points[-1], ego_end)
                    if d < best_d:
                        best, best_d = lane_id, d
        if best is None:
            raise ValueError(f"{self.spec.name}: no oncoming approach at the junction")
        path = LanePath(wmap, [best])
        succ = [s for s in wmap.lanes[best].successors if wmap.lanes[s].turn == "straight"]
        path.extend(succ[0])
        for _ in range(2):
            nxt = wmap.lanes[path.last_lane].successors
            straight = [s for s in nxt if wmap.lanes[s].turn in ("straight", "none")]
            if not straight:
                break
            path.extend(straight[0])
        source = max(0.0, wmap.lanes[best].length - self.spec.value("source_distance", 90.0))
        speed = self.spec.value("flow_speed", 8.0)
        self.flow = ActorFlow(self, path, source, path.length - 1.0,
                              self.spec.interval("source_dist_interval", (25.0, 60.0)), speed)
        self.exit_index = span[1]

    def always(self) -> None:
        self.flow.tick()

    def behave(self) -> bool:
        return self.ego_index() > self.exit_index + 10

    def cleanup(self) -> None:
        self.flow.active = False
        super().cleanup()
