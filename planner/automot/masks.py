"""Attention masks of the shared attention, as boolean 'may attend' tensors.

The release builds them from (split length, mode) lists (prepare_attention_mask_per_sample):
a split sees every earlier split; a 'causal' split is causal inside, a 'full' one
bidirectional. Its prefill (AutoMoT.prepare_kv_cache) splits the prefix into
[system + user header: causal][each <|vision_start|> image <|vision_end|>: full]
[instruction + <|im_end|>: causal]; its AE tick (prepare_fast_kvcache) splits the AE tokens
into full blocks [64 BEV][tp1, tp2, speed][8 decision][20 route][6 waypoint] that see the
whole prefix. The prefix never sees AE tokens, so the UE cache is independent of AE inputs.
"""

from __future__ import annotations

import torch


def ae_block_ids(block_sizes: dict[str, int], device: torch.device | str | None = None) -> torch.Tensor:
    """[Ta] long: the block index of every AE token, in sequence order."""
    return torch.cat([torch.full((n,), i, dtype=torch.long, device=device)
                      for i, n in enumerate(block_sizes.values())])


def ae_self_mask(block_ids: torch.Tensor) -> torch.Tensor:
    """[Ta, Ta] bool: query token i may read key token j iff block(j) <= block(i)."""
    return block_ids[None, :] <= block_ids[:, None]


def prefix_mask(input_ids: torch.Tensor, attention_mask: torch.Tensor, vision_start: int, vision_end: int
                ) -> torch.Tensor:
    """[B, 1, Tu, Tu] bool over the UE prefix: causal, except that each image block
    (<|vision_start|> ... <|vision_end|>, both markers included) attends bidirectionally inside
    itself. Left padding is never read; every row keeps its own diagonal so a padding row
    never softmaxes over nothing (NaN)."""
    tu = input_ids.shape[1]
    device = input_ids.device
    starts = (input_ids == vision_start).long().cumsum(dim=-1)  # images opened up to and including t
    ends = input_ids == vision_end
    closed = ends.long().cumsum(dim=-1) - ends.long()  # images closed strictly before t
    in_image = starts > closed  # [B, Tu]
    block = torch.where(in_image, starts, torch.zeros_like(starts))
    same_image = in_image[:, :, None] & in_image[:, None, :] & (block[:, :, None] == block[:, None, :])
    causal = torch.ones(tu, tu, dtype=torch.bool, device=device).tril()
    allowed = (causal[None] | same_image) & attention_mask.bool()[:, None, :]
    allowed = allowed | torch.eye(tu, dtype=torch.bool, device=device)[None]
    return allowed[:, None]


def ae_mask(prefix_valid: torch.Tensor, block_ids: torch.Tensor) -> torch.Tensor:
    """[B, 1, Ta, Tu + Ta] bool for AE queries over [UE prefix ‖ AE tokens].

    prefix_valid: [B, Tu] (1 = real UE token, 0 = left padding)."""
    b, tu = prefix_valid.shape
    ta = block_ids.numel()
    prefix = prefix_valid.bool()[:, None, None, :].expand(b, 1, ta, tu)
    own = ae_self_mask(block_ids.to(prefix_valid.device))[None, None].expand(b, 1, ta, ta)
    return torch.cat([prefix, own], dim=-1)


def joint_mask(prefix: torch.Tensor, prefix_valid: torch.Tensor, block_ids: torch.Tensor) -> torch.Tensor:
    """[B, 1, Tu + Ta, Tu + Ta] bool over the packed sequence [UE prefix ‖ AE tokens].

    prefix: [B, 1, Tu, Tu] (prefix_mask); prefix_valid: [B, Tu]."""
    b, _, tu, _ = prefix.shape
    ta = block_ids.numel()
    ue_rows = torch.cat([prefix, torch.zeros(b, 1, tu, ta, dtype=torch.bool, device=prefix.device)], dim=-1)
    return torch.cat([ue_rows, ae_mask(prefix_valid, block_ids)], dim=2)
