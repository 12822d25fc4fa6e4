"""What one `automot train` run trains: the network (stage 'network') or, with the network frozen,
the action refiner on top of it (stage 'refiner', AutoMoT+).

A stage is the module the loop wraps (DDP / FSDP) and calls as module(ue, ae, targets) -> losses,
plus how its trainable part is written into a checkpoint folder and read back on resume.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from planner.automot.checkpoint import load_checkpoint, save_checkpoint
from planner.automot.heads import AEOutputs
from planner.automot.network import AEBatch, AutoMoTNetwork, Targets
from planner.automot.refiner import ActionRefiner, load_refiner
from planner.automot.understanding import UEBatch

REFINER_PREFIX = "refiner."


class RefinerStage(nn.Module):
    """The frozen network (always in eval mode) and the refiner it feeds."""

    def __init__(self, network: AutoMoTNetwork, refiner: ActionRefiner) -> None:
        super().__init__()
        self.network, self.refiner = network, refiner
        for p in network.parameters():
            p.requires_grad_(False)

    def train(self, mode: bool = True) -> RefinerStage:
        super().train(mode)
        self.network.eval()
        return self

    def forward(self, ue: UEBatch, ae: AEBatch, targets: Targets, return_outputs: bool = False):
        with torch.no_grad():
            base = self.network.forward_joint(ue, ae).ae
        loss = self.refiner.loss(base, targets.waypoints, targets.route)
        losses = {"refiner": loss, "loss": loss}
        if not return_outputs:
            return losses
        # validation: the refined plan, and the network's own for the comparison
        return losses, self.refiner.refine(base), base


@dataclass
class Stage:
    module: nn.Module  # what the loop wraps and calls
    save: Callable[[dict[str, torch.Tensor], Path], None]  # (full state of `module`, folder)
    load: Callable[[Path], None]  # resume: the trainable part from a step's model folder


def network_stage(network: AutoMoTNetwork, tokenizer) -> Stage:
    def save(state: dict[str, torch.Tensor], path: Path) -> None:
        save_checkpoint(network, tokenizer, path, state=state)

    def load(path: Path) -> None:
        load_checkpoint(network, path, strict=True)

    return Stage(network, save, load)


def refiner_stage(network: AutoMoTNetwork, refiner: ActionRefiner) -> Stage:
    stage = RefinerStage(network, refiner)

    def save(state: dict[str, torch.Tensor], path: Path) -> None:
        own = {k[len(REFINER_PREFIX):]: v for k, v in state.items() if k.startswith(REFINER_PREFIX)}
        refiner.save(path, state=own)

    def load(path: Path) -> None:
        refiner.load_state_dict(load_refiner(path, network.spec).state_dict(), strict=True)

    return Stage(stage, save, load)


def outputs_of(result) -> tuple[dict[str, torch.Tensor], AEOutputs, AEOutputs | None]:
    """module(..., return_outputs=True) of either stage -> (losses, plan, the base network's plan or None)."""
    if len(result) == 3:
        return result[0], result[1], result[2]
    return result[0], result[1], None
