"""Ground truth for the privileged expert: Observation.privileged in the embedded simulator.

Exact poses, velocities, boxes and intents (the lane path each NPC follows),
light states and sign positions: what PDM-Lite reads from CARLA directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from core.frames import footprint_corners
from sim.behaviors import IdmDriver, WalkerBehavior
from sim.routing import DenseRoute
from sim.world_map import WorldMap

if TYPE_CHECKING:
    from sim.actors import Actor
    from sim.route_runner import RouteRunner

INTENT_HORIZON_M = 60.0  # how much of an NPC's own path ahead is exposed
INTENT_STEP_M = 2.0


@dataclass(frozen=True)
class ActorInfo:
    id: int
    type_id: str
    role: str
    x: float  # m, world, box centre
    y: float
    yaw: float  # rad
    speed: float  # m/s, along the heading
    vx: float  # m/s, world
    vy: float
    extent: tuple[float, float, float]  # half sizes, m
    kind: str  # 'vehicle' | 'walker' | 'static'
    moving: bool  # has a behaviour (may move); False for parked cars and props
    emergency: bool
    path: np.ndarray | None  # [K, 2] the NPC's own lane path ahead (world m), None when unknown
    _corners: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)  # memo

    @property
    def xy(self) -> np.ndarray:
        return np.array([self.x, self.y])

    def corners(self) -> np.ndarray:
        """[4, 2] footprint corners, read-only; computed once per snapshot (once per tick)."""
        if self._corners is None:
            corners = footprint_corners(self.x, self.y, self.yaw, self.extent[0], self.extent[1])
            corners.setflags(write=False)
            object.__setattr__(self, "_corners", corners)  # frozen: a memo, not a change of state
        return self._corners


@dataclass(frozen=True)
class WorldSnapshot:
    time: float  # s
    map: WorldMap
    route: DenseRoute
    ego: ActorInfo
    actors: tuple[ActorInfo, ...]  # road users and obstacles (no buildings, no lights)
    light_states: dict[int, str]
    lane_lights: dict[int, int]  # incoming lane -> light id
    lane_stop_signs: dict[int, int]  # incoming lane -> stop sign id


def _info(actor: Actor) -> ActorInfo:
    behavior = actor.behavior
    path = None
    if isinstance(behavior, IdmDriver):
        pts, _ = behavior.path.sample(behavior.s, behavior.s + INTENT_HORIZON_M, INTENT_STEP_M)
        path = pts
    elif isinstance(behavior, WalkerBehavior):
        path = behavior.points
    kind = "vehicle" if actor.is_vehicle else ("walker" if actor.is_walker else "static")
    return ActorInfo(actor.id, actor.type_id, actor.role, actor.x, actor.y, actor.yaw, actor.speed, actor.vx, actor.vy,
                     actor.extent, kind, behavior is not None, actor.emergency, path)


def snapshot(runner: RouteRunner) -> WorldSnapshot:
    world = runner.world
    actors = tuple(_info(a) for a in world.actors.values()
                   if a.id != world.ego.id and a.collidable and a.role not in ("infrastructure",)
                   and a.type_id != "static.building")
    return WorldSnapshot(world.time, world.map, runner.route, _info(world.ego), actors, world.light_states,
                         world.lane_lights, world.lane_stop_signs)
