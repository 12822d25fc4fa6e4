"""Two tick rates: the slow understanding pass every N ticks, the fast action pass every tick.

mode 'sync'     : the understanding pass runs on its tick, inline (deterministic).
mode 'threaded' : it runs in one background worker; each tick acts on the newest
                  finished context and never waits. A new pass starts only when
                  the worker is free, so a slow model degrades its refresh rate
                  instead of piling up work. Each side runs with its own torch
                  thread budget (scheduler.understand_threads / act_threads).
Until the first context exists `step` returns None and the agent brakes.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from agent.automot_config import SchedulerConfig
from agent.thread_budget import set_torch_threads, split_threads, torch_threads
from planner.interface import Observation, Plan, Planner


class PlannerScheduler:
    def __init__(self, planner: Planner, config: SchedulerConfig) -> None:
        self.planner = planner
        self.config = config
        self._context: Any = None
        self._context_tick = -1  # tick whose observation produced the current context
        self._pending: Future | None = None
        self._pending_tick = -1
        self._executor: ThreadPoolExecutor | None = None
        self._last_tick = -1
        self.understand_calls = 0
        self.understand_threads, self.act_threads = split_threads(config.understand_threads, config.act_threads)

    @property
    def has_context(self) -> bool:
        return self._context_tick >= 0

    @property
    def context_age_ticks(self) -> int | None:
        return None if not self.has_context else self._last_tick - self._context_tick

    def reset(self) -> None:
        self.close()
        self._context, self._context_tick = None, -1
        self.planner.reset()

    def _collect(self) -> None:
        if self._pending is not None and self._pending.done():
            future, self._pending = self._pending, None
            context = future.result()  # re-raises a failure of the worker here
            if self._pending_tick > self._context_tick:
                self._context, self._context_tick = context, self._pending_tick

    def step(self, observation: Observation) -> Plan | None:
        tick = observation.tick
        self._last_tick = tick
        if self.config.mode == "sync":
            if tick % self.config.ue_interval == 0 or not self.has_context:
                self._context = self.planner.understand(observation)
                self._context_tick = tick
                self.understand_calls += 1
        else:
            self._collect()
            if self._pending is None and (tick % self.config.ue_interval == 0 or not self.has_context):
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="automot-understand",
                                                        initializer=set_torch_threads,
                                                        initargs=(self.understand_threads,))
                self._pending = self._executor.submit(self.planner.understand, observation)
                self._pending_tick = tick
                self.understand_calls += 1
            if not self.has_context:
                return None
            with torch_threads(self.act_threads):
                return self.planner.act(observation, self._context)
        return self.planner.act(observation, self._context)

    def wait_idle(self, timeout: float | None = None) -> None:
        """Block until the background pass (if any) finished and was collected (tests, shutdown)."""
        if self._pending is not None:
            self._pending.result(timeout=timeout)
            self._collect()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self._pending = None
