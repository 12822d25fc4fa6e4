"""Route planner: target points 7.5-50 m ahead, commands, overshoot, route end, malformed plans."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from agent.leaderboard_base import downsample_route
from core.carla_compat import RoadOption, make_transform
from planner.planner_config import RoutePlannerConfig
from planner.route_planner import GlobalPlanError, RoutePlanner, parse_global_plan, targets_in_ego
from sensors.gnss import world_to_gnss


def _planner(points, options):
    planner = RoutePlanner(RoutePlannerConfig())
    planner.set_route(np.asarray(points, dtype=float), np.asarray(options))
    return planner


def test_targets_stay_between_min_and_max_distance():
    points = [[0, 0], [30, 0], [100, 0], [100, 80], [160, 80]]
    planner = _planner(points, [4, 4, 1, 4, 4])
    for x in np.arange(0.0, 100.0, 2.5):
        targets = planner.update(np.array([x, 0.3]))
        distance = np.linalg.norm(targets.target_points_world[0] - [x, 0.3])
        assert 7.5 - 0.5 <= distance <= 50.0 + 0.5
        assert np.linalg.norm(targets.target_points_world[1] - targets.target_points_world[0]) <= 50.0 + 1e-6


def test_overshoot_advances_and_command_follows_the_plan():
    planner = _planner([[0, 0], [50, 0], [60, 0], [60, 50]], [4, 4, 1, 4])
    first = planner.update(np.array([0.0, 0.0]))
    assert first.command == RoadOption.LANEFOLLOW
    # the car went past (50, 0) without ever getting close to it exactly
    targets = planner.update(np.array([52.0, 1.5]))
    assert targets.progress_m > 50.0
    assert targets.command == RoadOption.LEFT  # approaching the point that carries LEFT
    assert targets.target_points_world[0][0] >= 59.0


def test_progress_never_walks_backwards():
    planner = _planner([[0, 0], [100, 0]], [4, 4])
    ahead = planner.update(np.array([40.0, 0.0])).progress_m
    assert planner.update(np.array([38.0, 0.0])).progress_m == ahead


def test_end_of_route_and_ego_frame():
    planner = _planner([[0, 0], [20, 0]], [4, 4])
    targets = planner.update(np.array([18.0, 0.0]))
    # near the end the target stays min_distance ahead, on the extension of the last segment
    np.testing.assert_allclose(targets.target_points_world[0], [25.5, 0.0], atol=1e-6)
    assert targets.remaining_m == pytest.approx(2.0)
    # facing +y (yaw 90 deg), a point at +x world is on the car's left (negative ego y)
    tp, route = targets_in_ego(targets, np.array([18.0, 0.0]), np.pi / 2)
    np.testing.assert_allclose(tp[0], [0.0, -7.5], atol=1e-5)
    assert route.shape == (20, 2) and np.isfinite(route).all()


def test_lane_change_options_are_passed_through():
    planner = _planner([[0, 0], [10, 0], [30, 3.5], [80, 3.5]], [4, 5, 4, 4])
    assert planner.update(np.array([0.0, 0.0])).command == RoadOption.CHANGELANELEFT


def test_parse_both_plan_forms_and_errors():
    world = [(make_transform(float(x), 2.0 * x, 0.0), RoadOption.LANEFOLLOW) for x in range(5)]
    gps = [({"lat": world_to_gnss(float(x), 2.0 * x, 0.0)[0], "lon": world_to_gnss(float(x), 2.0 * x, 0.0)[1],
             "z": 0.0}, RoadOption.LANEFOLLOW) for x in range(5)]
    points_world, options = parse_global_plan(world, None)
    points_gps, _ = parse_global_plan(None, gps)
    np.testing.assert_allclose(points_world, points_gps, atol=1e-6)
    assert (options == 4).all()
    with pytest.raises(GlobalPlanError, match="empty"):
        parse_global_plan([], [])
    with pytest.raises(GlobalPlanError, match="entry 1"):
        parse_global_plan([world[0], ("not a transform", 4)], None)
    with pytest.raises(GlobalPlanError, match="entry 0"):
        parse_global_plan(None, [({"lat": 1.0}, 4)])
    with pytest.raises(GlobalPlanError):
        parse_global_plan([(make_transform(0, 0, 0), 99)], None)


def test_downsample_like_the_leaderboard():
    route = [(make_transform(float(x), 0.0, 0.0), RoadOption.LANEFOLLOW) for x in range(200)]
    route[120] = (route[120][0], RoadOption.LEFT)
    kept = downsample_route(route, 50.0)
    assert kept[0] == 0 and kept[-1] == 199
    assert 120 in kept and 121 in kept  # entering and leaving the junction option
    assert all(b - a <= 52 for a, b in itertools.pairwise(kept))
