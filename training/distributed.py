"""torchrun's environment, the process group, and the DDP / FSDP wrapping.

One process per device, as the release trains: torchrun sets RANK / WORLD_SIZE / LOCAL_RANK;
without them this is one process and nothing is wrapped. CUDA uses NCCL, CPU uses gloo (the
tests run two CPU ranks). Model and optimiser state move through torch.distributed.checkpoint's
state_dict API as full (unsharded) tensors, so a checkpoint never depends on how it was trained.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_optimizer_state_dict,
    set_model_state_dict,
    set_optimizer_state_dict,
)


@dataclass(frozen=True)
class DistEnv:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Rank 0 alone logs and writes checkpoints."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def dist_env() -> DistEnv:
    return DistEnv(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                   int(os.environ.get("LOCAL_RANK", 0)))


def device_for(env: DistEnv, configured: str) -> torch.device:
    """model.device 'cuda' under torchrun means this rank's own GPU."""
    device = torch.device(configured)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", env.local_rank)
        torch.cuda.set_device(device)
    return device


def init_process_group(env: DistEnv, device: torch.device) -> None:
    if env.distributed and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=env.rank, world_size=env.world)


def close_process_group() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def wrap(network: nn.Module, env: DistEnv, parallel: str, device: torch.device) -> nn.Module:
    """The module the training step calls: the network itself, DDP around it, or FSDP2-sharded."""
    if not env.distributed:
        return network
    if parallel == "ddp":
        # Every trainable parameter gets a gradient (the last UE layer's unread weights are frozen
        # by AutoMoTNetwork.set_trainable), so DDP needs no search for unused ones.
        return nn.parallel.DistributedDataParallel(network, device_ids=[device.index] if device.type == "cuda" else None)
    if parallel == "fsdp":
        from torch.distributed.fsdp import fully_shard

        # One FSDP unit around the whole network: the joint forward calls each AE layer's qkv()
        # and finish() halves directly (not through the layer's __call__, where per-layer FSDP
        # hooks would gather its shards), so the root gathers all parameters for the pass.
        fully_shard(network)
        return network
    raise ValueError(f"unknown run.parallel {parallel!r}")


def unwrap(module: nn.Module) -> nn.Module:
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module


_FULL = StateDictOptions(full_state_dict=True, cpu_offload=True)


def full_model_state(module: nn.Module) -> dict[str, torch.Tensor]:
    """Unsharded CPU tensors (every rank must call this under FSDP; rank 0 gets them)."""
    return get_model_state_dict(unwrap(module), options=_FULL)


def full_optimizer_state(module: nn.Module, optimizer: torch.optim.Optimizer) -> dict:
    return get_optimizer_state_dict(unwrap(module), optimizer, options=_FULL)


def load_full_state(module: nn.Module, optimizer: torch.optim.Optimizer | None, model_state: dict,
                    optimizer_state: dict | None) -> None:
    options = StateDictOptions(full_state_dict=True, strict=True)
    set_model_state_dict(unwrap(module), model_state, options=options)
    if optimizer is not None and optimizer_state is not None:
        set_optimizer_state_dict(unwrap(module), optimizer, optimizer_state, options=options)


def mean_across_ranks(values: dict[str, float], env: DistEnv, device: torch.device) -> dict[str, float]:
    if not env.distributed or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return {k: float(v) / env.world for k, v in zip(keys, t.tolist())}


def barrier(env: DistEnv) -> None:
    if env.distributed:
        dist.barrier()
