"""AE task modules: what turns the tick's inputs into AE tokens, and AE outputs into a plan.

Shapes follow the official release at `full` (DESIGN §3): BEV projection 1512->2560,
target-point / speed MLPs 2|1 -> 256 -> 512 -> 2560, learned queries (8 / 20 / 6 x 588)
each with a projector (588 -> 2560 -> 2560), route / waypoint MLPs 2560 -> 512 -> 256 -> 2
(last layer without bias) regressing step offsets that are summed into points, and a
speed head 2560 -> 2560 -> 3. Decisions are read through the UE's tied LM head (network.py).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
from torch import nn

from planner.automot.sizes import SizeSpec


def mlp(sizes: list[int], last_bias: bool = True) -> nn.Sequential:
    """Linear/GELU stack; Linear layers sit at even indices (0, 2, 4) like the official modules."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        last = i == len(sizes) - 2
        layers.append(nn.Linear(a, b, bias=last_bias or not last))
        if not last:
            layers.append(nn.GELU())
    return nn.Sequential(*layers)


class QueryProjector(nn.Module):
    def __init__(self, query_dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(query_dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class AEInputs(nn.Module):
    """Builds the AE token sequence [bev ‖ target ‖ speed ‖ decision ‖ route ‖ waypoint]."""

    def __init__(self, spec: SizeSpec) -> None:
        super().__init__()
        hidden, task = spec.text.hidden_size, spec.task
        e0, e1 = task.encoder_hidden
        self.bev_proj = nn.Linear(task.bev_feature_dim, hidden)
        self.target_point_encoder = mlp([2, e0, e1, hidden])
        self.speed_encoder = mlp([1, e0, e1, hidden])
        self.decision_queries = nn.Embedding(spec.num_decision_queries, task.query_embed_dim)
        self.decision_projector = QueryProjector(task.query_embed_dim, hidden)
        self.route_queries = nn.Embedding(spec.num_route_points, task.query_embed_dim)
        self.route_projector = QueryProjector(task.query_embed_dim, hidden)
        self.waypoint_queries = nn.Embedding(spec.num_waypoints, task.query_embed_dim)
        self.waypoint_projector = QueryProjector(task.query_embed_dim, hidden)

    def forward(self, bev: torch.Tensor, target_points: torch.Tensor, speed: torch.Tensor) -> torch.Tensor:
        """bev [B, 64, F]; target_points [B, 2, 2] ego m; speed [B] m/s -> tokens [B, Ta, H]."""
        b = bev.shape[0]

        def queries(table: nn.Embedding, projector: QueryProjector) -> torch.Tensor:
            return projector(table.weight)[None].expand(b, -1, -1)

        return torch.cat([
            self.bev_proj(bev),
            self.target_point_encoder(target_points),
            self.speed_encoder(speed[:, None, None]),
            queries(self.decision_queries, self.decision_projector),
            queries(self.route_queries, self.route_projector),
            queries(self.waypoint_queries, self.waypoint_projector),
        ], dim=1)


@dataclass(frozen=True)
class AEOutputs:
    decision_logits: torch.Tensor  # [B, 8, V] vocabulary logits of the decision queries (tied LM head)
    route: torch.Tensor  # [B, 20, 2] ego frame m
    waypoints: torch.Tensor  # [B, 6, 2] ego frame m, 0.5 s apart
    speed: torch.Tensor  # [B, 3] m/s at now, +1 s, +2 s (training signal)


class AEHeads(nn.Module):
    def __init__(self, spec: SizeSpec) -> None:
        super().__init__()
        hidden = spec.text.hidden_size
        h0, h1 = spec.task.head_hidden
        self.route_head = mlp([hidden, h0, h1, 2], last_bias=False)
        self.waypoint_head = mlp([hidden, h0, h1, 2], last_bias=False)
        self.speed_head = mlp([hidden, hidden, spec.task.speed_outputs])
        sizes = spec.ae_block_sizes
        starts = {}
        offset = 0
        for name, n in sizes.items():
            starts[name] = slice(offset, offset + n)
            offset += n
        self.slices = starts

    def forward(self, hidden: torch.Tensor, lm_head: nn.Module) -> AEOutputs:
        """hidden [B, Ta, H] after the AE final norm."""
        dec = hidden[:, self.slices["decision"]]
        return AEOutputs(
            decision_logits=lm_head(dec),
            route=self.route_head(hidden[:, self.slices["route"]]).cumsum(dim=1),
            waypoints=self.waypoint_head(hidden[:, self.slices["waypoint"]]).cumsum(dim=1),
            # Speed and the decision words are the same longitudinal intent: read it where they are.
            speed=self.speed_head(dec.mean(dim=1)),
        )
