"""Explicit key map between our parameter names and the official AutoMoT release (DESIGN §3).

The release keeps the action expert as `*_mot_gen` siblings inside each Qwen3-VL decoder
layer (older HF naming: text under `language_model.model.`, vision under `vision_model.`),
and the task modules at the top level under their own names.
"""

from __future__ import annotations

import re

# Whole-prefix renames, ours -> official, tried in order (first match wins).
PREFIX_MAP: tuple[tuple[str, str], ...] = (
    ("understanding.model.language_model.", "language_model.model."),
    ("understanding.model.visual.", "vision_model."),
    ("understanding.lm_head.", "language_model.lm_head."),
    ("action_expert.norm.", "language_model.model.norm_mot_gen."),
    ("bev_encoder.", "bev_encoder."),
    ("inputs.bev_proj.", "bev_encoder_proj."),
    ("inputs.target_point_encoder.", "target_point_encoder.mlp."),
    ("inputs.speed_encoder.", "velocity_encoder."),
    ("inputs.decision_queries.", "reasoning_queries."),
    ("inputs.decision_projector.", "reasoning_projector."),
    ("inputs.route_queries.", "route_queries."),
    ("inputs.route_projector.", "route_projector."),
    ("inputs.waypoint_queries.", "waypoint_queries."),
    ("inputs.waypoint_projector.", "waypoint_projector."),
    ("heads.route_head.", "route_head.mlp."),
    ("heads.waypoint_head.", "waypoints_head.mlp."),
    ("heads.speed_head.", "velocity_head."),
)

# Action-expert layer parts, ours -> official (inside language_model.model.layers.{i}.).
AE_LAYER_MAP: dict[str, str] = {
    "q_proj": "self_attn.q_proj_mot_gen",
    "k_proj": "self_attn.k_proj_mot_gen",
    "v_proj": "self_attn.v_proj_mot_gen",
    "o_proj": "self_attn.o_proj_mot_gen",
    "q_norm": "self_attn.q_norm_mot_gen",
    "k_norm": "self_attn.k_norm_mot_gen",
    "mlp": "mlp_mot_gen",
    "input_layernorm": "input_layernorm_mot_gen",
    "post_attention_layernorm": "post_attention_layernorm_mot_gen",
}

_AE_LAYER = re.compile(r"^action_expert\.layers\.(\d+)\.([a-z_]+)\.(.+)$")

# Official tensors known to be unused at inference (the heads' `.query` is never read).
IGNORED_OFFICIAL = re.compile(r"^(route_head|waypoints_head)\.query(\..+)?$")

# Our tensor that mirrors another one when embeddings are tied (absent or ignored in files).
TIED_KEYS: tuple[str, ...] = ("understanding.lm_head.weight",)


def official_key(ours: str) -> str | None:
    """Our state-dict key -> the official release's key (None: no counterpart)."""
    match = _AE_LAYER.match(ours)
    if match:
        layer, part, rest = match.groups()
        if part not in AE_LAYER_MAP:
            return None
        return f"language_model.model.layers.{layer}.{AE_LAYER_MAP[part]}.{rest}"
    for ours_prefix, theirs_prefix in PREFIX_MAP:
        if ours.startswith(ours_prefix):
            return theirs_prefix + ours[len(ours_prefix):]
    return None


def official_key_map(our_keys: list[str]) -> dict[str, str]:
    """{our key: official key} for every key that has a counterpart."""
    mapped = {k: official_key(k) for k in our_keys}
    return {k: v for k, v in mapped.items() if v is not None}
