"""A few hand-written PDM-Lite routes and a tiny training config: what the training tests share."""

from __future__ import annotations

import math
from pathlib import Path

from data_fixtures import PERIOD, write_route

from planner.automot.model_config import ModelConfig
from training.train_config import OptimConfig, RunConfig, TrainConfig, TrainDataConfig


def turning(n: int, speed: float, yaw_rate: float, x0: float = 0.0) -> tuple[list, list]:
    poses, x, y, yaw = [], x0, 0.0, 0.0
    for _ in range(n):
        poses.append((x, y, yaw))
        x += speed * PERIOD * math.cos(yaw)
        y += speed * PERIOD * math.sin(yaw)
        yaw += yaw_rate * PERIOD
    return poses, [speed] * n


def write_dataset(root: Path, routes: int = 4, frames: int = 22) -> Path:
    """`routes` short drives at different speeds and curvatures (plus one that sets off from rest)."""
    for r in range(routes):
        poses, speeds = turning(frames, 3.0 + 2.0 * r, 0.05 * (r - 1))
        write_route(root, f"Town0{r % 3 + 1}_Route{r}", poses, speeds)
    return root


def tiny_config(data: Path, out: Path, steps: int = 4, **run) -> TrainConfig:
    return TrainConfig(
        model=ModelConfig(size="tiny"),
        data=TrainDataConfig(roots=(str(data),), val_fraction=0.25, workers=0, val_max_samples=8),
        optim=OptimConfig(lr=1e-3, min_lr=1e-4, warmup_steps=1, batch_size=2, steps=steps),
        run=RunConfig(out=str(out), log_every=1, eval_every=2, checkpoint_every=2, keep_checkpoints=0,
                      deterministic=True, **run),
    )
