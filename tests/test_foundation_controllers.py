"""Controllers: PID, lateral look-ahead, brake rules, max speed, warm-up, stuck creep and its LiDAR guard."""

from __future__ import annotations

import numpy as np
import pytest

from controllers.controller_config import (
    ControllerConfig,
    LateralConfig,
    LongitudinalConfig,
    PIDConfig,
    SafetyConfig,
)
from controllers.driving_controller import DrivingController
from controllers.lateral import LateralController
from controllers.longitudinal import LongitudinalController
from controllers.pid import PID
from controllers.safety import SafetyMonitor
from planner.interface import Plan

NO_POINTS = np.zeros((0, 4), dtype=np.float32)


def test_pid_terms():
    pid = PID(PIDConfig(k_p=1.0, k_i=0.0, k_d=0.0, window=3))
    assert pid.step(2.0) == 2.0
    pid = PID(PIDConfig(k_p=0.0, k_i=1.0, k_d=1.0, window=2))
    assert pid.step(1.0) == pytest.approx(0.5 + 1.0)  # mean of [0, 1] + (1 - 0)
    assert pid.step(1.0) == pytest.approx(1.0 + 0.0)


def test_lookahead_index_is_clipped():
    lateral = LateralController(LateralConfig())
    assert lateral.lookahead_index(0.0) == 24
    assert lateral.lookahead_index(100.0) == 105
    assert lateral.lookahead_index(10.0) == round(0.9755 * 36 + 1.9153)


def test_steers_towards_the_route():
    straight = np.stack([np.arange(1, 21, dtype=float), np.zeros(20)], axis=1)
    right = straight + [0.0, 2.0]  # route 2 m to the right (CARLA: +y is right)
    assert LateralController(LateralConfig()).step(right, 5.0) > 0
    left = straight - [0.0, 2.0]
    assert LateralController(LateralConfig()).step(left, 5.0) < 0
    assert LateralController(LateralConfig()).step(straight, 5.0) == pytest.approx(0.0)


def test_desired_speed_and_brake_rules():
    longitudinal = LongitudinalController(LongitudinalConfig())
    waypoints = np.array([[2.5 * (i + 1), 0.0] for i in range(6)])  # 2.5 m per 0.5 s
    assert longitudinal.desired_speed(waypoints) == pytest.approx(5.0)
    throttle, brake = longitudinal.step(5.0, 2.0)
    assert throttle > 0 and brake == 0
    assert longitudinal.step(0.3, 2.0) == (0.0, 1.0)  # desired < 0.4 m/s
    assert longitudinal.step(5.0, 5.6) == (0.0, 1.0)  # 5.6 / 5 > 1.1
    assert longitudinal.step(50.0, 21.0) == (0.0, 1.0)  # over the hard maximum


def test_warmup_then_creep_when_stuck_unless_blocked():
    config = SafetyConfig(warmup_ticks=3, stuck_ticks=10, creep_ticks=4)
    monitor = SafetyMonitor(config)
    assert all(monitor.step(t, 0.0, NO_POINTS).warmup for t in range(3))
    decisions = [monitor.step(t, 0.0, NO_POINTS) for t in range(3, 20)]
    creeping = [d.creep for d in decisions]
    assert creeping.index(True) == 9 and sum(creeping) == 4

    wall = np.array([[4.0, 0.0, 1.0, 1.0]] * 10, dtype=np.float32)  # inside the safety box
    blocked = SafetyMonitor(config)
    assert not any(blocked.step(t, 0.0, wall).creep for t in range(40))
    assert blocked.obstacle_ahead(wall)
    assert not blocked.obstacle_ahead(wall + [0.0, 5.0, 0.0, 0.0])  # beside the box


def test_driving_controller_outputs_in_range():
    controller = DrivingController(ControllerConfig())
    route = np.stack([np.arange(1, 21, dtype=float), np.linspace(0, 3, 20)], axis=1)
    plan = Plan(waypoints=route[2:8:1].astype(np.float32), route=route.astype(np.float32))
    warm = controller.step(plan, 0, 0.0, NO_POINTS)
    assert warm.brake == 1.0 and warm.throttle == 0.0
    command = controller.step(plan, 100, 2.0, NO_POINTS)
    assert -1 <= command.steer <= 1 and 0 <= command.throttle <= 1 and 0 <= command.brake <= 1
    stop = Plan(waypoints=plan.waypoints, route=plan.route, emergency_stop=True)
    assert controller.step(stop, 101, 2.0, NO_POINTS).brake == 1.0
    broken = Plan(waypoints=np.full((6, 2), np.nan, dtype=np.float32), route=plan.route)
    assert controller.step(broken, 102, 2.0, NO_POINTS).brake == 1.0


def _observation(points: np.ndarray, speed: float = 5.0):
    from planner.interface import EgoState, Observation

    route = np.stack([np.arange(1, 21, dtype=np.float32), np.zeros(20, np.float32)], axis=1)
    return Observation(
        tick=0, timestamp=0.0, images=np.zeros((4, 8, 8, 3), np.uint8), lidar_bev=np.zeros((2, 4, 4), np.float32),
        lidar_points=points.astype(np.float32), speed=speed, target_points=np.array([[10, 0], [20, 0]], np.float32),
        command=4, route=route, ego=EgoState(position=np.zeros(2), yaw=0.0, speed=speed),
    )


def test_route_follower_plans_along_the_route_and_stops_for_obstacles():
    from planner.planner_config import RouteFollowerConfig
    from planner.route_follower import RouteFollowerPlanner

    planner = RouteFollowerPlanner(RouteFollowerConfig(target_speed_mps=6.0))
    clear = planner.act(_observation(np.zeros((0, 4))), None)
    assert clear.target_speed == 6.0 and not clear.emergency_stop
    np.testing.assert_allclose(clear.waypoints[:, 0], 3.0 * np.arange(1, 7), atol=1e-4)  # 6 m/s x 0.5 s steps
    car_ahead = np.array([[8.0, 0.3, 1.0, 1.0]] * 10)
    assert planner.act(_observation(car_ahead), None).emergency_stop
    beside = car_ahead + [0.0, 3.0, 0.0, 0.0]  # the next lane
    assert not planner.act(_observation(beside), None).emergency_stop
    far = car_ahead + [40.0, 0.0, 0.0, 0.0]  # beyond the stopping reach at 5 m/s
    assert not planner.act(_observation(far), None).emergency_stop
    ground = car_ahead * [1, 1, 0, 1]  # road surface returns
    assert not planner.act(_observation(ground), None).emergency_stop


def test_degenerate_planned_route_falls_back_to_the_global_route():
    controller = DrivingController(ControllerConfig())
    collapsed = Plan(waypoints=np.zeros((6, 2), np.float32), route=np.full((20, 2), 1e-3, np.float32))
    global_route = np.stack([np.arange(1, 21, dtype=np.float32), np.full(20, -3.0, np.float32)], axis=1)
    command = controller.step(collapsed, 100, 3.0, NO_POINTS, fallback_route=global_route)
    assert command.steer < 0  # towards the global route on the left, not an arbitrary full lock
    assert controller.steering_route(collapsed, global_route) is global_route
    good = Plan(waypoints=np.zeros((6, 2), np.float32), route=global_route * [1, -1])
    assert controller.steering_route(good, global_route) is good.route
