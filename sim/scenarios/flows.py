"""Actor flows: vehicles spawned at a source on a lane path at random spacing, removed at a sink."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sim.actors import Actor
from sim.lane_path import LanePath

if TYPE_CHECKING:
    from sim.scenarios.base import Scenario

SOURCE_CLEARANCE_M = 9.0  # no spawn while an actor is this close to the source


@dataclass
class ActorFlow:
    """Like scenario_runner's ActorFlow / OppositeActorFlow / InvadingActorFlow."""

    scenario: Scenario
    path: LanePath
    source_s: float  # m along the path where vehicles appear
    sink_s: float  # m along the path where they disappear
    interval: tuple[float, float]  # spacing between consecutive vehicles, m
    speed: float  # m/s
    offset: float = 0.0  # lateral offset (right positive) of the flow's vehicles
    obey_lights: bool = True
    active: bool = True
    vehicles: list[Actor] = field(default_factory=list)
    _next_gap: float = 0.0

    def __post_init__(self) -> None:
        self._next_gap = 0.0  # the first vehicle appears at once

    def tick(self) -> None:
        world = self.scenario.world
        self.vehicles = [v for v in self.vehicles if v.id in world.actors]
        for v in list(self.vehicles):
            if v.behavior.s >= self.sink_s:
                world.destroy(v.id)
        if not self.active:
            return
        last = self.vehicles[-1] if self.vehicles else None
        travelled = (last.behavior.s - self.source_s) if last is not None else math.inf
        if travelled < self._next_gap:
            return
        x, y, _ = self.path.pose(self.source_s, self.offset)
        if world.nearby((x, y), SOURCE_CLEARANCE_M):
            return
        path = LanePath(world.map, list(self.path.lanes))
        actor, _driver = self.scenario.spawn_driver(path, self.source_s, self.speed, self.speed, offset=self.offset,
                                                    obey_lights=self.obey_lights, despawn_at_end=True)
        self.scenario.actors.remove(actor)  # flow vehicles outlive the scenario and leave at their sink
        self.vehicles.append(actor)
        self._next_gap = self.scenario.rng.uniform(*self.interval)
