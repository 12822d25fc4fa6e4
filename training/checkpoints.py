"""Training checkpoints: one folder per saved step, written whole or not at all.

    <run.out>/checkpoints/step_0000500/
        model/               the project's checkpoint format (the agent loads it as model.checkpoint)
        training_state.pt    optimiser, scheduler, step, the sampler's next batch
        rng_rank<R>.pt       each rank's torch / numpy / python RNG
        train_config.yaml    the config that trained it
    <run.out>/checkpoints/latest   the newest complete step folder's name

Each step folder is built under a hidden temporary name and renamed when complete, so a run
killed while saving leaves the previous checkpoint as `latest`.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml

from core.atomic_files import atomic_write_text
from core.typed_config import to_dict

LATEST = "latest"
MODEL_DIR = "model"
STATE_FILE = "training_state.pt"
CONFIG_FILE = "train_config.yaml"


class TrainCheckpointError(RuntimeError):
    pass


def checkpoints_dir(out: Path) -> Path:
    return out / "checkpoints"


def step_name(step: int) -> str:
    return f"step_{step:07d}"


def rng_state() -> dict:
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def pending_dir(out: Path, step: int) -> Path:
    return checkpoints_dir(out) / f".{step_name(step)}.tmp"


def begin(out: Path, step: int) -> Path:
    """Rank 0: a fresh temporary folder for `step` (a leftover of a killed save is removed)."""
    tmp = pending_dir(out, step)
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    return tmp


def write_rank_rng(tmp: Path, rank: int) -> None:
    torch.save(rng_state(), tmp / f"rng_rank{rank}.pt")


def finish(out: Path, step: int, tmp: Path, config, save_model: Callable[[Path], None], training_state: dict,
           keep: int) -> Path:
    """Rank 0: model, state and config into `tmp`, then rename and point `latest` at it."""
    save_model(tmp / MODEL_DIR)
    torch.save(training_state, tmp / STATE_FILE)
    (tmp / CONFIG_FILE).write_text(yaml.safe_dump(to_dict(config), sort_keys=False))
    final = checkpoints_dir(out) / step_name(step)
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)
    atomic_write_text(checkpoints_dir(out) / LATEST, final.name + "\n")
    if keep:
        for old in sorted(checkpoints_dir(out).glob("step_*"))[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    return final


def latest(out: Path) -> Path | None:
    """The newest complete step folder, or None when the run has none."""
    pointer = checkpoints_dir(out) / LATEST
    if not pointer.is_file():
        return None
    folder = checkpoints_dir(out) / pointer.read_text().strip()
    if not (folder / STATE_FILE).is_file():
        raise TrainCheckpointError(f"{pointer} names {folder.name}, which is missing or incomplete")
    return folder


@dataclass
class Resumed:
    folder: Path
    step: int
    training_state: dict
    rng: dict | None  # this rank's; None when the world size changed
    saved_config: dict


def load_resume(folder: Path, rank: int, world: int) -> Resumed:
    try:
        state = torch.load(folder / STATE_FILE, map_location="cpu", weights_only=False)
    except Exception as exc:  # a damaged pickle raises many kinds of errors
        raise TrainCheckpointError(f"{folder / STATE_FILE}: unreadable ({type(exc).__name__}: {exc})") from None
    rng_file = folder / f"rng_rank{rank}.pt"
    rng = None
    if state.get("world") == world and rng_file.is_file():
        rng = torch.load(rng_file, map_location="cpu", weights_only=False)
    saved = yaml.safe_load((folder / CONFIG_FILE).read_text()) if (folder / CONFIG_FILE).is_file() else {}
    return Resumed(folder, int(state["step"]), state, rng, saved or {})


def config_differences(saved: dict, current: dict, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two config dicts."""
    out = []
    for key in sorted(set(saved) | set(current)):
        a, b = saved.get(key), current.get(key)
        name = f"{prefix}{key}"
        if isinstance(a, dict) and isinstance(b, dict):
            out += config_differences(a, b, name + ".")
        elif (list(a) if isinstance(a, tuple) else a) != (list(b) if isinstance(b, tuple) else b):
            out.append(f"{name}: {a!r} -> {b!r}")
    return out
