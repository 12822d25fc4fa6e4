"""The shared-attention mask (DESIGN §3), structurally and through the network."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
import torch
from network_fixtures import observation, tiny_runtime

from planner.automot.masks import ae_block_ids, ae_mask, joint_mask
from planner.automot.sizes import TINY


def test_joint_mask_structure():
    blocks = ae_block_ids(TINY.ae_block_sizes)
    tu, ta = 5, blocks.numel()
    prefix = torch.tensor([[0, 1, 1, 1, 1]])  # one left-padding token
    mask = joint_mask(prefix, blocks)[0, 0]
    assert mask.shape == (tu + ta, tu + ta)
    assert not mask[:tu, tu:].any()  # the UE never sees AE tokens
    assert torch.equal(mask[1:tu, 1:tu], torch.ones(tu - 1, tu - 1, dtype=torch.bool).tril())  # causal UE
    assert mask[tu:, 1:tu].all() and not mask[tu:, 0].any()  # AE sees every real UE token, no padding
    ae = mask[tu:, tu:]
    sizes = list(TINY.ae_block_sizes.values())
    starts = torch.tensor([0, *sizes]).cumsum(0)
    for s, e in itertools.pairwise(starts):
        assert ae[s:e, s:e].all()  # bidirectional inside a block
        assert ae[s:e, :s].all()  # sees every earlier block
        assert not ae[s:e, e:].any()  # never a later block
    assert torch.equal(ae_mask(prefix, blocks)[0, 0], mask[tu:])  # the cached form is the joint form's AE rows


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
