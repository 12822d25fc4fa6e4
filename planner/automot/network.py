"""The AutoMoT network: HF Qwen3-VL (UE) + action expert (AE) + BEV encoder + task heads.

`forward` is the joint teacher-forced training pass: UE and AE run layer by layer, each
layer one shared attention over the packed sequence [UE prefix ‖ AE tokens] with the
mask of masks.py, and returns the dict of weighted losses of the release. The UE layers are
HF's modules called in order (with DeepStack after the first layers, as HF does); the
UE part never reads AE tokens, so its K/V equal the prefill's (tested). In the last layer
the UE contributes only keys and values: its queries, MLP and final norm are read by nobody.
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
from planner.automot.decisions import IGNORE_INDEX
from planner.automot.heads import AEHeads, AEInputs, AEOutputs
from planner.automot.masks import ae_block_ids, ae_mask, joint_mask
from planner.automot.model_config import LossConfig, ModelConfig
from planner.automot.shared_attention import cached_attention, joint_attention, ue_finish, ue_kv, ue_qkv
from planner.automot.sizes import SizeSpec
from planner.automot.understanding import UEBatch, embed_prefix, ue_prefix_mask


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
    waypoints: torch.Tensor  # [B, 6, 2] ego frame m, positions at +0.5 s .. +3 s
    route: torch.Tensor  # [B, 20, 2] ego frame m
    speed: torch.Tensor  # [B, 3] m/s at +1 s, +2 s, +3 s (the release's future_speeds)
    decision_ids: torch.Tensor  # [B, 8] long, DecisionCodec.targets: <|im_start|> words <|im_end|>, -100


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
        self.bev_encoder_name = config.bev_encoder or spec.bev_encoder
        self.bev_encoder = build_bev_encoder(self.bev_encoder_name, spec, config.transfuser or spec.transfuser)
        self.freeze_bev = (config.freeze_bev_encoder if config.freeze_bev_encoder is not None
                           else self.bev_encoder_name == "transfuser")
        self.inputs = AEInputs(spec, self.bev_encoder.out_channels)
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
        """UE text (with the tied LM head), vision and (for the transfuser) the BEV encoder frozen
        unless the config says otherwise, as the release trains (freeze_llm_und, freeze_vit)."""
        for p in self.understanding.model.language_model.parameters():
            p.requires_grad_(not self.config.freeze_understanding)
        for p in self.understanding.model.visual.parameters():
            p.requires_grad_(not self.config.freeze_vision)
        for p in self.bev_encoder.parameters():
            p.requires_grad_(not self.freeze_bev)
        for p in self.unread_ue_parameters():
            p.requires_grad_(False)

    def unread_ue_parameters(self) -> list[nn.Parameter]:
        """UE weights no output depends on: in the last layer the UE gives only keys and values, so
        its queries, output projection, MLP and the final norm never get a gradient. They stay
        frozen (an optimiser would only decay them; DDP would wait for their gradients)."""
        last = self.text_model.layers[-1]
        attn = last.self_attn
        unread = [attn.q_proj, attn.q_norm, attn.o_proj, last.mlp, last.post_attention_layernorm, self.text_model.norm]
        return [p for module in unread for p in module.parameters()]

    def train(self, mode: bool = True) -> AutoMoTNetwork:
        """A frozen BEV encoder stays in eval mode (BatchNorm statistics, no dropout), as released."""
        super().train(mode)
        if self.freeze_bev:
            self.bev_encoder.eval()
        return self

    def param_counts(self) -> dict[str, int]:
        def count(module: nn.Module) -> int:
            return sum(p.numel() for p in module.parameters())

        counts = {
            "ue_text_params": count(self.understanding.model.language_model),
            "ue_vision_params": count(self.understanding.model.visual),
            "ae_params": count(self.action_expert),
            "bev_params": count(self.bev_encoder),  # the release's bev_encoder.* (projection: heads)
            "heads_params": count(self.inputs) + count(self.heads),
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
        param = self.action_expert.norm.weight
        ae = ae.to(param.device, param.dtype)  # a float32 batch feeds a bf16 model
        prefix = embed_prefix(self.understanding, ue)
        h_ue = prefix.inputs_embeds  # [B, Tu, H]
        h_ae = self.ae_tokens(ae).to(h_ue.dtype)  # [B, Ta, H]
        cos_u, sin_u = text.rotary_emb(h_ue, ue.position_ids)  # [B, Tu, D]
        cos_a, sin_a = text.rotary_emb(h_ae, self.ae_positions(ue.next_position))  # [B, Ta, D]
        mask = joint_mask(ue_prefix_mask(self.understanding, ue), ue.attention_mask, self.block_ids)
        last = len(text.layers) - 1
        keys, values = [], []
        for i, (ue_layer, ae_layer) in enumerate(zip(text.layers, self.action_expert.layers)):
            qkv_a = ae_layer.qkv(h_ae, cos_a, sin_a)
            if i == last:  # only the AE reads this layer: the UE gives keys and values, nothing else
                k_u, v_u = ue_kv(ue_layer, h_ue, cos_u, sin_u)
                out_a = cached_attention(k_u, v_u, qkv_a, ae_mask(ue.attention_mask, self.block_ids), self.groups)
            else:
                q_u, k_u, v_u = ue_qkv(ue_layer, h_ue, cos_u, sin_u)
                out_u, out_a = joint_attention((q_u, k_u, v_u), qkv_a, mask)
                h_ue = ue_finish(ue_layer, h_ue, out_u)
                if i < len(prefix.deepstack):  # HF adds DeepStack visual features after the first layers
                    h_ue = text._deepstack_process(h_ue, prefix.visual_pos_masks, prefix.deepstack[i])
            h_ae = ae_layer.finish(h_ae, out_a)
            keys.append(k_u)
            values.append(v_u)
        return JointOutputs(self.ae_outputs(h_ae), tuple(keys), tuple(values))

    def forward(self, ue: UEBatch, ae: AEBatch, targets: Targets, return_outputs: bool = False
                ) -> dict[str, torch.Tensor] | tuple[dict[str, torch.Tensor], AEOutputs]:
        """Joint training pass -> {'loss', 'waypoint', 'route', 'speed', 'decision'} (weighted);
        with return_outputs also the AE's outputs (validation: one pass through the wrapped
        module, which is where DDP / FSDP hook in)."""
        out = self.forward_joint(ue, ae).ae
        losses = compute_losses(out, targets, self.config.loss)
        return (losses, out) if return_outputs else losses


def step_offsets(points: torch.Tensor) -> torch.Tensor:
    """[B, N, 2] points -> [B, N, 2] steps (the first from the origin), the release's position_to_offset."""
    return torch.cat([points[:, :1], points[:, 1:] - points[:, :-1]], dim=1)


def compute_losses(out: AEOutputs, targets: Targets, weights: LossConfig) -> dict[str, torch.Tensor]:
    """The release's losses (AutoMoT.forward + train_automot.py), weighted; computed in float32."""
    steps = torch.tensor(weights.waypoint_step_weights, dtype=torch.float32, device=out.waypoints.device)
    if steps.numel() != out.waypoints.shape[1]:
        raise ValueError(f"loss.waypoint_step_weights has {steps.numel()} entries for "
                         f"{out.waypoints.shape[1]} waypoints")
    pred_steps = out.waypoint_steps.float()
    l1 = (pred_steps - step_offsets(targets.waypoints.float())).abs() * steps[None, :, None]
    normaliser = (steps.sum() * pred_steps.shape[0] * pred_steps.shape[2]).clamp(min=1.0)  # B * sum(w) * 2
    logits = out.decision_logits.float()
    losses = {
        "waypoint": weights.waypoint_weight * l1.sum() / normaliser,
        "route": weights.route_weight * F.l1_loss(out.route.float(), targets.route.float()),
        "speed": weights.speed_weight * F.smooth_l1_loss(out.speed.float(), targets.speed.float(),
                                                         beta=weights.speed_beta_mps),
        # Mean over the labelled slots (the release: sum / count of labels != -100).
        "decision": weights.decision_weight * F.cross_entropy(
            logits.flatten(0, 1), targets.decision_ids.flatten(), ignore_index=IGNORE_INDEX),
    }
    losses["loss"] = sum(losses.values())
    return losses
