"""AutoMoT network configuration: which size, which weights, how the prompt reads, how losses weigh.

Shapes live in `sizes.py` (named presets); this file holds the user's choices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from core.typed_config import require
from planner.automot.bev_config import TransfuserConfig

PROMPT_VERSION = "automot-release-1"


@dataclass(frozen=True)
class PromptConfig:
    """The UE's text, as the release writes it (Automot/evaluation/inference.py USER_PROMPT and
    leaderboard/team_code/automot_utils.py build_cleaned_prompt_and_modes). A checkpoint stores
    it; loading one trained with another prompt warns."""

    version: str = PROMPT_VERSION  # names the layout below; change it whenever the text changes
    system: str = "You are a mature and professional driver."
    # {x1} {y1}: the current target point, {x2} {y2}: the next one; ego frame (x forward,
    # y right), metres. {speed}: m/s.
    navigation: str = (
        "Your current and next target point is ({x1}, {y1}), ({x2}, {y2}), and your current velocity "
        "is {speed} m/s. Predict the driving actions ( now, +1s, +2s) and plan the trajectory for the "
        "next 3 seconds."
    )
    frame_label: str = ""  # text before each image ({index} 1..num_frames); the release has none
    coordinate_format: str = "{:.6f}"  # the release's numbers: variable width, so batches are left-padded
    speed_format: str = "{:.2f}"
    coordinate_limit_m: float = 999.9  # values are clipped here (a guard: the route planner gives <= 50 m)
    speed_limit_mps: float = 99.9
    decision_separator: str = ", "  # decision words are read as '<w0><sep><w1><sep><w2>'

    def __post_init__(self) -> None:
        for key in ("{x1}", "{y1}", "{x2}", "{y2}", "{speed}"):
            require(key in self.navigation, f"model.prompt.navigation must contain {key}")
        require(self.coordinate_limit_m > 0 and self.speed_limit_mps > 0, "prompt limits must be positive")
        require(bool(self.decision_separator.strip()), "model.prompt.decision_separator needs a visible character")
        require(bool(self.version), "model.prompt.version must not be empty")


@dataclass(frozen=True)
class LossConfig:
    """The release's training losses (Automot/train/train_automot.py, automot.py AutoMoT.forward)."""

    # L1 on the 6 waypoint *step offsets* (p_i - p_{i-1}), per-step weights, normalised by
    # B * sum(weights) * 2 (the release's vad_traj_loss).
    waypoint_weight: float = 2.0
    waypoint_step_weights: tuple[float, ...] = (3.0, 3.0, 2.0, 2.0, 1.0, 1.0)  # near steps count more
    route_weight: float = 1.0  # mean L1 on the 20 route points
    speed_weight: float = 0.5  # smooth-L1 on the speed head (speeds at +1/+2/+3 s)
    speed_beta_mps: float = 1.0  # smooth-L1 transition point, m/s (torch's default, as released)
    decision_weight: float = 0.4  # cross-entropy, mean over the labelled decision slots

    def __post_init__(self) -> None:
        require(all(w >= 0 for w in self.waypoint_step_weights), "loss.waypoint_step_weights must be >= 0")
        require(min(self.waypoint_weight, self.route_weight, self.speed_weight, self.decision_weight) >= 0,
                "loss weights must be >= 0")


@dataclass(frozen=True)
class ModelConfig:
    size: Literal["tiny", "mini", "small", "full"] = "tiny"  # named shapes, see planner/automot/sizes.py
    checkpoint: str | None = None  # folder with the project's checkpoint or the official release
    device: str = "cpu"
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    # Local Qwen3-VL folder (config.json, weights, tokenizer.json, preprocessor_config.json):
    # the understanding expert's starting weights and tokenizer. Never fetched from the hub.
    qwen_path: str | None = None
    seed: int = 0  # random initialisation when no weights are given
    freeze_understanding: bool = True  # UE text weights (and the tied LM head) take no gradient
    freeze_vision: bool = True  # UE vision tower takes no gradient
    # BEV encoder: None = the size's default (transfuser at full, compact_cnn at tiny/small).
    bev_encoder: Literal["compact_cnn", "transfuser"] | None = None
    transfuser: TransfuserConfig | None = None  # the transfuser's settings; None = the size's preset
    # None: frozen (and kept in eval mode) for the transfuser, as the release trains it;
    # trainable for the compact CNN, which starts from random weights.
    freeze_bev_encoder: bool | None = None
    num_frames: int = 4  # camera frames shown to the UE per understanding pass
    # False: the network never reads the ego speed (the prompt and the velocity token read 0 m/s,
    # in training and in the agent). A network told its own speed learns that standing still means
    # staying still (the inertia problem of behaviour cloning); without it, stop and go come from the
    # scene: the camera frames, the LiDAR and the target points. Stored in the checkpoint.
    ego_speed_input: bool = True
    attn_implementation: Literal["sdpa", "eager"] = "sdpa"  # for the HF understanding expert
    # A checkpoint with missing or mis-shaped tensors is an error (False: warn and keep the init).
    strict_load: bool = True
    prompt: PromptConfig = field(default_factory=PromptConfig)
    loss: LossConfig = field(default_factory=LossConfig)

    def __post_init__(self) -> None:
        require(self.num_frames >= 1, "model.num_frames must be >= 1")
        require(bool(self.device), "model.device must not be empty")
