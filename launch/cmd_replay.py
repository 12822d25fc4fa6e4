"""`automot replay`: look again at what went wrong.

    automot replay failed --results runs/b2d --out runs/b2d_replay [--record]   # failed routes, debugging on
    automot replay log --log /abs/RouteScenario_3_rep0.log --port 2000          # recorder log, camera on the ego
    automot replay frames --dir runs/b2d_replay [--play]                        # debug frames as mp4 video
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console

from core.typed_config import ConfigError
from launch.cmd_evaluate import add_common_arguments, load_config_from_args
from launch.evaluate_plan import PlanError, make_plan, parse_gpus
from launch.leaderboard_command import PathsError, resolve_paths
from launch.replay import ReplayError, debug_videos, play_video, prepare_failed_replay, replay_recorder_log


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("replay", help="re-run failed routes with debugging, replay recorder logs / videos",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    modes = parser.add_subparsers(dest="replay_mode", metavar="MODE", required=True)
    failed = modes.add_parser("failed", help="re-run the failed routes of a results folder with debugging on")
    failed.add_argument("--results", required=True, help="results folder (an `automot evaluate` --out, or result files)")
    failed.add_argument("--out", required=True, help="output folder of the re-run")
    failed.add_argument("--routes", default=None, help="route file of that run (read from plan.json when present)")
    failed.add_argument("--config", default=None, help="agent config (default: the run's agent_config.yaml)")
    failed.add_argument("--gpus", default="0")
    failed.add_argument("--record", action="store_true", help="also write CARLA recorder logs")
    add_common_arguments(failed)
    failed.set_defaults(func=run_failed)
    log = modes.add_parser("log", help="replay a CARLA recorder log with the spectator following the ego")
    log.add_argument("--log", required=True, help="recorder log (absolute path, read by the server)")
    log.add_argument("--host", default="127.0.0.1")
    log.add_argument("--port", type=int, default=2000, help="RPC port of a running CARLA server")
    log.add_argument("--start", type=float, default=0.0, help="seconds into the recording")
    log.add_argument("--duration", type=float, default=0.0, help="seconds to play (0 = to the end)")
    log.add_argument("--follow", type=int, default=None, help="actor id to follow (default: the hero)")
    add_common_arguments(log)
    log.set_defaults(func=run_log)
    frames = modes.add_parser("frames", help="turn saved debug frames into mp4 videos and play them")
    frames.add_argument("--dir", required=True, help="a debug-frame folder or any folder above some")
    frames.add_argument("--rebuild", action="store_true", help="rebuild videos that exist")
    frames.add_argument("--play", action="store_true", help="play the videos (replay.players)")
    add_common_arguments(frames)
    frames.set_defaults(func=run_frames)


def run_failed(args: argparse.Namespace) -> int:
    console = Console()
    try:
        config = load_config_from_args(args)
        ids, subset, agent_config = prepare_failed_replay(Path(args.results), Path(args.out), config,
                                                          Path(args.routes) if args.routes else None,
                                                          Path(args.config) if args.config else None)
        console.print(f"replaying {len(ids)} route(s): {', '.join(ids)}", highlight=False)
        gpus = parse_gpus(args.gpus)
        plan = make_plan(subset, Path(args.out), agent_config, gpus, len(gpus), config)
        paths = resolve_paths(config.paths)
    except (ConfigError, PlanError, PathsError, ReplayError, ValueError) as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        return 2
    from launch.local_runner import run_local

    result = run_local(plan, paths, config, record=args.record, console=console)
    console.print(f"debug frames and videos: {plan.out_dir / 'shards'}/<shard>/save/<route>/debug/")
    return result.exit_code


def run_log(args: argparse.Namespace) -> int:
    console = Console()
    try:
        config = load_config_from_args(args)
        import carla

        client = carla.Client(args.host, args.port)
        client.set_timeout(config.replay.client_timeout_s)
        hero, length = replay_recorder_log(client, args.log, config.replay, args.start, args.duration, args.follow)
    except (ConfigError, ReplayError, ImportError) as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        return 1
    play_s = (args.duration or max(0.0, (length or 0.0) - args.start)) / config.replay.time_factor
    console.print(f"replaying {args.log} following actor {hero} for {play_s:.0f} s (Ctrl-C stops)")
    try:
        time.sleep(play_s)
    except KeyboardInterrupt:
        pass
    finally:
        try:
            client.stop_replayer(False)
        except RuntimeError:
            pass
    return 0


def run_frames(args: argparse.Namespace) -> int:
    console = Console()
    try:
        config = load_config_from_args(args)
    except ConfigError as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        return 2
    videos = debug_videos(Path(args.dir), config.replay.video_fps, rebuild=args.rebuild)
    if not videos:
        console.print(f"[red]no debug frames (*.jpg) under {args.dir}[/]")
        return 1
    for video in videos:
        console.print(str(video), highlight=False)
        if args.play and play_video(video, config.replay) is None:
            console.print("no video player found (replay.players); open the files above yourself")
            break
    return 0
