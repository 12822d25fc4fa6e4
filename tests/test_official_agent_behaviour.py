"""The official agent's behaviour outside the network, as config options: UKF state estimate,
stuck / creep, parked start, parking escape, route read-out (PCHIP, look-ahead), speed control,
route-planner command. Expected values are worked out by hand from the release's rules."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from agent.automot_agent import AutoMoTAgent
from agent.automot_config import load_agent_config
from controllers.controller_config import (
    LateralConfig,
    LongitudinalConfig,
    ParkingEscapeConfig,
    PIDConfig,
    SafetyConfig,
)
from controllers.lateral import LateralController
from controllers.longitudinal import LongitudinalController
from controllers.parking_escape import ParkingEscape
from controllers.pid import PID
from controllers.route_interpolation import pchip, pchip_route
from controllers.safety import SafetyMonitor
from core.carla_compat import RoadOption
from launch.synthetic_drive import SyntheticDrive, curved_route
from planner.planner_config import RoutePlannerConfig
from planner.route_planner import RoutePlanner
from sensors.gnss import yaw_to_compass
from sensors.sensor_config import StateEstimatorConfig, UkfConfig
from sensors.state_estimator import StateEstimator
from sensors.ukf import bicycle_step

REPO = Path(__file__).resolve().parents[1]
NO_POINTS = np.zeros((0, 4), dtype=np.float32)
BLOCKING = np.tile(np.array([[4.0, 0.0, 1.0, 1.0]], dtype=np.float32), (20, 1))  # inside the safety box


def test_official_preset_loads_with_the_release_values():
    config = load_agent_config(REPO / "configs" / "official_agent.yaml")
    c = config.controllers
    assert config.sensors.state_estimator.kind == "ukf"
    assert c.lateral.lookahead_offset == 1.195 and c.lateral.interpolation == "pchip"
    assert not c.lateral.pid.prefill_window
    assert c.longitudinal.max_speed_mps * 3.6 == pytest.approx(35.0, abs=1e-3)
    assert (c.safety.warmup_ticks, c.safety.stuck_ticks, c.safety.creep_ticks) == (31, 300, 14)
    assert c.parking_escape.enabled and config.planner.route.command_source == "before_target"


# -- speed and steering ------------------------------------------------------------------
def test_pchip_matches_a_hand_worked_curve():
    # y = 0, 1, 0 at x = 0, 1, 2: slopes 2 (end rule), 0 (sign change), -2; at x = 0.5 the
    # Hermite cubic gives 0.125 * 1 * 2 + 0.5 * 1 = 0.75 (linear would give 0.5).
    y = pchip(np.array([0.0, 1.0, 2.0]), np.array([[0.0], [1.0], [0.0]]), np.array([0.5, 1.0, 1.5]))
    np.testing.assert_allclose(y[:, 0], [0.75, 1.0, 0.75])
    straight = np.stack([np.arange(1.0, 11.0), np.zeros(10)], axis=1)
    dense = pchip_route(straight, 0.1)
    np.testing.assert_allclose(dense[:5, 0], [0.1, 0.2, 0.3, 0.4, 0.5], atol=1e-3)  # read from 0.1 m on


def test_pchip_read_out_is_the_official_one():
    lateral = LateralController(LateralConfig(interpolation="pchip"))
    route = np.stack([np.arange(1.0, 21.0), np.zeros(20)], axis=1)
    index = lateral.lookahead_index(0.0)  # 24 at standstill
    assert lateral.lookahead_point(route, 0.0)[0] == pytest.approx((index + 1) * 0.1, abs=1e-2)
    linear = LateralController(LateralConfig())
    assert linear.lookahead_point(route, 0.0)[0] == pytest.approx(index * 0.1, abs=1e-9)
    short = np.array([[0.5, 0.0], [1.0, 0.0]])  # shorter than the look-ahead: clamped to its end
    assert lateral.lookahead_point(short, 0.0)[0] == pytest.approx(1.0, abs=1e-2)


def test_pid_window_starting_empty():
    prefilled = PID(PIDConfig(k_p=0.0, k_i=1.0, k_d=0.0, window=6))
    empty = PID(PIDConfig(k_p=0.0, k_i=1.0, k_d=0.0, window=6, prefill_window=False))
    assert prefilled.step(6.0) == pytest.approx(1.0)  # mean of five zeros and a 6
    assert empty.step(6.0) == pytest.approx(6.0)  # the mean of what was seen
    assert empty.step(0.0) == pytest.approx(3.0)


def test_speed_error_clip_and_pid_memory_while_braking():
    config = LongitudinalConfig(pid=PIDConfig(k_p=1.0, k_i=0.0, k_d=0.0, window=1), max_speed_error_mps=1.0,
                                pid_error_while_braking=True)
    controller = LongitudinalController(config)
    assert controller.step(8.0, 2.0) == (pytest.approx(1.0), 0.0)  # error 6 clipped to 1
    assert controller.step(5.0, 4.8)[0] == pytest.approx(0.2)
    controller.step(0.3, 0.0)  # brakes (desired < 0.4); the PID still sees the error 0.3
    assert list(controller.pid._errors) == [pytest.approx(0.3)]


# -- stuck, creep, parked start ----------------------------------------------------------
def test_stuck_hysteresis_and_creep_while_stuck():
    config = SafetyConfig(warmup_ticks=0, stuck_ticks=10, creep_ticks=3, stuck_reset_speed_mps=0.2,
                          creep_while_stuck=True, creep_needs_clear_box=False)
    monitor = SafetyMonitor(config)
    for tick in range(9):
        assert not monitor.step(tick, 0.0, NO_POINTS).creep
    assert not monitor.step(9, 0.15, NO_POINTS).creep  # between 0.1 and 0.2: the count holds
    creeping = [monitor.step(10 + k, 0.0, BLOCKING).creep for k in range(20)]
    assert all(creeping)  # re-armed every tick while stuck, and blind to the box
    after = [monitor.step(30 + k, 0.5, NO_POINTS).creep for k in range(5)]
    assert after == [True, True, False, False, False]  # moving: the last creep runs out


def test_default_creep_is_one_burst_and_respects_the_box():
    monitor = SafetyMonitor(SafetyConfig(warmup_ticks=0, stuck_ticks=5, creep_ticks=3))
    creeps = [monitor.step(t, 0.0, NO_POINTS).creep for t in range(12)]
    assert creeps == [False] * 4 + [True] * 3 + [False] * 2 + [True] * 3  # the count starts over
    assert not SafetyMonitor(SafetyConfig(warmup_ticks=0, stuck_ticks=1)).step(0, 0.0, BLOCKING).creep


def test_parked_start_disables_creeping():
    config = SafetyConfig(warmup_ticks=2, stuck_ticks=15, creep_ticks=3, parked_start_check_ticks=10)
    monitor = SafetyMonitor(config)
    creeps = [monitor.step(t, 0.0, NO_POINTS, position=np.array([1.0, 2.0])).creep for t in range(60)]
    assert monitor.parked_start and not any(creeps)
    default = SafetyMonitor(SafetyConfig(warmup_ticks=2, stuck_ticks=15, creep_ticks=3))
    assert any(default.step(t, 0.0, NO_POINTS, position=np.array([1.0, 2.0])).creep for t in range(60))
    moved = SafetyMonitor(config)
    for t in range(40):
        moved.step(t, 0.0, NO_POINTS, position=np.array([1.0 + t, 2.0]))
    assert not moved.parked_start


# -- parking escape ------------------------------------------------------------------------
def _escape_config(**changes) -> ParkingEscapeConfig:
    base = {"enabled": True, "snapshot_interval_ticks": 10, "window_ticks": 50, "phase_ticks": 8,
            "cooldown_ticks": 100}
    return ParkingEscapeConfig(**{**base, **changes})


def test_parking_escape_starts_after_a_deadlock_and_ends_after_its_phase():
    escape = ParkingEscape(_escape_config())
    still = np.array([5.0, 5.0])
    steps = [escape.step(t, still, 0.0) for t in range(80)]
    started = [t for t, s in enumerate(steps) if s.started]
    assert started == [50]  # snapshots at 0, 10, ..., 50 span the 50-tick window
    active = [t for t, s in enumerate(steps) if s.active]
    assert active == list(range(50, 57))  # phase_ticks 8: seven driving ticks, ended on the eighth
    targets = steps[50].target_points_ego
    np.testing.assert_allclose(targets, [[3.0, -6.5], [6.0, -6.5]])  # left of the car (-y), 5 + 1 x 1.5 m
    command = escape.command()
    assert command.steer == pytest.approx(-0.65) and command.throttle == pytest.approx(0.45) and command.brake == 0
    assert not any(s.started for s in (escape.step(t, still, 0.0) for t in range(80, 150)))  # cooldown


def test_parking_escape_ends_when_the_car_moved_or_turned():
    escape = ParkingEscape(_escape_config(phase_ticks=40))
    for t in range(51):
        step = escape.step(t, np.array([0.0, 0.0]), 0.0)
    assert step.active
    assert escape.step(51, np.array([3.0, 0.0]), 0.0).active
    assert not escape.step(52, np.array([7.0, 0.0]), 0.0).active  # moved more than 6 m
    turned = ParkingEscape(_escape_config(phase_ticks=40))
    for t in range(51):
        turned.step(t, np.array([0.0, 0.0]), 0.0)
    assert not turned.step(51, np.array([0.0, 0.0]), math.radians(30)).active
    assert not ParkingEscape(ParkingEscapeConfig()).step(5000, np.zeros(2), 0.0).active  # off by default


def test_agent_escapes_a_deadlock_with_the_override(tmp_path):
    path = tmp_path / "agent.yaml"
    path.write_text(yaml.safe_dump({
        "sensors": {"cameras": [{"id": "rgb_front", "x": -1.5, "y": 0.0, "z": 2.0, "width": 256, "height": 128}],
                    "model_image_width": 128, "model_image_height": 64},
        "controllers": {"safety": {"warmup_ticks": 5},
                        "parking_escape": {"enabled": True, "snapshot_interval_ticks": 10, "window_ticks": 40}}}))
    agent = AutoMoTAgent("localhost", 2000)
    drive = SyntheticDrive([], curved_route(), seed=0)
    agent.set_global_plan(*drive.global_plan())
    agent.setup(str(path))
    drive.sensors = agent.sensors()
    planner = agent.observations.route_planner
    for tick in range(51):  # the car is blocked: controls are not applied
        control = agent.run_step(drive.input_data(), tick * drive.dt)
        drive.frame += 1
    assert agent.escape.active and control.steer == pytest.approx(-0.65) and control.throttle == pytest.approx(0.45)
    assert planner._dense_s[planner._progress_index] > 100.0  # five plan points (~50 m apart) skipped
    assert agent.last_observation.target_points[0, 1] < 0  # the planner saw a target on the left
    agent.destroy()


# -- route planner -------------------------------------------------------------------------
def test_command_before_the_target_and_lane_change_reach():
    points = np.array([[0.0, 0.0], [5.0, 0.0], [12.0, 0.0], [40.0, 0.0]])
    options = np.array([RoadOption.LANEFOLLOW, RoadOption.LEFT, RoadOption.CHANGELANELEFT, RoadOption.STRAIGHT])
    default = RoutePlanner(RoutePlannerConfig())
    default.set_route(points, options)
    targets = default.update(np.array([0.0, 0.0]))
    assert targets.command == RoadOption.LEFT and targets.target_points_world[0, 0] == pytest.approx(12.0)
    official = RoutePlanner(RoutePlannerConfig(command_source="before_target", lane_change_reach_factor=2.0))
    official.set_route(points, options)
    targets = official.update(np.array([0.0, 0.0]))
    # the lane change at 12 m is closer than 2 x 7.5 m: the target is the point after it,
    # and the command is that of the plan point before the target
    assert targets.target_points_world[0, 0] == pytest.approx(40.0) and targets.command == RoadOption.CHANGELANELEFT


# -- the UKF -------------------------------------------------------------------------------
def test_bicycle_step_by_hand():
    c = UkfConfig()
    state = bicycle_step(np.array([0.0, 0.0, 0.0, 10.0]), 0.05, 0.0, 1.0, False, c)
    np.testing.assert_allclose(state, [0.5, 0.0, 0.0, 10.0 + 0.5633837 * 0.05])
    beta = math.atan(1.4178275 / (1.4178275 - 0.090769015) * math.tan(0.36848336 * 0.5))
    turned = bicycle_step(np.array([0.0, 0.0, 0.0, 10.0]), 0.05, 0.5, 0.0, True, c)
    np.testing.assert_allclose(turned, [0.5 * math.cos(beta), 0.5 * math.sin(beta),
                                        10.0 / 1.4178275 * math.sin(beta) * 0.05, 10.0 - 4.952399 * 0.05])


def test_ukf_tracks_a_drive_and_estimates_speed_without_a_speedometer():
    estimator = StateEstimator(StateEstimatorConfig(kind="ukf"))
    rng = np.random.default_rng(0)
    dt, speed, yaw = 0.05, 8.0, 0.3
    compass = yaw_to_compass(yaw)
    errors, speeds = [], []
    for k in range(200):
        truth = np.array([math.cos(yaw), math.sin(yaw)]) * speed * dt * k + [100.0, -50.0]
        fix = truth + rng.normal(0.0, 0.3, 2)
        reading = speed if k < 100 else None  # the speedometer dies halfway
        estimate = estimator.update(fix, compass, reading, dt, control=(0.0, 0.0, 0.0))
        errors.append(np.linalg.norm(estimate.position - truth))
        speeds.append(estimate.speed)
    assert np.mean(errors[50:]) < 0.5 and estimate.speed_source == "ukf"
    assert abs(speeds[-1] - speed) < 1.0  # the filter's own speed carries on
