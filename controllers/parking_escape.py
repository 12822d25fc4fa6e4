"""The official agent's parking escape: a way out of a deadlock the stuck creep cannot break.

The release's case: a route that starts in a parking bay, where creeping forward only pushes
into the kerb or the car ahead. The monitor keeps a position snapshot every
`snapshot_interval_ticks`; once the snapshots of the last `window_ticks` all lie within
`max_displacement_m` of the oldest, the car is deadlocked and one escape starts:

- the agent skips `skip_plan_points` plan points (the next target lies farther on);
- for at most `phase_ticks` the planner sees target points beside the car on the escape
  side, and steer / throttle are overridden towards that side;
- the escape ends early once the car moved `end_displacement_m` from where it started or
  turned by `end_heading_change_deg`; then `cooldown_ticks` pass before another.

Frames: positions are world x/y m, yaw rad; the target points it returns are in the ego
frame (x forward, y right: the left side is -y).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from controllers.command import VehicleCommand
from controllers.controller_config import ParkingEscapeConfig
from core.frames import wrap_angle


@dataclass(frozen=True)
class EscapeStep:
    active: bool  # the escape drives this tick
    started: bool  # it started this tick (the agent skips plan points)
    target_points_ego: np.ndarray | None  # [2, 2] float32 override for the planner, or None
    reason: str = ""  # why it started or ended, for the log


class ParkingEscape:
    def __init__(self, config: ParkingEscapeConfig) -> None:
        self.config = config
        self.reset()

    def reset(self) -> None:
        self.active = False
        self.attempts = 0
        self._timer = 0
        self._cooldown = 0
        self._anchor: np.ndarray | None = None
        self._start_yaw = 0.0
        self._snapshots: list[tuple[int, np.ndarray]] = []

    @property
    def _sign(self) -> float:
        """+1 when escaping left. Ego y points right, and negative steer turns left (CARLA)."""
        return 1.0 if self.config.side == "left" else -1.0

    def _deadlocked(self, tick: int, position: np.ndarray) -> bool:
        c = self.config
        if self._cooldown > 0:
            self._cooldown -= 1  # snapshots are still kept, so a later deadlock is seen quickly
        if tick % c.snapshot_interval_ticks == 0:
            self._snapshots.append((tick, position.copy()))
            self._snapshots = [(t, p) for t, p in self._snapshots if t >= tick - c.window_ticks]
        if len(self._snapshots) < 2 or tick - self._snapshots[0][0] < c.window_ticks or self._cooldown > 0:
            return False
        oldest = self._snapshots[0][1]
        return max(float(np.linalg.norm(p - oldest)) for _, p in self._snapshots) < c.max_displacement_m

    def _end(self, reason: str) -> EscapeStep:
        self.active = False
        self._timer = 0
        self._cooldown = self.config.cooldown_ticks
        return EscapeStep(False, False, None, reason)

    def step(self, tick: int, position: np.ndarray, yaw: float) -> EscapeStep:
        """Call once per tick after the warm-up, before the planner runs."""
        c = self.config
        if not c.enabled:
            return EscapeStep(False, False, None)
        position = np.asarray(position, dtype=np.float64)[:2]
        started, reason = False, ""
        if not self.active and self._deadlocked(tick, position):
            self.active, started = True, True
            self.attempts += 1
            self._timer = c.phase_ticks
            self._anchor, self._start_yaw = position.copy(), yaw
            reason = f"no {c.max_displacement_m:g} m of progress in {c.window_ticks} ticks (attempt {self.attempts})"
        if not self.active:
            return EscapeStep(False, False, None)
        assert self._anchor is not None
        turned = abs(math.degrees(wrap_angle(yaw - self._start_yaw)))
        if turned > c.end_heading_change_deg:
            return self._end(f"turned {turned:.0f} deg")
        moved = float(np.linalg.norm(position - self._anchor))
        if moved > c.end_displacement_m:
            return self._end(f"moved {moved:.1f} m")
        self._timer -= 1
        if self._timer <= 0:
            return self._end(f"{c.phase_ticks} ticks passed")
        lateral = -self._sign * (c.lateral_m + self.attempts * c.lateral_per_attempt_m)  # left is -y
        targets = np.array([[c.forward_m, lateral], [c.forward_m + c.next_target_extra_forward_m, lateral]],
                           dtype=np.float32)
        return EscapeStep(True, started, targets, reason)

    def command(self) -> VehicleCommand:
        """The overriding controls while active."""
        return VehicleCommand(steer=-self._sign * self.config.steer, throttle=self.config.throttle, brake=0.0)
