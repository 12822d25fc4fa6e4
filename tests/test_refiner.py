"""The action refiner (AutoMoT+): truncated DDIM on the AE's plan, its training stage, the agent switch."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from network_fixtures import observation, tiny_runtime
from training_fixtures import tiny_config, write_dataset

from agent.automot_config import agent_config_from_dict
from core.typed_config import ConfigError
from planner.automot.build import build_runtime
from planner.automot.checkpoint import save_checkpoint
from planner.automot.model_config import ModelConfig
from planner.automot.refiner import REFINER_CONFIG, REFINER_WEIGHTS, ActionRefiner, load_refiner
from planner.automot.refiner_config import RefinerConfig
from planner.automot.sizes import get_size
from training.logs import METRICS_FILE, read_metrics
from training.trainer import train


@pytest.fixture(scope="module")
def runtime():
    return tiny_runtime(seed=3)


def _outputs(runtime, seed=0):
    obs = observation(seed)
    cache = runtime.understand(obs)
    return runtime.act_batch(runtime.ae_batch([obs]), cache)


def test_truncated_schedule_noises_to_the_truncation_step_and_steps_down():
    refiner = ActionRefiner(get_size("tiny"), RefinerConfig(truncation_step=50, inference_steps=2))
    assert refiner.inference_timesteps == [50, 25]
    assert type(refiner.scheduler).__name__ == "DDIMScheduler"
    assert refiner.scheduler.config.prediction_type == "sample"
    with pytest.raises(ConfigError, match=r"multiple of refiner\.inference_steps"):
        RefinerConfig(truncation_step=50, inference_steps=3)
    with pytest.raises(ConfigError, match=r"needs refiner\.checkpoint"):
        RefinerConfig(enabled=True)


def test_refine_replaces_waypoints_and_route_only_and_is_deterministic(runtime):
    out = _outputs(runtime)
    assert out.hidden is not None and out.hidden.shape[1] == runtime.network.spec.ae_tokens
    refiner = ActionRefiner(runtime.network.spec, RefinerConfig()).eval()
    with torch.no_grad():
        a, b = refiner.refine(out), refiner.refine(out)
    assert torch.equal(a.waypoints, b.waypoints) and torch.equal(a.route, b.route)
    # an untrained refiner's correction is zero: it returns the anchor, whatever the noise
    assert torch.allclose(a.waypoints, out.waypoints, atol=1e-5) and torch.allclose(a.route, out.route, atol=1e-5)
    x = torch.randn(1, refiner.points, 2)
    anchor = refiner.anchor(out)
    with torch.no_grad():
        assert torch.equal(refiner.denoise(x, anchor, refiner.time_features(torch.tensor([25])),
                                           refiner.conditioning(out)), anchor)
        # ... and once its correction is not zero it moves the plan
        refiner.out[1].bias.fill_(0.1)
        moved = refiner.refine(out)
    assert not torch.allclose(moved.waypoints, out.waypoints)
    assert torch.equal(a.decision_logits, out.decision_logits) and torch.equal(a.speed, out.speed)
    assert torch.allclose(a.waypoint_steps.cumsum(1), a.waypoints, atol=1e-5)


def test_refine_equals_every_ddim_step_through_diffusers(runtime):
    """refine() skips the scheduler after the last denoising and reuses the steps' time features;
    its plan must be the last pred_original_sample of the plain DDIM loop over all steps."""
    out = _outputs(runtime, seed=1)
    refiner = ActionRefiner(runtime.network.spec, RefinerConfig(inference_steps=2, truncation_step=50)).eval()
    with torch.no_grad():
        for parameter in refiner.parameters():  # a trained-looking refiner: the correction is not zero
            parameter.add_(0.05 * torch.randn_like(parameter))
        refined = refiner.refine(out)
        cond, anchor = refiner.conditioning(out), refiner.anchor(out)
        gen = torch.Generator().manual_seed(refiner.config.seed)
        noise = torch.randn(anchor.shape, generator=gen)
        x = refiner.scheduler.add_noise(anchor, noise, torch.tensor([refiner.config.truncation_step]))
        for t in refiner.inference_timesteps:
            step = refiner.scheduler.step(refiner.denoise(x, anchor, refiner.time_features(torch.tensor([t])), cond), t, x)
            x, clean = step.prev_sample, step.pred_original_sample
        waypoints, route = refiner.split(clean)
    assert not torch.allclose(refined.waypoints, out.waypoints, atol=1e-3)
    torch.testing.assert_close(refined.waypoints, waypoints, rtol=1e-6, atol=1e-5)  # fp rounding only
    torch.testing.assert_close(refined.route, route, rtol=1e-6, atol=1e-5)


def test_refine_follows_a_weight_change_after_its_first_plan(runtime):
    """refine() keeps the weight-only terms of its steps between plans: a changed time MLP or point
    embedding (an optimiser step, a load) must show in the next plan, as in a fresh refiner's."""
    out = _outputs(runtime, seed=2)
    config = RefinerConfig(inference_steps=2, truncation_step=50)
    refiner = ActionRefiner(runtime.network.spec, config).eval()
    with torch.no_grad():
        for parameter in refiner.parameters():  # a trained-looking refiner: the correction is not zero
            parameter.add_(0.05 * torch.randn_like(parameter))
        first = refiner.refine(out)
        refiner.time_mlp[2].bias.add_(0.5)
        refiner.point_embed.weight.mul_(2.0)
        changed = refiner.refine(out)
        fresh = ActionRefiner(runtime.network.spec, config).eval()
        fresh.load_state_dict(refiner.state_dict())
        expected = fresh.refine(out)
    assert not torch.allclose(first.waypoints, changed.waypoints, atol=1e-4)
    torch.testing.assert_close(changed.waypoints, expected.waypoints, rtol=0, atol=0)
    torch.testing.assert_close(changed.route, expected.route, rtol=0, atol=0)


def test_ddim_step_coefficients_are_diffusers_step():
    refiner = ActionRefiner(get_size("tiny"), RefinerConfig(inference_steps=2, truncation_step=50))
    x0, x = torch.randn(3, 26, 2), torch.randn(3, 26, 2)
    (a, b), = refiner.step_coefficients
    torch.testing.assert_close(a * x0 + b * x, refiner.scheduler.step(x0, 50, x).prev_sample)
    assert 0 < b < 1 < a + b + 1e-6  # from the noisier step: keep some of x, pull toward x0


def test_refiner_stage_trains_with_the_network_frozen_and_the_agent_loads_it(tmp_path):
    data = write_dataset(tmp_path / "data", routes=4)
    base = tiny_runtime(seed=1, energized=False)
    save_checkpoint(base.network, base.builder.tokenizer, tmp_path / "net")
    before = {k: v.clone() for k, v in base.network.state_dict().items()}
    config = tiny_config(data, tmp_path / "ref", steps=3)
    config = replace(config, stage="refiner", init=replace(config.init, checkpoint=str(tmp_path / "net")))
    result = train(config)
    folder = result.checkpoint / "model"
    assert (folder / REFINER_WEIGHTS).is_file() and (folder / REFINER_CONFIG).is_file()
    assert not (folder / "model.safetensors").exists()  # the refiner's folder holds the refiner only
    val = [r for r in read_metrics(tmp_path / "ref" / METRICS_FILE) if r["kind"] == "val"][-1]
    assert {"l2_1s", "base_l2_1s", "base_collision_3s"} <= set(val)
    assert val["l2_1s"] != val["base_l2_1s"]
    network = build_runtime(ModelConfig(size="tiny", checkpoint=str(tmp_path / "net"))).network
    assert all(torch.equal(before[k], v) for k, v in network.state_dict().items())  # frozen

    # The agent switch: the same network, with and without the refiner.
    plain = build_runtime(ModelConfig(size="tiny", checkpoint=str(tmp_path / "net")))
    refined = build_runtime(ModelConfig(size="tiny", checkpoint=str(tmp_path / "net")),
                            RefinerConfig(enabled=True, checkpoint=str(folder)))
    obs = observation(2)
    p0, p1 = plain.act(obs, plain.understand(obs)), refined.act(obs, refined.understand(obs))
    assert p0.decisions == p1.decisions and not np.allclose(p0.waypoints, p1.waypoints)
    out = refined.act_batch(refined.ae_batch([obs]), refined.understand(obs))
    with torch.no_grad():
        expected = refined.refiner.refine(out)
    assert np.allclose(p1.waypoints, expected.waypoints[0].numpy()) and np.allclose(p1.route, expected.route[0].numpy())
    with pytest.raises(ValueError, match="trained for size 'tiny'"):
        load_refiner(folder, get_size("mini"))


def test_agent_config_has_a_refiner_section_off_by_default(tmp_path):
    config = agent_config_from_dict({})
    assert config.refiner.enabled is False
    on = agent_config_from_dict({"refiner": {"enabled": True, "checkpoint": str(tmp_path)}})
    assert on.refiner.enabled and on.refiner.checkpoint == str(tmp_path)
    with pytest.raises(ConfigError):
        agent_config_from_dict({"refiner": {"enabeld": True}})
