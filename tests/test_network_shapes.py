"""Network sizes: full-size parameter counts on meta, tiny output shapes, size validation."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch
from network_fixtures import observation, tiny_runtime

from core.typed_config import ConfigError
from launch.cli import main as cli_main
from planner.automot.build import build_network
from planner.automot.model_config import ModelConfig
from planner.automot.sizes import FULL, TINY, ActionDims, get_size

PUBLISHED_AE = 1_639_903_360  # per-layer *_mot_gen tensors + norm_mot_gen (DESIGN §3)
QWEN3_VL_4B = 4_437_815_808  # Qwen3-VL-4B-Instruct, tied LM head


def test_full_size_counts_on_meta_match_the_published_model():
    network, _ = build_network(ModelConfig(size="full"), device="meta")
    counts = network.param_counts()
    assert abs(counts["ae_params"] - PUBLISHED_AE) <= 0.02 * PUBLISHED_AE
    assert counts["ae_params"] == PUBLISHED_AE  # the shapes are exact, so is the count
    assert counts["ue_params"] == QWEN3_VL_4B
    assert counts["ue_params"] == counts["ue_text_params"] + counts["ue_vision_params"]
    layer = network.action_expert.layers[0]
    assert tuple(layer.q_proj.weight.shape) == (1280, 2560)
    assert tuple(layer.k_proj.weight.shape) == (320, 2560)
    assert tuple(layer.o_proj.weight.shape) == (2560, 1280)
    assert tuple(layer.q_norm.weight.shape) == (80,)
    assert tuple(network.inputs.bev_proj.weight.shape) == (2560, 1512)
    assert tuple(network.inputs.decision_queries.weight.shape) == (8, 588)
    assert all(p.device.type == "meta" for p in network.parameters())


def test_model_info_cli_json(capsys):
    assert cli_main(["model-info", "--size", "tiny", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    network, _ = build_network(ModelConfig(size="tiny"), device="meta")
    assert info["ae_params"] == network.param_counts()["ae_params"]
    assert info["ue_params"] == network.param_counts()["ue_params"]
    assert info["ae_tokens"] == 64 + 2 + 1 + 8 + 20 + 6
    assert info["ue_visual_tokens"] == 4 * TINY.visual_tokens_per_frame
    assert info["ue_tokens"] > info["ue_visual_tokens"]


def test_512x256_frame_is_128_visual_tokens():
    assert FULL.visual_tokens_per_frame == 128
    assert get_size("small").image_size == FULL.image_size


def test_tiny_joint_forward_shapes():
    runtime = tiny_runtime(energized=False)
    obs = observation()
    with torch.no_grad():
        out = runtime.network.forward_joint(runtime.ue_batch([obs, obs]), runtime.ae_batch([obs, obs]))
    ae = out.ae
    assert ae.waypoints.shape == (2, 6, 2)
    assert ae.route.shape == (2, 20, 2)
    assert ae.speed.shape == (2, 3)
    assert ae.decision_logits.shape == (2, 8, TINY.text.vocab_size)
    assert len(out.ue_keys) == TINY.text.num_layers
    assert out.ue_keys[0].shape[1:] == (TINY.text.num_kv_heads, out.ue_keys[0].shape[2], TINY.text.head_dim)


def test_size_validation_rejects_inconsistent_heads():
    with pytest.raises(ConfigError, match="AE heads"):
        replace(TINY, action=ActionDims(num_heads=3, num_kv_heads=1, head_dim=10, intermediate_size=64))
    with pytest.raises(ConfigError, match="head_dim"):
        replace(TINY, action=ActionDims(num_heads=2, num_kv_heads=1, head_dim=32, intermediate_size=64))
    with pytest.raises(ConfigError, match="Unknown model size"):
        get_size("huge")
