"""AutoMoT network configuration: which size, which weights, how the prompt reads, how losses weigh.

Shapes live in `sizes.py` (named presets); this file holds the user's choices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from core.typed_config import require


@dataclass(frozen=True)
class PromptConfig:
    """Text around the four camera frames. Numbers use fixed-width formats so that, with
    Qwen's one-token-per-digit rule, every tick has the same token count (constant
    budget, batches without padding)."""

    system: str = (
        "You are an autonomous driving agent. You see the front camera at four moments, "
        "0.25 s apart, oldest first. Decide how to drive safely towards the target points."
    )
    # {x1} {y1} {x2} {y2}: ego frame (x forward, y right), metres; {speed}: m/s.
    navigation: str = (
        "Target point 1: x {x1} m, y {y1} m. Target point 2: x {x2} m, y {y2} m. "
        "Current speed: {speed} m/s. What should the car do now, in 1 s and in 2 s?"
    )
    frame_label: str = "Frame {index}: "  # before each image; {index} 1..num_frames
    coordinate_format: str = "{:+06.1f}"  # -> '+012.5': sign, 3 digits, point, 1 digit
    speed_format: str = "{:04.1f}"  # -> '05.2' m/s
    coordinate_limit_m: float = 999.9  # values are clipped here so the width stays fixed
    speed_limit_mps: float = 99.9
    decision_separator: str = " "  # decision words are read as '<w0><sep><w1><sep><w2>'

    def __post_init__(self) -> None:
        for key in ("{x1}", "{y1}", "{x2}", "{y2}", "{speed}"):
            require(key in self.navigation, f"model.prompt.navigation must contain {key}")
        require(self.coordinate_limit_m > 0 and self.speed_limit_mps > 0, "prompt limits must be positive")


@dataclass(frozen=True)
class LossConfig:
    """Published AutoMoT training losses and their weights."""

    waypoint_weight: float = 2.0  # L1 on the 6 waypoints
    waypoint_step_weights: tuple[float, ...] = (3.0, 3.0, 2.0, 2.0, 1.0, 1.0)  # near steps count more
    route_weight: float = 1.0  # L1 on the 20 route points
    speed_weight: float = 0.5  # smooth-L1 on the speed head
    speed_beta_mps: float = 1.0  # smooth-L1 transition point, m/s
    decision_weight: float = 0.4  # cross-entropy on the decision tokens

    def __post_init__(self) -> None:
        require(all(w >= 0 for w in self.waypoint_step_weights), "loss.waypoint_step_weights must be >= 0")
        require(min(self.waypoint_weight, self.route_weight, self.speed_weight, self.decision_weight) >= 0,
                "loss weights must be >= 0")


@dataclass(frozen=True)
class ModelConfig:
    size: Literal["tiny", "small", "full"] = "tiny"  # named shapes, see planner/automot/sizes.py
    checkpoint: str | None = None  # folder with the project's checkpoint or the official release
    device: str = "cpu"
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    # Local Qwen3-VL folder (config.json, weights, tokenizer.json, preprocessor_config.json):
    # the understanding expert's starting weights and tokenizer. Never fetched from the hub.
    qwen_path: str | None = None
    seed: int = 0  # random initialisation when no weights are given
    freeze_understanding: bool = True  # UE text weights (and the tied LM head) take no gradient
    freeze_vision: bool = True  # UE vision tower takes no gradient
    bev_encoder: Literal["compact_cnn"] = "compact_cnn"  # registry in bev_encoder.py
    num_frames: int = 4  # camera frames shown to the UE per understanding pass
    attn_implementation: Literal["sdpa", "eager"] = "sdpa"  # for the HF understanding expert
    # A checkpoint with missing or mis-shaped tensors is an error (False: warn and keep the init).
    strict_load: bool = True
    prompt: PromptConfig = field(default_factory=PromptConfig)
    loss: LossConfig = field(default_factory=LossConfig)

    def __post_init__(self) -> None:
        require(self.num_frames >= 1, "model.num_frames must be >= 1")
        require(bool(self.device), "model.device must not be empty")
