"""Route criteria: completion, outside route lanes, route deviation, min speed, blocked, route timeout.

Each mirrors the srunner / leaderboard class of the same name (same windows,
thresholds, messages); constants come from CriteriaConfig.
"""

from __future__ import annotations

import math

import numpy as np

from sim.events import (
    BLOCKED,
    MIN_SPEED,
    OUTSIDE_LANES,
    ROUTE_COMPLETION,
    ROUTE_DEVIATION,
    SWITCH_ACTOR_BLOCKED,
    SWITCH_WRONG_DIRECTION,
    CriteriaContext,
    Criterion,
    TrafficEvent,
    fmt_loc,
)


def _passed(ctx: CriteriaContext, index: int, x: float, y: float) -> bool:
    """Has the ego passed route point `index` (dot product with the point's forward vector > 0)?"""
    r = ctx.route
    return (x - r.xy[index, 0]) * math.cos(r.yaw[index]) + (y - r.xy[index, 1]) * math.sin(r.yaw[index]) > 0


class RouteCompletionTest(Criterion):
    name = "RouteCompletionTest"

    def __init__(self, ctx: CriteriaContext) -> None:
        super().__init__()
        self.index = 0
        self.actual_value = 0.0
        self.accum = ctx.route.cum / max(ctx.route.cum[-1], 1e-9) * 100.0
        self.event = TrafficEvent(ROUTE_COMPLETION, 0, "Agent has completed 0 of the route", {"route_completed": 0})
        self.events.append(self.event)

    def update(self, ctx: CriteriaContext) -> str:
        ego, n = ctx.world.ego, len(ctx.route)
        if self.test_status in ("RUNNING", "INIT"):
            for index in range(self.index, min(self.index + ctx.cfg.completion_window + 1, n)):
                if _passed(ctx, index, ego.x, ego.y):
                    self.index = index
                    self.actual_value = float(self.accum[index])
            self.actual_value = round(self.actual_value, 2)
            self._set_event()
            target = ctx.route.xy[-1]
            if (self.actual_value > ctx.cfg.completion_percentage
                    and math.hypot(ego.x - target[0], ego.y - target[1]) < ctx.cfg.completion_distance_m):
                self.test_status = "SUCCESS"
                self.actual_value = 100
            return "RUNNING"
        return "SUCCESS" if self.test_status == "SUCCESS" else "RUNNING"

    def _set_event(self) -> None:
        self.event.data = {"route_completed": self.actual_value}
        self.event.message = f"Agent has completed {self.actual_value} of the route"

    def terminate(self, ctx: CriteriaContext) -> None:
        self.actual_value = round(self.actual_value, 2)
        self._set_event()
        if self.test_status == "INIT":
            self.test_status = "FAILURE"
        super().terminate(ctx)


class OutsideRouteLanesTest(Criterion):
    name = "OutsideRouteLanesTest"

    def __init__(self, ctx: CriteriaContext) -> None:
        super().__init__()
        ego = ctx.world.ego
        self.current_index = 0
        self.last_wp = ctx.world.map.get_waypoint(ego.x, ego.y)
        self.last_road_lane: tuple[int, int] | None = None
        self.outside = False
        self.wrong_lane = False
        self.wrong_direction_active = True
        self.total_distance = 0.0
        self.wrong_distance = 0.0
        self.event: TrafficEvent | None = None

    def update(self, ctx: CriteriaContext) -> str:
        ego, world = ctx.world.ego, ctx.world
        switch = ctx.blackboard.pop(SWITCH_WRONG_DIRECTION, None)
        if switch is not None:
            self.wrong_direction_active = switch
        lane_id, s, dist = world.map.nearest(ego.x, ego.y)
        wp = world.map.waypoint(lane_id, s)
        self.outside = dist > wp.lane_width / 2 + ctx.cfg.outside_allowed_distance_m
        self._wrong_lane(ctx, wp)
        bad = self.outside or (self.wrong_direction_active and self.wrong_lane)
        if bad:
            self.test_status = "FAILURE"
        n = len(ctx.route)
        for index in range(self.current_index + 1, min(self.current_index + ctx.cfg.outside_window + 1, n)):
            if _passed(ctx, index, ego.x, ego.y):
                new = float(np.linalg.norm(ctx.route.xy[index] - ctx.route.xy[self.current_index]))
                self.total_distance += new
                if bad:
                    self.wrong_distance += new
                if self.wrong_distance:
                    self._set_event(world.frame)
                self.current_index = index
        return "RUNNING"

    def _wrong_lane(self, ctx: CriteriaContext, wp: object) -> None:
        ego = ctx.world.ego
        key = (wp.road_id, wp.lane_id)
        if wp.is_junction:
            self.wrong_lane = False
        elif self.last_road_lane != key:
            if self.last_wp.is_junction:
                angle = (math.degrees(wp.yaw) % 360 - math.degrees(ego.yaw) % 360) % 360
                limit = ctx.cfg.outside_max_vehicle_angle_deg
                self.wrong_lane = not (angle < limit or angle > 360 - limit)
            else:
                angle = (math.degrees(self.last_wp.yaw) % 360 - math.degrees(wp.yaw) % 360) % 360
                limit = ctx.cfg.outside_max_waypoint_angle_deg
                if limit < angle < 360 - limit:
                    self.wrong_lane = not self.wrong_lane
        self.last_road_lane = key
        self.last_wp = wp

    def _set_event(self, frame: int) -> None:
        if self.event is None:
            self.event = TrafficEvent(OUTSIDE_LANES, frame)
            self.events.append(self.event)
        pct = self.wrong_distance / self.total_distance * 100
        self.event.message = (f"Agent went outside its route lanes for about {round(self.wrong_distance, 3)} meters "
                              f"({round(pct, 2)}% of the completed route)")
        self.event.data = {"distance": self.wrong_distance, "percentage": pct}
        self.event.frame = frame


class InRouteTest(Criterion):
    """Route deviation: too far from the route, or off it for too much of its length; ends the route."""

    name = "InRouteTest"

    def __init__(self, ctx: CriteriaContext) -> None:
        super().__init__()
        self.current_index = 0
        self.out_route_distance = 0.0
        self.in_safe_route = True
        self.offroad_max = ctx.cfg.in_route_offroad_max_m
        self.offroad_min = self.offroad_max / 2

    def update(self, ctx: CriteriaContext) -> str:
        if self.test_status == "FAILURE":
            return "FAILURE"
        ego, route, n = ctx.world.ego, ctx.route, len(ctx.route)
        hi = min(self.current_index + ctx.cfg.in_route_window + 1, n)
        d = np.hypot(route.xy[self.current_index:hi, 0] - ego.x, route.xy[self.current_index:hi, 1] - ego.y)
        k = int(len(d) - 1 - np.argmin(d[::-1]))  # the last of equal minima, as '<=' picks it
        closest, shortest = self.current_index + k, float(d[k])
        off_route = True
        if shortest < self.offroad_max:
            off_route = False
            self.in_safe_route = shortest < self.offroad_min
        if closest != self.current_index:
            new = float(route.cum[closest] - route.cum[self.current_index])
            if not self.in_safe_route:
                self.out_route_distance += new
                if 100 * self.out_route_distance / route.cum[-1] > ctx.cfg.in_route_max_route_percentage:
                    off_route = True
            self.current_index = closest
        if off_route:
            self.events.append(TrafficEvent(ROUTE_DEVIATION, ctx.world.frame,
                                            f"Agent deviated from the route at {fmt_loc(ego.x, ego.y, ego.z)}"))
            self.test_status = "FAILURE"
            return "FAILURE"
        return "RUNNING"


class MinimumSpeedRouteTest(Criterion):
    name = "MinSpeedTest"
    RATIO = 1

    def __init__(self, ctx: CriteriaContext) -> None:
        super().__init__()
        self.accum = ctx.route.cum
        self.checkpoint_dist = self.accum[-1] / ctx.cfg.min_speed_checkpoints
        self.index = 0
        self.current_dist = 0.0
        self.mean_speed = 0.0
        self.actor_speed = 0.0
        self.speed_points = 0
        self.values: list[float] = []

    def update(self, ctx: CriteriaContext) -> str:
        ego, n = ctx.world.ego, len(ctx.route)
        for index in range(self.index, min(self.index + 3, n)):
            if _passed(ctx, index, ego.x, ego.y):
                self.index = index
        if self.accum[self.index] - self.current_dist > self.checkpoint_dist:
            self._set_event(ctx.world.frame)
            self.current_dist = self.accum[self.index]
            self.mean_speed = self.actor_speed = 0.0
            self.speed_points = 0
        background = [a for a in ctx.world.actors.values() if a.role == "background" and a.is_vehicle]
        if background:
            self.mean_speed += sum(math.hypot(a.vx, a.vy) for a in background) / len(background)
            self.actor_speed += math.hypot(ego.vx, ego.vy)
            self.speed_points += 1
        return "RUNNING"

    def _set_event(self, frame: int) -> None:
        if self.speed_points > 0 and self.mean_speed:
            mean, actor = self.mean_speed / self.speed_points, self.actor_speed / self.speed_points
            value = round(actor / (self.RATIO * mean) * 100, 2)
        else:
            value = 100
        self.test_status = "FAILURE"
        self.events.append(TrafficEvent(MIN_SPEED, frame, f"Average speed is {value}% of the surrounding traffic's one",
                                        {"percentage": value}))
        self.values.append(value)

    def terminate(self, ctx: CriteriaContext) -> None:
        if self.accum[self.index] / self.accum[-1] > 0.95:
            self._set_event(ctx.world.frame)
        super().terminate(ctx)


class ActorBlockedTest(Criterion):
    name = "AgentBlockedTest"

    def __init__(self, ctx: CriteriaContext) -> None:
        super().__init__()
        self.time_last_valid: float | None = None
        self.active = True

    def update(self, ctx: CriteriaContext) -> str:
        world = ctx.world
        switch = ctx.blackboard.pop(SWITCH_ACTOR_BLOCKED, None)
        if switch is not None:
            self.active = switch
            self.time_last_valid = world.time
        if self.active:
            speed = math.hypot(world.ego.vx, world.ego.vy)
            if speed < ctx.cfg.blocked_min_speed_mps and self.time_last_valid:
                if world.time - self.time_last_valid > ctx.cfg.blocked_max_time_s:
                    self.test_status = "FAILURE"
                    e = world.ego
                    self.events.append(TrafficEvent(BLOCKED, world.frame, f"Agent got blocked at {fmt_loc(e.x, e.y, e.z)}"))
            else:
                self.time_last_valid = world.time
        return "FAILURE" if self.test_status == "FAILURE" else "RUNNING"


class RouteTimeout:
    """RouteTimeoutBehavior: 300 s plus route metres at 10 % of the ego's current speed limit."""

    def __init__(self, ctx: CriteriaContext) -> None:
        self.start = ctx.world.time
        self.value = ctx.cfg.route_timeout_min_s
        self.index = 0
        self.timeout = False

    def update(self, ctx: CriteriaContext) -> bool:
        ego, n = ctx.world.ego, len(ctx.route)
        new_index = self.index
        for index in range(self.index, min(self.index + 4, n)):
            if _passed(ctx, index, ego.x, ego.y):
                new_index = index
        if new_index > self.index:
            dist = float(ctx.route.cum[new_index] - ctx.route.cum[self.index])
            lane_id, _, _ = ctx.world.map.nearest(ego.x, ego.y)
            limit = ctx.world.map.lanes[lane_id].speed_limit  # m/s (CARLA: get_speed_limit() / 3.6)
            self.value += dist / (limit * ctx.cfg.route_timeout_speed_percentage / 100)
            self.index = new_index
        if ctx.world.time - self.start > self.value:
            self.timeout = True
        return self.timeout
