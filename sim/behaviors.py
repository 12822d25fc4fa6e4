"""NPC behaviours: lane following with the Intelligent Driver Model, lights, stop signs; walkers.

A behaviour is an object with `step(world, actor, dt)`; the world calls it
every tick. Scenarios steer NPCs through the hooks here (hard braking, lane
changes, speed functions) instead of writing positions themselves.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from sim.config import IdmConfig
from sim.lane_path import LanePath

if TYPE_CHECKING:
    from sim.actors import Actor
    from sim.world import World

INF = float("inf")


def idm_accel(cfg: IdmConfig, v: float, v0: float, gap: float, lead_speed: float, min_gap: float | None = None,
              headway: float | None = None) -> float:
    s0 = cfg.min_gap_m if min_gap is None else min_gap
    t = cfg.time_headway_s if headway is None else headway
    free = 1.0 - (v / max(v0, 0.1)) ** cfg.exponent if v0 > 0.05 else -1.0
    if gap == INF:
        return cfg.accel_mps2 * free
    s_star = s0 + max(0.0, v * t + v * (v - lead_speed) / (2.0 * math.sqrt(cfg.accel_mps2 * cfg.comfort_decel_mps2)))
    return cfg.accel_mps2 * (free - (s_star / max(gap, 0.05)) ** 2)


def path_leader(world: World, actor: Actor, path: LanePath, s: float, offset: float, look_ahead: float,
                margin: float, ignore: set[int]) -> tuple[float, float]:
    """(bumper-to-bumper gap, leader speed along the path) of the nearest actor blocking the corridor."""
    others = world.nearby(actor.xy, look_ahead + 10.0, exclude=ignore | {actor.id})
    if not others:
        return INF, 0.0
    pts, ss = path.sample(s, s + look_ahead, 1.0)
    if len(pts) < 2:
        return INF, 0.0
    corners = np.concatenate([o.corners() for o in others])  # [4C, 2]
    d = np.linalg.norm(corners[:, None, :] - pts[None, :, :], axis=2)
    k = np.argmin(d, axis=1)
    seg = np.clip(k, 0, len(pts) - 2)
    tangent = pts[seg + 1] - pts[seg]
    tangent /= np.maximum(np.linalg.norm(tangent, axis=1, keepdims=True), 1e-9)
    rel = corners - pts[k]
    along = np.sum(rel * tangent, axis=1)
    lateral = -tangent[:, 1] * rel[:, 0] + tangent[:, 0] * rel[:, 1] - offset
    half = actor.extent[1] + margin
    lat = lateral.reshape(-1, 4)
    inside = (np.abs(lat) < half).any(axis=1) | ((lat.min(axis=1) < 0) & (lat.max(axis=1) > 0))
    s_corner = (ss[k] + along).reshape(-1, 4)
    # Corners at the very end of the window are beyond it, not on it.
    in_window = (s_corner.min(axis=1) > s - actor.extent[0]) & (s_corner.min(axis=1) < s + look_ahead - 0.5)
    # The nearest blocking actor in one pass (argmin keeps the first of equal gaps, as a loop would).
    gaps = np.where(inside & in_window, s_corner.min(axis=1) - s - actor.extent[0], INF)
    i = int(np.argmin(gaps))
    best_gap = float(gaps[i])
    if best_gap == INF:
        return INF, 0.0
    heading = path.pose(min(s + max(best_gap, 0.0), path.length))[2]
    other = others[i]
    return best_gap, max(0.0, other.vx * math.cos(heading) + other.vy * math.sin(heading))


@dataclass
class IdmDriver:
    """Follows a LanePath with IDM, stopping for red / yellow lights and at stop signs."""

    path: LanePath
    s: float
    desired_speed: float  # m/s
    cfg: IdmConfig
    speed: float = 0.0
    offset: float = 0.0  # m to the right of the path centre line
    obey_lights: bool = True
    obey_stops: bool = True
    stop_wait_s: float = 1.0
    extend_rng: object | None = None  # random.Random: extend the path at its end (background traffic)
    despawn_at_end: bool = True
    ignore: set[int] = field(default_factory=set)
    speed_fn: Callable[[World], float] | None = None  # overrides desired_speed each tick
    min_gap: float | None = None
    headway: float | None = None
    forced_decel: float = 0.0  # > 0: brake at this rate regardless (scenario hard braking)
    hold_until: float = -1.0  # stand still until this simulation time
    instant_speed: bool = False  # take the desired speed at once (scenario_runner's constant-velocity agents)
    _offset_from: float = 0.0
    _offset_to: float = 0.0
    _offset_t0: float = 0.0
    _offset_duration: float = 0.0
    _stops_done: set[int] = field(default_factory=set)
    _stop_timer: float = 0.0

    def change_path(self, world: World, actor: Actor, new_path: LanePath, duration: float) -> None:
        """Move onto another path (a lane change): keep the pose, then close the lateral gap smoothly."""
        s, lateral = new_path.project(actor.xy)
        self.path, self.s = new_path, s
        self._offset_from, self._offset_to = lateral, 0.0
        self._offset_t0, self._offset_duration = world.time, max(duration, 1e-3)
        self.offset = lateral

    def shift(self, world: World, target_offset: float, duration: float) -> None:
        self._offset_from, self._offset_to = self.offset, target_offset
        self._offset_t0, self._offset_duration = world.time, max(duration, 1e-3)

    def _update_offset(self, t: float) -> None:
        if self._offset_duration <= 0:
            return
        u = min(1.0, (t - self._offset_t0) / self._offset_duration)
        w = 0.5 - 0.5 * math.cos(math.pi * u)
        self.offset = self._offset_from + (self._offset_to - self._offset_from) * w
        if u >= 1.0:
            self._offset_duration = 0.0

    def _stop_line_gap(self, world: World, actor: Actor) -> float:
        gap = INF
        lights, signs = world.lane_lights, world.lane_stop_signs
        for lane_id, s_end in self.path.lane_ends_ahead(self.s - actor.extent[0], self.s + self.cfg.look_ahead_m):
            line_gap = s_end - self.s - actor.extent[0]
            if self.obey_lights and lane_id in lights:
                state = world.light_state(lights[lane_id])
                if state == "red" or (state == "yellow" and line_gap > self.cfg.yellow_stop_min_distance_m):
                    if line_gap > -0.5:
                        gap = min(gap, line_gap)
            if self.obey_stops and lane_id in signs and lane_id not in self._stops_done:
                if line_gap < 3.0 and self.speed < 0.1:
                    self._stop_timer += world.dt
                    if self._stop_timer >= self.stop_wait_s:
                        self._stops_done.add(lane_id)
                        self._stop_timer = 0.0
                        continue
                if line_gap > -0.5:
                    gap = min(gap, max(line_gap, 0.0))
        return gap

    def step(self, world: World, actor: Actor, dt: float) -> None:
        self._update_offset(world.time)
        v = self.speed
        if world.time < self.hold_until:
            acc = -self.cfg.max_decel_mps2
        elif self.forced_decel > 0.0:
            acc = -self.forced_decel
        else:
            v0 = self.speed_fn(world) if self.speed_fn is not None else self.desired_speed
            gap, lead_v = path_leader(world, actor, self.path, self.s, self.offset, self.cfg.look_ahead_m,
                                      self.cfg.lateral_margin_m, self.ignore)
            acc = idm_accel(self.cfg, v, v0, gap, lead_v, self.min_gap, self.headway)
            line_gap = self._stop_line_gap(world, actor)
            if line_gap < INF:
                acc = min(acc, idm_accel(self.cfg, v, v0, line_gap, 0.0, 0.5, 0.8))
            acc = max(acc, -self.cfg.max_decel_mps2)
        v_new = max(0.0, v + acc * dt)
        if self.instant_speed and self.forced_decel <= 0.0 and world.time >= self.hold_until and acc > -1.0:
            v_new = max(0.0, self.speed_fn(world) if self.speed_fn is not None else self.desired_speed)
        self.s += 0.5 * (v + v_new) * dt
        self.speed = v_new
        if self.path.length - self.s < self.cfg.look_ahead_m + 10.0 and self.extend_rng is not None:
            nxt = world.choose_successor(self.path.last_lane, self.extend_rng)
            if nxt is not None:
                self.path.extend(nxt)
        if self.s >= self.path.length - 0.5:
            self.s = self.path.length - 0.5
            self.speed = 0.0
            if self.despawn_at_end:
                world.destroy(actor.id)
                return
        x, y, yaw = self.path.pose(self.s, self.offset)
        actor.set_pose(x, y, yaw, dt)
        actor.speed = self.speed


@dataclass
class WalkerBehavior:
    """Walk a polyline at constant speed once `active`; optionally vanish at its end."""

    points: np.ndarray  # [K, 2] world m
    speed: float  # m/s
    active: bool = False
    despawn_at_end: bool = True
    s: float = 0.0

    def step(self, world: World, actor: Actor, dt: float) -> None:
        if not actor.collidable:  # knocked over by the ego: lies still
            actor.set_pose(actor.x, actor.y, actor.yaw, dt)
            return
        if not self.active:
            actor.set_pose(actor.x, actor.y, actor.yaw, dt)
            return
        seg = np.linalg.norm(np.diff(self.points, axis=0), axis=1)
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        self.s = min(self.s + self.speed * dt, cum[-1])
        x = float(np.interp(self.s, cum, self.points[:, 0]))
        y = float(np.interp(self.s, cum, self.points[:, 1]))
        k = min(int(np.searchsorted(cum, self.s, side="right")) - 1, len(seg) - 1)
        d = self.points[k + 1] - self.points[k]
        actor.set_pose(x, y, math.atan2(d[1], d[0]), dt)
        actor.speed = self.speed if self.s < cum[-1] else 0.0
        if self.s >= cum[-1] and self.despawn_at_end:
            world.destroy(actor.id)
