"""Asynchronous inference: understand -> cache (slow, ~10 Hz), act on the cache (fast, every tick).

    cache = runtime.understand(observation)        # Qwen3-VL prefill (HF modules, the release's mask), K/V
    plan  = runtime.act(observation, cache)        # BEV encoder + AE over [cache ‖ AE tokens]

`act` only reads the cache (new tensors for every concatenation), so two calls in a row
give identical plans and the cache keeps its length; it equals the joint training
forward on the same inputs. Nothing here keeps mutable state between calls, so
`understand` may run in a worker thread while `act` runs on an older cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np
import torch

from planner.automot.decisions import DecisionCodec
from planner.automot.heads import AEOutputs
from planner.automot.masks import ae_mask
from planner.automot.network import AEBatch, AutoMoTNetwork
from planner.automot.shared_attention import cached_attention
from planner.automot.understanding import UEBatch, UEInputBuilder, prefill, read_speed
from planner.interface import Observation, Plan

if TYPE_CHECKING:  # the refiner imports diffusers: only loaded when one is enabled
    from planner.automot.refiner import ActionRefiner


@dataclass(frozen=True)
class UECache:
    """What the UE hands the AE: every layer's keys/values of the prefix, and where it ends."""

    keys: tuple[torch.Tensor, ...]  # per layer [B, Hkv, Tu, D], after k-norm and RoPE
    values: tuple[torch.Tensor, ...]  # per layer [B, Hkv, Tu, D]
    prefix_mask: torch.Tensor  # [B, Tu] long, 1 = real token (left padding)
    next_position: torch.Tensor  # [B] long, the first AE token's position
    tick: int = -1  # the observation tick it was built from (-1: not from an observation)

    @property
    def length(self) -> int:
        return self.keys[0].shape[2]


class AutoMoTRuntime:
    def __init__(self, network: AutoMoTNetwork, builder: UEInputBuilder, codec: DecisionCodec,
                 refiner: ActionRefiner | None = None) -> None:
        self.network = network.eval()
        self.builder, self.codec = builder, codec
        self.refiner = None if refiner is None else refiner.to(next(network.parameters()).device).eval()
        param = next(network.parameters())
        self.device, self.dtype = param.device, param.dtype

    # --- tensor level -----------------------------------------------------------------------
    def understand_batch(self, ue: UEBatch, tick: int = -1) -> UECache:
        ue = ue.to(self.device)
        with torch.inference_mode():
            keys, values = prefill(self.network.understanding, ue)
            return UECache(keys, values, ue.attention_mask, ue.next_position, tick)

    def act_batch(self, ae: AEBatch, cache: UECache) -> AEOutputs:
        net = self.network
        ae = ae.to(self.device, self.dtype)
        with torch.inference_mode():
            hidden = net.ae_tokens(ae)  # [B, Ta, H]
            cos, sin = net.text_model.rotary_emb(hidden, net.ae_positions(cache.next_position))
            mask = ae_mask(cache.prefix_mask, net.block_ids)  # [B, 1, Ta, Tu+Ta]
            for layer, keys, values in zip(net.action_expert.layers, cache.keys, cache.values, strict=True):
                out = cached_attention(keys, values, layer.qkv(hidden, cos, sin), mask, net.groups)
                hidden = layer.finish(hidden, out)
            return net.ae_outputs(hidden)

    # --- observation level ------------------------------------------------------------------
    def ue_batch(self, observations: Sequence[Observation]) -> UEBatch:
        return self.builder.build([o.images for o in observations], [o.target_points for o in observations],
                                  [o.speed for o in observations])

    def ae_batch(self, observations: Sequence[Observation]) -> AEBatch:
        return ae_batch_from_arrays(self.network, [o.current_image for o in observations],
                                    [o.lidar_bev for o in observations], [o.target_points for o in observations],
                                    [o.speed for o in observations])

    def understand(self, observation: Observation) -> UECache:
        return self.understand_batch(self.ue_batch([observation]), tick=observation.tick)

    def act(self, observation: Observation, cache: UECache) -> Plan:
        if not isinstance(cache, UECache):
            raise TypeError(f"act needs the UECache from understand(), got {type(cache).__name__}")
        out = self.act_batch(self.ae_batch([observation]), cache)
        if self.refiner is not None:  # the refined waypoints and route replace the AE's
            with torch.inference_mode():
                out = self.refiner.refine(out)
        return self.to_plan(out)[0]

    def to_plan(self, out: AEOutputs) -> list[Plan]:
        decisions = self.codec.decode(out.decision_logits)
        waypoints = out.waypoints.float().cpu().numpy().astype(np.float32)
        route = out.route.float().cpu().numpy().astype(np.float32)
        return [Plan(waypoints=waypoints[b], route=route[b], decisions=tuple(decisions[b]))
                for b in range(len(decisions))]


def bev_frame(network: AutoMoTNetwork, frame: np.ndarray) -> np.ndarray:
    """The newest camera frame [H, W, 3] uint8 RGB -> what the BEV encoder reads (bev_camera_size,
    then the encoder's own preparation: the transfuser's JPEG round trip)."""
    w, h = network.spec.bev_camera_size
    if frame.shape[:2] != (h, w):
        frame = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
    return network.bev_encoder.prepare_frame(frame)


def ae_batch_from_arrays(network: AutoMoTNetwork, frames: Sequence[np.ndarray], lidar_bevs: Sequence[np.ndarray],
                         target_points: Sequence[np.ndarray], speeds: Sequence[float]) -> AEBatch:
    """The AE's per-tick inputs, built one way for the agent and for training:
    frames[b] [H, W, 3] uint8 RGB (the newest), lidar_bevs[b] [2, S, S], target_points[b] [2, 2] ego m,
    speeds[b] m/s."""
    cams = [bev_frame(network, np.asarray(f)) for f in frames]
    return AEBatch(
        camera=torch.from_numpy(np.stack(cams)).permute(0, 3, 1, 2).float() / 255.0,
        lidar_bev=torch.from_numpy(np.stack([np.asarray(b, np.float32) for b in lidar_bevs])),
        target_points=torch.from_numpy(np.stack([np.asarray(t, np.float32).reshape(2, 2) for t in target_points])),
        speed=torch.tensor([read_speed(network.config, v) for v in speeds], dtype=torch.float32),
    )
