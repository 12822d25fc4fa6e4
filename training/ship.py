"""A training run -> a shipped model folder: the step's checkpoint, its model card, its data's routes.

    python -m training.ship --run runs/train_embedded_mini --out models/embedded_mini

    <out>/automot_config.json, model.safetensors, tokenizer.json   what model.checkpoint loads
    <out>/model_card.json        step, validation metrics, training config, datasets, the reproduce command
    <out>/training_routes/<dataset>.xml   the routes the data was recorded on (overlap checks)
    <out>/loss_curve.png

The folder is assembled under a temporary name and renamed, so a shipped model is whole or absent.
The size budget keeps what goes into git small (the embedded model is ~6 MB).
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
import sys
from pathlib import Path

import yaml

from core.atomic_files import atomic_write_json
from training import checkpoints
from training.logs import CURVE_FILE, METRICS_FILE, read_metrics

REPRODUCE = "bash scripts/reproduce_embedded_model.sh"
CARD_FILE = "model_card.json"


def dataset_summary(root: Path) -> dict:
    manifest = root / "dataset_manifest.json"
    info = json.loads(manifest.read_text()) if manifest.is_file() else {}
    keep = ("routes_recorded", "routes_failed", "expert_driving_score", "frames", "simulated_hours", "disk_bytes",
            "routes_sha256", "config")
    return {"folder": str(root), **{k: info[k] for k in keep if k in info}}


def lineage(config: dict) -> list[dict]:
    """The earlier stages this run started from, newest first: each {step, train_config}, read from
    the init checkpoint's model card (a shipped model) or from its run's saved config."""
    init = (config.get("init") or {}).get("checkpoint")
    if not init:
        return []
    folder = Path(init)
    card = folder / CARD_FILE
    if card.is_file():
        earlier = json.loads(card.read_text())
        return [{"step": earlier.get("step"), "train_config": earlier.get("train_config")}, *earlier.get("lineage", [])]
    saved = folder.parent / checkpoints.CONFIG_FILE  # a run's step folder: <step>/model
    if saved.is_file():
        earlier_config = yaml.safe_load(saved.read_text())
        return [{"step": int(folder.parent.name.split("_")[-1]), "train_config": earlier_config},
                *lineage(earlier_config)]
    return []


def ship(run: Path, out: Path, step: int | None = None, max_mb: float = 25.0, reproduce: str = REPRODUCE) -> Path:
    folder = checkpoints.checkpoints_dir(run) / checkpoints.step_name(step) if step else checkpoints.latest(run)
    if folder is None or not (folder / checkpoints.MODEL_DIR).is_dir():
        raise FileNotFoundError(f"{run}: no complete checkpoint{f' for step {step}' if step else ''}")
    config = yaml.safe_load((folder / checkpoints.CONFIG_FILE).read_text())
    val = [r for r in read_metrics(run / METRICS_FILE) if r.get("kind") == "val"] if (run / METRICS_FILE).is_file() else []
    tmp = out.with_name(f".{out.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    shutil.copytree(folder / checkpoints.MODEL_DIR, tmp)
    roots = [Path(r) for r in config["data"]["roots"]]
    (tmp / "training_routes").mkdir()
    for root in roots:
        if (root / "routes.xml").is_file():
            shutil.copy2(root / "routes.xml", tmp / "training_routes" / f"{root.name}.xml")
    if (run / CURVE_FILE).is_file():
        shutil.copy2(run / CURVE_FILE, tmp / CURVE_FILE)
    step_done = int(folder.name.split("_")[-1])
    atomic_write_json(tmp / CARD_FILE, {
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "step": step_done,
        "validation": next((r for r in reversed(val) if r["step"] == step_done), val[-1] if val else {}),
        "datasets": [dataset_summary(r) for r in roots],
        "train_config": config,
        "lineage": lineage(config),  # the stages before this one, newest first
        "reproduce": reproduce,
    })
    size_mb = sum(p.stat().st_size for p in tmp.rglob("*") if p.is_file()) / 1e6
    if size_mb > max_mb:
        shutil.rmtree(tmp)
        raise ValueError(f"the model folder would take {size_mb:.1f} MB, over the {max_mb:g} MB budget")
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.ship", description=__doc__.split("\n")[0])
    parser.add_argument("--run", required=True, help="training run folder (run.out)")
    parser.add_argument("--out", required=True, help="model folder to write")
    parser.add_argument("--step", type=int, default=None, help="a saved step (default: the latest)")
    parser.add_argument("--max-mb", type=float, default=25.0, help="size budget of the folder")
    args = parser.parse_args(argv)
    try:
        out = ship(Path(args.run), Path(args.out), args.step, args.max_mb)
    except (FileNotFoundError, ValueError) as exc:
        print(f"ship: {exc}", file=sys.stderr)
        return 1
    print(f"shipped {out} ({json.loads((out / CARD_FILE).read_text())['step']} steps)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
