"""model.dtype: bfloat16 on CPU, end to end: its plans agree with float32 within a stated tolerance.

Tolerance (tiny size, unit-scale random weights, plans of O(1) m waypoints and O(10) m routes):
|bf16 - fp32| <= 0.05 m + 2 % of the largest |fp32| coordinate, per output. bf16 keeps 8 bits of
mantissa (relative step 0.4 %); measured here: 0.04 m on waypoints, 0.07 m on routes.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from network_fixtures import energize, observation

from planner.automot.automot_planner import AutoMoTPlanner
from planner.automot.build import build_runtime
from planner.automot.model_config import ModelConfig
from planner.factory import build_planner
from planner.planner_config import PlannerConfig

ABS_M, REL = 0.05, 0.02


def _within(fp32: np.ndarray, bf16: np.ndarray) -> bool:
    return float(np.abs(fp32 - bf16).max()) <= ABS_M + REL * float(np.abs(fp32).max())


@pytest.fixture(scope="module")
def runtimes():
    fp32, bf16 = (build_runtime(ModelConfig(size="tiny", dtype=d)) for d in ("float32", "bfloat16"))
    energize(fp32.network, 0)
    energize(bf16.network, 0)  # the same draws, rounded to bf16
    return fp32, bf16


def test_bf16_network_really_computes_in_bf16(runtimes) -> None:
    fp32, bf16 = runtimes
    assert bf16.dtype == torch.bfloat16 and next(bf16.network.parameters()).dtype == torch.bfloat16
    obs = observation(seed=1)
    cache = bf16.understand(obs)
    assert cache.keys[0].dtype == torch.bfloat16
    plan16, plan32 = bf16.act(obs, cache), fp32.act(obs, fp32.understand(obs))
    assert plan16.waypoints.dtype == np.float32 and plan16.is_finite()
    assert not np.array_equal(plan16.waypoints, plan32.waypoints)  # not silently fp32


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bf16_plans_agree_with_fp32(runtimes, seed: int) -> None:
    fp32, bf16 = runtimes
    obs = observation(seed=seed)
    plan32, plan16 = fp32.act(obs, fp32.understand(obs)), bf16.act(obs, bf16.understand(obs))
    assert np.abs(plan32.waypoints).max() > 0.5 and np.abs(plan32.route).max() > 5.0  # not vacuously small
    assert _within(plan32.waypoints, plan16.waypoints)
    assert _within(plan32.route, plan16.route)


def test_tolerance_rejects_a_wrong_plan(runtimes) -> None:
    fp32, _ = runtimes
    obs = observation(seed=0)
    plan = fp32.act(obs, fp32.understand(obs))
    assert not _within(plan.waypoints, plan.waypoints + 0.1 + REL * np.abs(plan.waypoints).max())


def test_agent_config_bf16_drives_the_planner() -> None:
    planner = build_planner(PlannerConfig(kind="automot"), ModelConfig(size="tiny", dtype="bfloat16"))
    assert isinstance(planner, AutoMoTPlanner)
    obs = observation(seed=3, frames=2, height=512, width=1024)
    plan = planner.act(obs, planner.understand(obs))
    assert plan.is_finite() and plan.waypoints.dtype == np.float32 and plan.route.shape == (20, 2)
