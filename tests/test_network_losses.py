"""Training numerics as released: loss forms, the speed head's input, activations, a bf16 step."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from network_fixtures import observation, tiny_runtime
from torch import nn

from launch.cli import main as cli_main
from planner.automot.decisions import IGNORE_INDEX
from planner.automot.heads import AEHeads, AEOutputs
from planner.automot.model_config import LossConfig
from planner.automot.network import Targets, compute_losses
from planner.automot.sizes import TINY


def _outputs(steps: torch.Tensor, vocab: int = 11) -> AEOutputs:
    b = steps.shape[0]
    return AEOutputs(decision_logits=torch.zeros(b, 8, vocab), route=torch.zeros(b, 20, 2),
                     waypoints=steps.cumsum(1), waypoint_steps=steps, speed=torch.zeros(b, 3))


def _targets(waypoints: torch.Tensor, decision_ids: torch.Tensor | None = None) -> Targets:
    b = waypoints.shape[0]
    ids = decision_ids if decision_ids is not None else torch.full((b, 8), IGNORE_INDEX).index_fill_(1, torch.tensor([0]), 1)
    return Targets(waypoints=waypoints, route=torch.zeros(b, 20, 2), speed=torch.zeros(b, 3), decision_ids=ids)


def test_waypoint_loss_is_weighted_l1_on_step_offsets_over_the_weight_sum():
    gen = torch.Generator().manual_seed(0)
    truth = torch.randn(2, 6, 2, generator=gen).cumsum(1)  # positions
    true_steps = torch.cat([truth[:, :1], truth[:, 1:] - truth[:, :-1]], dim=1)
    wrong_first = true_steps.clone()
    wrong_first[:, 0, 0] += 1.0  # every later *position* is now off by 1 m too, but no later *step*
    losses = compute_losses(_outputs(wrong_first), _targets(truth), LossConfig())
    # sum |d| * w / (B * sum(w) * 2) with w = [3, 3, 2, 2, 1, 1], times the weight 2.0
    assert torch.isclose(losses["waypoint"], torch.tensor(2.0 * (2 * 3 * 1.0) / (2 * 12 * 2)))
    wrong_last = true_steps.clone()
    wrong_last[:, 5, 1] -= 1.0
    late = compute_losses(_outputs(wrong_last), _targets(truth), LossConfig())["waypoint"]
    assert torch.isclose(late, losses["waypoint"] / 3)  # a last-step error weighs 1, a first-step one 3
    assert compute_losses(_outputs(true_steps), _targets(truth), LossConfig())["waypoint"] == 0


def test_decision_loss_is_the_mean_over_labelled_slots_only():
    gen = torch.Generator().manual_seed(1)
    ids = torch.tensor([[1, 4, 5, 2] + [IGNORE_INDEX] * 4, [1, 3, 2] + [IGNORE_INDEX] * 5])
    out = _outputs(torch.zeros(2, 6, 2))
    logits = torch.randn(2, 8, 11, generator=gen)
    out = AEOutputs(logits, out.route, out.waypoints, out.waypoint_steps, out.speed)
    loss = compute_losses(out, _targets(torch.zeros(2, 6, 2), ids), LossConfig())["decision"]
    labelled = ids != IGNORE_INDEX
    expected = torch.nn.functional.cross_entropy(logits[labelled], ids[labelled])  # 7 labelled slots
    assert torch.isclose(loss, 0.4 * expected)
    scrambled = logits.clone()
    scrambled[~labelled] = torch.randn(int((~labelled).sum()), 11, generator=gen) * 10
    out2 = AEOutputs(scrambled, out.route, out.waypoints, out.waypoint_steps, out.speed)
    assert torch.isclose(compute_losses(out2, _targets(torch.zeros(2, 6, 2), ids), LossConfig())["decision"], loss)


def test_speed_head_reads_the_velocity_token_only():
    heads = AEHeads(TINY).eval()
    lm_head = nn.Linear(TINY.text.hidden_size, 7, bias=False)
    hidden = torch.randn(1, TINY.ae_tokens, TINY.text.hidden_size)
    assert heads.velocity_index == 64 + 2  # [64 BEV][tp1, tp2, speed]
    base = heads(hidden, lm_head).speed
    others = hidden.clone()
    others[:, : heads.velocity_index] += 1.0
    others[:, heads.velocity_index + 1:] += 1.0
    assert torch.equal(heads(others, lm_head).speed, base)
    moved = hidden.clone()
    moved[:, heads.velocity_index] += 1.0
    assert not torch.allclose(heads(moved, lm_head).speed, base)


def test_task_module_activations_are_the_release_s():
    net = tiny_runtime(energized=False).network
    inputs, heads = net.inputs, net.heads
    assert [type(m) for m in inputs.target_point_encoder] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    assert [type(m) for m in inputs.speed_encoder] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    for projector in (inputs.decision_projector, inputs.route_projector, inputs.waypoint_projector):
        assert isinstance(projector.act, nn.GELU) and projector.act.approximate == "tanh"
    for head in (heads.route_head, heads.waypoint_head):
        assert [type(m) for m in head] == [nn.Linear, nn.SiLU, nn.Linear, nn.SiLU, nn.Linear]
        assert head[4].bias is None
    assert isinstance(heads.speed_head[1], nn.LeakyReLU) and heads.speed_head[1].negative_slope == 0.1


def test_model_info_reports_the_release_block_order(capsys):
    assert cli_main(["model-info", "--size", "tiny", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert list(info["ae_blocks"].items()) == [("bev", 64), ("target_speed", 3), ("decision", 8),
                                               ("route", 20), ("waypoint", 6)]


@pytest.mark.parametrize("bev_encoder", ["compact_cnn", "transfuser"])
def test_bf16_training_step_on_cpu(bev_encoder):
    rt = tiny_runtime(seed=50, dtype="bfloat16", bev_encoder=bev_encoder)
    net = rt.network.train()
    assert next(net.action_expert.parameters()).dtype == torch.bfloat16
    lidar = (np.random.default_rng(0).random((2, 256, 256)) < 0.05).astype(np.float32)
    observations = [observation(seed=51), observation(seed=52, speed=9.0)]
    observations = [replace(o, lidar_bev=lidar) for o in observations]
    ue, ae = rt.ue_batch(observations), rt.ae_batch(observations)
    assert ae.camera.dtype == torch.float32  # the builders give float32; forward_joint casts
    targets = Targets(waypoints=torch.randn(2, 6, 2).cumsum(1), route=torch.randn(2, 20, 2).cumsum(1),
                      speed=torch.rand(2, 3) * 8,
                      decision_ids=rt.codec.targets([("keep", "slow", "stop"), ("accelerate", "keep", "keep")]))
    optimizer = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=1e-2)
    before = net.action_expert.layers[0].q_proj.weight.detach().clone()
    losses = net(ue, ae, targets)
    assert all(torch.isfinite(v) for v in losses.values())
    losses["loss"].backward()
    optimizer.step()
    assert not torch.equal(net.action_expert.layers[0].q_proj.weight, before)
    if bev_encoder == "transfuser":  # frozen and in eval mode, as the release trains it
        assert not net.bev_encoder.training and all(p.grad is None for p in net.bev_encoder.parameters())
    plan = rt.act(observations[0], rt.understand(observations[0]))
    assert plan.is_finite()
