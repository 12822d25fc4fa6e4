"""Shared by the benchmarks: median and spread (interquartile range) of repeated timings."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np


def spread(values: Sequence[float]) -> dict[str, float]:
    """{"median", "iqr", "q1", "q3", "n"} of the values (same unit as given)."""
    data = np.asarray(values, dtype=np.float64)
    q1, median, q3 = np.percentile(data, [25, 50, 75])
    return {"median": float(median), "iqr": float(q3 - q1), "q1": float(q1), "q3": float(q3), "n": len(data)}


def rounded(summary: dict[str, float], digits: int = 3) -> dict[str, float]:
    return {k: (v if isinstance(v, int) else round(v, digits)) for k, v in summary.items()}


def time_ms(fn: Callable[[], object], repeats: int, sync: Callable[[], None] = lambda: None) -> list[float]:
    """Wall times of `repeats` calls, in ms (`sync` before and after each, e.g. CUDA)."""
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(1e3 * (time.perf_counter() - start))
    return times


def describe(summary: dict[str, float], unit: str = "ms") -> str:
    return f"{summary['median']:.2f} {unit} (IQR {summary['iqr']:.2f}, n={summary['n']})"
