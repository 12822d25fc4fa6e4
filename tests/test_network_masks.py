"""The shared-attention mask (DESIGN §3), structurally and through the network."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
import torch
from network_fixtures import observation, tiny_runtime

from planner.automot.masks import ae_block_ids, ae_mask, joint_mask, prefix_mask
from planner.automot.sizes import TINY

VS, VE, PAD_IMG = 90, 91, 92  # stand-ins for <|vision_start|>, <|vision_end|>, <|image_pad|>


def test_prefix_mask_images_bidirectional_text_causal():
    # [pad] [t t] [VS i i VE] [VS i VE] [t t]: two image blocks between causal text.
    ids = torch.tensor([[0, 5, 6, VS, PAD_IMG, PAD_IMG, VE, VS, PAD_IMG, VE, 7, 8]])
    valid = torch.tensor([[0] + [1] * 11])
    m = prefix_mask(ids, valid, VS, VE)[0, 0]
    first, second = range(3, 7), range(7, 10)
    for block in (first, second):
        assert m[block.start:block.stop, block.start:block.stop].all()  # bidirectional inside an image
        assert m[block.start:block.stop, 1:block.start].all()  # and sees the text before it
    assert not m[3:7, 7:].any()  # the first image never sees the second one or later text
    text = [1, 2, 10, 11]
    assert torch.equal(m[text][:, text], torch.ones(4, 4, dtype=torch.bool).tril())  # causal text
    assert not m[1:, 0].any() and m[0, 0]  # padding is never read; its own row keeps the diagonal


def test_joint_mask_structure():
    blocks = ae_block_ids(TINY.ae_block_sizes)
    assert list(TINY.ae_block_sizes.values()) == [64, 3, 8, 20, 6]  # the release's split lengths
    ids = torch.tensor([[0, 5, VS, PAD_IMG, VE]])
    valid = torch.tensor([[0, 1, 1, 1, 1]])  # one left-padding token
    prefix = prefix_mask(ids, valid, VS, VE)
    tu, ta = ids.shape[1], blocks.numel()
    mask = joint_mask(prefix, valid, blocks)[0, 0]
    assert mask.shape == (tu + ta, tu + ta)
    assert torch.equal(mask[:tu, :tu], prefix[0, 0])
    assert not mask[:tu, tu:].any()  # the UE never sees AE tokens
    assert mask[tu:, 1:tu].all() and not mask[tu:, 0].any()  # AE sees every real UE token, no padding
    ae = mask[tu:, tu:]
    starts = torch.tensor([0, *TINY.ae_block_sizes.values()]).cumsum(0)
    for s, e in itertools.pairwise(starts):
        assert ae[s:e, s:e].all()  # bidirectional inside a block (tp1 reads the speed token)
        assert ae[s:e, :s].all()  # sees every earlier block
        assert not ae[s:e, e:].any()  # never a later block
    assert torch.equal(ae_mask(valid, blocks)[0, 0], mask[tu:])  # the cached form is the joint form's AE rows


@pytest.fixture(scope="module")
def rt():
    return tiny_runtime(seed=12)


def _decision_and_plan(rt, obs, cache):
    out = rt.act_batch(rt.ae_batch([obs]), cache)
    return out.decision_logits.clone(), out.route.clone(), out.waypoints.clone()


def test_planning_queries_do_not_reach_the_decisions(rt):
    obs = observation(seed=13)
    cache = rt.understand(obs)
    dec0, route0, wp0 = _decision_and_plan(rt, obs, cache)
    inputs = rt.network.inputs
    saved = (inputs.route_queries.weight.clone(), inputs.waypoint_queries.weight.clone())
    try:
        with torch.no_grad():
            inputs.route_queries.weight.add_(torch.randn_like(inputs.route_queries.weight))
            inputs.waypoint_queries.weight.add_(torch.randn_like(inputs.waypoint_queries.weight))
        dec1, route1, wp1 = _decision_and_plan(rt, obs, cache)
    finally:
        with torch.no_grad():
            inputs.route_queries.weight.copy_(saved[0])
            inputs.waypoint_queries.weight.copy_(saved[1])
    assert torch.allclose(dec0, dec1, atol=1e-6, rtol=0)
    assert not torch.allclose(route0, route1, atol=1e-3)  # the perturbation was real
    assert not torch.allclose(wp0, wp1, atol=1e-3)


def test_decisions_do_read_the_tick_inputs(rt):
    obs = observation(seed=14, speed=2.0)
    cache = rt.understand(obs)
    dec0, _, _ = _decision_and_plan(rt, obs, cache)
    faster = observation(seed=14, speed=15.0)
    dec1, _, _ = _decision_and_plan(rt, faster, cache)
    assert not torch.allclose(dec0, dec1, atol=1e-3)


def test_ae_inputs_never_change_the_ue_cache(rt):
    a = observation(seed=15, speed=1.0)
    images = a.images.copy()
    images[-1] = 255 - images[-1]  # the newest frame feeds the BEV encoder
    b = replace(a, speed=20.0, target_points=np.array([[-5.0, 9.0], [2.0, -30.0]], np.float32),
                lidar_bev=1.0 - a.lidar_bev, images=images)
    ue = rt.ue_batch([a])
    with torch.no_grad():
        ja = rt.network.forward_joint(ue, rt.ae_batch([a]))
        jb = rt.network.forward_joint(ue, rt.ae_batch([b]))
    assert not torch.allclose(ja.ae.waypoints, jb.ae.waypoints, atol=1e-3)
    for x, y in zip(ja.ue_keys + ja.ue_values, jb.ue_keys + jb.ue_values):
        assert torch.equal(x, y)

