"""Shared attention between the experts, in its two forms.

joint_attention   training: one attention over the packed sequence [UE prefix ‖ AE tokens]
                  with the full mask of masks.py (the AE's heads placed into the UE's head
                  layout: AE query head h -> slot h, AE KV head j -> KV slot j).
cached_attention  inference: AE queries only, over [cached UE K/V ‖ AE K/V]. It reads the
                  cache and never writes it.
Both use the UE's GQA grouping g = UE heads / UE KV heads, so AE query head h reads
KV head h // g (at full: AE heads 0-15 read UE KV heads 0-3), and the UE's scale
head_dim ** -0.5.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from transformers.models.qwen3_vl.modeling_qwen3_vl import (
    Qwen3VLTextDecoderLayer,
    repeat_kv,
    rotate_half,
)


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """HF's apply_rotary_pos_emb for one tensor. x [B, H, T, D]; cos/sin [B, T, D]."""
    return x * cos[:, None] + rotate_half(x) * sin[:, None]


def _kv(attn: torch.nn.Module, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor
        ) -> tuple[torch.Tensor, torch.Tensor]:
    b, t, _ = x.shape
    shape = (b, t, -1, attn.head_dim)
    k = attn.k_norm(attn.k_proj(x).view(shape)).transpose(1, 2)
    return rotate(k, cos, sin), attn.v_proj(x).view(shape).transpose(1, 2)


def ue_kv(layer: Qwen3VLTextDecoderLayer, hidden: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor
          ) -> tuple[torch.Tensor, torch.Tensor]:
    """The k/v part of HF's Qwen3VLTextAttention.forward, with HF's modules.
    hidden [B, Tu, H] -> k/v [B, Hkv, Tu, D] (k after norm + RoPE, as cached). The last UE layer
    needs only these: its queries, output and MLP are read by nobody."""
    return _kv(layer.self_attn, layer.input_layernorm(hidden), cos, sin)


def ue_qkv(layer: Qwen3VLTextDecoderLayer, hidden: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor
           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """ue_kv plus the queries: q [B, Hq, Tu, D]."""
    attn = layer.self_attn
    x = layer.input_layernorm(hidden)
    b, t, _ = x.shape
    q = attn.q_norm(attn.q_proj(x).view(b, t, -1, attn.head_dim)).transpose(1, 2)
    k, v = _kv(attn, x, cos, sin)
    return rotate(q, cos, sin), k, v


def ue_finish(layer: Qwen3VLTextDecoderLayer, hidden: torch.Tensor, attn: torch.Tensor) -> torch.Tensor:
    """The rest of HF's decoder layer: o-projection, residual, MLP. attn [B, Hq, Tu, D]."""
    b, _, t, _ = attn.shape
    hidden = hidden + layer.self_attn.o_proj(attn.transpose(1, 2).reshape(b, t, -1))
    return hidden + layer.mlp(layer.post_attention_layernorm(hidden))


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor, groups: int) -> torch.Tensor:
    """q [B, Hq, Tq, D]; k/v [B, Hkv, Tk, D]; mask [B, 1, Tq, Tk] bool -> [B, Hq, Tq, D]."""
    k, v = repeat_kv(k, groups), repeat_kv(v, groups)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=q.shape[-1] ** -0.5)


def joint_attention(ue: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
                    ae: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
                    mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """ue = (q [B,Hq,Tu,D], k, v [B,Hkv,Tu,D]); ae = (q [B,Ha,Ta,D], k, v [B,Hk,Ta,D]);
    mask [B,1,Tu+Ta,Tu+Ta]. Returns (UE out [B,Hq,Tu,D], AE out [B,Ha,Ta,D])."""
    (qu, ku, vu), (qa, ka, va) = ue, ae
    hq, hkv, tu = qu.shape[1], ku.shape[1], qu.shape[2]
    ha, hk = qa.shape[1], ka.shape[1]
    q = torch.cat([qu, F.pad(qa, (0, 0, 0, 0, 0, hq - ha))], dim=2)  # AE rows: unused heads are zero
    k = torch.cat([ku, F.pad(ka, (0, 0, 0, 0, 0, hkv - hk))], dim=2)
    v = torch.cat([vu, F.pad(va, (0, 0, 0, 0, 0, hkv - hk))], dim=2)
    out = attend(q, k, v, mask, hq // hkv)
    return out[:, :, :tu], out[:, :ha, tu:]


def cached_attention(cache_k: torch.Tensor, cache_v: torch.Tensor,
                     ae: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
                     mask: torch.Tensor, groups: int) -> torch.Tensor:
    """cache_k/v [B, Hkv_ue, Tu, D] (read only); ae q [B,Ha,Ta,D], k/v [B,Hk,Ta,D];
    mask [B,1,Ta,Tu+Ta]. Returns AE out [B, Ha, Ta, D]."""
    qa, ka, va = ae
    hk = ka.shape[1]
    k = torch.cat([cache_k[:, :hk], ka], dim=2)  # a new tensor: the cache is never written
    v = torch.cat([cache_v[:, :hk], va], dim=2)
    return attend(qa, k, v, mask, groups)


__all__ = ["attend", "cached_attention", "joint_attention", "rotate", "ue_finish", "ue_kv", "ue_qkv"]
