"""Replaying: failed routes again with debugging on, CARLA recorder logs, saved debug frames.

    ids, routes, config = prepare_failed_replay(results_dir, out_dir, launch_config)
    hero = replay_recorder_log(client, "/abs/RouteScenario_3_rep0.log", replay_config)
    videos = debug_videos(folder, fps)        # debug frames -> debug.mp4 per route
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from agent.automot_config import AgentConfig, load_agent_config, save_agent_config
from agent.debug_frames import frames_to_video
from core.typed_config import override
from launch.launch_config import LaunchConfig, ReplayConfig

CREATE_RE = re.compile(r"^\s*Create (\d+): (\S+)")
ROLE_RE = re.compile(r"^\s*role_name = (\S+)")
DURATION_RE = re.compile(r"^Duration: ([0-9.]+) seconds", re.M)


class ReplayError(RuntimeError):
    """Nothing to replay, or the simulator could not be reached; the message says which."""


def _routes_of_results(results_dir: Path, routes: Path | None) -> Path:
    if routes is not None:
        return Path(routes)
    plan = results_dir / "plan.json"
    if plan.is_file():
        return Path(json.loads(plan.read_text())["routes_file"])
    raise ReplayError(f"{results_dir} has no plan.json: pass --routes with the route file of that run")


def debug_agent_config(base: AgentConfig, spectator: str) -> AgentConfig:
    """The run's agent config with every debugging output on."""
    return override(base, {"logging.debug_frames": True, "logging.debug_video": True, "logging.draw_plan": True,
                           "logging.spectator": spectator})


def prepare_failed_replay(results_dir: Path, out_dir: Path, config: LaunchConfig, routes: Path | None = None,
                          agent_config: Path | None = None) -> tuple[list[str], Path, Path]:
    """Write the failed routes' subset file and a debugging agent config into out_dir.

    Returns (route ids, subset route file, agent config file). Failed = launch.metrics
    outcomes in replay.failure_kinds over the folder's merged results (results.json of an
    `automot evaluate` folder, else every results file in the folder)."""
    from bench2drive_routes import write_route_subset
    from launch.metrics import failed_route_ids

    results_dir, out_dir = Path(results_dir), Path(out_dir)
    routes_file = _routes_of_results(results_dir, routes)
    merged = results_dir / "results.json"
    ids = failed_route_ids(merged if merged.is_file() else results_dir, routes_file, config.replay.failure_kinds)
    if not ids:
        raise ReplayError(f"no route in {results_dir} has an outcome in {list(config.replay.failure_kinds)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    subset = out_dir / "replay_routes.xml"
    write_route_subset(routes_file, ids, subset)
    if agent_config is None and (results_dir / "agent_config.yaml").is_file():
        agent_config = results_dir / "agent_config.yaml"
    base = load_agent_config(str(agent_config) if agent_config else None)
    config_path = save_agent_config(debug_agent_config(base, config.replay.spectator), out_dir / "replay_agent.yaml")
    return ids, subset, config_path


def hero_id_from_info(info: str) -> int | None:
    """Actor id of the ego in a recorder info text ('Create <id>: ...' followed by 'role_name = hero')."""
    current = None
    for line in info.splitlines():
        created = CREATE_RE.match(line)
        if created:
            current = int(created.group(1))
            continue
        role = ROLE_RE.match(line)
        if role and role.group(1) == "hero" and current is not None:
            return current
    return None


def recording_duration(info: str) -> float | None:
    match = DURATION_RE.search(info)
    return float(match.group(1)) if match else None


def replay_recorder_log(client: Any, log_path: str, config: ReplayConfig, start_s: float = 0.0,
                        duration_s: float = 0.0, follow_id: int | None = None) -> tuple[int, float | None]:
    """Start replaying a recorder log with the spectator following the ego; returns (actor followed, length s).

    The log path is read by the *server* (same machine: an absolute path). Raises
    ReplayError when the server cannot be reached (carla raises RuntimeError on time-out)."""
    try:
        info = client.show_recorder_file_info(str(log_path), False)
        if follow_id is None:
            follow_id = hero_id_from_info(info)
        if follow_id is None:
            raise ReplayError(f"{log_path}: no actor with role_name = hero in the recording; pass --follow ID")
        client.set_replayer_time_factor(config.time_factor)
        client.replay_file(str(log_path), start_s, duration_s, follow_id)
    except RuntimeError as exc:
        raise ReplayError(f"CARLA server did not answer the recorder call ({exc})") from None
    return follow_id, recording_duration(info)


def debug_frame_dirs(root: Path) -> list[Path]:
    """Folders holding debug frames: root itself, or every 'debug' folder under it."""
    root = Path(root)
    if any(root.glob("*.jpg")):
        return [root]
    return sorted(p for p in root.rglob("debug") if p.is_dir() and any(p.glob("*.jpg")))


def debug_videos(root: Path, fps: float, rebuild: bool = False) -> list[Path]:
    """debug.mp4 for every debug-frame folder under root (kept when it already exists)."""
    videos = []
    for folder in debug_frame_dirs(root):
        video = folder / "debug.mp4"
        if rebuild or not video.is_file() or video.stat().st_size == 0:
            frames_to_video(folder, video, fps)
        videos.append(video)
    return videos


def play_video(video: Path, config: ReplayConfig) -> list[str] | None:
    """Play with the first player found (replay.players); returns its command, None if none is installed."""
    for player in config.players:
        if player and shutil.which(player[0]):
            command = [*player, str(video)]
            subprocess.run(command, check=False)
            return command
    return None
