"""`automot doctor`: check that this machine can run CARLA evaluations; one-line fixes; exit 1 when blocked."""

from __future__ import annotations

import argparse
import os

from rich.console import Console
from rich.table import Table

from core.typed_config import ConfigError
from launch.cmd_evaluate import add_common_arguments, load_config_from_args
from launch.doctor import EMBEDDED_NOTE, Finding, blocking_failures, run_doctor
from launch.evaluate_plan import PlanError, parse_gpus

STYLES = {"ok": "green", "FAIL": "bold red", "warn": "yellow"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("doctor", help="check CARLA, the leaderboard, GPUs, ports and Vulkan",
                                   description=f"{__doc__} {EMBEDDED_NOTE}.")
    parser.add_argument("--gpus", default="0", help="GPU indices the evaluation will use (default 0)")
    parser.add_argument("--workers-per-gpu", type=int, default=1)
    add_common_arguments(parser)
    parser.set_defaults(func=run)


def findings_table(findings: list[Finding]) -> Table:
    table = Table(title="automot doctor", show_lines=False)
    for column in ("", "check", "found", "fix"):
        table.add_column(column, overflow="fold")
    for f in findings:
        table.add_row(f"[{STYLES[f.symbol]}]{f.symbol}[/]", f.check, f.detail, f.fix)
    return table


def run(args: argparse.Namespace) -> int:
    console = Console()
    try:
        config = load_config_from_args(args)
        gpus = parse_gpus(args.gpus)
    except (ConfigError, PlanError) as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        return 2
    findings = run_doctor(config, dict(os.environ), gpus, max(1, args.workers_per_gpu))
    console.print(findings_table(findings))
    blocked = blocking_failures(findings)
    if blocked:
        console.print(f"[bold red]{len(blocked)} problem(s) block a CARLA run.[/]")
        for f in blocked:
            console.print(f"  {f.check}: {f.fix}", highlight=False)
        console.print(f"({EMBEDDED_NOTE}.)", highlight=False)
        return 1
    console.print("[green]ready to evaluate on CARLA[/]")
    console.print(f"({EMBEDDED_NOTE}.)", highlight=False)
    return 0
