"""Emergency_Brake scenarios: PedestrianCrossing, HardBreakRoute."""

from __future__ import annotations

import math

import numpy as np
import shapely.geometry as sg

from sim.actors import WALKERS
from sim.behaviors import WalkerBehavior
from sim.scenarios.base import Scenario

WALKER_KERB_M = 1.5  # walkers wait this far beyond the road edge
WALKER_ROUTE_CLEARANCE_M = 4.0  # waiting walkers stand at least this far from the route
CROSSWALK_MIN_AHEAD_M = 8.0  # the crossing used is the first at least this far past the trigger point
MAX_PEDESTRIAN_SCENARIO_S = 60.0
LEAD_START_AHEAD_M = 28.0  # HardBreakRoute: the lead vehicle starts this far ahead of the ego
LEAD_SPEED_SHARE = 0.8  # ... and cruises at this share of the lane speed limit


class PedestrianCrossing(Scenario):
    """Walkers cross the first crosswalk after the trigger point, from the ego's right to its left."""

    def setup(self) -> None:
        crossing = self._crosswalk_on_route()
        if crossing is None:
            raise ValueError(f"{self.spec.name}: no crosswalk on the route after the trigger point")
        poly, road_yaw, hit_index = crossing
        centre = poly.mean(axis=0)
        ego_yaw = float(self.route.yaw[hit_index])
        right = np.array([-math.sin(road_yaw), math.cos(road_yaw)])
        if right @ np.array([-math.sin(ego_yaw), math.cos(ego_yaw)]) < 0:
            right = -right  # start on the ego's right-hand kerb ...
        half = float(np.ptp(poly @ right)) / 2 + WALKER_KERB_M
        if np.min(np.linalg.norm(self.route.xy - (centre + right * half), axis=1)) < WALKER_ROUTE_CLEARANCE_M:
            right = -right  # ... unless the ego's own turn sweeps that corner: then from the far kerb
        along = np.array([math.cos(road_yaw), math.sin(road_yaw)])
        count = int(self.spec.value("walkers", 3))
        self.walkers = []
        for k in range(count):
            shift = along * (0.7 * (k - (count - 1) / 2)) + right * (0.8 * k)
            start, end = centre + right * half + shift, centre - right * half + shift
            speed = self.rng.uniform(*self.cfg.traffic.walker_speed_mps)
            actor = self.spawn_static(self.rng.choice(WALKERS), start, math.atan2(*(end - start)[::-1]))
            actor.behavior = WalkerBehavior(np.array([start, end]), speed)
            self.walkers.append(actor)

    def _crosswalk_on_route(self) -> tuple[np.ndarray, float, int] | None:
        polys = [sg.Polygon(p) for p in self.world.map.crosswalks]
        for k in range(self.index_ahead(self.trigger_index, CROSSWALK_MIN_AHEAD_M), len(self.route)):
            point = sg.Point(*self.route.xy[k])
            for poly, raw, yaw in zip(polys, self.world.map.crosswalks, self.world.map.crosswalk_yaws):
                if poly.contains(point):
                    return raw, yaw, k
        return None

    def on_start(self) -> None:
        for actor in self.walkers:
            actor.behavior.active = True

    def behave(self) -> bool:
        alive = [a for a in self.walkers if a.id in self.world.actors and a.collidable]
        return not alive or self.world.time - self.start_time > MAX_PEDESTRIAN_SCENARIO_S


class HardBreakRoute(Scenario):
    """The vehicle ahead brakes hard at the trigger point, stands, then drives on."""

    def setup(self) -> None:
        start_index = self.index_ahead(0, LEAD_START_AHEAD_M)
        path, s = self.route_path(start_index)
        limit = self.world.map.lanes[int(self.route.lane_ids[start_index])].speed_limit
        self.cruise = limit * self.spec.value("speed_share", LEAD_SPEED_SHARE)
        self.lead, self.driver = self.spawn_driver(path, s, 0.0, self.cruise)
        self.decel = self.spec.value("deceleration", 7.0)
        self.hold = self.spec.value("stop_duration", 5.0)
        self.phase = "cruise"
        self.resumed_at = 0.0

    def on_start(self) -> None:
        self.phase = "braking"
        self.driver.forced_decel = self.decel

    def behave(self) -> bool:
        if self.lead.id not in self.world.actors:
            return True
        if self.phase == "braking" and self.driver.speed <= 0.0:
            self.driver.forced_decel = 0.0
            self.driver.hold_until = self.world.time + self.hold
            self.phase = "standing"
        elif self.phase == "standing" and self.world.time >= self.driver.hold_until:
            self.phase, self.resumed_at = "resumed", self.world.time
        return self.phase == "resumed" and self.world.time - self.resumed_at > 10.0

    def cleanup(self) -> None:
        """The lead keeps driving (it is traffic, not a prop); it leaves at the end of its path."""
