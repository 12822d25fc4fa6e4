"""The AutoMoT network: HF Qwen3-VL (UE) + action expert (AE) + BEV encoder + task heads.

`forward` is the joint teacher-forced training pass: UE and AE run layer by layer, each
layer one shared attention over the packed sequence [UE prefix ‖ AE tokens] with the
mask of masks.py, and returns the dict of weighted published losses. The UE layers are
HF's modules called in order (with DeepStack after the first layers, as HF does); the
UE part never reads AE tokens, so its K/V equal HF's own prefill (tested).
runtime.py holds the split inference form (understand -> cache, act on the cache).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import Qwen3VLForConditionalGeneration

from planner.automot.action_expert import ActionExpert
from planner.automot.bev_encoder import build_bev_encoder
from planner.automot.heads import AEHeads, AEInputs, AEOutputs
from planner.automot.masks import ae_block_ids, joint_mask
from planner.automot.model_config import LossConfig, ModelConfig
from planner.automot.shared_attention import joint_attention, ue_finish, ue_qkv
from planner.automot.sizes import SizeSpec
from planner.automot.understanding import UEBatch, embed_prefix


@dataclass(frozen=True)
class AEBatch:
    """Per-tick AE inputs for B samples."""

    camera: torch.Tensor  # [B, 3, h, w] float32 RGB in [0, 1], the newest front frame (bev_camera_size)
    lidar_bev: torch.Tensor  # [B, 2, S, S] float32 in [0, 1]
    target_points: torch.Tensor  # [B, 2, 2] float32 ego frame m
    speed: torch.Tensor  # [B] float32 m/s

    def to(self, device: torch.device | str, dtype: torch.dtype | None = None) -> AEBatch:
        return AEBatch(**{k: getattr(self, k).to(device, dtype) for k in self.__dataclass_fields__})


@dataclass(frozen=True)
class Targets:
    waypoints: torch.Tensor  # [B, 6, 2] ego frame m
    route: torch.Tensor  # [B, 20, 2] ego frame m
    speed: torch.Tensor  # [B, 3] m/s
    decision_ids: torch.Tensor  # [B, 8] long, DecisionCodec.targets


@dataclass(frozen=True)
class JointOutputs:
    ae: AEOutputs
    ue_keys: tuple[torch.Tensor, ...]  # per layer [B, Hkv, Tu, D], as a cache would hold them
    ue_values: tuple[torch.Tensor, ...]


def _init_task_weights(module: nn.Module, std: float) -> None:
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, mean=0.0, std=std)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)


class AutoMoTNetwork(nn.Module):
    def __init__(self, spec: SizeSpec, config: ModelConfig, understanding: Qwen3VLForConditionalGeneration) -> None:
        super().__init__()
        self.spec, self.config = spec, config
        self.understanding = understanding  # HF Qwen3-VL, built from config or from_pretrained
        self.action_expert = ActionExpert(spec)
        self.bev_encoder = build_bev_encoder(config.bev_encoder, spec)
        self.inputs = AEInputs(spec)
        self.heads = AEHeads(spec)
        std = understanding.config.text_config.initializer_range
        for part in (self.action_expert, self.inputs, self.heads):
            _init_task_weights(part, std)
        self.register_buffer("block_ids", ae_block_ids(spec.ae_block_sizes), persistent=False)  # [Ta]
        self.groups = spec.text.num_heads // spec.text.num_kv_heads
        self.set_trainable()

    # --- parts -----------------------------------------------------------------------------
    @property
    def text_model(self) -> nn.Module:
        return self.understanding.model.language_model

    @property
    def lm_head(self) -> nn.Module:
        return self.understanding.lm_head  # tied to the UE's token embeddings

    def set_trainable(self) -> None:
        """UE text (with the tied LM head) and vision frozen unless the config says otherwise."""
        for p in self.understanding.model.language_model.parameters():
            p.requires_grad_(not self.config.freeze_understanding)
        for p in self.understanding.model.visual.parameters():
            p.requires_grad_(not self.config.freeze_vision)

    def param_counts(self) -> dict[str, int]:
        def count(module: nn.Module) -> int:
            return sum(p.numel() for p in module.parameters())

        counts = {
            "ue_text_params": count(self.understanding.model.language_model),
            "ue_vision_params": count(self.understanding.model.visual),
            "ae_params": count(self.action_expert),
            "bev_params": count(self.bev_encoder) + count(self.inputs.bev_proj),
            "heads_params": count(self.inputs) - count(self.inputs.bev_proj) + count(self.heads),
        }
        counts["ue_params"] = count(self.understanding)  # tied LM head counted once
        counts["total_params"] = count(self)
        return counts

    # --- shared pieces of both forms -----------------------------------------------------------
    def ae_positions(self, next_position: torch.Tensor) -> torch.Tensor:
        """[B] first free position -> [3, B, Ta]: AE tokens continue after the prefix, text-like."""
        steps = torch.arange(self.block_ids.numel(), device=next_position.device)
        return (next_position[:, None] + steps[None, :])[None].expand(3, -1, -1)

    def ae_tokens(self, batch: AEBatch) -> torch.Tensor:
        """[B, Ta, H] AE input tokens (BEV encoder runs here, every tick)."""
        return self.inputs(self.bev_encoder(batch.camera, batch.lidar_bev), batch.target_points, batch.speed)

    def ae_outputs(self, hidden: torch.Tensor) -> AEOutputs:
        return self.heads(self.action_expert.norm(hidden), self.lm_head)

    # --- joint teacher-forced forward ----------------------------------------------------------
    def forward_joint(self, ue: UEBatch, ae: AEBatch) -> JointOutputs:
        text = self.text_model
        prefix = embed_prefix(self.understanding, ue)
        h_ue = prefix.inputs_embeds  # [B, Tu, H]
        h_ae = self.ae_tokens(ae).to(h_ue.dtype)  # [B, Ta, H]
        cos_u, sin_u = text.rotary_emb(h_ue, ue.position_ids)  # [B, Tu, D]
        cos_a, sin_a = text.rotary_emb(h_ae, self.ae_positions(ue.next_position))  # [B, Ta, D]
        mask = joint_mask(ue.attention_mask, self.block_ids)  # [B, 1, Tu+Ta, Tu+Ta]
        keys, values = [], []
        for i, (ue_layer, ae_layer) in enumerate(zip(text.layers, self.action_expert.layers)):
            q_u, k_u, v_u = ue_qkv(ue_layer, h_ue, cos_u, sin_u)
            qkv_a = ae_layer.qkv(h_ae, cos_a, sin_a)
            out_u, out_a = joint_attention((q_u, k_u, v_u), qkv_a, mask)
            h_ue = ue_finish(ue_layer, h_ue, out_u)
            h_ae = ae_layer.finish(h_ae, out_a)
            if i < len(prefix.deepstack):  # HF adds DeepStack visual features after the first layers
                h_ue = text._deepstack_process(h_ue, prefix.visual_pos_masks, prefix.deepstack[i])
            keys.append(k_u)
            values.append(v_u)
        return JointOutputs(self.ae_outputs(h_ae), tuple(keys), tuple(values))

    def forward(self, ue: UEBatch, ae: AEBatch, targets: Targets) -> dict[str, torch.Tensor]:
        """Joint training pass -> {'loss', 'waypoint', 'route', 'speed', 'decision'} (weighted)."""
        return compute_losses(self.forward_joint(ue, ae).ae, targets, self.config.loss)


def compute_losses(out: AEOutputs, targets: Targets, weights: LossConfig) -> dict[str, torch.Tensor]:
    steps = torch.tensor(weights.waypoint_step_weights, dtype=out.waypoints.dtype, device=out.waypoints.device)
    if steps.numel() != out.waypoints.shape[1]:
        raise ValueError(f"loss.waypoint_step_weights has {steps.numel()} entries for "
                         f"{out.waypoints.shape[1]} waypoints")
    per_step = (out.waypoints - targets.waypoints).abs().mean(dim=(0, 2))  # [6] mean L1 per step
    logits = out.decision_logits.float()
    losses = {
        "waypoint": weights.waypoint_weight * (per_step * steps).mean(),
        "route": weights.route_weight * F.l1_loss(out.route, targets.route),
        "speed": weights.speed_weight * F.smooth_l1_loss(out.speed, targets.speed, beta=weights.speed_beta_mps),
        "decision": weights.decision_weight * F.cross_entropy(logits.flatten(0, 1), targets.decision_ids.flatten()),
    }
    losses["loss"] = sum(losses.values())
    return losses
