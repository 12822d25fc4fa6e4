"""Which routes failed, why, and the route ids to re-run.

Outcomes of an expected route:
  success     completed (or perfect) with no infraction but min speed
  infraction  completed, but with a collision / red light / stop / off-lane / ... infraction
  failed      the agent did not finish: blocked, deviated, timed out, TickRuntime (> 4000 ticks)
  crashed     the run broke: simulator or agent crash, sensor setup rejected, record left 'Started'
  missing     no record for the route in any results file
All but 'success' count as failures for success rate. Re-run entry point for launch code:

    ids = failed_route_ids(["runs/a/", "runs/b.json"], "bench2drive220.xml")
    write_route_subset("bench2drive220.xml", ids, "rerun.xml")
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from bench2drive_routes.route_spec import RouteSpec
from launch.metrics.abilities import RouteEntry
from launch.metrics.entries import build_entries

FAILURE_KINDS: tuple[str, ...] = ("missing", "crashed", "failed", "infraction")


def _infraction_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{name}×{n}" for name, n in counts.items())


def classify(entry: RouteEntry) -> tuple[str, str]:
    """(outcome, human-readable reason) for one expected route."""
    record = entry.record
    if record is None:
        return "missing", "missing: no record in any results file"
    infractions = record.failing_infractions()
    if record.kind == "crashed":
        return "crashed", f"crashed: {record.status}"
    if record.kind == "failed":
        reason = f"failed: {record.status}"
        return "failed", reason + (f"; {_infraction_text(infractions)}" if infractions else "")
    if infractions:
        return "infraction", f"infractions: {_infraction_text(infractions)}"
    return "success", ""


def failed_route_ids(
    results: Iterable[str | Path] | str | Path,
    routes: str | Path | Sequence[RouteSpec],
    kinds: Iterable[str] = FAILURE_KINDS,
) -> list[str]:
    """Route-file ids of routes whose outcome is in `kinds`, in route-file order.

    `results`: results files/folders (merged with the newest-record rule) or a MergedResults;
    `routes`: the route file (path or parsed routes) that defines which routes were expected.
    kinds=("missing", "crashed") selects only routes to re-run for infrastructure reasons.
    """
    wanted = set(kinds)
    unknown = wanted - set(FAILURE_KINDS)
    if unknown:
        raise ValueError(f"unknown failure kinds {sorted(unknown)}; choose from {FAILURE_KINDS}")
    entries, _ = build_entries(results, routes)
    ids: list[str] = []
    for entry in entries:
        outcome, _ = classify(entry)
        if outcome in wanted and entry.route_id not in ids:
            ids.append(entry.route_id)
    return ids
