"""`automot config`: print the effective agent config, or check a YAML file.

`--check` validates every key and range, and also the folders the config names:
`model.checkpoint` must be a folder in a format the loader knows (the project's own,
or the official release), `model.qwen_path` a Qwen3-VL folder.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("config", help="print the effective agent config (defaults + a YAML file) or check one")
    parser.add_argument("file", nargs="?", default="", help="agent YAML config; empty: the defaults")
    parser.add_argument("--check", action="store_true",
                        help="only validate (keys, ranges, model.checkpoint, model.qwen_path); exit 1 when invalid")
    parser.set_defaults(func=run)


def _folder_problem(key: str, value: str) -> str | None:
    path = Path(value).expanduser()
    if not path.exists():
        return f"{key}: {path} does not exist"
    if not path.is_dir():
        return f"{key}: {path} is a file; give the folder that holds it ({path.parent})"
    return None


def check_model_paths(config) -> list[str]:
    """Problems with the folders the model section names (empty when none or all fine)."""
    problems = []
    model = config.model
    if model.checkpoint:
        problem = _folder_problem("model.checkpoint", model.checkpoint)
        if problem is None:
            from planner.automot.checkpoint import CheckpointError, checkpoint_kind

            try:
                checkpoint_kind(Path(model.checkpoint).expanduser())
            except CheckpointError as exc:
                problem = f"model.checkpoint: {exc}"
        if problem:
            problems.append(problem)
    if model.qwen_path:
        problem = _folder_problem("model.qwen_path", model.qwen_path)
        if problem is None and not (Path(model.qwen_path).expanduser() / "config.json").is_file():
            problem = f"model.qwen_path: {model.qwen_path} holds no config.json (not a Qwen3-VL folder)"
        if problem:
            problems.append(problem)
    return problems


def run(args: argparse.Namespace) -> int:
    from agent.automot_config import load_agent_config
    from core.typed_config import ConfigError, to_dict

    try:
        config = load_agent_config(args.file)
    except ConfigError as exc:
        print(f"invalid config: {exc}")
        return 1
    if args.check:
        problems = check_model_paths(config)
        for problem in problems:
            print(f"invalid config: {problem}")
        if problems:
            return 1
        print(f"{args.file or 'defaults'}: ok")
    else:
        print(yaml.safe_dump(to_dict(config), sort_keys=False), end="")
    return 0
