"""Event criteria: collisions by class, red lights, stop signs (srunner's CollisionTest,
RunningRedLightTest, RunningStopTest), with their filters, geometry and messages."""

from __future__ import annotations

import math

import numpy as np
import shapely.geometry as sg

from sim.events import (
    COLLISION_LAYOUT,
    COLLISION_PEDESTRIAN,
    COLLISION_VEHICLE,
    RED_LIGHT,
    STOP,
    CriteriaContext,
    Criterion,
    TrafficEvent,
    fmt_loc,
)


def collision_kind(type_id: str) -> str | None:
    """CollisionTest's classification by blueprint name."""
    if ("static" in type_id or "traffic" in type_id) and "sidewalk" not in type_id:
        return COLLISION_LAYOUT
    if "vehicle" in type_id:
        return COLLISION_VEHICLE
    if "walker" in type_id:
        return COLLISION_PEDESTRIAN
    return None


class CollisionTest(Criterion):
    name = "CollisionTest"

    def __init__(self, ctx: CriteriaContext) -> None:
        super().__init__()
        self.last_id: int | None = None
        self.last_time: float | None = None
        self.last_location: tuple[float, float] | None = None

    def update(self, ctx: CriteriaContext) -> str:
        world, cfg, ego = ctx.world, ctx.cfg, ctx.world.ego
        for other in world.collisions:  # the collision sensor's callbacks of this tick
            if self.last_id == other.id:
                continue
            if self.last_location and math.dist(self.last_location, (ego.x, ego.y)) <= cfg.collision_radius_m:
                continue
            if world.contact_speed < cfg.collision_min_speed_mps:
                continue
            self.test_status = "FAILURE"
            self.last_time = world.time
            self.last_location = (ego.x, ego.y)
            if other.id != 0:
                self.last_id = other.id
            kind = collision_kind(other.type_id)
            if kind is None:
                continue
            self.events.append(TrafficEvent(
                kind, world.frame,
                f"Agent collided against object with type={other.type_id} and id={other.id} at "
                f"{fmt_loc(ego.x, ego.y, ego.z)}", {"other_id": other.id}))
        if self.last_location and math.dist(self.last_location, (ego.x, ego.y)) > cfg.collision_radius_m:
            self.last_location = None
        if self.last_id is not None and world.time - self.last_time > cfg.collision_max_id_time_s:
            self.last_id = None
        return "RUNNING"


class RunningRedLightTest(Criterion):
    name = "RunningRedLightTest"

    def __init__(self, ctx: CriteriaContext) -> None:
        super().__init__()
        world = ctx.world
        self.last_red_light_id: int | None = None
        self.lights = []  # (actor, light spec, [(road_id, lane_id, x, y, yaw, width)])
        for actor in world.actors.values():
            if actor.type_id != "traffic.traffic_light":
                continue
            spec = world.map.lights[actor.tags["light_id"]]
            wps = []
            for lane_id in spec.lanes:
                lane = world.map.lanes[lane_id]
                end = lane.points[-1]
                wps.append((lane.road_id, lane.lane_id, float(end[0]), float(end[1]), float(lane.yaw[-1]), lane.width))
            self.lights.append((actor, spec, wps))

    def update(self, ctx: CriteriaContext) -> str:
        world, ego = ctx.world, ctx.world.ego
        ext = ego.extent[0]
        fwd = np.array([math.cos(ego.yaw), math.sin(ego.yaw)])
        tail_close = ego.xy - fwd * 0.8 * ext
        tail_far = ego.xy - fwd * (ext + 1.0)
        for actor, spec, wps in self.lights:
            if self.last_red_light_id is not None and self.last_red_light_id == actor.id:
                continue
            if math.dist(spec.trigger_center, (ego.x, ego.y)) > ctx.cfg.red_light_distance_m:
                continue
            if world.light_state(spec.id) != "red":
                continue
            tail_wp = world.map.get_waypoint(float(tail_far[0]), float(tail_far[1]))
            for road_id, lane_id, wx, wy, wyaw, width in wps:
                if not (tail_wp.road_id == road_id and tail_wp.lane_id == lane_id
                        and fwd @ np.array([math.cos(wyaw), math.sin(wyaw)]) > 0):
                    continue
                left = (wx + 0.6 * width * math.cos(wyaw + math.pi / 2), wy + 0.6 * width * math.sin(wyaw + math.pi / 2))
                right = (wx + 0.6 * width * math.cos(wyaw - math.pi / 2), wy + 0.6 * width * math.sin(wyaw - math.pi / 2))
                if sg.LineString([tuple(tail_close), tuple(tail_far)]).intersects(sg.LineString([left, right])):
                    self.test_status = "FAILURE"
                    self.events.append(TrafficEvent(
                        RED_LIGHT, world.frame,
                        f"Agent ran a red light {actor.id} at {fmt_loc(actor.x, actor.y, actor.z)}", {"id": actor.id}))
                    self.last_red_light_id = actor.id
                    break
        return "RUNNING"


class RunningStopTest(Criterion):
    name = "RunningStopTest"

    def __init__(self, ctx: CriteriaContext) -> None:
        super().__init__()
        world = ctx.world
        self.signs = [(a, world.map.stop_signs[a.tags["stop_id"]]) for a in world.actors.values()
                      if a.type_id == "traffic.stop"]
        self.target = None
        self.stop_completed = False
        self.last_failed: int | None = None

    def _waypoints(self, ctx: CriteriaContext) -> list:
        world, cfg = ctx.world, ctx.cfg
        wp = world.map.get_waypoint(world.ego.x, world.ego.y)
        steps = int(cfg.stop_proximity_m / cfg.stop_waypoint_step_m)
        return [wp, *world.map.next_waypoints(wp, cfg.stop_waypoint_step_m, steps)]

    def _affected(self, ctx: CriteriaContext, wps: list, spec: object) -> bool:
        cx, cy = spec.trigger_center
        if math.dist((cx, cy), (wps[0].x, wps[0].y)) > ctx.cfg.stop_proximity_m:
            return False
        ex, ey = spec.trigger_extent[0] * 1.2, spec.trigger_extent[1] * 1.2
        return any(cx - ex < wp.x < cx + ex and cy - ey < wp.y < cy + ey for wp in wps)

    def _scan(self, ctx: CriteriaContext, wps: list) -> tuple | None:
        ego = ctx.world.ego
        fwd = (math.cos(ego.yaw), math.sin(ego.yaw))
        if ego.vx * fwd[0] + ego.vy * fwd[1] < -0.17:  # going backwards
            return None
        if fwd[0] * math.cos(wps[0].yaw) + fwd[1] * math.sin(wps[0].yaw) < -0.17:  # against the lane
            return None
        for actor, spec in self.signs:
            if self._affected(ctx, wps, spec):
                return actor, spec
        return None

    def update(self, ctx: CriteriaContext) -> str:
        world, ego = ctx.world, ctx.world.ego
        wps = self._waypoints(ctx)
        if self.target is None:
            self.target = self._scan(ctx, wps)
            return "RUNNING"
        if not self.stop_completed and math.hypot(ego.vx, ego.vy) < ctx.cfg.stop_speed_mps:
            self.stop_completed = True
        actor, spec = self.target
        if not self._affected(ctx, wps, spec):
            if not self.stop_completed and self.last_failed != actor.id:
                self.test_status = "FAILURE"
                self.events.append(TrafficEvent(
                    STOP, world.frame, f"Agent ran a stop with id={actor.id} at {fmt_loc(actor.x, actor.y, actor.z)}",
                    {"id": actor.id}))
                self.last_failed = actor.id
            self.target = None
            self.stop_completed = False
        return "RUNNING"
