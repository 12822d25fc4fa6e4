"""Action expert (AE): a second set of decoder weights beside every UE decoder layer (MoT).

Per layer: own q/k/v/o projections (no biases), q/k RMSNorms over the AE head_dim,
input/post-attention RMSNorms and a SwiGLU MLP; one final norm. The experts share
only attention (shared_attention.py). Official numerics (DESIGN §3), reproduced here:
- q/k/v are written into zero-padded heads of the UE's head_dim (80 -> 128 at full);
- q/k norms act on the AE's own dims (before padding);
- RoPE (the UE's mRoPE, full width) rotates the padded q and k;
- key dims >= AE head_dim are zeroed after rotation (queries keep theirs);
- the attention output is cut back to the AE head_dim before the o-projection.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers.models.qwen3_vl.modeling_qwen3_vl import Qwen3VLTextRMSNorm, apply_rotary_pos_emb

from planner.automot.sizes import SizeSpec


class SwiGLU(nn.Module):
    def __init__(self, hidden: int, intermediate: int) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(hidden, intermediate, bias=False)
        self.up_proj = nn.Linear(hidden, intermediate, bias=False)
        self.down_proj = nn.Linear(intermediate, hidden, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class ActionExpertLayer(nn.Module):
    def __init__(self, spec: SizeSpec) -> None:
        super().__init__()
        a, t = spec.action, spec.text
        hidden = t.hidden_size
        self.num_heads, self.num_kv_heads = a.num_heads, a.num_kv_heads
        self.head_dim, self.padded_dim = a.head_dim, t.head_dim
        self.q_proj = nn.Linear(hidden, a.num_heads * a.head_dim, bias=False)  # [1280, 2560] at full
        self.k_proj = nn.Linear(hidden, a.num_kv_heads * a.head_dim, bias=False)  # [320, 2560]
        self.v_proj = nn.Linear(hidden, a.num_kv_heads * a.head_dim, bias=False)  # [320, 2560]
        self.o_proj = nn.Linear(a.num_heads * a.head_dim, hidden, bias=False)  # [2560, 1280]
        self.q_norm = Qwen3VLTextRMSNorm(a.head_dim, eps=t.rms_norm_eps)  # [80]
        self.k_norm = Qwen3VLTextRMSNorm(a.head_dim, eps=t.rms_norm_eps)
        self.mlp = SwiGLU(hidden, a.intermediate_size)  # 2560 -> 4864 -> 2560
        self.input_layernorm = Qwen3VLTextRMSNorm(hidden, eps=t.rms_norm_eps)
        self.post_attention_layernorm = Qwen3VLTextRMSNorm(hidden, eps=t.rms_norm_eps)

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, (0, self.padded_dim - self.head_dim))

    def qkv(self, hidden: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """hidden [B, Ta, H]; cos/sin [B, Ta, D] (UE rotary at AE positions).
        Returns q [B, Ha, Ta, D], k [B, Hk, Ta, D], v [B, Hk, Ta, D] (D = UE head_dim)."""
        b, ta, _ = hidden.shape
        x = self.input_layernorm(hidden)
        q = self.q_norm(self.q_proj(x).view(b, ta, self.num_heads, self.head_dim))
        k = self.k_norm(self.k_proj(x).view(b, ta, self.num_kv_heads, self.head_dim))
        v = self.v_proj(x).view(b, ta, self.num_kv_heads, self.head_dim)
        q, k, v = (self._pad(t).transpose(1, 2) for t in (q, k, v))
        q, k = apply_rotary_pos_emb(q, k, cos, sin)
        if self.head_dim < self.padded_dim:  # rotation spread k into the pad dims: zero them again
            keep = torch.zeros(self.padded_dim, dtype=k.dtype, device=k.device)
            keep[: self.head_dim] = 1
            k = k * keep
        return q, k, v

    def finish(self, hidden: torch.Tensor, attn: torch.Tensor) -> torch.Tensor:
        """hidden [B, Ta, H] (layer input); attn [B, Ha, Ta, D] -> layer output [B, Ta, H]."""
        b, _, ta, _ = attn.shape
        attn = attn[..., : self.head_dim].transpose(1, 2).reshape(b, ta, self.num_heads * self.head_dim)
        hidden = hidden + self.o_proj(attn)
        return hidden + self.mlp(self.post_attention_layernorm(hidden))


class ActionExpert(nn.Module):
    """All AE layers plus the final norm (the 1.64B published parameters at `full`)."""

    def __init__(self, spec: SizeSpec) -> None:
        super().__init__()
        self.layers = nn.ModuleList([ActionExpertLayer(spec) for _ in range(spec.text.num_layers)])
        self.norm = Qwen3VLTextRMSNorm(spec.text.hidden_size, eps=spec.text.rms_norm_eps)
