"""How evaluations are launched: one typed, frozen config, loadable from YAML.

    config = load_launch_config("launch.yaml")     # unknown keys -> ConfigError
    config = load_launch_config(None)              # the defaults

Everything the launcher waits for, retries or kills is decided here, never by a
constant in code: ports, timeouts, the crash limit K, the watchdog, SLURM settings.
Tests use the same fields with second-scale values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from core.typed_config import ConfigError, from_dict, load_yaml, override, require


@dataclass(frozen=True)
class PathsConfig:
    """Where the simulator and the leaderboard live. '' means the variable CARLA's own
    install instructions export (CARLA_ROOT, LEADERBOARD_ROOT, SCENARIO_RUNNER_ROOT);
    `resolve_paths` reads it from the environment it is given and names it in every error."""

    carla_root: str = ""  # folder holding CarlaUE4.sh
    leaderboard_root: str = ""  # Bench2Drive's leaderboard/ folder (holds leaderboard/leaderboard_evaluator.py)
    scenario_runner_root: str = ""  # Bench2Drive's scenario_runner/ folder (holds srunner/)
    python: str = ""  # interpreter that runs the evaluator; '' = the one running automot
    agent_file: str = ""  # leaderboard agent file; '' = <repo>/agent/automot_agent.py


@dataclass(frozen=True)
class ServerConfig:
    # 'launcher': automot starts CarlaUE4.sh and waits for it (upstream leaderboard 2.0).
    # 'evaluator': the evaluator starts its own server (Bench2Drive's evaluator does:
    #   it runs CarlaUE4.sh itself on --port / --gpu-rank); automot only picks the ports
    #   and adopts the server's process group so it can kill it.
    # 'auto': 'evaluator' when the evaluator's source mentions CarlaUE4.sh, else 'launcher'.
    mode: Literal["auto", "launcher", "evaluator"] = "auto"
    host: str = "127.0.0.1"  # the evaluator's --host default is localhost; loopback only
    extra_args: tuple[str, ...] = ()  # appended to CarlaUE4.sh's command line, e.g. ("-quality-level=Epic",)
    start_timeout_s: float = 180.0  # s until a started server must answer, else it is restarted
    # 'world': a TCP connect on the RPC port, then carla.Client(...).get_world() (when
    # carla imports); 'tcp': the TCP connect only.
    probe: Literal["world", "tcp"] = "world"
    probe_timeout_s: float = 10.0  # carla.Client timeout of one get_world() probe
    poll_interval_s: float = 1.0  # s between readiness probes
    stop_grace_s: float = 10.0  # SIGTERM -> SIGKILL delay when stopping a process group

    def __post_init__(self) -> None:
        require(self.start_timeout_s > 0, "server.start_timeout_s must be positive")
        require(self.probe_timeout_s > 0, "server.probe_timeout_s must be positive")
        require(self.poll_interval_s > 0, "server.poll_interval_s must be positive")
        require(self.stop_grace_s >= 0, "server.stop_grace_s must be >= 0")


@dataclass(frozen=True)
class PortsConfig:
    """Each worker gets a block of `stride` ports starting at base + i * stride (free ones only)."""

    rpc_base: int = 20000  # first CARLA RPC port tried
    tm_base: int = 40000  # first traffic-manager port tried
    stride: int = 10  # distance between two workers' blocks
    # CARLA binds the RPC port and the next ones: streaming (rpc+1) and secondary (rpc+2).
    rpc_span: int = 3
    search_limit: int = 500  # blocks tried before giving up

    def __post_init__(self) -> None:
        for name in ("rpc_base", "tm_base"):
            value = getattr(self, name)
            require(1024 <= value <= 65535, f"ports.{name} must be in 1024..65535, got {value}")
        require(self.stride >= self.rpc_span >= 1, "ports.stride must be >= ports.rpc_span >= 1")
        require(self.search_limit >= 1, "ports.search_limit must be >= 1")


@dataclass(frozen=True)
class EvaluatorConfig:
    """Values of the leaderboard evaluator's own options (Bench2Drive's leaderboard_evaluator.py)."""

    track: Literal["SENSORS", "MAP"] = "SENSORS"  # --track
    repetitions: int = 1  # --repetitions
    client_timeout_s: float = 600.0  # --timeout: the evaluator's CARLA client timeout
    traffic_manager_seed: int = 0  # --traffic-manager-seed
    debug: int = 0  # --debug (>1 also writes the live-results file every tick)
    is_bench2drive: bool = True  # exported as IS_BENCH2DRIVE=True (Bench2Drive agents read it)
    # What the evaluator prints when a route starts (leaderboard_evaluator.py:
    # "========= Preparing RouteScenario_1711 (repetition 0) ========="). A death or hang
    # is charged to a route only once its start is in the log; an evaluator that dies
    # before (say, the agent does not import) is not the route's fault.
    route_start_marker: str = "Preparing RouteScenario_{route_id} ("
    # Folder the evaluator runs in; '' = the folder above leaderboard_root (Bench2Drive's
    # repository root: its evaluator opens 'leaderboard/data/weather.xml' relative to it).
    working_dir: str = ""

    def __post_init__(self) -> None:
        require(self.repetitions >= 1, "evaluator.repetitions must be >= 1")
        require(self.client_timeout_s > 0, "evaluator.client_timeout_s must be positive")


@dataclass(frozen=True)
class RecoveryConfig:
    crash_limit: int = 3  # K: a route that crashes the simulator this often is recorded failed and skipped
    watchdog_minutes: float = 20.0  # T: no progress for this long -> kill and restart server + evaluator
    hang_counts_as_crash: bool = True  # a watchdog kill counts towards the route's crash limit
    restart_delay_s: float = 5.0  # pause before restarting after a crash (lets the GPU free its memory)
    # Attempts in a row that end without finishing or crashing any route (e.g. the
    # agent file does not import): the shard stops with an error instead of looping.
    max_fruitless_attempts: int = 3
    # Statuses of records that do not finish a route: it runs again in the next attempt.
    retry_statuses: tuple[str, ...] = ("Failed - Simulation crashed",)

    def __post_init__(self) -> None:
        require(self.crash_limit >= 1, "recovery.crash_limit must be >= 1")
        require(self.watchdog_minutes > 0, "recovery.watchdog_minutes must be positive")
        require(self.restart_delay_s >= 0, "recovery.restart_delay_s must be >= 0")
        require(self.max_fruitless_attempts >= 1, "recovery.max_fruitless_attempts must be >= 1")

    @property
    def watchdog_s(self) -> float:
        return self.watchdog_minutes * 60.0


@dataclass(frozen=True)
class SlurmConfig:
    account: str = ""  # --account (omitted when empty)
    partition: str = ""  # --partition (omitted when empty)
    time: str = "2-00:00:00"  # --time, per shard job
    gpus_per_job: int = 1  # --gres=gpu:N
    cpus_per_task: int = 8  # --cpus-per-task
    mem: str = "64G"  # --mem
    job_name_prefix: str = "automot"  # job names: <prefix>_<out folder name>_shard<k>
    extra_directives: tuple[str, ...] = ()  # more '#SBATCH ...' values, e.g. ("--qos=high",)
    setup_lines: tuple[str, ...] = ()  # shell lines before the run, e.g. ("module load cuda",)
    sbatch: str = "sbatch"  # commands (a path or a name on PATH)
    squeue: str = "squeue"
    sacct: str = "sacct"
    poll_interval_s: float = 60.0  # s between squeue/sacct polls while waiting
    max_resubmits: int = 3  # a shard whose job ended unfinished is resubmitted this many times

    def __post_init__(self) -> None:
        require(self.gpus_per_job >= 0, "slurm.gpus_per_job must be >= 0")
        require(self.cpus_per_task >= 1, "slurm.cpus_per_task must be >= 1")
        require(self.poll_interval_s > 0, "slurm.poll_interval_s must be positive")
        require(self.max_resubmits >= 0, "slurm.max_resubmits must be >= 0")


@dataclass(frozen=True)
class DoctorConfig:
    """What `automot doctor` checks against."""

    py_trees_version: str = "0.8.3"  # the leaderboard's scenario trees need exactly this
    # Python versions with a client wheel of a CARLA release (on the package index and in the
    # release's PythonAPI/carla/dist), for Pythons the dist folder does not show.
    client_wheel_pythons: tuple[tuple[str, tuple[str, ...]], ...] = (("0.9.15", ("3.8", "3.10")),)
    # Imported with the evaluator's interpreter and PYTHONPATH: what the leaderboard needs at run time.
    import_modules: tuple[str, ...] = (
        "carla",
        "agents.navigation.local_planner",  # CARLA's PythonAPI/carla
        "srunner.scenariomanager.carla_data_provider",
        "leaderboard.utils.statistics_manager",
        "leaderboard.utils.route_indexer",
        "leaderboard.autoagents.agent_wrapper",
        "leaderboard.scenarios.route_scenario",
    )
    probe_timeout_s: float = 120.0  # the import probe loads carla, srunner, leaderboard
    gpu_query: tuple[str, ...] = ("nvidia-smi", "-L")  # lists 'GPU <n>: <name> (UUID: ...)'
    vulkan_loader: str = "libvulkan.so.1"
    vulkan_icd_dirs: tuple[str, ...] = ("/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d")
    vulkan_nvidia_icd: str = "nvidia_icd.json"


@dataclass(frozen=True)
class ReplayConfig:
    """`automot replay`: re-running failed routes with debugging, recorder logs, debug videos."""

    failure_kinds: tuple[str, ...] = ("missing", "crashed", "failed", "infraction")  # launch.metrics kinds re-run
    spectator: Literal["off", "chase", "top_down"] = "chase"  # logging.spectator of the re-run
    client_timeout_s: float = 30.0  # carla.Client timeout for recorder calls
    time_factor: float = 1.0  # recorder playback speed
    video_fps: float = 20.0  # debug frames -> mp4
    # Tried in order to play a video; the video path is appended.
    players: tuple[tuple[str, ...], ...] = (("ffplay", "-autoexit", "-loglevel", "error"), ("mpv",), ("xdg-open",))

    def __post_init__(self) -> None:
        require(self.client_timeout_s > 0 and self.time_factor > 0 and self.video_fps > 0,
                "replay.client_timeout_s, time_factor and video_fps must be positive")


@dataclass(frozen=True)
class LaunchConfig:
    paths: PathsConfig = field(default_factory=PathsConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    ports: PortsConfig = field(default_factory=PortsConfig)
    evaluator: EvaluatorConfig = field(default_factory=EvaluatorConfig)
    recovery: RecoveryConfig = field(default_factory=RecoveryConfig)
    slurm: SlurmConfig = field(default_factory=SlurmConfig)
    doctor: DoctorConfig = field(default_factory=DoctorConfig)
    replay: ReplayConfig = field(default_factory=ReplayConfig)
    poll_interval_s: float = 1.0  # s between two looks at the workers (exit codes, progress, watchdog)
    progress_refresh_s: float = 1.0  # s between redraws of the live progress view
    log_tail_lines: int = 20  # lines of a worker log quoted when something fails

    def __post_init__(self) -> None:
        require(self.poll_interval_s > 0, "poll_interval_s must be positive")
        require(self.progress_refresh_s > 0, "progress_refresh_s must be positive")


def load_launch_config(path: str | Path | None, overrides: dict | None = None) -> LaunchConfig:
    """YAML -> LaunchConfig (None/'' = defaults), then dotted overrides like {'recovery.crash_limit': 2}."""
    config = LaunchConfig() if path is None or str(path).strip() == "" else load_yaml(LaunchConfig, path)
    return override(config, overrides) if overrides else config


def launch_config_from_dict(data: dict) -> LaunchConfig:
    return from_dict(LaunchConfig, data)


__all__ = [
    "ConfigError",
    "DoctorConfig",
    "EvaluatorConfig",
    "LaunchConfig",
    "PathsConfig",
    "PortsConfig",
    "RecoveryConfig",
    "ReplayConfig",
    "ServerConfig",
    "SlurmConfig",
    "launch_config_from_dict",
    "load_launch_config",
]
