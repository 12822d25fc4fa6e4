"""`automot train`: train the network (or the refiner stage) from a typed YAML.

    automot train --config configs/train_embedded_mini.yaml                 # one process
    automot train --config cfg.yaml --nproc-per-node 8                      # torchrun, DDP / FSDP (run.parallel)
    automot train --config cfg.yaml --resume                                # continue exactly from checkpoints/latest
    automot train --config cfg.yaml --backend slurm --nodes 4 --launch-config launch.yaml
    automot train --config cfg.yaml --set optim.steps=200 --set run.out=runs/try --dry-run

Under torchrun every rank runs this same command (RANK / WORLD_SIZE set by torchrun);
--nproc-per-node only starts torchrun on this machine for you.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from pathlib import Path

import yaml


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="train AutoMoT (torchrun DDP/FSDP, resumable)")
    parser.add_argument("--config", required=True, help="training YAML (model / data / init / parts / optim / run)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--resume", action="store_true", help="continue from <run.out>/checkpoints/latest (must exist)")
    group.add_argument("--auto-resume", action="store_true", help="resume when a checkpoint exists, else start")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key (YAML value), e.g. --set optim.steps=200")
    parser.add_argument("--nproc-per-node", type=int, default=1, help="start torchrun with this many processes")
    parser.add_argument("--backend", choices=["local", "slurm"], default="local")
    parser.add_argument("--nodes", type=int, default=1, help="SLURM: nodes (one torchrun each)")
    parser.add_argument("--launch-config", default="", help="SLURM account / partition / resources (launch YAML)")
    parser.add_argument("--dry-run", action="store_true", help="check config and data, print the plan, train nothing")
    parser.set_defaults(func=run)


def parse_overrides(items: list[str]) -> dict:
    from core.typed_config import ConfigError

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set needs KEY=VALUE, got {item!r}")
        out[key.strip()] = yaml.safe_load(value)
    return out


def load_config(args: argparse.Namespace):
    from core.typed_config import override
    from training.train_config import load_train_config

    config = load_train_config(args.config)
    overrides = parse_overrides(args.set)
    return override(config, overrides) if overrides else config


def forwarded_args(args: argparse.Namespace) -> list[str]:
    """This command's own arguments minus the launcher's (what every torchrun rank runs)."""
    argv = ["--config", str(Path(args.config).resolve())]
    for item in args.set:
        argv += ["--set", item]
    if args.resume:
        argv.append("--resume")
    if args.auto_resume:
        argv.append("--auto-resume")
    return argv


def torchrun_command(args: argparse.Namespace, nproc: int, python: str = sys.executable) -> list[str]:
    return [python, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
            "-m", "launch.cli", "train", *forwarded_args(args)]


def slurm_script(args: argparse.Namespace, config, launch) -> str:
    """One task per node, each a torchrun of --nproc-per-node ranks, rendezvous on the first node."""
    from launch.slurm_backend import sbatch_script

    out = Path(config.run.out).resolve()
    ranks = ["--nnodes", str(args.nodes), f"--nproc-per-node={args.nproc_per_node}", "--rdzv-backend", "c10d",
             "--rdzv-endpoint", "$HEAD_NODE:29500", "--rdzv-id", "$SLURM_JOB_ID"]
    forwarded = [*forwarded_args(args)]
    if "--resume" not in forwarded and "--auto-resume" not in forwarded:
        forwarded.append("--auto-resume")  # a requeued job continues from its last checkpoint
    line = (f"srun --ntasks-per-node=1 {shlex.quote(sys.executable)} -m torch.distributed.run "
            + " ".join(ranks) + " -m launch.cli train " + shlex.join(forwarded))
    script = sbatch_script(launch, f"{launch.slurm.job_name_prefix}_train_{out.name}", f"{out}/slurm_%j.out", line,
                           args.nproc_per_node, (f"--nodes={args.nodes}", "--ntasks-per-node=1"))
    head = 'HEAD_NODE=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)'
    return script.replace("\nexec ", f"\n{head}\nexec ", 1)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from core.typed_config import ConfigError

    console = Console(stderr=True, soft_wrap=True)  # paths and commands stay on one line (copyable)
    try:
        config = load_config(args)
    except ConfigError as exc:
        console.print(f"[red]automot train: {exc}[/]")
        return 2
    if args.backend == "slurm":
        from core.atomic_files import atomic_write_text
        from launch.launch_config import load_launch_config
        from launch.slurm_backend import SlurmError, submit

        launch = load_launch_config(args.launch_config or None)
        script = slurm_script(args, config, launch)
        path = Path(config.run.out) / "slurm" / "train.sbatch"
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, script)
        if args.dry_run:
            console.print(script)
            return 0
        try:
            job = submit(path, launch)
        except SlurmError as exc:
            console.print(f"[red]automot train: {exc}[/]")
            return 1
        console.print(f"submitted training job {job} ({args.nodes} node(s) x {args.nproc_per_node}); script {path}")
        return 0
    if args.nproc_per_node > 1 and "RANK" not in os.environ:
        command = torchrun_command(args, args.nproc_per_node)
        console.print("$ " + shlex.join(command))
        if args.dry_run:
            return 0
        return subprocess.call(command)
    return _train_here(args, config, console)


def _train_here(args: argparse.Namespace, config, console) -> int:
    from core.typed_config import ConfigError, to_dict
    from planner.automot.checkpoint import CheckpointError
    from training import checkpoints
    from training.trainer import NonFiniteLoss, TrainingDataError, build_datasets, train

    resume = args.resume
    if args.auto_resume:
        try:
            resume = checkpoints.latest(config.out) is not None
        except checkpoints.TrainCheckpointError as exc:
            console.print(f"[red]automot train: {exc}[/]")
            return 1
    if args.dry_run:
        try:
            train_ds, val_ds = build_datasets(config)
        except (TrainingDataError, ConfigError) as exc:
            console.print(f"[red]automot train: {exc}[/]")
            return 2
        console.print(yaml.safe_dump(to_dict(config), sort_keys=False))
        console.print(f"{len(train_ds)} training samples in {len(train_ds.routes)} routes, "
                      f"{len(val_ds) if val_ds else 0} validation samples; resume: {resume}")
        return 0
    try:
        result = train(config, resume=resume, console=console)
    except (TrainingDataError, CheckpointError, checkpoints.TrainCheckpointError, NonFiniteLoss,
            ConfigError) as exc:
        console.print(f"[red]automot train: {exc}[/]")
        return 1
    if result.checkpoint is not None:
        console.print(f"done: step {result.step}, checkpoint {result.checkpoint / checkpoints.MODEL_DIR}")
    return 0
