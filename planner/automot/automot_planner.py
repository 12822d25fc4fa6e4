"""AutoMoTPlanner: the network behind the agent's Planner protocol (planner/interface.py).

    planner = AutoMoTPlanner.from_model_config(model_config)   # size, weights, device
    context = planner.understand(observation)            # every ue_interval ticks (maybe in a worker)
    plan    = planner.act(observation, context)          # every tick, never modifies `context`

The planner keeps no per-route state (each tick reads its observation and the given
context), so `reset` has nothing to forget and the scheduler may call `understand` in a
background thread while `act` runs on the previous context.
"""

from __future__ import annotations

from planner.automot.build import build_runtime
from planner.automot.model_config import ModelConfig
from planner.automot.refiner_config import RefinerConfig
from planner.automot.runtime import AutoMoTRuntime, UECache
from planner.interface import Observation, Plan


class AutoMoTPlanner:
    def __init__(self, runtime: AutoMoTRuntime) -> None:
        self.runtime = runtime

    @classmethod
    def from_model_config(cls, config: ModelConfig, refiner: RefinerConfig | None = None) -> AutoMoTPlanner:
        return cls(build_runtime(config, refiner))

    def reset(self) -> None:
        """Nothing to forget: the context is the scheduler's, the network is stateless."""

    def understand(self, observation: Observation) -> UECache:
        return self.runtime.understand(observation)

    def act(self, observation: Observation, context: UECache) -> Plan:
        if context is None:
            raise ValueError("AutoMoTPlanner.act needs the context of a finished understand() pass")
        return self.runtime.act(observation, context)
