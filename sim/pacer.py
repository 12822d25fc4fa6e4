"""Wall-clock pacing of the simulator: tick k starts no earlier than start + k * dt.

The embedded simulator runs faster than real time, so an agent whose understanding pass
runs in a background thread (scheduler.mode: threaded) would see the world race ahead of it:
a pass never finishes within the ticks it was meant for and the agent brakes, waiting for
its first context, forever. Paced, the world moves at the agent's real time as CARLA's
server does. A tick that overruns its slot starts at once and the schedule restarts from
it (no burst of catch-up ticks, which no real server would deliver).
"""

from __future__ import annotations

import time
from collections.abc import Callable


class WallClockPacer:
    def __init__(self, dt: float, clock: Callable[[], float] = time.perf_counter,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.dt = dt
        self.clock, self.sleep = clock, sleep
        self._next: float | None = None
        self.late_ticks = 0  # ticks that started after their slot (the agent or world overran)

    def wait(self) -> None:
        """Block until the next tick's slot; call once before each world tick."""
        now = self.clock()
        if self._next is None:
            self._next = now
        elif now < self._next:
            self.sleep(self._next - now)
        elif now > self._next + 1e-3:
            self.late_ticks += 1
            self._next = now  # restart the schedule from the late tick
        self._next += self.dt
