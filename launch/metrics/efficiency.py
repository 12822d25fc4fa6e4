"""Driving efficiency: the ego's speed relative to the surrounding traffic, from min-speed checkpoints.

The leaderboard's MinSpeedTest writes one message per checkpoint into
`infractions.min_speed_infractions`: "Average speed is 136.65% of the surrounding traffic's one".
Bench2Drive (tools/efficiency_smoothness_benchmark.py) computes, per route, the mean of those
percentages after dropping values above 1000 (near-standstill traffic makes the ratio explode,
e.g. 26277096.5%), skips routes without checkpoints, and reports the mean over routes.
A route whose every checkpoint is above 1000 has no value here (Bench2Drive divides by zero).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from launch.metrics.records import RouteRecord

# The same pattern Bench2Drive uses: the first "<digits>[.<digits>]%" in the message.
_PERCENT_RE = re.compile(r"\b\d+\.?\d*%")
MAX_RATIO_PERCENT = 1000.0  # values above are dropped, as Bench2Drive does


def speed_ratios(messages: Iterable[str]) -> list[float]:
    """Checkpoint speed ratios in percent, values above 1000 dropped."""
    ratios = []
    for message in messages:
        match = _PERCENT_RE.search(message)
        if match is None:
            continue
        value = float(match.group().rstrip("%"))
        if value <= MAX_RATIO_PERCENT:
            ratios.append(value)
    return ratios


def route_efficiency(record: RouteRecord) -> float | None:
    """Mean checkpoint ratio of one route, percent; None when it has no usable checkpoint."""
    ratios = speed_ratios(record.infractions.get("min_speed_infractions", ()))
    return sum(ratios) / len(ratios) if ratios else None


def mean_efficiency(records: Iterable[RouteRecord]) -> tuple[float | None, int]:
    """(mean over routes with checkpoints in percent, number of such routes)."""
    values = [v for v in (route_efficiency(r) for r in records) if v is not None]
    return (sum(values) / len(values) if values else None), len(values)
