"""Parameter counts per part and the token budget of one tick, from a model built on `meta`."""

from __future__ import annotations

import numpy as np

from planner.automot.build import build_network, without_weights
from planner.automot.model_config import ModelConfig
from planner.automot.prompt import build_prompt
from planner.automot.sizes import get_size


def model_info(config: ModelConfig) -> dict:
    """No weights are allocated (meta device); the prompt is tokenised once for the budget."""
    spec = get_size(config.size)
    network, tokenizer = build_network(without_weights(config), device="meta")
    prompt = build_prompt(tokenizer, config.prompt, spec.visual_tokens_per_frame, config.num_frames,
                          np.array([[12.3, -4.5], [45.6, 7.8]]), 5.0)
    visual = spec.visual_tokens_per_frame * config.num_frames
    return {
        "size": spec.name,
        **network.param_counts(),
        "ue_tokens": len(prompt.input_ids),  # per understanding pass (the numbers' width varies a little)
        "ue_visual_tokens": visual,
        "num_frames": config.num_frames,
        "ue_text_tokens": len(prompt.input_ids) - visual,
        "ae_tokens": spec.ae_tokens,  # per tick
        "ae_blocks": spec.ae_block_sizes,  # in sequence order: bev, target_speed, decision, route, waypoint
        "bev_encoder": network.bev_encoder_name,
        "image_size": list(spec.image_size),
        "tokenizer": tokenizer.source,
        "vocab_size": spec.text.vocab_size,
    }
