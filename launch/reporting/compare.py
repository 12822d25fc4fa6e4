"""Side-by-side numbers of several runs, with differences to the first (the baseline)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench2drive_routes.abilities import ABILITY_NAMES
from launch.metrics.summary import Report


def headline(report: Report) -> dict[str, float | None]:
    """The numbers papers print, in the order a table shows them."""
    values: dict[str, float | None] = {
        "driving_score": report.driving_score,
        "success_rate": report.success_rate,
        "route_completion": report.route_completion,
        "infraction_penalty": report.infraction_penalty,
    }
    for name in (*ABILITY_NAMES, "mean"):
        values[f"ability.{name}"] = report.abilities.get(name)
    values["efficiency"] = report.efficiency
    values["comfort"] = report.comfort
    values["routes"] = float(report.n_routes)
    values["failed"] = float(len(report.failed))
    return values


def difference(base: float | None, other: float | None) -> float | None:
    return None if base is None or other is None else other - base


def comparison(reports: Sequence[Report]) -> list[tuple[str, list[float | None], list[float | None]]]:
    """(metric, values per run, differences of runs 2..n to run 1) rows."""
    heads = [headline(r) for r in reports]
    rows = []
    for metric in heads[0]:
        values = [h[metric] for h in heads]
        rows.append((metric, values, [difference(values[0], v) for v in values[1:]]))
    return rows


def comparison_json(base: Report, others: Sequence[Report]) -> list[dict[str, Any]]:
    """For the JSON output: each other run's headline numbers and its difference to the base."""
    base_head = headline(base)
    out = []
    for other in others:
        head = headline(other)
        out.append({
            "label": other.label,
            "summary": head,
            "difference": {k: difference(base_head[k], head[k]) for k in head},
            "denominator": other.denominator,
            "traffic_signs_mode": other.ability.traffic_signs_mode,
            "ability_rule": other.ability.rule,
            "n_missing": len(other.missing),
            "warnings": list(other.warnings),
            "failed": [{"route_id": r.route_id, "outcome": r.outcome, "reason": r.reason} for r in other.failed],
            "notes": list(other.notes),
        })
    return out
