"""Asynchronous inference: act never changes the cache, equals the joint forward, pads, threads."""

from __future__ import annotations

import threading

import pytest
import torch
from network_fixtures import observation, tiny_runtime
from transformers.cache_utils import DynamicCache

from planner.automot.model_config import PromptConfig
from planner.automot.understanding import ue_prefix_mask


@pytest.fixture(scope="module")
def runtime():
    return tiny_runtime(seed=3)


def _outputs_close(a, b, atol=1e-4):
    for name in ("decision_logits", "route", "waypoints", "speed"):
        x, y = getattr(a, name), getattr(b, name)
        assert torch.allclose(x, y, atol=atol, rtol=0), f"{name}: max diff {(x - y).abs().max().item()}"


def test_outputs_are_not_trivially_small(runtime):
    obs = observation(seed=1)
    out = runtime.act_batch(runtime.ae_batch([obs]), runtime.understand(obs))
    assert out.waypoints.abs().max() > 1e-2  # else the atol 1e-4 comparisons below prove nothing
    assert out.decision_logits.std() > 1e-2


def test_act_leaves_the_cache_unchanged_and_repeats_exactly(runtime):
    obs = observation(seed=2)
    cache = runtime.understand(obs)
    before_k = [k.clone() for k in cache.keys]
    before_v = [v.clone() for v in cache.values]
    length, position = cache.length, cache.next_position.clone()
    first = runtime.act_batch(runtime.ae_batch([obs]), cache)
    second = runtime.act_batch(runtime.ae_batch([obs]), cache)
    assert cache.length == length and torch.equal(cache.next_position, position)
    assert all(torch.equal(a, b) for a, b in zip(before_k, cache.keys))
    assert all(torch.equal(a, b) for a, b in zip(before_v, cache.values))
    _outputs_close(first, second, atol=0.0)
    plan_a, plan_b = runtime.act(obs, cache), runtime.act(obs, cache)
    assert (plan_a.waypoints == plan_b.waypoints).all() and plan_a.decisions == plan_b.decisions


def test_act_on_cache_equals_the_joint_forward(runtime):
    observations = [observation(seed=4, speed=2.0), observation(seed=5, speed=9.5, targets=((6.0, 2.0), (20.0, 8.0)))]
    ue, ae = runtime.ue_batch(observations), runtime.ae_batch(observations)
    cache = runtime.understand_batch(ue)
    with torch.no_grad():
        joint = runtime.network.forward_joint(ue, ae)
    _outputs_close(runtime.act_batch(ae, cache), joint.ae)
    # The UE half of our joint loop (our mask, HF's modules) reproduces the prefill.
    for ours, theirs in zip(joint.ue_keys + joint.ue_values, cache.keys + cache.values):
        assert torch.allclose(ours, theirs, atol=1e-4, rtol=0)


def _hf_prefill(model, ue, attention_mask):
    """HF's own Qwen3-VL forward over the prefix (every layer, full compute) -> its DynamicCache."""
    cache = DynamicCache(config=model.config.text_config)
    with torch.no_grad():
        out = model.model(input_ids=ue.input_ids, attention_mask=attention_mask, position_ids=ue.position_ids,
                          pixel_values=ue.pixel_values, image_grid_thw=ue.image_grid_thw,
                          mm_token_type_ids=ue.mm_token_type_ids, cache=cache, use_cache=True)
    return out.cache


def test_prefill_is_hf_with_the_release_mask_and_not_plain_causal(runtime):
    obs = observation(seed=6)
    ue = runtime.ue_batch([obs])
    model = runtime.network.understanding
    cache = runtime.understand_batch(ue)
    assert cache.length == ue.input_ids.shape[1]
    assert int(cache.next_position) == int(ue.position_ids.max()) + 1  # AE continues after the prefix
    # HF's modules, run fully by HF with the release's mask given as a 4D mask: the same K/V,
    # also in the last layer, whose queries/MLP our prefill skips.
    hf = _hf_prefill(model, ue, ue_prefix_mask(model, ue))
    assert len(cache.keys) == len(hf.layers)
    for layer, (k, v) in enumerate(zip(cache.keys, cache.values)):
        assert torch.allclose(k, hf.layers[layer].keys, atol=1e-5, rtol=0), layer
        assert torch.allclose(v, hf.layers[layer].values, atol=1e-5, rtol=0), layer
    # HF's default (plain causal) prefill differs exactly where an image token reads a later
    # token of its own image: the same before the first image, different at a frame's first patch.
    causal = _hf_prefill(model, ue, ue.attention_mask)
    ids = ue.input_ids[0].tolist()
    first_image = ids.index(runtime.builder.tokenizer.special.vision_start)
    deep = cache.keys[-1][0]
    assert torch.allclose(deep[:, :first_image], causal.layers[-1].keys[0, :, :first_image], atol=1e-5)
    assert not torch.allclose(deep[:, first_image + 1], causal.layers[-1].keys[0, :, first_image + 1], atol=1e-3)


def test_nobody_computes_the_last_ue_layer_s_queries_mlp_or_final_norm(runtime):
    """Item 9: the last UE layer gives only K/V, in the prefill and in the joint forward."""
    text = runtime.network.text_model
    last = text.layers[-1]
    calls = []
    hooks = [m.register_forward_hook(lambda *_, name=name: calls.append(name))
             for name, m in (("q_proj", last.self_attn.q_proj), ("o_proj", last.self_attn.o_proj),
                             ("mlp", last.mlp), ("norm", text.norm), ("k_proj", last.self_attn.k_proj))]
    try:
        obs = observation(seed=60)
        ue, ae = runtime.ue_batch([obs]), runtime.ae_batch([obs])
        runtime.understand_batch(ue)
        with torch.no_grad():
            runtime.network.forward_joint(ue, ae)
    finally:
        for h in hooks:
            h.remove()
    assert calls == ["k_proj", "k_proj"]  # keys yes (the AE reads them), nothing else of the last layer


def test_left_padded_batch_equals_single_samples():
    # Variable-width numbers give prompts of different lengths, so the batch needs padding.
    rt = tiny_runtime(seed=7, prompt=PromptConfig(coordinate_format="{:.1f}"))
    short = observation(seed=8, targets=((1.0, 2.0), (3.0, 4.0)))
    long = observation(seed=9, targets=((123.4, -56.7), (-300.2, 45.6)))
    ue = rt.ue_batch([short, long])
    assert ue.attention_mask[0].sum() < ue.attention_mask[1].sum()
    ae = rt.ae_batch([short, long])
    batched = rt.act_batch(ae, rt.understand_batch(ue))
    with torch.no_grad():
        joint = rt.network.forward_joint(ue, ae)
    for b, obs in enumerate((short, long)):
        single = rt.act_batch(rt.ae_batch([obs]), rt.understand(obs))
        assert torch.allclose(single.waypoints[0], batched.waypoints[b], atol=1e-4, rtol=0)
        assert torch.allclose(single.decision_logits[0], batched.decision_logits[b], atol=1e-4, rtol=0)
        assert torch.allclose(single.decision_logits[0], joint.ae.decision_logits[b], atol=1e-4, rtol=0)


def test_understand_in_a_thread_beside_act(runtime):
    old, new = observation(seed=10), observation(seed=11, speed=8.0)
    old_cache = runtime.understand(old)
    expected_new = runtime.understand(new)
    expected_plan = runtime.act(old, old_cache)
    result = {}
    worker = threading.Thread(target=lambda: result.setdefault("cache", runtime.understand(new)))
    worker.start()
    plans = [runtime.act(old, old_cache) for _ in range(5)]
    worker.join(timeout=30)
    assert all((p.waypoints == expected_plan.waypoints).all() for p in plans)
    assert all(torch.equal(a, b) for a, b in zip(result["cache"].keys, expected_new.keys))
