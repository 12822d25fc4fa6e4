"""Settings of the TransFuser-style camera + LiDAR BEV encoder (the release's `bev_encoder.*`).

The dataclass defaults are the release's: `Automot/mot/modeling/bev_encoder/config.py`
(TF++'s GlobalConfig) with `image_architecture = lidar_architecture = 'regnety_032'`, whose
RegNet design parameters are timm's `model_cfgs['regnety_032']`. The release's own
`bev_config.json` is not public; these defaults are what its code builds without one.
TINY/SMALL are scaled-down presets with the same structure, for CPU tests and benchmarks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.typed_config import require


@dataclass(frozen=True)
class RegNetDims:
    """timm's RegNetCfg design space: per-block widths w_j = w0 + wa*j, quantised on powers of wm."""

    depth: int = 21  # blocks over all stages
    w0: int = 80  # initial width (a multiple of 8)
    wa: float = 42.63  # width slope
    wm: float = 2.66  # width multiplier between stages
    group_size: int = 24  # channels per group of the 3x3 grouped conv
    se_ratio: float = 0.25  # squeeze-excite width, relative to the block's input channels
    stem_width: int = 32
    bottle_ratio: float = 1.0

    def __post_init__(self) -> None:
        require(self.w0 > 0 and self.w0 % 8 == 0, "bev transfuser: RegNet w0 must be a positive multiple of 8")
        require(self.wa >= 0 and self.wm > 1 and self.depth >= 4, "bev transfuser: RegNet wa >= 0, wm > 1, depth >= 4")
        require(self.group_size > 0 and self.stem_width > 0, "bev transfuser: RegNet group_size/stem_width > 0")


@dataclass(frozen=True)
class TransfuserConfig:
    """RegNetY image and LiDAR branches, fused by a GPT at each of their four stages.

    Inputs: the newest camera frame (the network's `bev_camera_size`, RGB in [0, 1]) and
    the LiDAR BEV histogram; output: the LiDAR branch's last feature map [B, C, g, g]
    (C = 1512, g = 8 at the defaults), read as g*g tokens in the release's order."""

    image_backbone: RegNetDims = field(default_factory=RegNetDims)
    lidar_backbone: RegNetDims = field(default_factory=RegNetDims)
    camera_width: int = 1024  # px, the frame the encoder receives (= the size's bev_camera_size)
    camera_height: int = 512
    cropped_width: int = 1024  # crop_image: both sides cut symmetrically ...
    cropped_height: int = 384  # ... and the bottom rows cut off
    normalize_imagenet: bool = True  # (x - ImageNet mean) / std, else raw 0..255 values
    jpeg_quality: int | None = 95  # the release's agent JPEG-round-trips the frame (training data were jpg)
    lidar_resolution: int = 256  # px, square LiDAR BEV (64 m at 4 px/m)
    use_ground_plane: bool = False  # LiDAR channels: (below, above) the split height, else only above
    lidar_seq_len: int = 1  # LiDAR sweeps stacked as channels (only 1 is supported here)
    img_vert_anchors: int = 12  # GPT token grid of the image branch (cropped_height / 32)
    img_horz_anchors: int = 32  # (cropped_width / 32)
    lidar_vert_anchors: int = 8  # GPT token grid of the LiDAR branch (lidar_resolution / 32)
    lidar_horz_anchors: int = 8
    n_layer: int = 2  # GPT blocks per fusion stage
    n_head: int = 4
    block_exp: int = 4  # GPT MLP expansion
    embd_pdrop: float = 0.1
    resid_pdrop: float = 0.1
    attn_pdrop: float = 0.1
    # Modules the release holds but the AE never reads (kept so its `bev_encoder.*` keys load strictly):
    top_down: bool = True  # detect_boxes / use_bev_semantic: c5_conv, up_conv5, up_conv4
    bev_features_channels: int = 64  # width of that top-down pyramid
    transformer_decoder_join: bool = True  # False + add_features: a lidar_to_img_features_end Linear
    add_features: bool = True

    def __post_init__(self) -> None:
        require(0 < self.cropped_width <= self.camera_width and 0 < self.cropped_height <= self.camera_height,
                "bev transfuser: the crop must fit inside the camera frame")
        require(self.lidar_seq_len == 1, "bev transfuser: lidar_seq_len must be 1 (one LiDAR BEV per tick)")
        require(self.lidar_resolution % 32 == 0, "bev transfuser: lidar_resolution must be a multiple of 32")
        require(min(self.img_vert_anchors, self.img_horz_anchors, self.lidar_vert_anchors,
                    self.lidar_horz_anchors, self.n_layer, self.n_head, self.block_exp) > 0,
                "bev transfuser: anchors, n_layer, n_head and block_exp must be positive")
        require(self.jpeg_quality is None or 1 <= self.jpeg_quality <= 100, "bev transfuser: jpeg_quality in 1..100")
        require(all(0.0 <= p < 1.0 for p in (self.embd_pdrop, self.resid_pdrop, self.attn_pdrop)),
                "bev transfuser: dropout probabilities in [0, 1)")

    @property
    def lidar_channels(self) -> int:
        return (2 if self.use_ground_plane else 1) * self.lidar_seq_len


RELEASE = TransfuserConfig()

# Same structure, CPU widths: stages [8, 16, 24, 40] x [1, 1, 2, 1] blocks (tiny), [16, 24, 32, 56] x
# [1, 1, 2, 2] (small). The LiDAR BEV keeps 256 px so the last stage is 8 x 8 = 64 tokens, as released.
_TINY_REGNET = RegNetDims(depth=5, w0=8, wa=8.0, wm=1.5, group_size=8, stem_width=8)
TRANSFUSER_TINY = TransfuserConfig(
    image_backbone=_TINY_REGNET, lidar_backbone=_TINY_REGNET, camera_width=64, camera_height=32,
    cropped_width=64, cropped_height=24, img_vert_anchors=1, img_horz_anchors=2, n_layer=1, n_head=2,
    block_exp=2, bev_features_channels=8,
)
_SMALL_REGNET = RegNetDims(depth=6, w0=16, wa=8.0, wm=1.5, group_size=8, stem_width=16)
TRANSFUSER_SMALL = TransfuserConfig(
    image_backbone=_SMALL_REGNET, lidar_backbone=_SMALL_REGNET, camera_width=256, camera_height=128,
    cropped_width=256, cropped_height=96, img_vert_anchors=3, img_horz_anchors=8, n_head=4,
    bev_features_channels=16,
)
