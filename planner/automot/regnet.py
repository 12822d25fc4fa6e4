"""RegNet(Y) feature extractor with timm's module and parameter names, without importing timm.

timm needs torchvision, which does not load beside the CPU torch here, so the backbone of the
release's BEV encoder (`timm.create_model('regnety_032', features_only=True)`) is rebuilt
from timm's RegNet design: the same widths/depths/groups, the same blocks, and the same
state-dict names (`stem.conv`, `stem.bn`, `s1.b1.conv1.conv`, ..., `se.fc1`, `downsample.conv`),
so the release's `bev_encoder.image_encoder.*` / `lidar_encoder.*` tensors load strictly.
tests/test_network_regnet.py compares it with timm itself where timm imports.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from planner.automot.bev_config import RegNetDims


@dataclass(frozen=True)
class StageSpec:
    width: int  # output channels of every block in the stage
    depth: int  # blocks
    group_size: int


def regnet_stages(dims: RegNetDims, quant: int = 8) -> list[StageSpec]:
    """The design-space rule of RegNet: linear widths w0 + wa*j, snapped to w0 * wm^k, grouped."""
    continuous = np.arange(dims.depth) * dims.wa + dims.w0
    exponents = np.round(np.log(continuous / dims.w0) / np.log(dims.wm))
    widths = np.round(dims.w0 * np.power(dims.wm, exponents) / quant) * quant
    stage_widths, stage_depths = np.unique(widths.astype(int), return_counts=True)
    stages = []
    for width, depth in zip(stage_widths.tolist(), stage_depths.tolist()):
        bottleneck = int(width * dims.bottle_ratio)
        group = min(dims.group_size, bottleneck)  # a group never wider than the bottleneck
        bottleneck = int(round(bottleneck / group) * group)  # bottleneck width divisible by the group
        stages.append(StageSpec(int(bottleneck / dims.bottle_ratio), depth, group))
    if len(stages) != 4:
        raise ValueError(f"RegNet design {dims} gives {len(stages)} stages; the BEV encoder fuses exactly 4")
    return stages


class ConvNormAct(nn.Module):
    """Conv (no bias, symmetric padding) + BatchNorm (+ ReLU), named like timm's ConvNormAct."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1,
                 act: bool = True) -> None:
        super().__init__()
        padding = ((stride - 1) + (kernel - 1)) // 2  # timm's get_padding for padding=''
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(c_out)
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv(x))
        return F.relu(x) if self.act else x


class SqueezeExcite(nn.Module):
    """timm's SEModule (no norm): channel gates from the spatial mean."""

    def __init__(self, channels: int, reduced: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, reduced, 1)
        self.fc2 = nn.Conv2d(reduced, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.fc2(F.relu(self.fc1(x.mean((2, 3), keepdim=True))))
        return x * torch.sigmoid(gate)


class Bottleneck(nn.Module):
    """RegNetY block: 1x1 -> grouped 3x3 (stride) -> SE -> 1x1, plus the shortcut, then ReLU."""

    def __init__(self, c_in: int, c_out: int, stride: int, group_size: int, dims: RegNetDims) -> None:
        super().__init__()
        mid = round(c_out * dims.bottle_ratio)
        self.conv1 = ConvNormAct(c_in, mid, 1)
        self.conv2 = ConvNormAct(mid, mid, 3, stride=stride, groups=mid // group_size)
        # timm sizes the SE from the block's *input* channels (so a stage's first block differs).
        self.se = SqueezeExcite(mid, round(c_in * dims.se_ratio)) if dims.se_ratio else nn.Identity()
        self.conv3 = ConvNormAct(mid, c_out, 1, act=False)
        needs_projection = c_in != c_out or stride != 1
        self.downsample = ConvNormAct(c_in, c_out, 1, stride=stride, act=False) if needs_projection \
            else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv3(self.se(self.conv2(self.conv1(x))))
        return F.relu(y + self.downsample(x))


class RegStage(nn.Module):
    """Blocks b1..bN; the first one strides by 2 and changes the width."""

    def __init__(self, c_in: int, spec: StageSpec, dims: RegNetDims) -> None:
        super().__init__()
        for i in range(spec.depth):
            self.add_module(f"b{i + 1}", Bottleneck(c_in if i == 0 else spec.width, spec.width,
                                                    2 if i == 0 else 1, spec.group_size, dims))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.children():
            x = block(x)
        return x


class RegNetFeatures(nn.Module):
    """timm's features_only RegNet: stem (stride 2) then s1..s4 (stride 2 each), no head."""

    def __init__(self, dims: RegNetDims, in_chans: int) -> None:
        super().__init__()
        self.stages_spec = regnet_stages(dims)
        self.stem = ConvNormAct(in_chans, dims.stem_width, 3, stride=2)
        width = dims.stem_width
        for i, spec in enumerate(self.stages_spec):
            self.add_module(f"s{i + 1}", RegStage(width, spec, dims))
            width = spec.width
        for m in self.modules():  # timm's initialisation: He normal on fan-out
            if isinstance(m, nn.Conv2d):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
                nn.init.normal_(m.weight, 0.0, (2.0 / fan_out) ** 0.5)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    @property
    def stage_channels(self) -> list[int]:
        return [s.width for s in self.stages_spec]

    def stages(self) -> Iterator[nn.Module]:
        return (getattr(self, f"s{i + 1}") for i in range(len(self.stages_spec)))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """All five feature maps (stem, s1..s4), like timm's FeatureListNet."""
        feats = [self.stem(x)]
        for stage in self.stages():
            feats.append(stage(feats[-1]))
        return feats
