"""Attention masks of the shared attention (DESIGN §3), as boolean 'may attend' tensors.

- UE prefix: causal, never sees AE tokens (so the UE cache is independent of AE inputs).
- AE token: sees the whole (non-padding) UE prefix; inside the AE, blocks are causal
  between blocks (bev < target < speed < decision < route < waypoint) and
  bidirectional inside a block.
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


def ae_mask(prefix_mask: torch.Tensor, block_ids: torch.Tensor) -> torch.Tensor:
    """[B, 1, Ta, Tu + Ta] bool for AE queries over [UE prefix ‖ AE tokens].

    prefix_mask: [B, Tu] (1 = real UE token, 0 = left padding)."""
    b, tu = prefix_mask.shape
    ta = block_ids.numel()
    prefix = prefix_mask.bool()[:, None, None, :].expand(b, 1, ta, tu)
    own = ae_self_mask(block_ids)[None, None].expand(b, 1, ta, ta)
    return torch.cat([prefix, own], dim=-1)


def joint_mask(prefix_mask: torch.Tensor, block_ids: torch.Tensor) -> torch.Tensor:
    """[B, 1, Tu + Ta, Tu + Ta] bool over the packed sequence [UE prefix ‖ AE tokens].

    Every row keeps its own diagonal so padding rows never softmax over nothing (NaN)."""
    b, tu = prefix_mask.shape
    ta = block_ids.numel()
    device = prefix_mask.device
    keys = prefix_mask.bool()[:, None, None, :]  # [B,1,1,Tu]
    causal = torch.ones(tu, tu, dtype=torch.bool, device=device).tril()
    ue_rows = torch.cat([causal[None, None] & keys,
                         torch.zeros(b, 1, tu, ta, dtype=torch.bool, device=device)], dim=-1)
    ue_rows = ue_rows | torch.eye(tu, tu + ta, dtype=torch.bool, device=device)[None, None]
    return torch.cat([ue_rows, ae_mask(prefix_mask, block_ids.to(device))], dim=2)
