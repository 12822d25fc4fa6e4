"""Checkpoints: our folder format round trip, the official release layout, and clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from network_fixtures import observation, tiny_runtime
from safetensors.torch import save_file

from planner.automot.build import build_runtime
from planner.automot.checkpoint import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from planner.automot.model_config import ModelConfig, PromptConfig
from planner.automot.official_keys import official_key

# Names as the official release spells them (DESIGN §3), written here by hand, not derived.
OFFICIAL_NAMES = (
    "language_model.model.layers.0.self_attn.q_proj_mot_gen.weight",
    "language_model.model.layers.1.self_attn.k_norm_mot_gen.weight",
    "language_model.model.layers.1.mlp_mot_gen.down_proj.weight",
    "language_model.model.layers.0.input_layernorm_mot_gen.weight",
    "language_model.model.layers.0.post_attention_layernorm_mot_gen.weight",
    "language_model.model.norm_mot_gen.weight",
    "language_model.model.layers.0.self_attn.q_proj.weight",
    "language_model.model.embed_tokens.weight",
    "vision_model.blocks.0.attn.qkv.weight",
    "bev_encoder_proj.weight",
    "target_point_encoder.mlp.4.weight",
    "velocity_encoder.0.weight",
    "reasoning_queries.weight",
    "reasoning_projector.fc1.weight",
    "route_head.mlp.4.weight",
    "waypoints_head.mlp.0.bias",
    "velocity_head.2.weight",
)


@pytest.fixture(scope="module")
def source():
    return tiny_runtime(seed=31)


def test_own_format_round_trip(source, tmp_path):
    save_checkpoint(source.network, source.builder.tokenizer, tmp_path)
    assert {p.name for p in tmp_path.iterdir()} >= {WEIGHTS_FILE, CONFIG_FILE, "tokenizer.json"}
    loaded = build_runtime(ModelConfig(size="tiny", seed=99, checkpoint=str(tmp_path)))
    ours, theirs = source.network.state_dict(), loaded.network.state_dict()
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    assert loaded.network.lm_head.weight is loaded.network.text_model.embed_tokens.weight  # still tied
    assert loaded.builder.tokenizer.tokenizer.to_str() == source.builder.tokenizer.tokenizer.to_str()
    obs = observation(seed=32)
    a, b = source.act(obs, source.understand(obs)), loaded.act(obs, loaded.understand(obs))
    assert (a.waypoints == b.waypoints).all() and a.decisions == b.decisions


def test_own_format_size_mismatch_and_corruption_are_clear_errors(source, tmp_path):
    save_checkpoint(source.network, source.builder.tokenizer, tmp_path)
    meta = json.loads((tmp_path / CONFIG_FILE).read_text())
    (tmp_path / CONFIG_FILE).write_text(json.dumps({**meta, "size": "small"}))
    with pytest.raises(CheckpointError, match="size 'small'"):
        load_checkpoint(tiny_runtime(energized=False).network, tmp_path)
    (tmp_path / CONFIG_FILE).write_text(json.dumps(meta))
    blob = (tmp_path / WEIGHTS_FILE).read_bytes()
    (tmp_path / WEIGHTS_FILE).write_bytes(blob[: len(blob) // 2])  # truncated
    with pytest.raises(CheckpointError, match="safetensors"):
        load_checkpoint(tiny_runtime(energized=False).network, tmp_path)
    (tmp_path / WEIGHTS_FILE).write_bytes(b"\x00garbage" * 10)
    with pytest.raises(CheckpointError, match=str(tmp_path / WEIGHTS_FILE)):
        load_checkpoint(tiny_runtime(energized=False).network, tmp_path)
    (tmp_path / CONFIG_FILE).write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(tiny_runtime(energized=False).network, tmp_path)


def _official_tensors(network) -> dict[str, torch.Tensor]:
    """A fake official release of a tiny network: official names, bf16 like the real file."""
    state = network.state_dict()
    tensors = {official_key(k): v.to(torch.bfloat16).contiguous() for k, v in state.items()
               if k != "understanding.lm_head.weight"}
    tensors["route_head.query.weight"] = torch.zeros(6, 4, dtype=torch.bfloat16)  # unused in the release
    return tensors


def test_official_layout_loads_with_the_explicit_key_map(source, tmp_path):
    tensors = _official_tensors(source.network)
    assert set(OFFICIAL_NAMES) <= set(tensors)
    save_file(tensors, str(tmp_path / WEIGHTS_FILE))
    target = tiny_runtime(seed=33, energized=False).network
    report = load_checkpoint(target, tmp_path, strict=True)
    assert report.kind == "official" and report.ok
    assert report.unexpected == [] and report.ignored == ["route_head.query.weight"]
    for key, value in source.network.state_dict().items():
        assert torch.equal(target.state_dict()[key], value.to(torch.bfloat16).float()), key


def test_official_layout_reports_missing_unexpected_and_misshaped(source, tmp_path):
    tensors = _official_tensors(source.network)
    del tensors["language_model.model.layers.1.self_attn.k_norm_mot_gen.weight"]
    tensors["language_model.model.layers.0.self_attn.extra_mot_gen.weight"] = torch.zeros(3)
    tensors["reasoning_queries.weight"] = torch.zeros(7, 16, dtype=torch.bfloat16)
    save_file(tensors, str(tmp_path / WEIGHTS_FILE))
    target = tiny_runtime(seed=34, energized=False).network
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(target, tmp_path, strict=True)
    assert "action_expert.layers.1.k_norm.weight" in str(err.value)
    kept = target.inputs.decision_queries.weight.clone()
    report = load_checkpoint(target, tmp_path, strict=False)
    assert report.missing == ["action_expert.layers.1.k_norm.weight"]
    assert report.unexpected == ["language_model.model.layers.0.self_attn.extra_mot_gen.weight"]
    assert report.mismatched == [("inputs.decision_queries.weight", (8, 16), (7, 16))]
    assert torch.equal(target.inputs.decision_queries.weight, kept)  # a mis-shaped tensor is not loaded
    summary = report.summary()
    assert "missing (1)" in summary and "unexpected (1)" in summary and "mis-shaped (1)" in summary


def test_official_corrupt_file_and_empty_folder(tmp_path):
    target = tiny_runtime(energized=False).network
    with pytest.raises(CheckpointError, match="neither"):
        load_checkpoint(target, tmp_path)
    (tmp_path / WEIGHTS_FILE).write_bytes(b"\xff" * 64)
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        load_checkpoint(target, tmp_path)


def test_understanding_weights_from_a_local_qwen_folder(source, tmp_path):
    """model.qwen_path: HF from_pretrained of a local folder (weights, tokenizer, preprocessor), no hub."""
    source.network.understanding.save_pretrained(tmp_path)
    source.builder.tokenizer.save(tmp_path)
    source.builder.processor.save_pretrained(tmp_path)
    rt = build_runtime(ModelConfig(size="tiny", seed=36, qwen_path=str(tmp_path)))
    ours = rt.network.understanding.state_dict()
    for key, value in source.network.understanding.state_dict().items():
        assert torch.equal(ours[key], value), key
    assert rt.network.lm_head.weight is rt.network.text_model.embed_tokens.weight
    assert not torch.equal(rt.network.action_expert.layers[0].q_proj.weight,
                           source.network.action_expert.layers[0].q_proj.weight)  # the AE starts fresh
    plan = rt.act(observation(seed=37), rt.understand(observation(seed=37)))
    assert plan.is_finite()


def test_prompt_version_mismatch_warns_and_bev_encoder_mismatch_is_an_error(source, tmp_path, caplog):
    save_checkpoint(source.network, source.builder.tokenizer, tmp_path)
    meta = json.loads((tmp_path / CONFIG_FILE).read_text())
    assert meta["version"] == 2 and meta["bev_encoder"] == "compact_cnn"
    assert meta["model"]["prompt"]["version"] == PromptConfig().version
    older = {**meta, "model": {**meta["model"], "prompt": {**meta["model"]["prompt"], "version": "frame-labels-0",
                                                           "frame_label": "Frame {index}: "}}}
    (tmp_path / CONFIG_FILE).write_text(json.dumps(older))
    with caplog.at_level("WARNING"):
        load_checkpoint(tiny_runtime(energized=False).network, tmp_path)
    assert "frame-labels-0" in caplog.text and PromptConfig().version in caplog.text
    (tmp_path / CONFIG_FILE).write_text(json.dumps({**meta, "bev_encoder": "transfuser"}))
    with pytest.raises(CheckpointError, match="'transfuser' BEV encoder"):
        load_checkpoint(tiny_runtime(energized=False).network, tmp_path)
    (tmp_path / CONFIG_FILE).write_text(json.dumps({**meta, "version": 1}))
    with pytest.raises(CheckpointError, match="version 1"):
        load_checkpoint(tiny_runtime(energized=False).network, tmp_path)


def test_a_network_without_speed_input_plans_the_same_at_any_speed(tmp_path):
    """model.ego_speed_input false: the prompt and the velocity token read 0 m/s, so the plan cannot
    depend on the measured speed; with it, the same observation at another speed plans otherwise."""
    blind = tiny_runtime(seed=41, ego_speed_input=False)
    seeing = tiny_runtime(seed=41)
    slow, fast = observation(seed=42, speed=0.0), observation(seed=42, speed=9.0)
    blind_plans = [blind.act(o, blind.understand(o)) for o in (slow, fast)]
    np.testing.assert_array_equal(blind_plans[0].waypoints, blind_plans[1].waypoints)
    seeing_plans = [seeing.act(o, seeing.understand(o)) for o in (slow, fast)]
    assert np.abs(seeing_plans[0].waypoints - seeing_plans[1].waypoints).max() > 1e-3
    # and the prompt really reads 0: the blind builder's tokens at 9 m/s are the seeing ones at 0
    assert torch.equal(blind.ue_batch([fast]).input_ids, seeing.ue_batch([slow]).input_ids)


def test_a_checkpoint_is_refused_by_a_network_reading_other_inputs(tmp_path):
    blind = tiny_runtime(seed=43, ego_speed_input=False)
    save_checkpoint(blind.network, blind.builder.tokenizer, tmp_path)
    assert json.loads((tmp_path / CONFIG_FILE).read_text())["model"]["ego_speed_input"] is False
    with pytest.raises(CheckpointError, match=r"ego_speed_input false.*says true"):
        build_runtime(ModelConfig(size="tiny", checkpoint=str(tmp_path)))
    loaded = build_runtime(ModelConfig(size="tiny", checkpoint=str(tmp_path), ego_speed_input=False))
    assert loaded.network.config.ego_speed_input is False
    # a fine-tune may change the inputs on purpose
    seeing = tiny_runtime(seed=44)
    load_checkpoint(seeing.network, tmp_path, same_inputs=False)
