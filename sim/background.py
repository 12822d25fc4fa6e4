"""Background traffic (role 'background'): IDM cars wandering the lane graph near the route.

They are the reference of the min-speed checkpoints (the leaderboard averages
the 'background' vehicles' speed). They avoid left turns across traffic,
stop-sign approaches and lanes a scenario has blocked, and leave when far from
the ego or stuck, so they never wall the ego in.
"""

from __future__ import annotations

import math
import random

import numpy as np

from sim.actors import BACKGROUND_VEHICLES
from sim.behaviors import IdmDriver
from sim.config import TrafficConfig
from sim.lane_path import LanePath
from sim.routing import DenseRoute
from sim.world import World

STUCK_S = 30.0  # a background car standing this long (longer than any red phase) leaves
EGO_CLEARANCE_M = 30.0  # none spawns this close to the ego


class BackgroundTraffic:
    def __init__(self, world: World, route: DenseRoute, cfg: TrafficConfig, rng: random.Random) -> None:
        self.world, self.cfg, self.rng = world, cfg, rng
        self.stood: dict[int, float] = {}
        self._spawn(route)

    def _spawn(self, route: DenseRoute) -> None:
        world, cfg = self.world, self.cfg
        wmap = world.map
        route_lanes = set(int(k) for k in route.lane_ids)
        samples = route.xy[:: max(1, len(route) // 40)]
        candidates = []
        for lane in wmap.lanes:
            if lane.is_junction or lane.id in world.lane_stop_signs or lane.id in world.blocked_lanes:
                continue
            if lane.id in route_lanes:
                continue  # traffic in the ego's own lane is a scenario's job (HardBreakRoute, ...)
            d = np.min(np.hypot(samples[:, None, 0] - lane.points[None, :, 0], samples[:, None, 1] - lane.points[None, :, 1]))
            if d < cfg.background_radius_m:
                candidates.append(lane)
        if not candidates:
            return
        weights = [lane.length for lane in candidates]
        placed: list[tuple[float, float]] = []
        attempts = 0
        while len(placed) < cfg.background_vehicles and attempts < cfg.background_vehicles * 20:
            attempts += 1
            lane = self.rng.choices(candidates, weights)[0]
            s = self.rng.uniform(5.0, max(5.0, lane.length - 5.0))
            xy, yaw = lane.sample(s)
            x, y = float(xy[0, 0]), float(xy[0, 1])
            if math.dist((x, y), (world.ego.x, world.ego.y)) < EGO_CLEARANCE_M:
                continue
            if any(math.dist((x, y), p) < cfg.background_min_spacing_m for p in placed) or world.nearby((x, y), 8.0):
                continue
            speed = lane.speed_limit * self.rng.uniform(*cfg.background_speed_factor)
            actor = world.spawn(self.rng.choice(BACKGROUND_VEHICLES), "background", x, y, float(yaw[0]), speed=speed)
            actor.vx, actor.vy = speed * math.cos(yaw[0]), speed * math.sin(yaw[0])
            actor.behavior = IdmDriver(path=LanePath(wmap, [lane.id]), s=s, desired_speed=speed, cfg=cfg.idm,
                                       speed=speed, stop_wait_s=cfg.stop_sign_wait_s,
                                       extend_rng=random.Random(self.rng.random()))
            placed.append((x, y))

    def tick(self) -> None:
        world = self.world
        for actor in [a for a in world.actors.values() if a.role == "background"]:
            if math.dist((actor.x, actor.y), (world.ego.x, world.ego.y)) > self.cfg.despawn_distance_m:
                world.destroy(actor.id)
                continue
            standing = actor.behavior.speed < 0.05
            self.stood[actor.id] = self.stood.get(actor.id, 0.0) + world.dt if standing else 0.0
            if self.stood[actor.id] > STUCK_S:
                world.destroy(actor.id)
