"""Fuzzing the agent's run_step with the route follower (no network): whatever input_data holds,
run_step returns finite, in-range controls (braking when it cannot drive) and a warning that names
the sensor, never a raw exception, and no tick takes a second."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
import pytest
import yaml

from agent.automot_agent import AutoMoTAgent
from launch.synthetic_drive import SyntheticDrive, curved_route

TICK_LIMIT_S = 1.0
CASES = 240
# A small camera keeps 240 cases in a few seconds; decoding is the same code at any size.
AGENT_CONFIG = {
    "sensors": {"cameras": [{"id": "rgb_front", "x": -1.5, "y": 0.0, "z": 2.0, "width": 256, "height": 128}],
                "model_image_width": 128, "model_image_height": 64},
    "controllers": {"safety": {"warmup_ticks": 0}},
}


def _set(sensor: str, value) -> Callable[[dict], tuple[dict, str]]:
    def mutate(data: dict) -> tuple[dict, str]:
        frame = data[sensor][0] if isinstance(data.get(sensor), tuple) else 0
        data[sensor] = (frame, value)
        return data, sensor
    return mutate


def _item(sensor: str, item) -> Callable[[dict], tuple[dict, str]]:
    def mutate(data: dict) -> tuple[dict, str]:
        data[sensor] = item
        return data, sensor
    return mutate


def _drop(sensor: str) -> Callable[[dict], tuple[dict, str]]:
    def mutate(data: dict) -> tuple[dict, str]:
        del data[sensor]
        return data, sensor
    return mutate


def _benign(mutation: Callable) -> Callable:
    """Unusual but usable data (another dtype, a list): no warning is owed."""
    def mutate(data: dict) -> tuple[dict, str]:
        data, _ = mutation(data)
        return data, ""
    return mutate


def _whole(value) -> Callable[[dict], tuple[object, str]]:
    return lambda data: (value, "input_data")


def _gnss(lat, lon, alt=0.0):
    return _set("gps", np.array([lat, lon, alt]))


def fault_order(n_faults: int, cases: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(n_faults, size=cases)


def mutations(rng: np.random.Generator) -> list[Callable]:
    """Every fault the fuzzer draws from; values that need randomness use rng."""
    big = np.zeros((3_000_000, 4), dtype=np.float32)  # ~100x a real half sweep
    return [
        _whole(None), _whole([]), _whole("input"), _whole(42), _whole({}),
        _drop("rgb_front"), _drop("lidar"), _drop("gps"), _drop("imu"), _drop("speed"),
        _item("rgb_front", None), _item("lidar", "sweep"), _item("gps", (1,)), _item("imu", [1, 2, 3]),
        _item("speed", None), _item("rgb_front", (None, None)),
        _set("rgb_front", None), _set("rgb_front", "image"), _set("rgb_front", np.zeros((128, 256, 3), np.uint8)),
        _set("rgb_front", np.zeros((128, 256, 4), np.float32)), _set("rgb_front", np.zeros((5, 5, 4), np.uint8)),
        _set("rgb_front", np.full((128, 256, 4), np.nan)), _set("rgb_front", [[1, 2], [3]]),
        _set("lidar", None), _set("lidar", "points"), _set("lidar", np.zeros(12, np.float32)),
        _set("lidar", np.zeros((100, 3), np.float32)), _set("lidar", np.full((100, 4), np.inf, np.float32)),
        _set("lidar", rng.normal(0, 1e30, (200, 4))), _benign(_set("lidar", np.ones((100, 4), np.int64))),
        _set("lidar", np.array([["a", "b", "c", "d"]])), _set("lidar", big), _benign(_set("lidar", [[1, 2, 3, 4]] * 10)),
        _set("lidar", np.zeros((0, 4), np.float32)), _benign(_set("lidar", rng.normal(0, 1, (500, 4)).astype(np.float64))),
        _gnss(92.0, 2.0), _gnss(-91.0, 2.0), _gnss(42.0, 500.0), _gnss(np.nan, 2.0), _gnss(np.inf, 2.0),
        _gnss(89.9999, 2.0), _gnss(42.01, 2.0), _gnss(1e300, 1e300), _set("gps", "here"), _set("gps", None),
        _set("gps", np.array([42.0])), _set("gps", {"lat": 42.0}), _set("gps", np.zeros((2, 3))),
        _set("imu", None), _set("imu", "imu"), _set("imu", np.zeros(6)), _set("imu", np.full(7, np.nan)),
        _set("imu", np.array([0, 0, 9.8, 0, 0, 0, np.inf])), _set("imu", np.array([0, 0, 9.8, 0, 0, 0, 1e300])),
        _set("imu", np.array([1e30, 0, 9.8, 0, 0, 0, 0.3])), _set("imu", ["a"] * 7),
        _set("speed", {}), _set("speed", {"speed": None}), _set("speed", {"speed": np.nan}),
        _set("speed", {"speed": -5.0}), _set("speed", {"speed": 1e7}), _set("speed", {"speed": 1e8}),
        _set("speed", {"speed": np.inf}), _set("speed", {"speed": "fast"}), _set("speed", {"speed": np.array([1.0, 2.0])}),
        _set("speed", {"speed": [3.0]}), _set("speed", 3.0), _set("speed", None), _set("speed", {"speed": -1e9}),
        _item("rgb_front", ("frame", np.zeros((128, 256, 4), np.uint8))),
        _item("rgb_front", (None, np.zeros((128, 256, 4), np.uint8))),
        _item("rgb_front", (float("nan"), np.zeros((128, 256, 4), np.uint8))),
    ]


def _agent(tmp_path, mode: str) -> tuple[AutoMoTAgent, SyntheticDrive]:
    path = tmp_path / f"fuzz_{mode}.yaml"
    path.write_text(yaml.safe_dump({**AGENT_CONFIG, "scheduler": {"mode": mode}}))
    agent = AutoMoTAgent("localhost", 2000)
    drive = SyntheticDrive([], curved_route(), seed=0)
    agent.set_global_plan(*drive.global_plan())
    agent.setup(str(path))
    drive.sensors = agent.sensors()
    for tick in range(15):  # moving, with an estimate and a route progress
        drive.apply(agent.run_step(drive.input_data(), tick * drive.dt))
    return agent, drive


def run_fuzz(tmp_path, cases: int, seed: int, mode: str = "sync") -> dict:
    """Drive `cases` faulty ticks (each followed by a clean one); count escapes and slow ticks."""
    rng = np.random.default_rng(seed + 1000)  # values inside the faults and the timestamps
    agent, drive = _agent(tmp_path, mode)
    faults = mutations(rng)
    order = fault_order(len(faults), cases, seed)
    handler = _Capture()
    logging.getLogger("automot").addHandler(handler)
    stats = {"cases": 0, "escaped": [], "bad_controls": [], "unnamed": [], "slow": [], "worst_tick_s": 0.0}
    try:
        for case in range(cases):
            index = int(order[case])
            data, sensor = faults[index](drive.input_data())
            timestamp = float(rng.choice([drive.frame * drive.dt, np.nan]))
            handler.records.clear()
            start = time.perf_counter()
            try:
                control = agent.run_step(data, timestamp)
            except Exception as exc:  # the fuzzer's finding: a raw exception
                stats["escaped"].append((case, index, f"{type(exc).__name__}: {exc}"))
                control = None
            elapsed = time.perf_counter() - start
            stats["worst_tick_s"] = max(stats["worst_tick_s"], elapsed)
            if elapsed > TICK_LIMIT_S:
                stats["slow"].append((case, index, round(elapsed, 2)))
            stats["cases"] += 1
            if control is not None:
                values = np.array([control.steer, control.throttle, control.brake], dtype=np.float64)
                if not (np.isfinite(values).all() and abs(values[0]) <= 1 and (0 <= values[1:]).all()
                        and (values[1:] <= 1).all()):
                    stats["bad_controls"].append((case, index, values.tolist()))
                if sensor and not any(sensor in message for message in handler.records):
                    stats["unnamed"].append((case, index, sensor, list(handler.records)))
            drive.apply(control if control is not None else _Brake())
            agent.run_step(drive.input_data(), drive.frame * drive.dt)  # a clean tick still works
    finally:
        logging.getLogger("automot").removeHandler(handler)
        agent.destroy()
    return stats


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record.getMessage())


class _Brake:
    steer, throttle, brake = 0.0, 0.0, 1.0


@pytest.mark.parametrize("mode,cases,seed", [("sync", CASES, 0), ("threaded", 60, 1)])
def test_fuzzed_input_data_never_escapes(tmp_path, mode, cases, seed):
    stats = run_fuzz(tmp_path, cases, seed, mode)
    assert stats["cases"] == cases
    assert not stats["escaped"], stats["escaped"][:5]
    assert not stats["bad_controls"], stats["bad_controls"][:5]
    assert not stats["slow"], stats["slow"][:5]
    assert not stats["unnamed"], stats["unnamed"][:5]


def test_fuzz_draws_every_fault():
    """The seeded draw covers the fault list (so a new fault is really exercised)."""
    n = len(mutations(np.random.default_rng(0)))
    drawn = set(fault_order(n, CASES, 0).tolist())
    assert len(drawn) >= 0.9 * n, sorted(set(range(n)) - drawn)
