"""Builders shared by the network tests: tiny runtimes, synthetic observations, livelier weights."""

from __future__ import annotations

import numpy as np
import torch

from planner.automot.build import build_runtime
from planner.automot.model_config import ModelConfig
from planner.automot.runtime import AutoMoTRuntime
from planner.interface import EgoState, Observation


def tiny_runtime(seed: int = 0, energized: bool = True, **overrides) -> AutoMoTRuntime:
    runtime = build_runtime(ModelConfig(size="tiny", seed=seed, **overrides))
    if energized:
        energize(runtime.network, seed)
    return runtime


def energize(network: torch.nn.Module, seed: int) -> None:
    """Re-draw every weight at unit-scale activations. The library's initialisation (std 0.02)
    leaves a 64-wide random model with outputs ~1e-3, which would make atol 1e-4 comparisons
    vacuous; with these weights outputs are O(1) and a wrong mask or padding shows."""
    gen = torch.Generator().manual_seed(seed + 1000)
    with torch.no_grad():
        for name, p in network.named_parameters():
            if p.ndim >= 2:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / fan_in**0.5)
            elif "norm" in name:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))


def observation(seed: int = 0, speed: float = 4.2, targets=((14.0, -1.5), (38.0, 3.0)),
                frames: int = 4, height: int = 96, width: int = 192, tick: int = 0) -> Observation:
    rng = np.random.default_rng(seed)
    return Observation(
        tick=tick, timestamp=tick * 0.05,
        images=rng.integers(0, 256, (frames, height, width, 3), dtype=np.uint8),
        lidar_bev=(rng.random((2, 64, 64)) < 0.1).astype(np.float32),
        lidar_points=np.zeros((0, 4), np.float32), speed=speed,
        target_points=np.asarray(targets, np.float32), command=4,
        route=np.zeros((20, 2), np.float32), ego=EgoState(np.zeros(2), 0.0, speed),
    )
