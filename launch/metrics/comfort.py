"""Driving comfort ("smoothness"): share of 20-tick segments whose motion stays inside six bounds.

Input: the per-route `metric_info.json` an agent writes under SAVE_PATH/<save_name>/, a dict
tick -> {acceleration [x,y,z] m/s^2, angular_velocity [x,y,z] (CARLA: deg/s), forward_vector
[x,y,z], right_vector [x,y,z], location [x,y,z] m, rotation [roll,pitch,yaw] deg}.

Reproduces Bench2Drive's tools/efficiency_smoothness_benchmark.py, quirks included, so numbers
compare with published ones:
  - Savitzky-Golay smoothing, window 7 (min(7, len)), order 2, derivative spacing 0.1 s;
  - 'yaw acceleration' is the smoothed yaw rate itself (no derivative is taken), compared
    with the yaw-acceleration bound;
  - the yaw rate is CARLA's angular_velocity z in deg/s, compared with rad/s bounds;
  - episodes of <= 20 ticks are one segment scored 0 or 1; longer ones are cut into 20-tick
    segments, a shorter last segment is dropped; route comfort = passing segments / segments;
  - bounds are strict (value must lie strictly between them).
The reported comfort is the mean over routes that have a metric_info.json, in percent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from launch.metrics.savgol import savgol_filter

WINDOW = 7  # Savitzky-Golay window (ticks)
POLYORDER = 2
TIME_STEP_S = 0.1  # derivative spacing Bench2Drive assumes between metric ticks
SEGMENT_TICKS = 20

# Bounds (nuPlan's comfort metric, as Bench2Drive uses them).
MAX_ABS_MAG_JERK = 8.37  # m/s^3
MAX_ABS_LAT_ACCEL = 4.89  # m/s^2
MAX_LON_ACCEL = 2.40  # m/s^2
MIN_LON_ACCEL = -4.05  # m/s^2
MAX_ABS_YAW_ACCEL = 1.93  # rad/s^2
MAX_ABS_LON_JERK = 4.13  # m/s^3
MAX_ABS_YAW_RATE = 0.95  # rad/s


def _phase_unwrap(values: np.ndarray) -> np.ndarray:
    """Remove 2*pi jumps between successive samples (Bench2Drive applies this to the yaw rate)."""
    adjustments = np.zeros_like(values)
    adjustments[1:] = np.cumsum(np.round(np.diff(values) / (2.0 * np.pi)))
    return values - 2.0 * np.pi * adjustments


def _inside(values: np.ndarray, low: float, high: float) -> bool:
    return bool(np.all((values > low) & (values < high)))


def segment_is_comfortable(acceleration: np.ndarray, angular_velocity: np.ndarray,
                           forward_vector: np.ndarray, right_vector: np.ndarray) -> bool:
    """True when one segment ([T, 3] arrays, T >= 3) stays inside all six bounds."""
    window = min(WINDOW, len(acceleration))
    acc = acceleration[:, :2]
    lon_acc = np.einsum("ij,ij->i", acc, forward_vector[:, :2])
    lat_acc = np.einsum("ij,ij->i", acc, right_vector[:, :2])
    magnitude = np.hypot(acc[:, 0], acc[:, 1])
    yaw_rate_raw = _phase_unwrap(angular_velocity[:, 2])

    def smooth(signal: np.ndarray, deriv: int = 0) -> np.ndarray:
        return savgol_filter(signal, window, POLYORDER, deriv=deriv, delta=TIME_STEP_S)

    yaw_accel = smooth(yaw_rate_raw)  # sic: Bench2Drive smooths the rate and calls it acceleration
    yaw_rate = smooth(yaw_rate_raw)
    lon_acc = smooth(lon_acc)
    lat_acc = smooth(lat_acc)
    magnitude = smooth(magnitude)
    mag_jerk = smooth(magnitude, deriv=1)
    lon_jerk = smooth(lon_acc, deriv=1)
    return (
        _inside(lon_acc, MIN_LON_ACCEL, MAX_LON_ACCEL)
        and _inside(lat_acc, -MAX_ABS_LAT_ACCEL, MAX_ABS_LAT_ACCEL)
        and _inside(mag_jerk, -MAX_ABS_MAG_JERK, MAX_ABS_MAG_JERK)
        and _inside(lon_jerk, -MAX_ABS_LON_JERK, MAX_ABS_LON_JERK)
        and _inside(yaw_accel, -MAX_ABS_YAW_ACCEL, MAX_ABS_YAW_ACCEL)
        and _inside(yaw_rate, -MAX_ABS_YAW_RATE, MAX_ABS_YAW_RATE)
    )


def _as_array(ticks: Sequence[Mapping], key: str) -> np.ndarray:
    return np.asarray([tick[key] for tick in ticks], dtype=np.float64).reshape(len(ticks), -1)


def route_comfort(ticks: Sequence[Mapping]) -> float | None:
    """Fraction (0-1) of comfortable segments for one route's per-tick entries; None if < 3 ticks."""
    if len(ticks) < POLYORDER + 1:
        return None  # too short to fit a quadratic (Bench2Drive raises here)
    arrays = [_as_array(ticks, k) for k in ("acceleration", "angular_velocity", "forward_vector", "right_vector")]
    if len(ticks) <= SEGMENT_TICKS:
        return 1.0 if segment_is_comfortable(*arrays) else 0.0
    results = []
    for start in range(0, len(ticks) - SEGMENT_TICKS + 1, SEGMENT_TICKS):
        results.append(segment_is_comfortable(*(a[start : start + SEGMENT_TICKS] for a in arrays)))
    return sum(results) / len(results)


def load_metric_info(path: str | Path) -> list[Mapping]:
    """The per-tick entries of a metric_info.json, in file order (the order Bench2Drive uses)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read metric_info ({exc})") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: metric_info must be an object tick -> values")
    return list(data.values())


def find_metric_info(save_name: str, metric_dirs: Iterable[str | Path]) -> Path | None:
    """<dir>/<save_name>/metric_info.json in the first dir that has it."""
    if not save_name:
        return None
    for directory in metric_dirs:
        candidate = Path(directory) / save_name / "metric_info.json"
        if candidate.is_file():
            return candidate
    return None
