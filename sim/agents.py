"""Which agent drives: the project's AutoMoTAgent (its configured planner, or the privileged expert
plugged in through `attach`), or any class with the leaderboard's protocol (tests' scripted drivers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from agent.automot_config import load_agent_config, save_agent_config
from core.typed_config import override
from sim.config import ExpertConfig
from sim.hero import HeroActor
from sim.route_runner import RouteRunner


class AgentFactory(Protocol):
    name: str

    def create(self, runner: RouteRunner, host: str, port: int) -> Any: ...

    def setup_argument(self) -> str:
        """What setup() gets before Bench2Drive's '+save_name'."""
        ...


@dataclass
class AutoMoTAgentFactory:
    """AutoMoTAgent with its own planner ('automot') or the simulator's expert ('expert')."""

    out_dir: Path
    config_path: str | None = None
    expert: bool = False
    debug: bool = False
    expert_config: ExpertConfig = field(default_factory=ExpertConfig)

    def __post_init__(self) -> None:
        self.name = "expert" if self.expert else "automot"
        config = load_agent_config(self.config_path)
        # SAVE_PATH, Bench2Drive's per-route output root, given through the config (no environment knobs):
        # the agent writes <save_path>/<save_name>/metric_info.json, where the metrics tools look for it.
        self.agent_config = override(config, {"logging.save_path": str(Path(self.out_dir).resolve())})
        self._config_file: Path | None = None  # written at the first route: a refused resume leaves the old one

    def create(self, runner: RouteRunner, host: str, port: int) -> Any:
        from agent.automot_agent import AutoMoTAgent

        agent = AutoMoTAgent(host, port, self.debug)
        agent.hero_actor = HeroActor(runner.world)
        if self.expert:
            from sim.expert import ExpertPlanner
            from sim.privileged import snapshot

            agent.attach(planner=ExpertPlanner(self.expert_config), privileged_source=lambda: snapshot(runner))
        return agent

    def setup_argument(self) -> str:
        if self._config_file is None:
            self._config_file = save_agent_config(self.agent_config, Path(self.out_dir) / "agent_config.yaml")
        return str(self._config_file)


@dataclass
class ClassAgentFactory:
    """Any leaderboard-protocol class: Agent(host, port, debug); setup(argument)."""

    agent_class: type
    argument: str = ""
    name: str = "custom"

    def create(self, runner: RouteRunner, host: str, port: int) -> Any:
        agent = self.agent_class(host, port, False)
        agent.hero_actor = HeroActor(runner.world)
        if hasattr(agent, "bind"):  # test drivers may read the world directly
            agent.bind(runner)
        return agent

    def setup_argument(self) -> str:
        return self.argument
