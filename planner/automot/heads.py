"""AE task modules: what turns the tick's inputs into AE tokens, and AE outputs into a plan.

Shapes and activations as released (Automot/mot/modeling/automot/automot.py, DESIGN §3):
BEV projection 1512 -> 2560; target-point / velocity encoders 2|1 -> 256 -> 512 -> 2560
with ReLU; learned queries (8 / 20 / 6 x 588) each with a projector 588 -> 2560 -> 2560
(tanh-approximated GELU, `gelu_pytorch_tanh`); route / waypoint heads 2560 -> 512 -> 256 -> 2
with SiLU (last layer without bias) regressing step offsets that are summed into points; a
velocity head 2560 -> 2560 -> 3 with LeakyReLU(0.1) reading the velocity token. Decisions are
read through the UE's tied LM head (network.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from planner.automot.sizes import SizeSpec


def mlp(sizes: list[int], act: Callable[[], nn.Module], last_bias: bool = True) -> nn.Sequential:
    """Linear/activation stack; Linear layers sit at even indices (0, 2, 4) like the official modules."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        last = i == len(sizes) - 2
        layers.append(nn.Linear(a, b, bias=last_bias or not last))
        if not last:
            layers.append(act())
    return nn.Sequential(*layers)


class QueryProjector(nn.Module):
    """The release's MLPconnector: fc1 -> GELU (tanh approximation) -> fc2."""

    def __init__(self, query_dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(query_dim, hidden)
        self.act = nn.GELU(approximate="tanh")
        self.fc2 = nn.Linear(hidden, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class AEInputs(nn.Module):
    """Builds the AE token sequence [bev ‖ tp1, tp2, speed ‖ decision ‖ route ‖ waypoint]."""

    def __init__(self, spec: SizeSpec, bev_dim: int) -> None:
        super().__init__()
        hidden, task = spec.text.hidden_size, spec.task
        e0, e1 = task.encoder_hidden
        self.bev_proj = nn.Linear(bev_dim, hidden)
        self.target_point_encoder = mlp([2, e0, e1, hidden], nn.ReLU)
        self.speed_encoder = mlp([1, e0, e1, hidden], nn.ReLU)
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
    waypoint_steps: torch.Tensor  # [B, 6, 2] the head's step offsets (waypoints = their cumsum; the loss reads these)
    speed: torch.Tensor  # [B, 3] m/s at +1 s, +2 s, +3 s (training signal)
    hidden: torch.Tensor | None = None  # [B, Ta, H] the AE's final hidden states (after its norm): the refiner's input


class AEHeads(nn.Module):
    def __init__(self, spec: SizeSpec) -> None:
        super().__init__()
        hidden = spec.text.hidden_size
        h0, h1 = spec.task.head_hidden
        self.route_head = mlp([hidden, h0, h1, 2], nn.SiLU, last_bias=False)
        self.waypoint_head = mlp([hidden, h0, h1, 2], nn.SiLU, last_bias=False)
        self.speed_head = mlp([hidden, hidden, spec.task.speed_outputs], lambda: nn.LeakyReLU(0.1))
        self.slices: dict[str, slice] = {}
        offset = 0
        for name, n in spec.ae_block_sizes.items():
            self.slices[name] = slice(offset, offset + n)
            offset += n
        # The velocity token closes the target_speed block (tp1, tp2, speed).
        self.velocity_index = self.slices["target_speed"].stop - 1

    def forward(self, hidden: torch.Tensor, lm_head: nn.Module) -> AEOutputs:
        """hidden [B, Ta, H] after the AE final norm."""
        steps = self.waypoint_head(hidden[:, self.slices["waypoint"]])
        return AEOutputs(
            decision_logits=lm_head(hidden[:, self.slices["decision"]]),
            route=self.route_head(hidden[:, self.slices["route"]]).cumsum(dim=1),
            waypoints=steps.cumsum(dim=1),
            waypoint_steps=steps,
            speed=self.speed_head(hidden[:, self.velocity_index]),
            hidden=hidden,
        )
