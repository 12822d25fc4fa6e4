"""The `automot` command line: one sub-command per module, registered below.

Each module in SUBCOMMAND_MODULES exposes
    register(subparsers: argparse._SubParsersAction) -> None
which adds its parser and sets `func=<callable(args) -> int>` as the default.
Modules are imported lazily by name so that `automot --help` stays fast and a
sub-command whose optional dependency is missing does not break the others.
"""

from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMAND_MODULES: tuple[str, ...] = (
    "launch.cmd_smoke",
    "launch.cmd_config",
    "launch.cmd_report", "launch.cmd_failures",
    "launch.cmd_model_info",
    "launch.cmd_evaluate",
    "launch.cmd_doctor",
    "launch.cmd_replay",
    "launch.cmd_sim",
    "launch.cmd_collect", "launch.cmd_dataset_info",
    "launch.cmd_train",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="automot",
        description="AutoMoT driving agent: evaluate, simulate, report, inspect.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in SUBCOMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
