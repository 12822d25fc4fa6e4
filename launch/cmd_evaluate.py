"""`automot evaluate`: run the agent over a route file on CARLA (local or SLURM) or the embedded simulator.

    automot evaluate --simulator carla --routes bench2drive220.xml --config agent.yaml --out runs/b2d \\
        --gpus 0,1,2,3 --workers-per-gpu 2 [--launch-config launch.yaml] [--set recovery.crash_limit=2]

Running the same command again continues every shard from its checkpoint. One launcher per
--out (a lock file, launch/launcher_lock.py); a launcher that was killed leaves a record of
its process groups, and the next run stops what of them still runs before starting.
"""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

from rich.console import Console

from core.typed_config import ConfigError, parse_yaml
from launch.evaluate_plan import PlanError, make_plan, parse_gpus
from launch.launch_config import LaunchConfig, load_launch_config
from launch.launcher_lock import LauncherLock, LauncherLockError
from launch.leaderboard_command import PathsError, ResolvedPaths, resolve_paths

GROUPS_RECORD = "launcher_processes.json"  # next to the lock: the process groups of the running launcher


def parse_overrides(items: list[str] | None) -> dict:
    """['recovery.crash_limit=2', 'server.probe=tcp'] -> {'recovery.crash_limit': 2, 'server.probe': 'tcp'}."""
    overrides = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value, got {item!r}")
        overrides[key.strip()] = parse_yaml(value) if value.strip() else ""
    return overrides


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--launch-config", default="", help="launch settings YAML (ports, timeouts, crash limit, slurm)")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", dest="overrides",
                        help="override a launch setting, e.g. --set recovery.watchdog_minutes=30 (repeatable)")


def load_config_from_args(args: argparse.Namespace) -> LaunchConfig:
    return load_launch_config(args.launch_config or None, parse_overrides(args.overrides))


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("evaluate", help="run the agent over a route file (CARLA leaderboard or embedded)",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--simulator", choices=("carla", "embedded"), default="carla")
    parser.add_argument("--routes", required=True, help="route XML (Bench2Drive / leaderboard 2.0 format)")
    parser.add_argument("--config", required=True, help="agent config YAML")
    parser.add_argument("--out", required=True, help="output folder (the same folder resumes)")
    parser.add_argument("--gpus", default="0", help="GPU indices, comma-separated (default 0)")
    parser.add_argument("--workers-per-gpu", type=int, default=1, help="workers (server + evaluator) per GPU")
    parser.add_argument("--shards", type=int, default=0,
                        help="number of shards (default: GPUs x workers-per-gpu; SLURM: one job each)")
    parser.add_argument("--backend", choices=("local", "slurm"), default="local")
    parser.add_argument("--record", action="store_true", help="CARLA recorder logs per route (--record of the evaluator)")
    parser.add_argument("--submit-only", action="store_true", help="slurm: submit the jobs and return")
    parser.add_argument("--shard", default="", help=argparse.SUPPRESS)  # a SLURM job runs one shard
    parser.add_argument("--no-report", action="store_true", help="do not merge results / run the report at the end")
    add_common_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    console = Console(stderr=False)
    try:
        if args.simulator == "embedded":
            return run_embedded(args)
        return run_carla(args, console)
    except (ConfigError, PlanError, PathsError, FileNotFoundError, LauncherLockError) as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        return 2


def run_embedded(args: argparse.Namespace) -> int:
    from launch.cmd_sim import run_embedded_evaluation

    return run_embedded_evaluation(routes=Path(args.routes), config=Path(args.config), out=Path(args.out))


def run_carla(args: argparse.Namespace, console: Console) -> int:
    config = load_config_from_args(args)
    gpus = parse_gpus(args.gpus)
    if args.workers_per_gpu < 1:
        raise PlanError(f"--workers-per-gpu must be >= 1, got {args.workers_per_gpu}")
    paths = resolve_paths(config.paths) if args.backend == "local" else None  # before anything is written
    # A SLURM job runs one shard: it locks that shard's folder, so the jobs of one plan run side by side.
    lock_dir = Path(args.out).resolve() / ("shards/" + args.shard if args.shard else "")
    with LauncherLock(lock_dir) as lock:
        if lock.stale_holder:
            console.print(f"taking over the lock of a launcher that is gone (pid {lock.stale_holder.get('pid')})",
                          highlight=False)
        return _run_carla_locked(args, console, config, gpus, paths, lock_dir)


def _run_carla_locked(args: argparse.Namespace, console: Console, config: LaunchConfig, gpus: tuple[int, ...],
                      paths: ResolvedPaths | None, lock_dir: Path) -> int:
    n_shards = args.shards or len(gpus) * args.workers_per_gpu
    plan = make_plan(Path(args.routes), Path(args.out), Path(args.config), gpus, n_shards, config)
    if args.backend == "slurm":
        from launch.slurm_backend import SlurmBackend, SlurmError

        backend = SlurmBackend(plan, config, console, record=args.record)
        signal.signal(signal.SIGHUP, signal.default_int_handler)  # a lost terminal stops the waiting like Ctrl-C
        try:
            backend.submit_pending(first=True)
            if args.submit_only:
                return 0
            code = backend.wait()
        except SlurmError as exc:
            console.print(f"[red]slurm:[/] {exc}", highlight=False)
            return 1
        except KeyboardInterrupt:  # only the waiting stops: the jobs are the cluster's now
            ids = [ids[-1] for ids in backend.jobs.values() if ids]
            console.print(f"stopped waiting; the jobs keep running (scancel {' '.join(ids)} to stop them). "
                          f"Run the same command again to keep waiting / resubmit.", highlight=False)
            return 130
        if code == 0 and not args.no_report:
            from launch.results_report import merge_plan_results, write_report

            merge_plan_results(plan, config.evaluator.repetitions)
            write_report(plan, console)
        return code
    if args.shard and args.shard not in {s.name for s in plan.shards}:
        raise PlanError(f"--shard {args.shard}: not in this plan ({', '.join(s.name for s in plan.shards)})")
    if not args.shard and n_shards != len(gpus) * args.workers_per_gpu:
        raise PlanError("--shards differs from GPUs x workers-per-gpu: a local run has one worker per shard")
    from launch.local_runner import run_local

    result = run_local(plan, paths, config, record=args.record, console=console,
                       shard_names=(args.shard,) if args.shard else None, report=not args.no_report and not args.shard,
                       groups_record=lock_dir / GROUPS_RECORD)
    return result.exit_code
