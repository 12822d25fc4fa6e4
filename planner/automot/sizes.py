"""Named network sizes: tiny (tests), small (CPU benchmarks, embedded sim), full (published AutoMoT).

`full` reproduces DESIGN §3: Qwen3-VL-4B as understanding expert (UE) and the published
1.64B action expert (AE). The AE's hidden width always equals the UE's (they share
attention, and the AE's o-projection writes back into a stream of that width).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from core.typed_config import ConfigError, require
from planner.automot.bev_config import RELEASE, TRANSFUSER_SMALL, TRANSFUSER_TINY, TransfuserConfig


@dataclass(frozen=True)
class TextDims:
    """Qwen3-VL text decoder (the UE's language model)."""

    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    mrope_section: tuple[int, int, int]  # (t, h, w) frequency counts; sum = head_dim / 2
    rope_theta: float = 5_000_000.0
    max_position_embeddings: int = 262_144
    rms_norm_eps: float = 1e-6


@dataclass(frozen=True)
class VisionDims:
    depth: int
    hidden_size: int
    intermediate_size: int
    num_heads: int
    num_position_embeddings: int  # learned grid, a perfect square
    deepstack_indexes: tuple[int, ...]  # vision layers whose features are added to the first text layers
    patch_size: int = 16
    temporal_patch_size: int = 2
    spatial_merge_size: int = 2


@dataclass(frozen=True)
class ActionDims:
    """Per-layer action-expert weights (one set beside every UE decoder layer)."""

    num_heads: int
    num_kv_heads: int
    head_dim: int  # zero-padded to the UE head_dim inside the shared attention
    intermediate_size: int


@dataclass(frozen=True)
class TaskDims:
    """AE input encoders, queries and output heads (shapes of the official release at `full`)."""

    bev_channels: tuple[int, int, int]  # compact CNN stage widths
    bev_feature_dim: int  # compact CNN token width (the transfuser's is its LiDAR branch's last width, 1512)
    query_embed_dim: int  # learned query table width (588 official)
    encoder_hidden: tuple[int, int]  # target-point / speed MLP widths (256, 512 official)
    head_hidden: tuple[int, int]  # route / waypoint MLP widths (512, 256 official)
    speed_outputs: int = 3  # speed head: m/s at +1 s, +2 s, +3 s (the release's future_speeds)
    # compact CNN: how its camera branch pools each image column. 'mean_max' adds the column's
    # maximum, so a small bright spot (a traffic light ~10 px high) survives the pooling.
    camera_row_pool: Literal["mean", "mean_max"] = "mean"


@dataclass(frozen=True)
class SizeSpec:
    name: str
    text: TextDims
    vision: VisionDims
    action: ActionDims
    task: TaskDims
    image_size: tuple[int, int]  # (width, height) px of each UE frame; 512x256 -> 128 visual tokens
    bev_camera_size: tuple[int, int]  # (width, height) px of the current frame for the BEV encoder
    bev_encoder: str = "compact_cnn"  # the size's default BEV encoder (model.bev_encoder overrides)
    transfuser: TransfuserConfig = field(default_factory=TransfuserConfig)  # preset (model.transfuser overrides)
    bev_grid: int = 8  # BEV tokens = bev_grid ** 2 = 64
    num_target_points: int = 2
    num_decision_queries: int = 8
    num_route_points: int = 20
    num_waypoints: int = 6
    num_decision_words: int = 3  # now, +1 s, +2 s
    tokenizer_vocab: int = field(default=0)  # built-in tokenizer size; 0 -> text.vocab_size

    def __post_init__(self) -> None:
        t, v, a = self.text, self.vision, self.action
        require(2 * sum(t.mrope_section) == t.head_dim, f"{self.name}: sum(mrope_section) must be head_dim/2")
        require(t.num_heads % t.num_kv_heads == 0, f"{self.name}: UE heads must be a multiple of KV heads")
        groups = t.num_heads // t.num_kv_heads
        # The shared attention reuses the UE's GQA grouping: AE query head h reads KV head h // groups.
        require(a.num_heads == a.num_kv_heads * groups, f"{self.name}: AE heads must be AE KV heads x {groups}")
        require(a.num_kv_heads <= t.num_kv_heads, f"{self.name}: AE KV heads cannot exceed the UE's")
        require(0 < a.head_dim <= t.head_dim, f"{self.name}: AE head_dim must be in (0, UE head_dim]")
        require(math.isqrt(v.num_position_embeddings) ** 2 == v.num_position_embeddings,
                f"{self.name}: vision num_position_embeddings must be a perfect square")
        require(all(0 <= i < v.depth for i in v.deepstack_indexes), f"{self.name}: deepstack index out of range")
        step = v.patch_size * v.spatial_merge_size
        for w, h in (self.image_size,):
            require(w % step == 0 and h % step == 0, f"{self.name}: image sides must be multiples of {step}")
        require(self.tokenizer_vocab <= t.vocab_size, f"{self.name}: tokenizer_vocab exceeds vocab_size")
        require(self.bev_encoder in ("compact_cnn", "transfuser"), f"{self.name}: unknown bev_encoder")

    @property
    def visual_tokens_per_frame(self) -> int:
        step = self.vision.patch_size * self.vision.spatial_merge_size
        return (self.image_size[0] // step) * (self.image_size[1] // step)

    @property
    def ae_block_sizes(self) -> dict[str, int]:
        """AE token blocks in sequence order, as the release splits them ([64, 3, 8, 20, 6] at full):
        both target points and the speed token are one bidirectional block (tp1, tp2, speed)."""
        return {
            "bev": self.bev_grid**2,
            "target_speed": self.num_target_points + 1,
            "decision": self.num_decision_queries,
            "route": self.num_route_points,
            "waypoint": self.num_waypoints,
        }

    @property
    def ae_tokens(self) -> int:
        return sum(self.ae_block_sizes.values())

    @property
    def built_in_vocab(self) -> int:
        return self.tokenizer_vocab or self.text.vocab_size


FULL = SizeSpec(
    name="full",
    text=TextDims(vocab_size=151_936, hidden_size=2560, intermediate_size=9728, num_layers=36, num_heads=32,
                  num_kv_heads=8, head_dim=128, mrope_section=(24, 20, 20)),
    vision=VisionDims(depth=24, hidden_size=1024, intermediate_size=4096, num_heads=16,
                      num_position_embeddings=2304, deepstack_indexes=(5, 11, 17)),
    action=ActionDims(num_heads=16, num_kv_heads=4, head_dim=80, intermediate_size=4864),
    task=TaskDims(bev_channels=(64, 128, 256), bev_feature_dim=1512, query_embed_dim=588,
                  encoder_hidden=(256, 512), head_hidden=(512, 256)),
    image_size=(512, 256),
    bev_camera_size=(1024, 512),  # the full front frame: the release's encoder crops it to 1024x384 itself
    bev_encoder="transfuser",
    transfuser=RELEASE,
    tokenizer_vocab=2048,  # used only when no Qwen tokenizer folder is given (random-weight runs)
)

SMALL = SizeSpec(
    name="small",
    text=TextDims(vocab_size=2048, hidden_size=512, intermediate_size=1536, num_layers=8, num_heads=8,
                  num_kv_heads=2, head_dim=64, mrope_section=(12, 10, 10)),
    vision=VisionDims(depth=4, hidden_size=256, intermediate_size=1024, num_heads=4,
                      num_position_embeddings=256, deepstack_indexes=(0, 1, 2)),
    action=ActionDims(num_heads=4, num_kv_heads=1, head_dim=40, intermediate_size=768),
    task=TaskDims(bev_channels=(16, 32, 64), bev_feature_dim=192, query_embed_dim=128,
                  encoder_hidden=(64, 128), head_hidden=(128, 64)),
    image_size=(512, 256),  # the full token budget: only widths shrink at `small`
    bev_camera_size=(256, 128),
    transfuser=TRANSFUSER_SMALL,
)

TINY = SizeSpec(
    name="tiny",
    text=TextDims(vocab_size=512, hidden_size=64, intermediate_size=128, num_layers=2, num_heads=4,
                  num_kv_heads=2, head_dim=16, mrope_section=(4, 2, 2), max_position_embeddings=4096),
    vision=VisionDims(depth=2, hidden_size=32, intermediate_size=64, num_heads=2,
                      num_position_embeddings=16, deepstack_indexes=(0,)),
    action=ActionDims(num_heads=2, num_kv_heads=1, head_dim=10, intermediate_size=64),
    task=TaskDims(bev_channels=(8, 8, 16), bev_feature_dim=24, query_embed_dim=16,
                  encoder_hidden=(16, 32), head_hidden=(32, 16)),
    image_size=(128, 64),
    bev_camera_size=(64, 32),
    transfuser=TRANSFUSER_TINY,
)

# The embedded model: small enough to train on a 2-core CPU in under an hour and to tick at
# 20 Hz beside the simulator. Its UE frames are tiny (8 visual tokens each: the prompt and
# the coarse scene), while the BEV encoder reads the current frame at 512x256, where a
# traffic light is still a few pixels across.
MINI = SizeSpec(
    name="mini",
    text=TextDims(vocab_size=512, hidden_size=128, intermediate_size=384, num_layers=3, num_heads=4,
                  num_kv_heads=2, head_dim=32, mrope_section=(8, 4, 4), max_position_embeddings=4096),
    vision=VisionDims(depth=1, hidden_size=64, intermediate_size=128, num_heads=2,
                      num_position_embeddings=64, deepstack_indexes=(0,)),
    action=ActionDims(num_heads=2, num_kv_heads=1, head_dim=32, intermediate_size=256),
    task=TaskDims(bev_channels=(16, 32, 64), bev_feature_dim=96, query_embed_dim=32,
                  encoder_hidden=(32, 64), head_hidden=(64, 32), camera_row_pool="mean_max"),
    image_size=(128, 64),
    bev_camera_size=(512, 256),
)

SIZES: dict[str, SizeSpec] = {spec.name: spec for spec in (TINY, MINI, SMALL, FULL)}


def get_size(name: str) -> SizeSpec:
    if name not in SIZES:
        raise ConfigError(f"Unknown model size {name!r}; choose one of {sorted(SIZES)}.")
    return SIZES[name]
