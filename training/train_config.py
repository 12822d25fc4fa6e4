"""`automot train --config train.yaml`: one frozen tree, loaded strictly (unknown keys are errors).

    model:   the network (planner/automot/model_config.py): size, dtype, prompt, loss weights
    data:    dataset folders, validation split, loader workers, sample weighting
    init:    where the weights start (random, a project checkpoint, the official release)
    parts:   which parts train
    optim:   AdamW, warm-up + cosine schedule, batch, accumulation, steps
    run:     output folder, precision, DDP / FSDP, how often to log / evaluate / save
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from core.typed_config import load_yaml, require
from data.data_config import DataConfig
from planner.automot.model_config import ModelConfig
from planner.automot.refiner_config import RefinerConfig


@dataclass(frozen=True)
class SamplingConfig:
    """How often a sample is drawn. Setting off from rest is a few frames per route, yet the one
    thing a closed-loop car must never get wrong (a car that does not set off scores nothing)."""

    set_off_weight: float = 1.0  # a sample at rest whose labels move off counts this many times
    set_off_speed_mps: float = 0.5  # "at rest": slower than this now ...
    set_off_gain_mps: float = 1.0  # ... and faster by this much ...
    set_off_within_s: float = 1.0  # ... this long later (a speed label horizon: 1, 2 or 3 s)
    # Share of training samples whose speed input reads 0 m/s (training/batches.py: inertia).
    speed_dropout: float = 0.0

    def __post_init__(self) -> None:
        require(self.set_off_weight > 0, "data.sampling.set_off_weight must be positive")
        require(0.0 <= self.speed_dropout < 1.0, "data.sampling.speed_dropout must be in [0, 1)")


@dataclass(frozen=True)
class TrainDataConfig:
    roots: tuple[str, ...] = ()  # dataset folders (PDM-Lite layout, embedded or real)
    val_roots: tuple[str, ...] = ()  # held-out dataset folders; empty: hold out val_fraction of the routes
    val_fraction: float = 0.1
    split_seed: int = 0
    val_max_samples: int = 512  # open-loop validation reads at most this many samples (evenly spaced)
    workers: int = 2  # DataLoader worker processes per rank
    dataset: DataConfig = field(default_factory=DataConfig)  # layout and label rules
    sampling: SamplingConfig = field(default_factory=SamplingConfig)

    def __post_init__(self) -> None:
        require(0.0 <= self.val_fraction < 1.0, "data.val_fraction must be in [0, 1)")
        require(self.workers >= 0 and self.val_max_samples >= 1, "data.workers >= 0, data.val_max_samples >= 1")


@dataclass(frozen=True)
class InitConfig:
    # A project checkpoint folder (automot_config.json) or the official release (*_mot_gen), loaded
    # through the parity loader. None: random (or model.qwen_path for the UE).
    checkpoint: str | None = None
    strict: bool = True  # missing / mis-shaped tensors are an error


Part = Literal["auto", "train", "freeze"]


@dataclass(frozen=True)
class PartsConfig:
    """'auto': a UE (and vision tower) with pretrained weights (model.qwen_path or the official
    release) is frozen, as published; a randomly initialised one is trained, since a frozen random
    UE only adds noise. The BEV encoder follows model.freeze_bev_encoder under 'auto'."""

    understanding: Part = "auto"
    vision: Part = "auto"
    bev_encoder: Part = "auto"


@dataclass(frozen=True)
class OptimConfig:
    lr: float = 3e-4  # peak learning rate (after warm-up)
    min_lr: float = 3e-5  # cosine floor at the last step
    warmup_steps: int = 100
    weight_decay: float = 0.01  # on matrices only (not norms, biases, embeddings)
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float = 1.0  # global gradient-norm clip; 0 = off
    batch_size: int = 8  # per rank, per micro-step
    accumulation: int = 1  # micro-steps per optimiser step
    steps: int = 1000  # optimiser steps

    def __post_init__(self) -> None:
        require(self.lr > 0 and 0 <= self.min_lr <= self.lr, "optim: need lr > 0 and 0 <= min_lr <= lr")
        require(self.batch_size >= 1 and self.accumulation >= 1 and self.steps >= 1,
                "optim: batch_size, accumulation and steps must be >= 1")
        require(0 <= self.warmup_steps <= self.steps, "optim.warmup_steps must be in [0, steps]")


@dataclass(frozen=True)
class RunConfig:
    out: str = "runs/train"  # checkpoints/, tensorboard/, metrics.jsonl, loss_curve.png
    seed: int = 0
    precision: Literal["auto", "fp32", "bf16"] = "auto"  # auto: bf16 autocast on CUDA, fp32 on CPU
    parallel: Literal["ddp", "fsdp"] = "ddp"  # with more than one process (torchrun)
    log_every: int = 10  # steps
    eval_every: int = 500  # steps; 0 = only at the end
    checkpoint_every: int = 500  # steps; the last step is always saved
    keep_checkpoints: int = 3  # step folders kept (the newest); 0 = all
    torch_threads: int = 0  # intra-op threads per process; 0 = torch's default
    deterministic: bool = False  # torch.use_deterministic_algorithms (bit-exact resume on CPU)

    def __post_init__(self) -> None:
        require(self.log_every >= 1 and self.checkpoint_every >= 1, "run.log_every / checkpoint_every must be >= 1")
        require(self.eval_every >= 0 and self.keep_checkpoints >= 0, "run.eval_every / keep_checkpoints >= 0")


@dataclass(frozen=True)
class TrainConfig:
    # 'network': the AutoMoT network. 'refiner': the action refiner on top of the network of
    # init.checkpoint, which stays frozen (AutoMoT+); its checkpoints hold the refiner only.
    stage: Literal["network", "refiner"] = "network"
    model: ModelConfig = field(default_factory=ModelConfig)
    refiner: RefinerConfig = field(default_factory=RefinerConfig)  # the refiner's shape (stage: refiner)
    data: TrainDataConfig = field(default_factory=TrainDataConfig)
    init: InitConfig = field(default_factory=InitConfig)
    parts: PartsConfig = field(default_factory=PartsConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def __post_init__(self) -> None:
        require(self.stage != "refiner" or bool(self.init.checkpoint),
                "stage: refiner trains on top of a trained network: set init.checkpoint")

    @property
    def out(self) -> Path:
        return Path(self.run.out)


def load_train_config(path: str | Path) -> TrainConfig:
    return load_yaml(TrainConfig, path)
