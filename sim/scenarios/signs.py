"""Traffic_Signs scenarios: VanillaSignalizedTurnEncounterRedLight (the light turns red as the ego
arrives), VanillaNonSignalizedTurnEncounterStopsign (stop, give way to the main road, turn)."""

from __future__ import annotations

import math

from sim.lane_path import LanePath
from sim.scenarios.base import Scenario

RED_HOLD_S = 3.0  # the light stays red until the ego has stood this long near the line ...
MAX_RED_S = 20.0  # ... or this long at most
GREEN_S = 20.0  # then the ego's approach gets a protected green this long
NEAR_LINE_M = 20.0
MAX_SCENARIO_S = 90.0
CROSSING_LEAD_TIME_S = 6.0  # stop-sign scenario: main-road cars arrive about this long after the trigger


class VanillaSignalizedTurnEncounterRedLight(Scenario):
    def setup(self) -> None:
        span = self.first_junction_after(self.trigger_index)
        if span is None:
            raise ValueError(f"{self.spec.name}: no junction after the trigger point")
        entry = int(self.route.lane_ids[span[0] - 1])
        if entry not in self.world.lane_lights:
            raise ValueError(f"{self.spec.name}: the junction ahead has no traffic light for the route's lane")
        self.light = self.world.lane_lights[entry]
        junction = self.world.map.lights[self.light].junction_id
        self.others = [lt.id for lt in self.world.map.lights if lt.junction_id == junction and lt.id != self.light]
        self.stop_xy = self.world.map.lanes[entry].points[-1]
        self.exit_index = span[1]
        self.phase = "pending"

    def on_start(self) -> None:
        self.world.set_light(self.light, "red")
        self.phase, self.red_since, self.stood = "red", self.world.time, 0.0

    def behave(self) -> bool:
        world, ego = self.world, self.world.ego
        if self.phase == "red":
            near = math.dist((ego.x, ego.y), self.stop_xy) < NEAR_LINE_M
            self.stood = self.stood + world.dt if (near and math.hypot(ego.vx, ego.vy) < 0.1) else 0.0
            if self.stood >= RED_HOLD_S or world.time - self.red_since >= MAX_RED_S:
                until = world.time + GREEN_S
                world.set_light(self.light, "green", until)
                for other in self.others:
                    world.set_light(other, "red", until)
                self.phase = "green"
        return self.ego_index() > self.exit_index + 5 or world.time - self.start_time > MAX_SCENARIO_S


class VanillaNonSignalizedTurnEncounterStopsign(Scenario):
    def setup(self) -> None:
        span = self.first_junction_after(self.trigger_index)
        if span is None:
            raise ValueError(f"{self.spec.name}: no junction after the trigger point")
        entry = int(self.route.lane_ids[span[0] - 1])
        if entry not in self.world.lane_stop_signs:
            raise ValueError(f"{self.spec.name}: no stop sign on the route's lane before the junction")
        self.exit_index = span[1]
        self.entry_lane = entry

    def on_start(self) -> None:
        """Main-road traffic timed to pass the junction while the ego stands at the stop line."""
        wmap = self.world.map
        junction = wmap.lanes[wmap.lanes[self.entry_lane].successors[0]].junction_id
        count = int(self.spec.value("crossing_vehicles", 2))
        approaches = [lane for lane in wmap.lanes if not lane.is_junction and lane.id != self.entry_lane
                      and any(wmap.lanes[s].junction_id == junction for s in lane.successors)]
        for k in range(min(count, len(approaches))):
            lane = approaches[k % len(approaches)]
            speed = lane.speed_limit * 0.8
            s = max(0.0, lane.length - speed * (CROSSING_LEAD_TIME_S + 2.5 * k))
            path = LanePath(wmap, [lane.id])
            straight = [s2 for s2 in lane.successors if wmap.lanes[s2].turn == "straight"]
            if straight:
                path.extend(straight[0])
                for nxt in wmap.lanes[straight[0]].successors[:1]:
                    path.extend(nxt)
            x, y, _ = path.pose(s)
            if not self.world.nearby((x, y), 8.0):
                self.spawn_driver(path, s, speed, speed, obey_stops=False)

    def behave(self) -> bool:
        return self.ego_index() > self.exit_index + 10 or self.world.time - self.start_time > MAX_SCENARIO_S

    def cleanup(self) -> None:
        """Crossing cars drive on and leave at the end of their paths."""
