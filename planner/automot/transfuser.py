"""The release's camera + LiDAR BEV encoder: TF++'s TransFuser backbone, written anew.

Structure and parameter names follow `Automot/mot/modeling/bev_encoder/bev_encoder.py`
(BEVEncoderBackbone): `image_encoder` / `lidar_encoder` (RegNetY, regnet.py), one `GPT` per
stage in `transformers`, 1x1 convs `lidar_channel_to_img` / `img_channel_to_lidar`, and the
top-down convs the release keeps (`c5_conv`, `up_conv5`, `up_conv4`). The AE reads what the
release's BEVEncoderBackboneExtractor returns as `bev_feature`: the LiDAR branch after the
fourth fusion, [B, C, 8, 8] -> 64 tokens in its flatten order (row = lateral, column = forward).

Input adaptation (the project's conventions -> the release's):
- camera [B, 3, H, W] RGB in [0, 1] -> crop (bottom rows, both sides) -> ImageNet normalisation;
- LiDAR BEV [B, 2, S, S] in the project's layout (row 0 = 32 m ahead, column 0 = 32 m left,
  channel 0 below / 1 above the split height) -> TF++'s histogram layout (row = y bin from
  the left, column = x bin from behind; only the 'above' channel unless use_ground_plane).
Compute nobody reads is skipped: the top-down pyramid, the image branch's last fusion update.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from planner.automot.bev_config import TransfuserConfig
from planner.automot.regnet import RegNetFeatures

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class SelfAttention(nn.Module):
    def __init__(self, n_embd: int, n_head: int, attn_pdrop: float, resid_pdrop: float) -> None:
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"GPT width {n_embd} is not divisible by n_head {n_head}")
        self.key = nn.Linear(n_embd, n_embd)
        self.query = nn.Linear(n_embd, n_embd)
        self.value = nn.Linear(n_embd, n_embd)
        self.proj = nn.Linear(n_embd, n_embd)
        self.resid_drop = nn.Dropout(resid_pdrop)
        self.n_head, self.attn_pdrop = n_head, attn_pdrop

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape

        def heads(layer: nn.Linear) -> torch.Tensor:
            return layer(x).view(b, t, self.n_head, c // self.n_head).transpose(1, 2)

        y = F.scaled_dot_product_attention(heads(self.query), heads(self.key), heads(self.value),
                                           dropout_p=self.attn_pdrop if self.training else 0.0)
        return self.resid_drop(self.proj(y.transpose(1, 2).reshape(b, t, c)))


class Block(nn.Module):
    def __init__(self, n_embd: int, cfg: TransfuserConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(n_embd)
        self.ln2 = nn.LayerNorm(n_embd)
        self.attn = SelfAttention(n_embd, cfg.n_head, cfg.attn_pdrop, cfg.resid_pdrop)
        self.mlp = nn.Sequential(nn.Linear(n_embd, cfg.block_exp * n_embd), nn.ReLU(True),
                                 nn.Linear(cfg.block_exp * n_embd, n_embd), nn.Dropout(cfg.resid_pdrop))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """One fusion stage: image and LiDAR anchor grids as one token sequence, learned positions."""

    def __init__(self, n_embd: int, cfg: TransfuserConfig) -> None:
        super().__init__()
        self.n_img = cfg.img_vert_anchors * cfg.img_horz_anchors
        n_lidar = cfg.lidar_vert_anchors * cfg.lidar_horz_anchors
        self.pos_emb = nn.Parameter(torch.zeros(1, self.n_img + n_lidar, n_embd))
        self.drop = nn.Dropout(cfg.embd_pdrop)
        self.blocks = nn.Sequential(*[Block(n_embd, cfg) for _ in range(cfg.n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        for m in self.modules():  # the release's GPT initialisation (gpt_linear_layer_init_std 0.02)
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.02)
                nn.init.zeros_(m.bias)

    def forward(self, image: torch.Tensor, lidar: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """image [B, C, iv, ih], lidar [B, C, lv, lh] -> the same shapes after attention."""
        b, c, ih, iw = image.shape
        lh, lw = lidar.shape[2:]
        tokens = torch.cat([image.flatten(2).transpose(1, 2), lidar.flatten(2).transpose(1, 2)], dim=1)
        x = self.ln_f(self.blocks(self.drop(self.pos_emb + tokens)))
        image_out = x[:, :self.n_img].transpose(1, 2).reshape(b, c, ih, iw)
        lidar_out = x[:, self.n_img:].transpose(1, 2).reshape(b, c, lh, lw)
        return image_out, lidar_out


class TransfuserBevEncoder(nn.Module):
    """camera + LiDAR BEV -> [B, g*g, C] tokens (C = the LiDAR branch's last width)."""

    def __init__(self, cfg: TransfuserConfig, camera_size: tuple[int, int], grid: int) -> None:
        super().__init__()
        if (cfg.camera_width, cfg.camera_height) != tuple(camera_size):
            raise ValueError(f"bev transfuser camera {cfg.camera_width}x{cfg.camera_height} differs from the "
                             f"network's bev_camera_size {camera_size[0]}x{camera_size[1]}")
        if cfg.lidar_resolution // 32 != grid:
            raise ValueError(f"bev transfuser lidar_resolution {cfg.lidar_resolution} gives a "
                             f"{cfg.lidar_resolution // 32}x{cfg.lidar_resolution // 32} map, the AE reads {grid}x{grid}")
        self.cfg = cfg
        self.image_encoder = RegNetFeatures(cfg.image_backbone, in_chans=3)
        self.lidar_encoder = RegNetFeatures(cfg.lidar_backbone, in_chans=cfg.lidar_channels)
        img, lid = self.image_encoder.stage_channels, self.lidar_encoder.stage_channels
        self.transformers = nn.ModuleList([GPT(c, cfg) for c in img])
        self.lidar_channel_to_img = nn.ModuleList([nn.Conv2d(a, b, 1) for a, b in zip(lid, img)])
        self.img_channel_to_lidar = nn.ModuleList([nn.Conv2d(b, a, 1) for a, b in zip(lid, img)])
        if not cfg.transformer_decoder_join and cfg.add_features:
            self.lidar_to_img_features_end = nn.Linear(lid[-1], img[-1])
        if cfg.top_down:
            ch = cfg.bev_features_channels
            self.up_conv5 = nn.Conv2d(ch, ch, 3, padding=1)
            self.up_conv4 = nn.Conv2d(ch, ch, 3, padding=1)
            self.c5_conv = nn.Conv2d(lid[-1], ch, 1)
        self.out_channels = lid[-1]
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    # --- the release's input conventions ---------------------------------------------------------
    def prepare_frame(self, frame: np.ndarray) -> np.ndarray:
        """uint8 RGB [H, W, 3] -> the same after the release agent's JPEG round trip (on BGR, as cv2)."""
        if self.cfg.jpeg_quality is None:
            return frame
        ok, data = cv2.imencode(".jpg", np.ascontiguousarray(frame[..., ::-1]),
                                [cv2.IMWRITE_JPEG_QUALITY, self.cfg.jpeg_quality])
        if not ok:
            raise RuntimeError("JPEG encoding of the BEV encoder's camera frame failed")
        return np.ascontiguousarray(cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1])

    def camera_input(self, camera: torch.Tensor) -> torch.Tensor:
        """[B, 3, H, W] RGB in [0, 1] -> cropped, normalised [B, 3, ch, cw]."""
        cfg = self.cfg
        side = (camera.shape[-1] - cfg.cropped_width) // 2
        x = camera[:, :, :cfg.cropped_height, side:side + cfg.cropped_width]
        if cfg.normalize_imagenet:
            return (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        return x * 255.0

    def lidar_input(self, lidar_bev: torch.Tensor) -> torch.Tensor:
        """[B, 2, S, S] project layout -> [B, C, S, S] TF++ layout (rows = y bins, columns = x bins)."""
        s = self.cfg.lidar_resolution
        if lidar_bev.shape[1:] != (2, s, s):
            raise ValueError(f"the transfuser BEV encoder needs a [2, {s}, {s}] LiDAR BEV, got "
                             f"{list(lidar_bev.shape[1:])}")
        channels = lidar_bev if self.cfg.use_ground_plane else lidar_bev[:, 1:2]
        return channels.flip(-2).transpose(-1, -2)

    # --- forward -----------------------------------------------------------------------------
    def _fuse(self, i: int, image: torch.Tensor, lidar: torch.Tensor, update_image: bool
              ) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self.cfg
        img_emb = F.adaptive_avg_pool2d(image, (cfg.img_vert_anchors, cfg.img_horz_anchors))
        lid_emb = self.lidar_channel_to_img[i](
            F.adaptive_avg_pool2d(lidar, (cfg.lidar_vert_anchors, cfg.lidar_horz_anchors)))
        img_out, lid_out = self.transformers[i](img_emb, lid_emb)
        lid_out = self.img_channel_to_lidar[i](lid_out)
        lidar = lidar + F.interpolate(lid_out, size=lidar.shape[2:], mode="bilinear", align_corners=False)
        if update_image:
            image = image + F.interpolate(img_out, size=image.shape[2:], mode="bilinear", align_corners=False)
        return image, lidar

    def forward(self, camera: torch.Tensor, lidar_bev: torch.Tensor) -> torch.Tensor:
        """camera [B, 3, H, W] RGB in [0, 1]; lidar_bev [B, 2, S, S] in [0, 1] -> [B, g*g, C]."""
        image = self.image_encoder.stem(self.camera_input(camera))
        lidar = self.lidar_encoder.stem(self.lidar_input(lidar_bev))
        stages = list(zip(self.image_encoder.stages(), self.lidar_encoder.stages()))
        for i, (image_stage, lidar_stage) in enumerate(stages):
            image, lidar = image_stage(image), lidar_stage(lidar)
            # After the last fusion only the LiDAR map is read (the release's bev_feature).
            image, lidar = self._fuse(i, image, lidar, update_image=i < len(stages) - 1)
        return lidar.flatten(2).transpose(1, 2)
