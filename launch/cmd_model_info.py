"""`automot model-info --size NAME [--json]`: parameter counts per part and tokens per tick (meta device)."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("model-info", help="AutoMoT network size: parameters per part, tokens per tick")
    parser.add_argument("--size", default="full", choices=["tiny", "mini", "small", "full"], help="named network size")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def _billions(n: int) -> str:
    return f"{n / 1e9:.3f} B" if n >= 1e8 else f"{n / 1e6:.3f} M"


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from planner.automot.model_config import ModelConfig
    from planner.automot.model_info import model_info

    info = model_info(ModelConfig(size=args.size))
    if args.json:
        print(json.dumps(info))
        return 0
    table = Table(title=f"AutoMoT network, size '{info['size']}'")
    table.add_column("part")
    table.add_column("parameters", justify="right")
    table.add_column("", justify="right")
    for label, key in (("UE text (Qwen3-VL, tied LM head)", "ue_text_params"),
                       ("UE vision (Qwen3-VL)", "ue_vision_params"),
                       ("UE total", "ue_params"),
                       ("AE (per-layer MoT weights + final norm)", "ae_params"),
                       (f"BEV encoder ({info['bev_encoder']})", "bev_params"),
                       ("heads (BEV projection, input encoders, queries, output heads)", "heads_params"),
                       ("total", "total_params")):
        table.add_row(label, f"{info[key]:,}", _billions(info[key]))
    console = Console()
    console.print(table)
    console.print(f"UE tokens per understanding pass: {info['ue_tokens']} "
                  f"({info['ue_visual_tokens']} visual from {info['num_frames']} frames at {info['image_size'][0]}x"
                  f"{info['image_size'][1]}, {info['ue_text_tokens']} text; tokenizer: {info['tokenizer']})")
    blocks = ", ".join(f"{k} {v}" for k, v in info["ae_blocks"].items())
    console.print(f"AE tokens per tick: {info['ae_tokens']} ({blocks})")
    return 0
