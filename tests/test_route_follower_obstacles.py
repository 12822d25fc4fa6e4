"""The route follower's obstacle check looks only at route samples that can matter: same answers as before."""

from __future__ import annotations

import time

import numpy as np

from core.frames import resample_polyline
from planner.planner_config import RouteFollowerConfig
from planner.route_follower import RouteFollowerPlanner


def reference_obstacle_distance(config: RouteFollowerConfig, route: np.ndarray, points: np.ndarray,
                                reach_m: float) -> float | None:
    """The check before the sample window: every candidate against every route sample."""
    if len(points) == 0:
        return None
    z = points[:, 2]
    near = (points[:, 0] > 0.5) & (points[:, 0] < reach_m) & (z > config.obstacle_min_height_m) & (
        z < config.obstacle_max_height_m)
    candidates = points[near, :2].astype(np.float64)
    if len(candidates) < config.obstacle_min_points:
        return None
    path = resample_polyline(np.vstack([np.zeros((1, 2)), route]), 0.5)
    gaps = np.min(np.linalg.norm(candidates[:, None, :] - path[None, :, :], axis=2), axis=1)
    inside = candidates[gaps < config.corridor_half_width_m]
    if len(inside) < config.obstacle_min_points:
        return None
    return float(np.sort(inside[:, 0])[config.obstacle_min_points - 1])


def _random_route(rng: np.random.Generator) -> np.ndarray:
    """20 points ahead with a random curvature, sometimes a U-turn back towards the car."""
    heading = np.cumsum(rng.normal(0.0, rng.choice([0.02, 0.2, 0.5]), 20))
    step = rng.uniform(0.5, 4.0)
    return np.cumsum(np.stack([np.cos(heading), np.sin(heading)], axis=1) * step, axis=0) + [1.0, 0.0]


def _random_cloud(rng: np.random.Generator, route: np.ndarray) -> np.ndarray:
    n = int(rng.integers(0, 3000))
    cloud = np.column_stack([rng.uniform(-20, 60, n), rng.uniform(-30, 30, n), rng.uniform(-2.5, 3.0, n),
                             rng.random(n)])
    on_route = route[rng.integers(0, len(route), int(rng.integers(0, 40)))]  # obstacles near the corridor
    near = np.column_stack([on_route + rng.normal(0, 1.2, on_route.shape), rng.uniform(0.0, 2.0, len(on_route)),
                            np.ones(len(on_route))])
    return np.concatenate([cloud, near]).astype(np.float32)


def test_same_results_as_the_full_check_on_random_inputs() -> None:
    rng = np.random.default_rng(15)
    planner = RouteFollowerPlanner(RouteFollowerConfig())
    found = 0
    for _ in range(600):
        route = _random_route(rng)
        points = _random_cloud(rng, route)
        reach = float(rng.uniform(2.0, 45.0))
        expected = reference_obstacle_distance(planner.config, route, points, reach)
        assert planner.obstacle_distance(route, points, reach) == expected
        found += expected is not None
    assert 100 < found < 500  # both outcomes exercised


def test_faster_than_the_full_check() -> None:
    rng = np.random.default_rng(3)
    planner = RouteFollowerPlanner(RouteFollowerConfig())
    cases = [(_random_route(rng), _random_cloud(rng, np.zeros((1, 2)))) for _ in range(30)]
    cases = [(route, np.concatenate([points] * 4)) for route, points in cases]

    def timed(fn) -> float:
        best = np.inf
        for _ in range(3):
            start = time.perf_counter()
            for route, points in cases:
                fn(route, points)
            best = min(best, time.perf_counter() - start)
        return best

    new = timed(lambda r, p: planner.obstacle_distance(r, p, 20.0))
    old = timed(lambda r, p: reference_obstacle_distance(planner.config, r, p, 20.0))
    assert new < old
