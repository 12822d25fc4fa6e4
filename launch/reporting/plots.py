"""PNG plots of one or more runs: ability bars, per-route driving score histogram, infractions per km."""

from __future__ import annotations

import io
import itertools
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display

import matplotlib.pyplot as plt
import numpy as np

from bench2drive_routes.abilities import ABILITY_NAMES
from launch.metrics.records import INFRACTION_TYPES
from launch.metrics.summary import Report

SCORE_BINS = np.linspace(0.0, 100.0, 11)  # 10-point driving-score bins; 100 falls in the last


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _save(fig: plt.Figure, path: Path) -> Path:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    _atomic_write_bytes(path, buffer.getvalue())
    return path


def _bar_positions(n_groups: int, n_runs: int) -> tuple[np.ndarray, float]:
    width = 0.8 / n_runs
    return np.arange(n_groups, dtype=float), width


def plot_abilities(reports: Sequence[Report], path: Path) -> Path:
    names = [*ABILITY_NAMES, "mean"]
    x, width = _bar_positions(len(names), len(reports))
    fig, ax = plt.subplots(figsize=(8.5, 4.2))
    for i, report in enumerate(reports):
        values = [report.abilities.get(n) or 0.0 for n in names]
        bars = ax.bar(x + (i - (len(reports) - 1) / 2) * width, values, width, label=report.label)
        ax.bar_label(bars, fmt="%.2f", fontsize=6.5, padding=2)
    ax.set_xticks(x, [n.replace("_", "\n") + (" *" if n == "Traffic_Signs" else "") for n in names])
    ax.set_ylim(0, 110)
    ax.set_ylabel("success rate (%)")
    modes = {r.ability.traffic_signs_mode for r in reports}
    ax.set_title("Bench2Drive abilities" + ("  (* Traffic Signs: " + "; ".join(sorted(modes)) + ")"), fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=min(len(reports), 4), frameon=False)
    return _save(fig, path)


def plot_route_scores(reports: Sequence[Report], path: Path) -> Path:
    x, width = _bar_positions(len(SCORE_BINS) - 1, len(reports))
    fig, ax = plt.subplots(figsize=(8.5, 4.2))
    for i, report in enumerate(reports):
        scores = np.clip([row.driving_score for row in report.routes], 0.0, 100.0)
        counts, _ = np.histogram(scores, bins=SCORE_BINS)
        bars = ax.bar(x + (i - (len(reports) - 1) / 2) * width, counts, width,
                      label=f"{report.label} (DS {report.driving_score:.2f}, n={report.n_routes})")
        ax.bar_label(bars, fontsize=7, padding=1)
    ax.set_xticks(x, [f"{lo:.0f}-{hi:.0f}" for lo, hi in itertools.pairwise(SCORE_BINS)])
    ax.set_xlabel("route driving score")
    ax.set_ylabel("routes")
    ax.margins(y=0.12)
    ax.set_title("Per-route driving score (missing routes count as 0)", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return _save(fig, path)


def plot_infractions(reports: Sequence[Report], path: Path) -> Path:
    # Min-speed checkpoints are efficiency samples, not infractions, and ~100x more frequent.
    names = [n for n in INFRACTION_TYPES if n != "min_speed_infractions"]
    y, height = _bar_positions(len(names), len(reports))
    fig, ax = plt.subplots(figsize=(8.5, 5.0))
    for i, report in enumerate(reports):
        values = [report.infractions.per_km.get(n, 0.0) for n in names]
        bars = ax.barh(y + (i - (len(reports) - 1) / 2) * height, values, height,
                       label=f"{report.label} ({report.infractions.km_driven:.1f} km)")
        ax.bar_label(bars, fmt="%.3f", fontsize=7, padding=2)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlabel("events per km driven")
    ax.set_title("Infractions by type", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    ax.margins(x=0.15)
    ax.legend(fontsize=8, loc="lower right")
    return _save(fig, path)


def write_plots(reports: Sequence[Report], folder: str | Path) -> list[Path]:
    """abilities.png, route_scores.png, infractions.png in `folder` (the first report is the baseline)."""
    folder = Path(folder)
    return [
        plot_abilities(reports, folder / "abilities.png"),
        plot_route_scores(reports, folder / "route_scores.png"),
        plot_infractions(reports, folder / "infractions.png"),
    ]
