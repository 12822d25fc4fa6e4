"""The agent's one configuration: a frozen tree of typed sections, loaded from YAML.

    config = load_agent_config("my.yaml")            # unknown keys -> ConfigError
    config = load_agent_config("")                   # the defaults
    config = load_agent_config("my.yaml+run_name")   # Bench2Drive's setup() form

`save_agent_config` writes the effective config next to results so every number
can be traced back to the settings that made it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from agent.debug_view_config import DebugViewConfig
from controllers.controller_config import ControllerConfig
from core.atomic_files import atomic_write_text
from core.typed_config import ConfigError, from_dict, load_yaml, require, to_dict
from planner.automot.model_config import ModelConfig
from planner.automot.refiner_config import RefinerConfig
from planner.planner_config import PlannerConfig
from sensors.sensor_config import SensorConfig


@dataclass(frozen=True)
class SchedulerConfig:
    """Two tick rates: the understanding expert every `ue_interval` ticks, the action expert every tick."""

    ue_interval: int = 2  # ticks between understanding passes (2 -> 10 Hz at 20 Hz)
    # 'sync': the understanding pass runs on its tick (deterministic).
    # 'threaded': it runs in a background worker; a tick never waits for it.
    mode: Literal["sync", "threaded"] = "sync"
    # Threaded mode: torch threads of the understanding worker and of the tick (the action pass),
    # so the two do not oversubscribe the cores. 0: automatic (the tick half the cores, the worker
    # the rest, each at least 1). Sync mode leaves torch's own setting alone.
    understand_threads: int = 0
    act_threads: int = 0

    def __post_init__(self) -> None:
        require(self.ue_interval >= 1, "scheduler.ue_interval must be >= 1")
        require(self.understand_threads >= 0 and self.act_threads >= 0,
                "scheduler.understand_threads / act_threads must be >= 0 (0: automatic)")


@dataclass(frozen=True)
class LoggingConfig:
    # Where per-route outputs go. None: the leaderboard's SAVE_PATH contract (the
    # evaluator's environment) decides; unset there too, nothing is written.
    save_path: str | None = None
    write_metric_info: bool = True  # Bench2Drive comfort input, when a save path is set
    metric_info_flush_every_ticks: int = 20  # append to metric_info.json this often (and at the end)
    log_decisions: bool = True  # decision words per tick into the run log
    debug_frames: bool = False  # camera + BEV debug images per tick (needs a save path)
    debug_video: bool = False  # an mp4 per route from the debug frames
    spectator: Literal["off", "chase", "top_down"] = "off"  # CARLA spectator follows the ego
    draw_plan: bool = False  # CARLA world.debug drawing of waypoints / route / targets
    debug_view: DebugViewConfig = field(default_factory=DebugViewConfig)  # look of frames and drawing

    def __post_init__(self) -> None:
        require(self.metric_info_flush_every_ticks >= 1, "logging.metric_info_flush_every_ticks must be >= 1")


@dataclass(frozen=True)
class AgentConfig:
    sensors: SensorConfig = field(default_factory=SensorConfig)
    planner: PlannerConfig = field(default_factory=PlannerConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    refiner: RefinerConfig = field(default_factory=RefinerConfig)  # AutoMoT+ action refiner (off by default)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    controllers: ControllerConfig = field(default_factory=ControllerConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)


def split_setup_argument(path_to_conf_file: str) -> tuple[str, str | None]:
    """Bench2Drive passes 'config_path+save_name' to setup(); plain leaderboards pass a path.

    Bench2Drive appends to the same string for every route of one evaluator run
    ('cfg+save1', then 'cfg+save1+save2', ...): the config is what precedes the
    first '+', the save name what follows the last.
    """
    if "+" in path_to_conf_file:
        config_path = path_to_conf_file.split("+", 1)[0]
        save_name = path_to_conf_file.rsplit("+", 1)[1]
        return config_path, (save_name or None)
    return path_to_conf_file, None


def load_agent_config(path: str | Path | None) -> AgentConfig:
    """Load from YAML; None or '' means the defaults. A trailing '+save_name' is ignored here."""
    if path is None or str(path).strip() == "":
        return AgentConfig()
    config_path, _ = split_setup_argument(str(path))
    if config_path.strip() == "":
        return AgentConfig()
    return load_yaml(AgentConfig, config_path)


def agent_config_from_dict(data: dict) -> AgentConfig:
    return from_dict(AgentConfig, data)


def save_agent_config(config: AgentConfig, path: str | Path) -> Path:
    """Write the effective config as YAML, atomically."""
    return atomic_write_text(path, yaml.safe_dump(to_dict(config), sort_keys=False))


__all__ = [
    "AgentConfig",
    "ConfigError",
    "LoggingConfig",
    "SchedulerConfig",
    "agent_config_from_dict",
    "load_agent_config",
    "save_agent_config",
    "split_setup_argument",
]
