"""`automot config`: print the effective agent config, or check a YAML file."""

from __future__ import annotations

import argparse

import yaml


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("config", help="print the effective agent config (defaults + a YAML file) or check one")
    parser.add_argument("file", nargs="?", default="", help="agent YAML config; empty: the defaults")
    parser.add_argument("--check", action="store_true", help="only validate; exit 1 with the error when invalid")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from agent.automot_config import load_agent_config
    from core.typed_config import ConfigError, to_dict

    try:
        config = load_agent_config(args.file)
    except ConfigError as exc:
        print(f"invalid config: {exc}")
        return 1
    if args.check:
        print(f"{args.file or 'defaults'}: ok")
    else:
        print(yaml.safe_dump(to_dict(config), sort_keys=False), end="")
    return 0
