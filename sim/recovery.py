"""Recovery perturbations: steering pulses on the executed control (see RecoveryConfig)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from sim.collect_config import RecoveryConfig
from sim.world import World


@dataclass(frozen=True)
class Pulse:
    start_tick: int
    end_tick: int  # exclusive
    steer: float  # added to the executed steer


class SteeringPerturber:
    """Decides, tick by tick, what to add to the expert's steer; remembers which ticks were touched."""

    def __init__(self, cfg: RecoveryConfig, rng: random.Random, dt: float) -> None:
        self.cfg, self.rng, self.dt = cfg, rng, dt
        self.active = cfg.enabled and rng.random() < cfg.route_share
        self.pulse: Pulse | None = None
        self.pulses: list[Pulse] = []
        self.next_allowed_tick = self._gap_ticks(0)
        self._held: float | None = None  # 'hold' mode: the expert's steer when the running pulse began

    def _gap_ticks(self, after: int) -> int:
        return after + round(self.rng.uniform(*self.cfg.gap_s) / self.dt)

    def _clear(self, world: World) -> bool:
        ego = world.ego
        if math.hypot(ego.vx, ego.vy) < self.cfg.min_speed_mps:
            return False
        others = world.nearby(ego.xy, self.cfg.clear_radius_m, exclude={ego.id})
        return not any(a.is_vehicle or a.is_walker or a.type_id.startswith("static.prop") for a in others)

    def steer_offset(self, tick: int, world: World) -> float:
        """What to add to the steer returned at agent tick `tick` (applied during the next world step)."""
        if not self.active:
            return 0.0
        if self.pulse is not None and tick >= self.pulse.end_tick:
            self.next_allowed_tick = self._gap_ticks(tick)
            self.pulse = None
        limited = self.cfg.max_pulses and len(self.pulses) >= self.cfg.max_pulses
        if self.pulse is None and not limited and tick >= self.next_allowed_tick and self._clear(world):
            duration = max(1, round(self.rng.uniform(*self.cfg.duration_s) / self.dt))
            steer = self.rng.uniform(*self.cfg.steer) * self.rng.choice((-1.0, 1.0))
            self.pulse = Pulse(tick, tick + duration, steer)
            self.pulses.append(self.pulse)
        return self.pulse.steer if self.pulse is not None else 0.0

    def executed_steer(self, tick: int, world: World, expert_steer: float) -> tuple[float, float]:
        """(steer the car gets, pulse added) for the expert's steer at agent tick `tick`."""
        offset = self.steer_offset(tick, world)
        if offset and self.cfg.mode == "hold":
            if self._held is None:
                self._held = expert_steer
            base = self._held
        else:
            self._held = None
            base = expert_steer
        return min(max(base + offset, -1.0), 1.0), offset

    def touched(self, first_tick: int, last_tick: int) -> bool:
        """Did a pulse (or its settle time) act on any control of ticks first..last (inclusive)?"""
        settle = self.cfg.settle_ticks
        return any(p.start_tick <= last_tick and p.end_tick + settle > first_tick for p in self.pulses)
