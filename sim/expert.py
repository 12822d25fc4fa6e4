"""The privileged expert: a rule-based Planner reading Observation.privileged (a WorldSnapshot).

Lane-level route following with lateral manoeuvres (sim/expert_lateral.py), and a
target speed: the minimum of the lane limit and corner speeds, Gipps-safe speeds
behind vehicles / obstacles / walkers in the corridor, red and yellow lights,
stop signs (full stop, then give way) and crossing traffic at junctions. It drives
through the agent's own controllers, exactly like the network would.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from core.frames import world_to_ego
from planner.interface import Observation, Plan
from sim.config import ExpertConfig
from sim.expert_geometry import (
    PlannedPath,
    build_path,
    corridor_hits,
    curvature_speeds,
    profile_limit,
    project_points,
    safe_speed,
)
from sim.expert_lateral import LateralPlanner
from sim.privileged import WorldSnapshot

NUM_WAYPOINTS = 6
WAYPOINT_DT_S = 0.5
STANDING_SPEED_MPS = 0.3  # slower than this counts as standing (overtake patience)


class ExpertPlanner:
    reads_camera = False  # privileged state only: no camera needs rendering for it
    reads_lidar_bev = False  # the points themselves, if anything

    def __init__(self, config: ExpertConfig | None = None) -> None:
        self.cfg = config or ExpertConfig()
        self.lateral = LateralPlanner(self.cfg)
        self.reset()

    def reset(self) -> None:
        self.index = 0
        self.lateral.reset()
        self.stops_done: set[int] = set()
        self.stop_wait = 0.0
        self.last_time: float | None = None
        self.standing_s = 0.0
        self.reasons: list[str] = []  # why the last target speed is what it is (debugging, video)

    def understand(self, observation: Observation) -> Any:
        return None

    # ------------------------------------------------------------------ progress
    def _progress(self, snap: WorldSnapshot) -> float:
        r, ego = snap.route, snap.ego
        lo, hi = max(0, self.index - 3), min(len(r), self.index + 40)
        d = np.hypot(r.xy[lo:hi, 0] - ego.x, r.xy[lo:hi, 1] - ego.y)
        self.index = lo + int(np.argmin(d))
        along = (ego.x - r.xy[self.index, 0]) * math.cos(r.yaw[self.index]) + \
                (ego.y - r.xy[self.index, 1]) * math.sin(r.yaw[self.index])
        return float(r.cum[self.index] + along)

    # --------------------------------------------------------------------- speed
    def _margins(self, snap: WorldSnapshot, yaw: float) -> dict[int, float]:
        half, c = snap.ego.extent[1], self.cfg
        out = {}
        for a in snap.actors:
            if a.kind == "walker":
                out[a.id] = half + c.walker_margin_m
            elif a.kind == "vehicle" and a.moving and math.cos(a.yaw - yaw) < -0.5:
                out[a.id] = half + 0.15  # oncoming traffic passes close by on two-way roads
            else:
                out[a.id] = half + c.corridor_margin_m
        return out

    def _obstacle_speed(self, snap: WorldSnapshot, path: PlannedPath, s_ego: float) -> tuple[float, float]:
        """(speed limit, nearest gap) from actors in the corridor of the planned path."""
        c, ego = self.cfg, snap.ego
        yaw = float(path.yaw[min(3, len(path.yaw) - 1)])
        others = [a for a in snap.actors if a.kind != "walker"]
        hits = corridor_hits(path, s_ego, ego.extent[0], others, self._margins(snap, yaw))
        limit, nearest = math.inf, math.inf
        for h in hits:
            standstill = c.vehicle_gap_m + (2.0 if not h.actor.moving else 0.0)
            v = safe_speed(h.gap, h.speed_along, standstill, c.comfort_decel_mps2, c.leader_decel_mps2, c.reaction_s)
            if v < limit:
                limit = v
            nearest = min(nearest, h.gap)
        if limit < math.inf:
            self.reasons.append(f"leader {limit:.1f}")
        return limit, nearest

    def _walker_speed(self, snap: WorldSnapshot, path: PlannedPath, s_ego: float) -> float:
        c, ego = self.cfg, snap.ego
        walkers = [a for a in snap.actors if a.kind == "walker"]
        if not walkers:
            return math.inf
        times = np.arange(0.0, c.walker_horizon_s + 1e-9, 0.5)
        pts = np.concatenate([a.xy[None, :] + times[:, None] * np.array([[a.vx, a.vy]]) for a in walkers])
        s, lat, k = project_points(path, pts)
        inside = (np.abs(lat) < ego.extent[1] + c.walker_margin_m) & (s > s_ego - ego.extent[0]) & (k < len(path.s) - 1)
        if not inside.any():
            return math.inf
        gap = float(s[inside].min()) - s_ego - ego.extent[0]
        self.reasons.append("walker")
        return safe_speed(gap, 0.0, c.walker_gap_m, c.comfort_decel_mps2, 1.0, c.reaction_s)

    def _stop_line_speed(self, snap: WorldSnapshot, s_ego: float, speed: float, dt: float) -> float:
        c, r, ego = self.cfg, snap.route, snap.ego
        limit = math.inf
        lanes = r.lane_ids
        hi = min(len(r) - 1, int(np.searchsorted(r.cum, s_ego + c.horizon_m)))
        start = max(0, self.index - 6)
        changes = np.flatnonzero(lanes[start:hi] != lanes[start + 1:hi + 1]) + start
        for i in changes:
            lane, nxt = int(lanes[i]), int(lanes[i + 1])
            if not snap.map.lanes[nxt].is_junction:
                continue
            gap = float(r.cum[i + 1]) - s_ego - ego.extent[0]
            if gap < -0.5:
                continue
            if lane in snap.lane_lights:
                state = snap.light_states.get(snap.lane_lights[lane], "green")
                can_stop = gap > speed * speed / (2.0 * 6.0) + 0.5
                if state == "red" or (state == "yellow" and can_stop):
                    limit = min(limit, safe_speed(gap, 0.0, c.stop_line_gap_m, c.comfort_decel_mps2, 1.0, 0.2))
                    self.reasons.append(f"light {state}")
            if lane in snap.lane_stop_signs:
                sign = snap.lane_stop_signs[lane]
                if sign in self.stops_done:
                    continue
                if gap < 2.5 and speed < 0.05:
                    self.stop_wait += dt
                    if self.stop_wait >= c.stop_sign_wait_s:
                        self.stops_done.add(sign)
                        self.stop_wait = 0.0
                        continue
                limit = min(limit, safe_speed(gap, 0.0, c.stop_sign_gap_m, c.comfort_decel_mps2, 1.0, 0.2))
                self.reasons.append("stop sign")
        return limit

    def _conflict_speed(self, snap: WorldSnapshot, path: PlannedPath, s_ego: float, speed: float) -> float:
        """Give way to crossing traffic whose own path meets ours around the same time."""
        c, ego = self.cfg, snap.ego
        ahead = (path.s >= s_ego) & (path.s <= s_ego + c.junction_look_m)
        if ahead.sum() < 2:
            return math.inf
        ours, our_s, our_yaw = path.xy[ahead], path.s[ahead], path.yaw[ahead]
        v_e = max(speed, 2.5)
        limit = math.inf
        for a in snap.actors:
            if a.kind != "vehicle" or not a.moving or a.path is None or a.emergency:
                continue
            theirs = np.vstack([a.xy[None, :], a.path])
            d = np.linalg.norm(theirs[:, None, :] - ours[None, :, :], axis=2)
            thr = ego.extent[1] + a.extent[1] + 0.6
            close = np.argwhere(d < thr)
            if len(close) == 0:
                continue
            j, i = close[np.argmin(close[:, 0])]
            angle = abs(math.cos(our_yaw[i] - a.yaw))
            if angle > math.cos(math.radians(30.0)):  # same or opposite direction: following / passing
                continue
            their_dist = float(np.sum(np.linalg.norm(np.diff(theirs[: j + 1], axis=0), axis=1)))
            gap = float(our_s[i]) - s_ego - ego.extent[0] - thr
            if gap < 0.5:
                continue  # already committed to the crossing
            v_o = abs(a.speed)
            if v_o < 0.3:
                continue
            t_o_in = max(0.0, their_dist - thr - a.extent[0]) / v_o
            t_o_out = (their_dist + thr + a.extent[0]) / v_o
            t_e_in = gap / v_e
            t_e_out = (gap + 2 * thr + 2 * ego.extent[0]) / v_e
            if t_o_in < t_e_out + c.junction_conflict_s and t_o_out > t_e_in - c.junction_conflict_s:
                limit = min(limit, safe_speed(gap, 0.0, 1.0, c.comfort_decel_mps2, 1.0, 0.2))
                self.reasons.append("give way")
        return limit

    # ----------------------------------------------------------------------- act
    def act(self, observation: Observation, context: Any) -> Plan:
        snap = observation.privileged
        if not isinstance(snap, WorldSnapshot):
            raise ValueError("the expert needs the embedded simulator's privileged WorldSnapshot")
        c, ego, r = self.cfg, snap.ego, snap.route
        dt = 0.05 if self.last_time is None else max(snap.time - self.last_time, 1e-3)
        self.last_time = snap.time
        self.reasons = []
        speed = max(ego.speed, 0.0)
        self.standing_s = self.standing_s + dt if speed < STANDING_SPEED_MPS else 0.0
        s_ego = self._progress(snap)
        self.lateral.update(snap, s_ego, speed, self.index, self.standing_s)
        path = build_path(r.xy, r.yaw, r.cum, r.lane_ids, s_ego - 2.0, s_ego + c.horizon_m, self.lateral.profile)

        lane_limits = np.array([snap.map.lanes[int(k)].speed_limit if k >= 0 else snap.map.lanes[int(r.lane_ids[-1])].speed_limit
                                for k in path.lane_ids]) * c.speed_limit_share
        limits = np.minimum(curvature_speeds(path, c.max_lateral_accel_mps2, c.max_speed_mps), lane_limits)
        target = profile_limit(path, s_ego, limits, c.comfort_decel_mps2)
        if s_ego > r.cum[-1] - 3.0:
            target = min(target, 2.0)
        obstacle, nearest = self._obstacle_speed(snap, path, s_ego)
        target = min(target, obstacle, self._walker_speed(snap, path, s_ego),
                     self._stop_line_speed(snap, s_ego, speed, dt), self._conflict_speed(snap, path, s_ego, speed))
        if self.lateral.nudging:
            target = min(target, c.nudge_speed_mps)
        emergency = nearest < 0.5 and speed > 0.3
        return self._plan(snap, path, s_ego, max(target, 0.0), emergency)

    def _plan(self, snap: WorldSnapshot, path: PlannedPath, s_ego: float, target: float, emergency: bool) -> Plan:
        ego = snap.ego
        c = self.cfg
        s_route = s_ego + 1.0 + np.arange(c.route_points, dtype=np.float64)
        route_xy = np.stack([np.interp(s_route, path.s, path.xy[:, 0]), np.interp(s_route, path.s, path.xy[:, 1])], 1)
        s_wp = s_ego + np.maximum(target, 0.05) * WAYPOINT_DT_S * np.arange(1, NUM_WAYPOINTS + 1)
        wp_xy = np.stack([np.interp(s_wp, path.s, path.xy[:, 0]), np.interp(s_wp, path.s, path.xy[:, 1])], 1)
        return Plan(
            waypoints=world_to_ego(wp_xy, ego.xy, ego.yaw).astype(np.float32),
            route=world_to_ego(route_xy, ego.xy, ego.yaw).astype(np.float32),
            target_speed=float(target),
            emergency_stop=bool(emergency),
        )

