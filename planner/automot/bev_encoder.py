"""Camera + LiDAR BEV encoders: the current frame and the LiDAR histogram -> 64 BEV tokens.

Two encoders share one interface (`forward(camera, lidar_bev) -> [B, g*g, C]`,
`out_channels`, `prepare_frame(uint8 frame)`):
- `transfuser` (transfuser.py): the release's TF++ fusion backbone, RegNetY-3.2GF image and
  LiDAR branches, GPT fusion at four scales, [B, 1512, 8, 8] -> 64 tokens. Default at `full`.
- `compact_cnn`: a cheap CPU encoder (default at `tiny` / `small`):
  LiDAR BEV [2, S, S] --3 strided convs--> adaptive pool -> [C, g, g]
  camera    [3, h, w] --3 strided convs--> mean over image rows -> [C, g] per azimuth column,
            (with 'mean_max' also its maximum), broadcast along the BEV's forward axis (an image column looks along one
            lateral bearing, a crude lift that keeps left/right where they belong)
  concat -> 1x1 conv -> [F, g, g] -> g*g tokens of width F (row-major, row 0 = far ahead).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from planner.automot.bev_config import TransfuserConfig
from planner.automot.sizes import SizeSpec
from planner.automot.transfuser import TransfuserBevEncoder


def _stage(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel_size=3, stride=2, padding=1), nn.GELU())


class CompactBevEncoder(nn.Module):
    def __init__(self, spec: SizeSpec) -> None:
        super().__init__()
        c1, c2, c3 = spec.task.bev_channels
        self.grid = spec.bev_grid
        # A 4x4 stride-4 stem first: the input is large (256x256 BEV, 256x128 camera), the budget small.
        self.lidar = nn.Sequential(nn.Conv2d(2, c1, kernel_size=4, stride=4), nn.GELU(), _stage(c1, c2), _stage(c2, c3))
        self.camera = nn.Sequential(nn.Conv2d(3, c1, kernel_size=4, stride=4), nn.GELU(), _stage(c1, c2),
                                    _stage(c2, c3))
        self.camera_row_pool = spec.task.camera_row_pool
        camera_channels = 2 * c3 if self.camera_row_pool == "mean_max" else c3
        self.fuse = nn.Conv2d(c3 + camera_channels, spec.task.bev_feature_dim, kernel_size=1)
        self.out_channels = spec.task.bev_feature_dim

    def prepare_frame(self, frame: np.ndarray) -> np.ndarray:
        return frame

    def forward(self, camera: torch.Tensor, lidar_bev: torch.Tensor) -> torch.Tensor:
        """camera [B, 3, h, w] float in [0, 1] RGB; lidar_bev [B, 2, S, S] in [0, 1].
        Returns [B, g*g, F] BEV tokens."""
        g = self.grid
        lidar = F.adaptive_avg_pool2d(self.lidar(lidar_bev), (g, g))  # [B, C, g, g]
        features = self.camera(camera * 2.0 - 1.0)  # [B, C, h', w']
        cam = features.mean(dim=2)  # [B, C, w'] per image column
        if self.camera_row_pool == "mean_max":
            cam = torch.cat([cam, features.amax(dim=2)], dim=1)  # [B, 2C, w']
        cam = F.adaptive_avg_pool1d(cam, g)[:, :, None, :].expand(-1, -1, g, -1)  # [B, C, g, g]
        fused = self.fuse(torch.cat([lidar, cam], dim=1))  # [B, F, g, g]
        return fused.flatten(2).transpose(1, 2)  # [B, g*g, F]


BEV_ENCODERS = ("compact_cnn", "transfuser")


def build_bev_encoder(name: str, spec: SizeSpec, transfuser: TransfuserConfig) -> nn.Module:
    if name == "compact_cnn":
        return CompactBevEncoder(spec)
    if name == "transfuser":
        return TransfuserBevEncoder(transfuser, spec.bev_camera_size, spec.bev_grid)
    raise ValueError(f"unknown BEV encoder {name!r}; registered: {list(BEV_ENCODERS)}")
