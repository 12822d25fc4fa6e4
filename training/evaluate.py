"""Open-loop metrics of a saved network on a training config's validation routes.

    python -m training.evaluate --config configs/train_embedded_mini_stage5.yaml \\
        --checkpoint models/embedded_mini [--only datasets/embedded_train_b] [--json out.json]

The validation routes are the config's (`data.val_roots`, or its `val_fraction` split of
`data.roots`), the metrics those `automot train` logs at each evaluation (L2 and collision at
1/2/3 s, decision accuracy, speed MAE, the losses), on the same `val_max_samples` samples. Why a
separate command: two checkpoints compared on the same routes, e.g. a stage against the one it
started from, where `--only` keeps the routes of a recording neither has trained on.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import torch

from core.atomic_files import atomic_write_json
from planner.automot.build import build_network, resolve_tokenizer
from planner.automot.checkpoint import load_checkpoint
from planner.automot.sizes import get_size
from training.distributed import DistEnv
from training.stages import network_stage
from training.train_config import TrainConfig, load_train_config
from training.trainer import batch_maker, driving_dataset, train_val_folders, validate


def validation_folders(config: TrainConfig, only: list[str]) -> list[Path]:
    """The config's validation route folders; with `only`, those under one of these folders."""
    folders = train_val_folders(config)[1]
    if not only:
        return folders
    keep = [Path(o).resolve() for o in only]
    chosen = [Path(f) for f in folders if any(k == Path(f).resolve() or k in Path(f).resolve().parents for k in keep)]
    if not chosen:
        raise FileNotFoundError(f"no validation route of the config lies under {only}")
    return chosen


def evaluate_checkpoint(config: TrainConfig, checkpoint: str, only: list[str] | None = None) -> dict[str, float]:
    """The open-loop metrics of the network at `checkpoint` (a model folder) on the validation routes."""
    device = torch.device("cpu")
    spec = get_size(config.model.size)
    model_config = replace(config.model, checkpoint=checkpoint, device=str(device))
    network, tokenizer = build_network(model_config, device=device, tokenizer=resolve_tokenizer(model_config, spec))
    load_checkpoint(network, checkpoint, strict=True, same_inputs=True)
    module = network_stage(network, tokenizer).module
    maker, codec = batch_maker(network, model_config, tokenizer)
    folders = validation_folders(config, only or [])
    result = validate(module, driving_dataset(folders, config), maker, codec, config, DistEnv(0, 1, 0), device)
    return {"routes": len(folders), **result}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True, help="training YAML: its model, data and validation settings")
    parser.add_argument("--checkpoint", required=True, help="a model folder (a run's step/model, or models/...)")
    parser.add_argument("--only", nargs="*", default=[], help="keep the validation routes under these folders")
    parser.add_argument("--json", default="", help="also write the metrics here")
    args = parser.parse_args(argv)
    if not Path(args.checkpoint).is_dir():
        print(f"evaluate: checkpoint folder {args.checkpoint} does not exist", file=sys.stderr)
        return 2
    config = load_train_config(args.config)
    if config.run.torch_threads:
        torch.set_num_threads(config.run.torch_threads)
    try:
        metrics = evaluate_checkpoint(config, args.checkpoint, args.only)
    except FileNotFoundError as exc:
        print(f"evaluate: {exc}", file=sys.stderr)
        return 2
    if args.json:
        atomic_write_json(Path(args.json), metrics)
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
