"""The simulated world: actors, the ego's dynamics, traffic lights, collisions, one fixed step at a time."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from sim.actors import Actor, make_actor, obb_overlap
from sim.config import SimConfig
from sim.vehicle_dynamics import EgoDynamics
from sim.world_map import WorldMap

LIGHT_HEAD_HEIGHT_M = 5.2
EGO_BODY_HEIGHT_SHARE = 0.6  # bonnet height / box height of the ego's rendered shape
EGO_CABIN_OFFSET_M = -0.7  # the cabin sits behind the box centre  # centre of a light head above the ground
LAMP_COLOURS = {"red": (40, 40, 255), "yellow": (30, 210, 255), "green": (90, 230, 60)}  # BGR


@dataclass(frozen=True)
class BoxArrays:
    """Every drawable box this tick, packed for vectorised sensors."""

    ids: np.ndarray  # [K] int actor id (-1 for decorations)
    center: np.ndarray  # [K, 3] float64 world m (box centre, z up)
    yaw: np.ndarray  # [K] rad
    extent: np.ndarray  # [K, 3] half sizes m
    color: np.ndarray  # [K, 3] uint8 BGR


class _ActorIndex:
    """The world's actors split for nearby(): road users (they move every tick, a short list, read
    live) and the fixed ones (buildings, light and sign poles: many, and never moving, so packed in
    arrays once and queried with one vectorised distance test)."""

    def __init__(self, actors: Iterable[Actor]) -> None:
        self.movers: list[Actor] = []
        self.fixed: list[Actor] = []
        for a in actors:
            (self.fixed if a.role == "infrastructure" or a.type_id == "static.building" else self.movers).append(a)
        self.fixed_reach = np.array([a.extent[0] for a in self.fixed], dtype=np.float64)
        # none of them has a behaviour; should one ever get one, read their poses live
        self._live = any(a.behavior is not None for a in self.fixed)
        self._fixed_xy = self._positions()

    def _positions(self) -> np.ndarray:
        return np.array([(a.x, a.y) for a in self.fixed], dtype=np.float64).reshape(-1, 2)

    def fixed_near(self, x0: float, y0: float, radius: float) -> list[Actor]:
        if not self.fixed:
            return []
        xy = self._positions() if self._live else self._fixed_xy
        d2 = (xy[:, 0] - x0) ** 2 + (xy[:, 1] - y0) ** 2
        return [self.fixed[i] for i in np.flatnonzero(d2 <= (radius + self.fixed_reach) ** 2)]


class World:
    def __init__(self, world_map: WorldMap, config: SimConfig, seed: int, ego_pose: tuple[float, float, float]) -> None:
        self.map = world_map
        self.cfg = config
        self.dt = config.dt
        self.rng = random.Random(seed)
        self.time = 0.0
        self.frame = config.first_frame
        self.tick_count = 0
        self.actors: dict[int, Actor] = {}
        self._next_id = 100
        self._index: _ActorIndex | None = None  # nearby()'s split of the actors (rebuilt on spawn / destroy)
        self.lane_lights = world_map.lights_for_lane()
        self.lane_stop_signs = world_map.stop_sign_for_lane()
        self.light_overrides: dict[int, tuple[str, float]] = {}
        self._light_states: dict[int, str] = {}
        self.collisions: list[Actor] = []  # actors the ego touched during the last tick
        self.blackboard: dict = {}  # scenario -> criteria switches (py_trees blackboard)
        self.blocked_lanes: set[int] = set()  # lanes with a scenario obstacle: background traffic avoids them
        self.control = (0.0, 0.0, 0.0, False, False)  # steer, throttle, brake, hand_brake, reverse
        self.contact_speed = 0.0  # m/s, the ego's speed when the last tick's contacts happened
        x, y, yaw = ego_pose
        self.ego_dyn = EgoDynamics(config.ego, x, y, yaw)
        self.ego = self.spawn(config.ego.type_id, "hero", x, y, yaw, extent=config.ego.extent)
        self._spawn_infrastructure()
        self._update_lights()
        self._boxes: BoxArrays | None = None

    # ----------------------------------------------------------------- actors
    def _invalidate(self) -> None:
        self._boxes = None
        self._index = None
    def spawn(self, type_id: str, role: str, x: float, y: float, yaw: float, **kwargs: object) -> Actor:
        actor = make_actor(self._next_id, type_id, role, x, y, yaw, **kwargs)
        self._next_id += 1
        self.actors[actor.id] = actor
        self._invalidate()
        return actor

    def destroy(self, actor_id: int) -> None:
        if actor_id in self.actors and actor_id != self.ego.id:
            del self.actors[actor_id]
            self._invalidate()

    def _spawn_infrastructure(self) -> None:
        for light in self.map.lights:
            a = self.spawn("traffic.traffic_light", "infrastructure", light.pole[0], light.pole[1], light.pole[2])
            a.tags["light_id"] = light.id
        for sign in self.map.stop_signs:
            a = self.spawn("traffic.stop", "infrastructure", sign.pole[0], sign.pole[1], sign.pole[2])
            a.tags["stop_id"] = sign.id
        for b in self.map.buildings:
            self.spawn("static.building", "static", b["center"][0], b["center"][1], math.radians(b["yaw_deg"]),
                       extent=tuple(b["extent"]), color=tuple(b["color_bgr"]))

    def nearby(self, xy: np.ndarray, radius: float, exclude: set[int] | frozenset = frozenset(),
               road_users_only: bool = True) -> list[Actor]:
        """Collidable actors whose centre is within `radius` + their half length of `xy`, in id order."""
        if self._index is None:
            self._index = _ActorIndex(self.actors.values())
        x0, y0 = float(xy[0]), float(xy[1])
        out = [a for a in self._index.movers if a.id not in exclude and a.collidable
               and (a.x - x0) ** 2 + (a.y - y0) ** 2 <= (radius + a.extent[0]) ** 2]
        if road_users_only:
            return out
        fixed = self._index.fixed_near(x0, y0, radius)
        fixed = [a for a in fixed if a.id not in exclude and a.collidable]
        if not fixed:
            return out
        return sorted(out + fixed, key=lambda a: a.id)  # the actors dict's order: ids are handed out rising

    def choose_successor(self, lane_id: int, rng: random.Random) -> int | None:
        """Background traffic's next lane: no left turns across signalised traffic, no stop-sign approaches."""
        options = list(self.map.lanes[lane_id].successors)
        if not options:
            return None
        allowed = [o for o in options if self.map.lanes[o].turn != "left" and o not in self.lane_stop_signs
                   and not self._into_blocked(o)]
        allowed = [o for o in allowed if not self._leads_to_stop_sign(o)] or allowed
        return rng.choice(allowed or options)

    def _into_blocked(self, lane_id: int) -> bool:
        return lane_id in self.blocked_lanes or any(s in self.blocked_lanes for s in self.map.lanes[lane_id].successors)

    def _leads_to_stop_sign(self, lane_id: int) -> bool:
        return any(s in self.lane_stop_signs for s in self.map.lanes[lane_id].successors)

    # ----------------------------------------------------------------- lights
    def light_state(self, light_id: int) -> str:
        return self._light_states.get(light_id, "green")

    def set_light(self, light_id: int, state: str, until: float = math.inf) -> None:
        """Scenario override of a light's state until simulation time `until`."""
        self.light_overrides[light_id] = (state, until)
        self._update_lights()

    def _update_lights(self) -> None:
        for lid, (_, until) in list(self.light_overrides.items()):
            if self.time >= until:
                del self.light_overrides[lid]
        overrides = {lid: state for lid, (state, _) in self.light_overrides.items()}
        self._light_states = self.map.light_states(self.time, overrides)

    @property
    def light_states(self) -> dict[int, str]:
        return dict(self._light_states)

    # ------------------------------------------------------------------- tick
    def apply_control(self, steer: float, throttle: float, brake: float, hand_brake: bool = False,
                      reverse: bool = False) -> None:
        self.control = (float(steer), float(throttle), float(brake), bool(hand_brake), bool(reverse))

    def tick(self) -> None:
        """One synchronous step: ego physics, NPC behaviours, lights, then ego contacts."""
        self.time += self.dt
        self.frame += 1
        self.tick_count += 1
        self._update_lights()
        prev = (self.ego_dyn.state.x, self.ego_dyn.state.y)
        self.ego_dyn.step(*self.control, dt=self.dt)
        self._sync_ego()
        for actor in sorted(self.actors.values(), key=lambda a: a.id):
            if actor.behavior is not None and actor.id in self.actors:
                actor.behavior.step(self, actor, self.dt)
            elif actor.id != self.ego.id and (actor.vx or actor.vy or actor.ax or actor.ay):
                actor.set_pose(actor.x, actor.y, actor.yaw, self.dt)
        self.collisions = self._ego_contacts()
        # The speed at impact, before the contact stops the car: what the collision sensor's callback sees.
        self.contact_speed = math.hypot(self.ego.vx, self.ego.vy)
        if any(a.blocking for a in self.collisions):
            self.ego_dyn.stop_dead(prev[0], prev[1], self.dt)
            self._sync_ego()
        for a in self.collisions:
            if a.is_walker:
                a.collidable = False  # knocked over: it no longer blocks or counts again
        self._boxes = None

    def _sync_ego(self) -> None:
        st, e = self.ego_dyn.state, self.ego
        e.x, e.y, e.yaw, e.speed = st.x, st.y, st.yaw, st.speed
        e.vx, e.vy, e.ax, e.ay, e.yaw_rate = st.vx, st.vy, st.ax, st.ay, st.yaw_rate

    def _ego_contacts(self) -> list[Actor]:
        ego_box = self.ego.corners()
        out = []
        for other in self.nearby(self.ego.xy, 12.0, exclude={self.ego.id}, road_users_only=False):
            if other.z > self.ego.extent[2] * 2:
                continue
            if obb_overlap(ego_box, other.corners()):
                out.append(other)
        return out

    # ---------------------------------------------------------------- sensors
    def boxes(self) -> BoxArrays:
        """All actors plus light heads / lamps / stop panels as boxes (cached until the next change)."""
        if self._boxes is not None:
            return self._boxes
        ids, cen, yaw, ext, col = [], [], [], [], []
        for a in self.actors.values():
            if a.role == "hero":
                self._ego_shape(a, cen, yaw, ext, col, ids)
                continue
            ids.append(a.id)
            cen.append((a.x, a.y, a.z + a.extent[2]))
            yaw.append(a.yaw)
            ext.append(a.extent)
            col.append(a.color)
            if a.type_id == "traffic.traffic_light":
                self._light_head(a, cen, yaw, ext, col, ids)
            elif a.type_id == "traffic.stop":
                fwd = np.array([math.cos(a.yaw), math.sin(a.yaw)]) * 0.1
                cen.append((a.x + fwd[0], a.y + fwd[1], 2.3))
                yaw.append(a.yaw)
                ext.append((0.03, 0.38, 0.38))
                col.append((30, 30, 200))
                ids.append(-1)
        self._boxes = BoxArrays(np.asarray(ids), np.asarray(cen, dtype=np.float64), np.asarray(yaw, dtype=np.float64),
                                np.asarray(ext, dtype=np.float64), np.asarray(col, dtype=np.uint8))
        return self._boxes

    def _ego_shape(self, a: Actor, cen: list, yaw: list, ext: list, col: list, ids: list) -> None:
        """The ego as body + cabin, so the camera sees a bonnet and roof rather than one tall block."""
        ex, ey, ez = a.extent
        fwd = np.array([math.cos(a.yaw), math.sin(a.yaw)])
        body_h = ez * EGO_BODY_HEIGHT_SHARE
        for offset, half, height, z0 in ((0.0, (ex, ey, body_h), body_h, 0.0),
                                         (EGO_CABIN_OFFSET_M, (ex * 0.45, ey * 0.88, ez - body_h), ez - body_h,
                                          2 * body_h)):
            p = np.array([a.x, a.y]) + fwd * offset
            cen.append((p[0], p[1], z0 + height))
            yaw.append(a.yaw)
            ext.append(half)
            col.append(a.color)
            ids.append(a.id)

    def _light_head(self, a: Actor, cen: list, yaw: list, ext: list, col: list, ids: list) -> None:
        state = self.light_state(a.tags["light_id"])
        fwd = np.array([math.cos(a.yaw), math.sin(a.yaw)])
        cen.append((a.x, a.y, LIGHT_HEAD_HEIGHT_M))
        yaw.append(a.yaw)
        ext.append((0.2, 0.25, 0.6))
        col.append((35, 35, 35))
        ids.append(-1)
        lamp_z = {"red": LIGHT_HEAD_HEIGHT_M + 0.35, "yellow": LIGHT_HEAD_HEIGHT_M, "green": LIGHT_HEAD_HEIGHT_M - 0.35}
        p = np.array([a.x, a.y]) + fwd * 0.25
        cen.append((p[0], p[1], lamp_z[state]))
        yaw.append(a.yaw)
        ext.append((0.08, 0.17, 0.15))
        col.append(LAMP_COLOURS[state])
        ids.append(-1)
