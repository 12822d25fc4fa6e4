"""AutoMoTPlanner behind the Planner protocol, and the joint training forward's losses."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from network_fixtures import observation, tiny_runtime

from agent.automot_config import AgentConfig
from planner.automot.automot_planner import AutoMoTPlanner
from planner.automot.model_config import ModelConfig
from planner.automot.network import Targets
from planner.factory import build_planner
from planner.interface import DECISION_WORDS, Planner
from planner.planner_config import PlannerConfig


def test_planner_from_agent_config_returns_a_finite_plan():
    config = AgentConfig(planner=PlannerConfig(kind="automot"), model=ModelConfig(size="tiny"))
    planner = build_planner(config.planner, config.model)
    assert isinstance(planner, AutoMoTPlanner) and isinstance(planner, Planner)
    planner.reset()
    # A camera history shorter than four frames (route start) and a full-size camera frame.
    obs = observation(seed=41, frames=2, height=512, width=1024)
    context = planner.understand(obs)
    plan = planner.act(obs, context)
    assert plan.is_finite()
    assert plan.waypoints.shape == (6, 2) and plan.waypoints.dtype == np.float32
    assert plan.route.shape == (20, 2)
    assert len(plan.decisions) == 3 and set(plan.decisions) <= set(DECISION_WORDS)
    with pytest.raises(ValueError, match="context"):
        planner.act(obs, None)


def _targets(batch: int, vocab_ids: torch.Tensor) -> Targets:
    gen = torch.Generator().manual_seed(0)
    return Targets(
        waypoints=torch.randn(batch, 6, 2, generator=gen).cumsum(1),
        route=torch.randn(batch, 20, 2, generator=gen).cumsum(1),
        speed=torch.rand(batch, 3, generator=gen) * 10,
        decision_ids=vocab_ids,
    )


@pytest.mark.parametrize("freeze", [True, False])
def test_training_forward_losses_and_frozen_understanding(freeze):
    rt = tiny_runtime(seed=42, freeze_understanding=freeze, freeze_vision=freeze)
    net = rt.network.train()
    observations = [observation(seed=43), observation(seed=44, speed=11.0)]
    targets = _targets(2, rt.codec.targets([("keep", "slow", "stop"), ("accelerate", "keep", "keep")]))
    losses = net(rt.ue_batch(observations), rt.ae_batch(observations), targets)
    assert set(losses) == {"loss", "waypoint", "route", "speed", "decision"}
    assert all(torch.isfinite(v) and v > 0 for v in losses.values())
    assert torch.allclose(losses["loss"], sum(v for k, v in losses.items() if k != "loss"))
    losses["loss"].backward()
    ae_grad = net.action_expert.layers[0].q_proj.weight.grad
    assert ae_grad is not None and ae_grad.abs().sum() > 0
    assert net.inputs.bev_proj.weight.grad.abs().sum() > 0
    ue_grad = net.text_model.layers[0].self_attn.q_proj.weight.grad
    vision_grad = net.understanding.model.visual.blocks[0].attn.qkv.weight.grad
    if freeze:
        assert ue_grad is None and vision_grad is None
    else:
        assert ue_grad.abs().sum() > 0 and vision_grad.abs().sum() > 0


def test_loss_weights_come_from_config():
    rt = tiny_runtime(seed=45)
    obs = [observation(seed=46)]
    targets = _targets(1, rt.codec.targets([("stop", "stop", "stop")]))
    with torch.no_grad():
        base = rt.network(rt.ue_batch(obs), rt.ae_batch(obs), targets)
    rt.network.config = replace(rt.network.config, loss=replace(rt.network.config.loss, route_weight=3.0))
    with torch.no_grad():
        tripled = rt.network(rt.ue_batch(obs), rt.ae_batch(obs), targets)
    assert torch.allclose(tripled["route"], 3.0 * base["route"])
    assert torch.allclose(tripled["waypoint"], base["waypoint"])
