"""The project's act() against an independent statement of the official inference numerics.

tests/official_reference.py restates, in plain torch ops and from a reading of the release,
what the released weights compute at inference: the prompt and prefill mask, the mRoPE
positions, the UE layers, the TF++ BEV encoder with the agent's preprocessing, the AE
token blocks and activations, the 'gen'-mode shared attention over the cache, the heads and
the decision read-out. Here a tiny network with the transfuser BEV encoder and unit-scale
random weights (BatchNorm statistics included) runs both ways; everything agrees within 1e-5
in float32.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import official_reference as ref
import pytest
import torch
from network_fixtures import energize, observation, tiny_runtime

from planner.automot.heads import AEOutputs
from planner.automot.official_keys import official_key
from planner.automot.sizes import TINY
from sensors.lidar import lidar_to_bev
from sensors.sensor_config import BevConfig

ATOL = 1e-5


def _close(ours: torch.Tensor, theirs: torch.Tensor, what: str) -> None:
    diff = (ours.float() - theirs.float()).abs().max().item()
    assert diff <= ATOL, f"{what}: max |ours - official| = {diff:.2e}"


@pytest.fixture(scope="module")
def case():
    rt = tiny_runtime(seed=5, energized=False, bev_encoder="transfuser")
    net = rt.network
    energize(net, 5)
    gen = torch.Generator().manual_seed(77)
    with torch.no_grad():  # a RegNet that passes its inputs on: He-scaled convs, BatchNorm near identity
        for name, p in net.bev_encoder.named_parameters():
            if ".bn." in name:
                p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.1 * torch.randn(p.shape, generator=gen))
            elif p.ndim == 4:
                p.copy_(torch.randn(p.shape, generator=gen) * (2.0 / p[0].numel()) ** 0.5)
        for name, buf in net.bev_encoder.named_buffers():  # eval-mode BatchNorm reads its statistics
            if name.endswith("running_mean"):
                buf.copy_(0.1 * torch.randn(buf.shape, generator=gen))
            elif name.endswith("running_var"):
                buf.copy_(0.5 + torch.rand(buf.shape, generator=gen))
    rng = np.random.default_rng(8)
    points = np.concatenate([rng.uniform([-40, -40, -1], [40, 40, 3], (30000, 3)),
                             rng.uniform([2, -3, 0.3], [12, 3, 1.8], (4000, 3))])  # a 'car' ahead, above 0.2 m
    cam_w, cam_h = TINY.bev_camera_size
    obs = replace(observation(seed=9, speed=6.37, targets=((17.25, -2.5), (41.0, 6.75)), height=cam_h, width=cam_w),
                  lidar_bev=lidar_to_bev(points, BevConfig()))
    weights = {official_key(k): v.detach().float() for k, v in net.state_dict().items()
               if official_key(k) is not None}
    return rt, obs, points, weights


def _dims(rt) -> dict:
    t, a = TINY.text, TINY.action
    return dict(hidden=t.hidden_size, layers=t.num_layers, heads=t.num_heads, kv_heads=t.num_kv_heads,
                head_dim=t.head_dim, theta=t.rope_theta, section=t.mrope_section,
                image_pad=rt.builder.tokenizer.special.image_pad, mot_heads=a.num_heads,
                mot_kv_heads=a.num_kv_heads, mot_head_dim=a.head_dim)


def _reference(rt, obs, points, w):
    cfg = _dims(rt)
    tok = rt.builder.tokenizer
    frames = list(obs.images)
    ids, pixels, grid, splits = ref.ue_inputs(tok, rt.builder.processor, frames, TINY.image_size,
                                              obs.target_points, obs.speed)
    positions = ref.mrope_positions(ids, grid, cfg["image_pad"])
    with torch.no_grad():  # HF's vision tower, unmodified, as the release calls it
        vision = rt.network.understanding.model.get_image_features(pixels, grid, return_dict=True)
        visual = (torch.cat(vision.pooler_output), [torch.cat(f) for f in vision.deepstack_features])
        keys, values, positions = ref.ue_prefill(w, visual, ids, positions, splits, cfg)
        tf = rt.network.bev_encoder.cfg
        stages = [(s.depth, s.group_size) for s in rt.network.bev_encoder.lidar_encoder.stages_spec]
        bev_cfg = dict(cropped_width=tf.cropped_width, cropped_height=tf.cropped_height, stages=stages,
                       img_anchors=(tf.img_vert_anchors, tf.img_horz_anchors),
                       lidar_anchors=(tf.lidar_vert_anchors, tf.lidar_horz_anchors), n_head=tf.n_head,
                       n_layer=tf.n_layer)
        bev = ref.bev_feature(w, obs.current_image, ref.tf_lidar_histogram(points), bev_cfg)
        logits, route, waypoints = ref.ae_tick(w, keys, values, positions, bev, obs.target_points, obs.speed, cfg)
    return dict(ids=ids, positions=positions, keys=keys, values=values, bev=bev, logits=logits, route=route,
                waypoints=waypoints)


def test_act_equals_the_official_inference_numerics(case):
    rt, obs, points, w = case
    official = _reference(rt, obs, points, w)
    ue = rt.ue_batch([obs])
    assert ue.input_ids[0].tolist() == official["ids"].tolist()  # prompt, image blocks, where the prefix ends
    assert torch.equal(ue.position_ids[:, 0], official["positions"])
    cache = rt.understand(obs)
    for layer, (k, v) in enumerate(zip(official["keys"], official["values"])):  # mask + UE layers
        _close(cache.keys[layer][0].transpose(0, 1), k, f"UE keys, layer {layer}")
        _close(cache.values[layer][0].transpose(0, 1), v, f"UE values, layer {layer}")
    ae = rt.ae_batch([obs])
    with torch.no_grad():
        tokens = rt.network.bev_encoder(ae.camera, ae.lidar_bev)
    _close(tokens[0], official["bev"].flatten(2)[0].T, "BEV encoder tokens")
    with torch.no_grad():  # the comparison above can fail: the tokens do depend on both inputs
        assert (rt.network.bev_encoder(ae.camera, ae.lidar_bev.flip(-1)) - tokens).abs().max() > 1e-2
        assert (rt.network.bev_encoder(ae.camera.flip(-2), ae.lidar_bev) - tokens).abs().max() > 1e-4
    out = rt.act_batch(ae, cache)  # blocks, activations, shared attention, heads
    _close(out.decision_logits[0], official["logits"], "decision logits")
    _close(out.route[0], official["route"], "route")
    _close(out.waypoints[0], official["waypoints"], "waypoints")
    plan = rt.act(obs, cache)
    _close(torch.from_numpy(plan.waypoints), official["waypoints"], "act() waypoints")
    _close(torch.from_numpy(plan.route), official["route"], "act() route")
    assert official["waypoints"].abs().max() > 1e-2 and official["logits"].std() > 1e-2  # not vacuous


def test_decision_read_out_equals_the_release_reading(case):
    """The random network's argmax is no valid decision; give the logits a valid argmax (as a
    trained network would) and read them both ways: act()'s to_plan and the release's reading."""
    rt, obs, points, w = case
    official = _reference(rt, obs, points, w)
    gen = torch.Generator().manual_seed(3)
    tok = rt.builder.tokenizer
    for words in (("accelerate", "keep", "slow"), ("stop", "stop", "constant")):
        labels = [tok.special.im_start, *tok.encode(", ".join(words)), tok.special.im_end]
        logits = official["logits"].clone() + 0.1 * torch.randn(official["logits"].shape, generator=gen)
        for slot, token in enumerate(labels):
            logits[slot, token] = logits[slot].max() + 1.0
        assert ref.read_decision(tok, logits) == words
        outputs = AEOutputs(decision_logits=logits[None], route=official["route"][None],
                            waypoints=official["waypoints"][None], waypoint_steps=official["waypoints"][None],
                            speed=torch.zeros(1, 3))
        assert rt.to_plan(outputs)[0].decisions == words
