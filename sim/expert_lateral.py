"""The expert's lateral decisions: overtake static obstacles, move over for emergency vehicles,
nudge away from cars invading the lane. All become one OffsetProfile along the route."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.config import ExpertConfig
from sim.expert_geometry import OffsetProfile, PlannedPath, build_path, corridor_hits, project_points
from sim.privileged import ActorInfo, WorldSnapshot


@dataclass
class Maneuver:
    kind: str  # 'overtake_same' | 'overtake_opposite' | 'yield_ev'
    offset: float  # m, target lateral offset
    s_end: float  # route S where the obstacle zone ends (overtakes)
    s_return: float  # route S where the planned return starts


def travel_time(distance: float, v0: float, v_max: float, accel: float) -> float:
    """Seconds to cover `distance` from speed v0, accelerating at `accel` up to v_max."""
    v0 = min(max(v0, 0.0), v_max)
    t_acc = (v_max - v0) / accel
    d_acc = (v0 + v_max) / 2.0 * t_acc
    if distance <= d_acc:
        return (-v0 + math.sqrt(v0 * v0 + 2.0 * accel * max(distance, 0.0))) / accel
    return t_acc + (distance - d_acc) / v_max


def _is_obstacle(a: ActorInfo) -> bool:
    return a.kind == "static" or (a.kind == "vehicle" and not a.moving)


def _heading_dot(a: ActorInfo, yaw: float) -> float:
    return math.cos(a.yaw - yaw)


class LateralPlanner:
    def __init__(self, cfg: ExpertConfig) -> None:
        self.cfg = cfg
        self.profile = OffsetProfile()
        self.maneuver: Maneuver | None = None
        self.nudging = False

    def reset(self) -> None:
        self.profile = OffsetProfile()
        self.maneuver = None
        self.nudging = False

    def ramp_length(self, speed: float) -> float:
        c = self.cfg
        return float(np.clip(speed * c.lane_change_time_s, c.lane_change_min_m, c.lane_change_max_m))

    # ----------------------------------------------------------------- helpers
    def _path(self, snap: WorldSnapshot, s_from: float, s_to: float, offset: float) -> PlannedPath:
        r = snap.route
        return build_path(r.xy, r.yaw, r.cum, r.lane_ids, s_from, s_to, OffsetProfile(base=offset))

    def _vehicles_in(self, snap: WorldSnapshot, offset: float, s_from: float, s_to: float, s_ego: float,
                     half: float) -> list:
        path = self._path(snap, s_from, s_to, offset)
        cars = [a for a in snap.actors if a.kind == "vehicle"]
        hits = corridor_hits(path, s_from, 0.0, cars, {a.id: half for a in cars})
        return [h for h in hits if s_from <= h.s_near <= s_to]

    # --------------------------------------------------------------- decisions
    def update(self, snap: WorldSnapshot, s_ego: float, ego_speed: float, route_index: int, standing_s: float) -> None:
        ego = snap.ego
        half = ego.extent[1]
        lane = snap.map.lanes[int(snap.route.lane_ids[route_index])]
        length = self.ramp_length(ego_speed)
        m = self.maneuver
        if m is None:
            if self._start_ev_yield(snap, s_ego, lane, half, length):
                return
            if self._start_overtake(snap, s_ego, ego_speed, lane, half, length, standing_s):
                return
            self._nudge(snap, s_ego, lane, half)
            return
        if m.kind == "yield_ev":
            if self._ev_passed(snap, s_ego) and not self._vehicles_in(snap, 0.0, s_ego - 15.0, s_ego + 25.0, s_ego,
                                                                       half + 0.6):
                self.profile.retarget(s_ego, 0.0, length)
                self.maneuver = None
            return
        if m.kind == "overtake_opposite" and s_ego + ego.extent[0] < m.s_end - 8.0:
            # Not beside the obstacle yet: abort if the oncoming lane stopped being clear.
            if not self._opposite_clear(snap, s_ego, ego_speed, m.s_end, m.offset, length, margin_s=0.0):
                self.profile.retarget(s_ego, 0.0, length)
                self.maneuver = None
                return
        if s_ego > m.s_return + length:
            self.profile = OffsetProfile(base=float(self.profile.value(s_ego)))
            self.maneuver = None

    def _ev_behind(self, snap: WorldSnapshot, s_ego: float) -> ActorInfo | None:
        path = self._path(snap, s_ego - self.cfg.emergency_detect_m, s_ego + 5.0, float(self.profile.value(s_ego)))
        for a in snap.actors:
            if not a.emergency:
                continue
            s, lat, _ = project_points(path, a.xy[None, :])
            if s_ego - self.cfg.emergency_detect_m < s[0] < s_ego and abs(lat[0]) < 2.0:
                return a
        return None

    def _ev_passed(self, snap: WorldSnapshot, s_ego: float) -> bool:
        evs = [a for a in snap.actors if a.emergency]
        if not evs:
            return True
        path = self._path(snap, s_ego - 100.0, s_ego + 100.0, 0.0)
        s, _, _ = project_points(path, np.array([a.xy for a in evs]))
        return bool(np.all(s > s_ego + snap.ego.extent[0] + 12.0))

    def _start_ev_yield(self, snap: WorldSnapshot, s_ego: float, lane: object, half: float, length: float) -> bool:
        if self._ev_behind(snap, s_ego) is None:
            return False
        sides = [(-lane.width, lane.left), (lane.width, lane.right)]
        for offset, neighbour in sides:
            if neighbour is None:
                continue
            if not self._vehicles_in(snap, offset, s_ego - 12.0, s_ego + 25.0, s_ego, half + 0.6):
                self.profile.retarget(s_ego, offset, length)
                self.maneuver = Maneuver("yield_ev", offset, s_ego, float("inf"))
                return True
        return False

    def _obstacle_zone(self, snap: WorldSnapshot, s_ego: float, half: float) -> tuple[float, float] | None:
        """(S start, S end) of the first cluster of parked cars / props blocking the route lane ahead."""
        path = self._path(snap, s_ego - 5.0, s_ego + self.cfg.overtake_detect_m + 30.0, 0.0)
        static = [a for a in snap.actors if _is_obstacle(a)]
        hits = corridor_hits(path, s_ego, snap.ego.extent[0], static, {a.id: half + 0.3 for a in static})
        hits = sorted((h for h in hits if h.gap < self.cfg.overtake_detect_m), key=lambda h: h.s_near)
        if not hits:
            return None
        start = hits[0].s_near
        end = start
        for h in hits:
            if h.s_near > end + 15.0:
                break
            s_c, _, _ = project_points(path, h.actor.corners())
            end = max(end, float(s_c.max()))
        return start, end

    def _opposite_clear(self, snap: WorldSnapshot, s_ego: float, speed: float, s_end: float, offset: float,
                        length: float, margin_s: float | None = None) -> bool:
        """No oncoming car reaches the passing window before we are back (plus a margin), nothing parked in it."""
        c = self.cfg
        margin = c.overtake_margin_s if margin_s is None else margin_s
        window_end = s_end + c.return_clearance_m + length
        t_pass = travel_time(window_end - s_ego, speed, c.overtake_speed_mps, c.overtake_accel_mps2)
        path = self._path(snap, s_ego - 10.0, s_ego + 250.0, offset)
        yaw0 = float(np.interp(s_ego, snap.route.cum, snap.route.yaw))
        for a in snap.actors:
            if a.kind != "vehicle":
                continue
            s, lat, _ = project_points(path, a.corners())
            if np.min(np.abs(lat)) > 2.5 or s.max() < s_ego - 5.0 or s.min() > s_ego + 250.0:
                continue
            if _heading_dot(a, yaw0) < -0.5 and a.moving:
                v = max(abs(a.speed), 0.0)
                if s.min() - v * (t_pass + margin) <= window_end + (5.0 if margin_s is None else 0.0):
                    return False
            elif s.min() < window_end + 5.0:  # something standing in the passing lane
                return False
        return True

    def _start_overtake(self, snap: WorldSnapshot, s_ego: float, speed: float, lane: object, half: float,
                        length: float, standing_s: float) -> bool:
        zone = self._obstacle_zone(snap, s_ego, half)
        if zone is None:
            return False
        _s_start, s_end = zone
        if lane.left is not None:
            offset = -lane.width
            clear = not self._vehicles_in(snap, offset, s_ego - self.cfg.overtake_clear_behind_m, s_end + 20.0,
                                          s_ego, half + 0.6)
            kind = "overtake_same"
        elif lane.opposite is not None:
            if standing_s < self.cfg.opposite_wait_s:
                return False  # into oncoming traffic only from a standstill behind the obstacle
            offset = -(lane.width + snap.map.lanes[lane.opposite].width) / 2
            clear = self._opposite_clear(snap, s_ego, speed, s_end, offset, length)
            kind = "overtake_opposite"
        elif lane.right is not None:
            offset = lane.width
            clear = not self._vehicles_in(snap, offset, s_ego - self.cfg.overtake_clear_behind_m, s_end + 20.0,
                                          s_ego, half + 0.6)
            kind = "overtake_same"
        else:
            return False
        if not clear:
            return False
        s_return = s_end + self.cfg.return_clearance_m
        self.profile.retarget(s_ego, offset, length)
        self.profile.plan_return(s_return, length, 0.0)
        self.maneuver = Maneuver(kind, offset, s_end, s_return)
        return True

    def _nudge(self, snap: WorldSnapshot, s_ego: float, lane: object, half: float) -> None:
        """Oncoming cars over the centre line: shift right inside the lane to keep a margin."""
        c = self.cfg
        path = self._path(snap, s_ego - 10.0, s_ego + 45.0, 0.0)
        yaw0 = float(np.interp(s_ego, snap.route.cum, snap.route.yaw))
        need = 0.0
        for a in snap.actors:
            if a.kind != "vehicle" or not a.moving or _heading_dot(a, yaw0) > -0.5:
                continue
            s, lat, _ = project_points(path, a.corners())
            if s.max() < s_ego - 8.0 or s.min() > s_ego + 40.0 or lat.max() > 0.5 or lat.min() < -6.0:
                continue
            edge = float(-lat.max())  # distance of its nearest edge left of our lane centre
            need = max(need, half + c.nudge_margin_m - edge)
        cap = max(0.0, lane.width / 2 - half - 0.1)
        target = float(np.clip(need, 0.0, cap)) if need > 0.05 else 0.0
        self.nudging = target > 0.0
        if abs(target - self.profile.target) > 0.1:
            self.profile.retarget(s_ego, target, 8.0)
