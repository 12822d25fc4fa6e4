"""The Bench2Drive leaderboard evaluator's command line and environment.

Options are those of Bench2Drive's leaderboard/leaderboard/leaderboard_evaluator.py:
--host --port --traffic-manager-port --traffic-manager-seed --debug --record --timeout
--routes --routes-subset --repetitions --agent --agent-config --track --resume
--checkpoint --debug-checkpoint --gpu-rank. Its environment: CARLA_ROOT (it starts
CarlaUE4.sh from there), LEADERBOARD_ROOT, SCENARIO_RUNNER_ROOT, PYTHONPATH (carla's
PythonAPI for `agents`, leaderboard, scenario_runner, this repository), SAVE_PATH
(where the agent writes per-route data) and IS_BENCH2DRIVE.

Bench2Drive calls `agent.setup(agent_config + '+' + save_name)`: the agent splits the
'+save_name' off (agent.automot_config.split_setup_argument), so --agent-config is just
our YAML path.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from launch.launch_config import LaunchConfig, PathsConfig

REPO_ROOT = Path(__file__).resolve().parents[1]
EVALUATOR_RELATIVE = Path("leaderboard") / "leaderboard_evaluator.py"
DEFAULT_AGENT_FILE = REPO_ROOT / "agent" / "automot_agent.py"


class PathsError(ValueError):
    """A required folder is not configured or does not exist; the message says how to set it."""


@dataclass(frozen=True)
class ResolvedPaths:
    carla_root: Path
    leaderboard_root: Path
    scenario_runner_root: Path
    python: Path
    agent_file: Path

    @property
    def evaluator(self) -> Path:
        return self.leaderboard_root / EVALUATOR_RELATIVE


_ENV_NAMES = {
    "carla_root": "CARLA_ROOT",
    "leaderboard_root": "LEADERBOARD_ROOT",
    "scenario_runner_root": "SCENARIO_RUNNER_ROOT",
}


def resolve_paths(paths: PathsConfig, environ: dict[str, str] | None = None, check: bool = True) -> ResolvedPaths:
    """Config values, falling back to the standard CARLA variables in `environ` for empty ones."""
    environ = dict(os.environ) if environ is None else environ
    found: dict[str, Path] = {}
    for key, env_name in _ENV_NAMES.items():
        value = getattr(paths, key) or environ.get(env_name, "")
        if not value:
            raise PathsError(f"paths.{key} is not set and {env_name} is not in the environment: "
                             f"set one of them to the folder")
        path = Path(value).expanduser().resolve()
        if check and not path.is_dir():
            raise PathsError(f"paths.{key} / {env_name} = {value!r} is not a folder")
        found[key] = path
    python = Path(paths.python or sys.executable)
    agent_file = Path(paths.agent_file).expanduser().resolve() if paths.agent_file else DEFAULT_AGENT_FILE
    resolved = ResolvedPaths(python=python, agent_file=agent_file, **found)
    if check and not resolved.evaluator.is_file():
        raise PathsError(f"{resolved.evaluator} not found: paths.leaderboard_root / LEADERBOARD_ROOT must be "
                         f"Bench2Drive's leaderboard/ folder")
    if check and not agent_file.is_file():
        raise PathsError(f"agent file {agent_file} not found (paths.agent_file)")
    return resolved


@dataclass(frozen=True)
class EvaluatorRun:
    """One evaluator invocation (an 'attempt' of a shard)."""

    routes: Path  # route XML (the shard's subset file)
    routes_subset: tuple[str, ...]  # route ids still to run ('' = all of the file)
    checkpoint: Path  # --checkpoint: the leaderboard results JSON this attempt writes
    debug_checkpoint: Path  # --debug-checkpoint: the live-results text file
    agent_config: Path  # our agent YAML
    save_path: Path  # SAVE_PATH for the agent's per-route output
    rpc_port: int
    traffic_manager_port: int
    gpu: int  # --gpu-rank (server graphics adapter) and CUDA_VISIBLE_DEVICES for the agent
    record_dir: Path | None = None  # --record: CARLA recorder logs go here
    resume: bool = False  # --resume (the leaderboard's own resume from --checkpoint)

    def with_subset(self, subset: tuple[str, ...]) -> EvaluatorRun:
        return replace(self, routes_subset=subset)


def evaluator_argv(run: EvaluatorRun, paths: ResolvedPaths, config: LaunchConfig, gpu_rank: bool = True) -> list[str]:
    """gpu_rank=False leaves out --gpu-rank: upstream leaderboard 2.0 has no such option (there
    automot starts the server itself, on the right GPU); Bench2Drive's starts its server with it."""
    ev = config.evaluator
    argv = [
        str(paths.python), str(paths.evaluator),
        f"--host={config.server.host}",
        f"--port={run.rpc_port}",
        f"--traffic-manager-port={run.traffic_manager_port}",
        f"--traffic-manager-seed={ev.traffic_manager_seed}",
        f"--debug={ev.debug}",
        f"--timeout={ev.client_timeout_s:g}",
        f"--routes={run.routes}",
        f"--repetitions={ev.repetitions}",
        f"--track={ev.track}",
        f"--agent={paths.agent_file}",
        f"--agent-config={run.agent_config}",
        f"--checkpoint={run.checkpoint}",
        f"--debug-checkpoint={run.debug_checkpoint}",
    ]
    if gpu_rank:
        argv.append(f"--gpu-rank={run.gpu}")
    if run.routes_subset:
        argv.append(f"--routes-subset={','.join(run.routes_subset)}")
    if run.record_dir is not None:
        argv.append(f"--record={run.record_dir}")
    if run.resume:
        # The evaluator declares `--resume` with type=bool: any non-empty text is True.
        argv.append("--resume=True")
    return argv


def evaluator_env(run: EvaluatorRun, paths: ResolvedPaths, config: LaunchConfig,
                  base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    python_path = [
        str(REPO_ROOT),  # `agent.*`, `sensors.*`, ... for the agent file
        str(paths.carla_root / "PythonAPI"),
        str(paths.carla_root / "PythonAPI" / "carla"),  # CARLA's `agents` package (RoadOption, planners)
        str(paths.leaderboard_root),
        str(paths.scenario_runner_root),
    ]
    if env.get("PYTHONPATH"):
        python_path.append(env["PYTHONPATH"])
    env.update({
        "CARLA_ROOT": str(paths.carla_root),
        "LEADERBOARD_ROOT": str(paths.leaderboard_root),
        "SCENARIO_RUNNER_ROOT": str(paths.scenario_runner_root),
        "PYTHONPATH": os.pathsep.join(python_path),
        "SAVE_PATH": str(run.save_path),
        "CUDA_VISIBLE_DEVICES": str(run.gpu),
        "CHALLENGE_TRACK_CODENAME": config.evaluator.track,
        "PYTHONUNBUFFERED": "1",  # log lines reach the worker log (and the watchdog) at once
    })
    if config.evaluator.is_bench2drive:
        env["IS_BENCH2DRIVE"] = "True"
    else:
        env.pop("IS_BENCH2DRIVE", None)
    return env


def evaluator_working_dir(paths: ResolvedPaths, config: LaunchConfig) -> Path:
    """Where the evaluator runs: evaluator.working_dir, else the folder above leaderboard_root."""
    if config.evaluator.working_dir:
        return Path(config.evaluator.working_dir).expanduser().resolve()
    return paths.leaderboard_root.parent


def evaluator_starts_server(paths: ResolvedPaths) -> bool:
    """Bench2Drive's evaluator runs CarlaUE4.sh itself; upstream leaderboard 2.0 does not."""
    try:
        return "CarlaUE4.sh" in paths.evaluator.read_text(errors="replace")
    except OSError:
        return False


def server_mode(config: LaunchConfig, paths: ResolvedPaths) -> str:
    """'launcher' or 'evaluator' (see ServerConfig.mode)."""
    if config.server.mode != "auto":
        return config.server.mode
    return "evaluator" if evaluator_starts_server(paths) else "launcher"
