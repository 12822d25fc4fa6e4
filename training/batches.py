"""Dataset samples -> the network's training batch, built in the DataLoader workers.

The inputs go through the agent's own builders (UEInputBuilder for the UE prefix,
runtime.ae_batch_from_arrays for the AE), so what the network trains on is exactly what it
reads when it drives.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from data.dataset import DrivingBatch, DrivingSample, collate
from planner.automot.decisions import DecisionCodec
from planner.automot.network import AEBatch, AutoMoTNetwork, Targets
from planner.automot.runtime import ae_batch_from_arrays
from planner.automot.understanding import UEBatch, UEInputBuilder


@dataclass
class TrainBatch:
    ue: UEBatch
    ae: AEBatch
    targets: Targets
    data: DrivingBatch  # the collated sample tensors (labels, boxes for the open-loop metrics, names)

    def to(self, device: torch.device) -> TrainBatch:
        t = self.targets
        return TrainBatch(self.ue.to(device), self.ae.to(device),
                          Targets(t.waypoints.to(device), t.route.to(device), t.speed.to(device),
                                  t.decision_ids.to(device)), self.data)

    def where(self) -> str:
        """The samples' route and frame names, for error messages."""
        return ", ".join(f"{r}/{int(f):04d}" for r, f in zip(self.data.route_names, self.data.frames))


def speed_dropped(route_name: str, frame: int, seed: int, probability: float) -> bool:
    """Whether this sample's speed input is hidden: a pure function of the sample and the seed, so
    a resumed run and every DataLoader worker agree."""
    if probability <= 0.0:
        return False
    digest = hashlib.blake2b(f"{seed}/{route_name}/{frame}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") / 2.0**64 < probability


class BatchMaker:
    """collate_fn of the training and validation loaders (picklable by fork: plain references).

    speed_dropout: the share of training samples whose speed input (prompt and velocity token)
    reads 0 m/s. A car at rest is otherwise told by its own speed that it stays at rest: the
    network learns "standing -> keep standing" (inertia) instead of reading the scene."""

    def __init__(self, network: AutoMoTNetwork, builder: UEInputBuilder, codec: DecisionCodec,
                 speed_dropout: float = 0.0, seed: int = 0) -> None:
        self.network, self.builder, self.codec = network, builder, codec
        self.speed_dropout, self.seed = speed_dropout, seed

    def __call__(self, samples: Sequence[DrivingSample]) -> TrainBatch:
        data = collate(samples)
        images = [s.images for s in samples]  # [T, H, W, 3] each
        tps = [s.target_points for s in samples]
        speeds = [0.0 if speed_dropped(s.route_name, s.frame, self.seed, self.speed_dropout) else s.speed
                  for s in samples]
        ue = self.builder.build(images, tps, speeds)
        ae = ae_batch_from_arrays(self.network, [np.asarray(im[-1]) for im in images],
                                  [s.lidar_bev for s in samples], tps, speeds)
        targets = Targets(data.waypoints, data.route, data.speed_targets, self.codec.targets(data.decisions))
        return TrainBatch(ue, ae, targets, data)
