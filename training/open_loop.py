"""Open-loop planning metrics, as papers report them on nuScenes (ST-P3's protocol):

    L2 at t         mean over the waypoints up to t of |predicted - expert| (m)
    collision at t  mean over the waypoints up to t of "the ego's box at the predicted waypoint
                    overlaps a recorded actor's box at that time" (boxes from boxes/NNNN.json.gz,
                    moved into the current ego frame); a time step where the expert's own waypoint
                    overlaps that actor too is not counted (the labels' box noise, not the plan's)

The ego's heading at a predicted waypoint is the direction from the previous one. Boxes are
oriented rectangles (x, y, yaw, half length, half width), tested by separating axes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch


def headings(points: torch.Tensor) -> torch.Tensor:
    """[B, T, 2] waypoints from the origin -> [B, T] yaw (rad) of each step; a step shorter than
    5 cm keeps the previous heading (0 before the first)."""
    steps = torch.cat([points[:, :1], points[:, 1:] - points[:, :-1]], dim=1)
    yaw = torch.atan2(steps[..., 1], steps[..., 0])
    moving = steps.norm(dim=-1) > 0.05
    out = torch.zeros_like(yaw)
    prev = torch.zeros_like(yaw[:, 0])
    for t in range(points.shape[1]):
        prev = torch.where(moving[:, t], yaw[:, t], prev)
        out[:, t] = prev
    return out


def _corners(x: torch.Tensor, y: torch.Tensor, yaw: torch.Tensor, hl: torch.Tensor, hw: torch.Tensor) -> torch.Tensor:
    """[...] box parameters -> [..., 4, 2] corners."""
    c, s = torch.cos(yaw), torch.sin(yaw)
    signs = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, -1.0], [-1.0, 1.0]], dtype=x.dtype, device=x.device)
    lx = signs[:, 0] * hl[..., None]  # [..., 4]
    ly = signs[:, 1] * hw[..., None]
    return torch.stack([x[..., None] + c[..., None] * lx - s[..., None] * ly,
                        y[..., None] + s[..., None] * lx + c[..., None] * ly], dim=-1)


def boxes_overlap(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a, b [..., 5] (x, y, yaw, half_length, half_width), broadcastable -> [...] bool overlap."""
    a, b = torch.broadcast_tensors(a, b)
    ca, cb = _corners(*a.unbind(-1)), _corners(*b.unbind(-1))  # [..., 4, 2]
    axes = []
    for yaw in (a[..., 2], b[..., 2]):
        axes += [torch.stack([torch.cos(yaw), torch.sin(yaw)], -1), torch.stack([-torch.sin(yaw), torch.cos(yaw)], -1)]
    separated = torch.zeros(a.shape[:-1], dtype=torch.bool, device=a.device)
    for axis in axes:  # [..., 2]
        pa = (ca * axis[..., None, :]).sum(-1)  # [..., 4]
        pb = (cb * axis[..., None, :]).sum(-1)
        separated |= (pa.amax(-1) < pb.amin(-1)) | (pb.amax(-1) < pa.amin(-1))
    return ~separated


def plan_collisions(waypoints: torch.Tensor, boxes: torch.Tensor, box_mask: torch.Tensor,
                    ego_extent: torch.Tensor) -> torch.Tensor:
    """waypoints [B, T, 2], boxes [B, T, N, 5], box_mask [B, T, N], ego_extent [B, >=2] half sizes
    -> [B, T, N] bool: the ego at waypoint t overlaps real box n."""
    yaw = headings(waypoints)
    ego = torch.stack([waypoints[..., 0], waypoints[..., 1], yaw,
                       ego_extent[:, None, 0].expand_as(yaw), ego_extent[:, None, 1].expand_as(yaw)], -1)
    return boxes_overlap(ego[:, :, None, :], boxes) & box_mask


@dataclass
class OpenLoopMetrics:
    """Accumulates batches; `result()` gives the averages (horizons in seconds)."""

    horizons_s: Sequence[float] = (1.0, 2.0, 3.0)
    waypoint_spacing_s: float = 0.5
    l2: list[torch.Tensor] = field(default_factory=list)  # [B, T] per-waypoint L2
    collision: list[torch.Tensor] = field(default_factory=list)  # [B, T] bool
    decision_hits: int = 0
    decision_total: int = 0
    speed_abs_error: list[torch.Tensor] = field(default_factory=list)

    def add(self, predicted: torch.Tensor, expert: torch.Tensor, boxes: torch.Tensor, box_mask: torch.Tensor,
            ego_extent: torch.Tensor, decisions: Sequence[Sequence[str]] | None = None,
            expert_decisions: Sequence[Sequence[str]] | None = None, speed: torch.Tensor | None = None,
            expert_speed: torch.Tensor | None = None) -> None:
        predicted, expert = predicted.float().cpu(), expert.float().cpu()
        boxes, box_mask, ego_extent = boxes.float().cpu(), box_mask.cpu(), ego_extent.float().cpu()
        self.l2.append((predicted - expert).norm(dim=-1))
        hits = plan_collisions(predicted, boxes, box_mask, ego_extent)
        expert_hits = plan_collisions(expert, boxes, box_mask, ego_extent)
        self.collision.append((hits & ~expert_hits).any(dim=-1))
        if decisions is not None and expert_decisions is not None:
            self.decision_hits += sum(tuple(d) == tuple(e) for d, e in zip(decisions, expert_decisions))
            self.decision_total += len(decisions)
        if speed is not None and expert_speed is not None:
            self.speed_abs_error.append((speed.float().cpu() - expert_speed.float().cpu()).abs())

    def result(self) -> dict[str, float]:
        if not self.l2:
            return {}
        l2, col = torch.cat(self.l2), torch.cat(self.collision).float()
        out: dict[str, float] = {"samples": float(l2.shape[0])}
        for t in self.horizons_s:
            n = min(l2.shape[1], round(t / self.waypoint_spacing_s))
            out[f"l2_{t:g}s"] = float(l2[:, :n].mean())
            out[f"collision_{t:g}s"] = float(col[:, :n].mean())
        if self.decision_total:
            out["decision_accuracy"] = self.decision_hits / self.decision_total
        if self.speed_abs_error:
            out["speed_mae"] = float(torch.cat(self.speed_abs_error).mean())
        return out
