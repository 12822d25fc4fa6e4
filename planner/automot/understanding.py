"""Understanding expert (UE): transformers' Qwen3-VL, its inputs, and its prefill.

The UE is `Qwen3VLForConditionalGeneration` itself (weights and modules are HF's).
This module prepares what it reads: the chat prompt with four frames through
transformers' Qwen-VL image processor (the pillow one: torchvision does not import
here), `mm_token_type_ids`, and explicit mRoPE position ids. Position ids are always
passed explicitly: HF's implicit path stores `rope_deltas` on the model, shared
mutable state that would break `understand` running beside `act` in another thread.

The prefill calls HF's decoder modules layer by layer with the release's prefix mask
(image blocks bidirectional, masks.prefix_mask), and stops where nothing is read any more:
the last layer contributes only its keys and values (no queries, attention, MLP or final
norm; the AE reads the cache, never the UE's hidden states).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

from planner.automot.masks import prefix_mask
from planner.automot.model_config import ModelConfig
from planner.automot.prompt import build_prompt
from planner.automot.shared_attention import attend, ue_finish, ue_kv, ue_qkv
from planner.automot.sizes import SizeSpec
from planner.automot.tokenizer import TextTokenizer

QWEN3_VL_IMAGE_MEAN = (0.5, 0.5, 0.5)  # Qwen3-VL preprocessor_config.json
QWEN3_VL_IMAGE_STD = (0.5, 0.5, 0.5)


def build_qwen_config(spec: SizeSpec, tokenizer: TextTokenizer, attn_implementation: str) -> Qwen3VLConfig:
    t, v, sp = spec.text, spec.vision, tokenizer.special
    return Qwen3VLConfig(
        text_config=dict(
            vocab_size=t.vocab_size, hidden_size=t.hidden_size, intermediate_size=t.intermediate_size,
            num_hidden_layers=t.num_layers, num_attention_heads=t.num_heads, num_key_value_heads=t.num_kv_heads,
            head_dim=t.head_dim, max_position_embeddings=t.max_position_embeddings, rms_norm_eps=t.rms_norm_eps,
            rope_parameters={"rope_type": "default", "rope_theta": t.rope_theta,
                             "mrope_section": list(t.mrope_section), "mrope_interleaved": True},
            tie_word_embeddings=True, pad_token_id=sp.pad,
        ),
        vision_config=dict(
            depth=v.depth, hidden_size=v.hidden_size, intermediate_size=v.intermediate_size, num_heads=v.num_heads,
            patch_size=v.patch_size, temporal_patch_size=v.temporal_patch_size,
            spatial_merge_size=v.spatial_merge_size, out_hidden_size=t.hidden_size,
            num_position_embeddings=v.num_position_embeddings, deepstack_visual_indexes=list(v.deepstack_indexes),
        ),
        image_token_id=sp.image_pad, video_token_id=sp.video_pad,
        vision_start_token_id=sp.vision_start, vision_end_token_id=sp.vision_end,
        tie_word_embeddings=True, attn_implementation=attn_implementation,
    )


def build_image_processor(spec: SizeSpec, qwen_path: str | None) -> Qwen2VLImageProcessorPil:
    """Qwen's own preprocessor settings when a local Qwen folder has them, else Qwen3-VL's defaults."""
    w, h = spec.image_size
    if qwen_path and (Path(qwen_path) / "preprocessor_config.json").is_file():
        processor = Qwen2VLImageProcessorPil.from_pretrained(qwen_path)
    else:
        v = spec.vision
        processor = Qwen2VLImageProcessorPil(
            patch_size=v.patch_size, temporal_patch_size=v.temporal_patch_size, merge_size=v.spatial_merge_size,
            image_mean=list(QWEN3_VL_IMAGE_MEAN), image_std=list(QWEN3_VL_IMAGE_STD),
            size={"shortest_edge": w * h, "longest_edge": w * h},
        )
    patches = processor.get_number_of_image_patches(h, w)
    if patches // processor.merge_size**2 != spec.visual_tokens_per_frame:
        raise ValueError(f"image processor turns {w}x{h} into {patches} patches, expected "
                         f"{spec.visual_tokens_per_frame} tokens per frame (patch/merge settings differ)")
    return processor


@dataclass(frozen=True)
class UEBatch:
    """Tokenised, left-padded UE inputs for B samples (each with F frames)."""

    input_ids: torch.Tensor  # [B, T] long
    attention_mask: torch.Tensor  # [B, T] long, 1 = real token (left padding)
    mm_token_type_ids: torch.Tensor  # [B, T] int, 1 = image placeholder
    pixel_values: torch.Tensor  # [B*F*patches, 3*temporal*patch*patch] float32, normalised
    image_grid_thw: torch.Tensor  # [B*F, 3] long, (1, rows, cols) patches per frame
    position_ids: torch.Tensor  # [3, B, T] long, mRoPE (t, h, w); padding at 0
    next_position: torch.Tensor  # [B] long, first position after the prefix (AE tokens start here)

    def to(self, device: torch.device | str) -> UEBatch:
        return UEBatch(**{k: getattr(self, k).to(device) for k in self.__dataclass_fields__})


def select_frames(images: np.ndarray, num_frames: int) -> list[np.ndarray]:
    """[T, H, W, 3] oldest -> newest; the last `num_frames`, the oldest repeated when fewer."""
    frames = [images[i] for i in range(len(images))][-num_frames:]
    if not frames:
        raise ValueError("the observation holds no camera frame")
    return [frames[0]] * (num_frames - len(frames)) + frames


def read_speed(config: ModelConfig, speed: float) -> float:
    """The ego speed (m/s) the network reads: the measured one, or 0 when it reads none."""
    return float(speed) if config.ego_speed_input else 0.0


class UEInputBuilder:
    """Observation parts -> UEBatch. Pure (no state changes): safe from any thread."""

    def __init__(self, spec: SizeSpec, config: ModelConfig, tokenizer: TextTokenizer,
                 processor: Qwen2VLImageProcessorPil, rope_index: Callable[..., tuple[torch.Tensor, torch.Tensor]]):
        self.spec, self.config, self.tokenizer, self.processor = spec, config, tokenizer, processor
        self.rope_index = rope_index  # Qwen3VLModel.get_rope_index (pure)

    def resize(self, frame: np.ndarray) -> np.ndarray:
        """The release resizes each frame with PIL's LANCZOS (InterleaveInferencer.resize_image)."""
        w, h = self.spec.image_size
        if frame.shape[:2] == (h, w):
            return np.ascontiguousarray(frame)
        return np.asarray(Image.fromarray(np.ascontiguousarray(frame)).resize((w, h), Image.Resampling.LANCZOS))

    def build(self, images: Sequence[np.ndarray], target_points: Sequence[np.ndarray],
              speeds: Sequence[float]) -> UEBatch:
        """images[b]: [T, H, W, 3] uint8 RGB; target_points[b]: [2, 2] ego m; speeds[b]: m/s."""
        prompts, frames = [], []
        for imgs, tps, speed in zip(images, target_points, speeds, strict=True):
            prompts.append(build_prompt(self.tokenizer, self.config.prompt, self.spec.visual_tokens_per_frame,
                                        self.config.num_frames, tps, read_speed(self.config, speed)))
            frames.extend(self.resize(f) for f in select_frames(imgs, self.config.num_frames))
        length = max(len(p.input_ids) for p in prompts)
        pad = self.tokenizer.special.pad
        ids = torch.full((len(prompts), length), pad, dtype=torch.long)
        mask = torch.zeros((len(prompts), length), dtype=torch.long)
        types = torch.zeros((len(prompts), length), dtype=torch.int32)
        for b, p in enumerate(prompts):  # left padding: every prefix ends at the same index
            n = len(p.input_ids)
            ids[b, length - n:] = torch.tensor(p.input_ids)
            types[b, length - n:] = torch.tensor(p.mm_token_type_ids, dtype=torch.int32)
            mask[b, length - n:] = 1
        pixels = self.processor(images=frames, return_tensors="pt")
        grid = pixels["image_grid_thw"].long()
        position_ids, _ = self.rope_index(ids, mm_token_type_ids=types, image_grid_thw=grid, attention_mask=mask)
        next_position = position_ids.masked_fill(mask[None] == 0, -1).amax(dim=(0, 2)) + 1
        return UEBatch(ids, mask, types, pixels["pixel_values"].float(), grid, position_ids, next_position)


@dataclass(frozen=True)
class PrefixEmbeddings:
    inputs_embeds: torch.Tensor  # [B, T, H] text embeddings with the merged visual tokens scattered in
    visual_pos_masks: torch.Tensor  # [B, T] bool, image placeholder positions
    deepstack: tuple[torch.Tensor, ...]  # per deepstack layer [n_visual, H], added after text layer i


def embed_prefix(model: Qwen3VLForConditionalGeneration, batch: UEBatch) -> PrefixEmbeddings:
    """The embedding half of Qwen3VLModel.forward (images only), through HF's own methods."""
    core = model.model
    embeds = core.get_input_embeddings()(batch.input_ids)
    vision = core.get_image_features(batch.pixel_values, batch.image_grid_thw, return_dict=True)
    image_embeds = torch.cat(vision.pooler_output, dim=0).to(embeds.device, embeds.dtype)
    image_mask, _ = core.get_placeholder_mask(batch.input_ids, inputs_embeds=embeds, image_features=image_embeds)
    embeds = embeds.masked_scatter(image_mask, image_embeds)
    deepstack = tuple(torch.cat(f, dim=0) for f in vision.deepstack_features)
    return PrefixEmbeddings(embeds, image_mask[..., 0], deepstack)


def ue_prefix_mask(model: Qwen3VLForConditionalGeneration, batch: UEBatch) -> torch.Tensor:
    """[B, 1, Tu, Tu] bool: the release's prefill mask for this batch (masks.prefix_mask)."""
    cfg = model.config
    return prefix_mask(batch.input_ids, batch.attention_mask, cfg.vision_start_token_id, cfg.vision_end_token_id)


def prefill(model: Qwen3VLForConditionalGeneration, batch: UEBatch
            ) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
    """The UE over the prefix -> per layer (keys, values) [B, Hkv, Tu, D], k after norm + RoPE."""
    text = model.model.language_model
    prefix = embed_prefix(model, batch)
    hidden = prefix.inputs_embeds
    cos, sin = text.rotary_emb(hidden, batch.position_ids)
    mask = ue_prefix_mask(model, batch)
    groups = model.config.text_config.num_attention_heads // model.config.text_config.num_key_value_heads
    keys, values = [], []
    last = len(text.layers) - 1
    for i, layer in enumerate(text.layers):
        if i == last:
            k, v = ue_kv(layer, hidden, cos, sin)
        else:
            q, k, v = ue_qkv(layer, hidden, cos, sin)
            hidden = ue_finish(layer, hidden, attend(q, k, v, mask, groups))
            if i < len(prefix.deepstack):  # HF adds DeepStack visual features after the first layers
                hidden = text._deepstack_process(hidden, prefix.visual_pos_masks, prefix.deepstack[i])
        keys.append(k)
        values.append(v)
    return tuple(keys), tuple(values)
