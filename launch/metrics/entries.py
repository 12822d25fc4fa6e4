"""Expected routes paired with their records: the shared first step of reports and failure lists.

The route file (when given) defines the expected routes; each gets the merged record of its
id and repetition, or None when no results file has one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from bench2drive_routes.route_spec import RouteSpec, missing_weathers_note, scenario_type_from_name
from bench2drive_routes.route_xml import parse_routes
from launch.metrics.abilities import RouteEntry
from launch.metrics.merge import MergedResults, merge_results


def _as_merged(results: Iterable[str | Path] | str | Path | MergedResults, progress: bool = False) -> MergedResults:
    return results if isinstance(results, MergedResults) else merge_results(results, progress=progress)


def _as_routes(routes: str | Path | Sequence[RouteSpec] | None) -> list[RouteSpec] | None:
    if routes is None:
        return None
    return parse_routes(routes) if isinstance(routes, (str, Path)) else list(routes)


def build_entries(
    results: Iterable[str | Path] | str | Path | MergedResults,
    routes: str | Path | Sequence[RouteSpec] | None,
    progress: bool = False,
) -> tuple[list[RouteEntry], dict[str, Any]]:
    """Expected routes with their records, plus context (merged results, denominator text, extras, source)."""
    merged = _as_merged(results, progress)
    specs = _as_routes(routes)
    context: dict[str, Any] = {"merged": merged, "extra_records": [], "notes": []}
    entries: list[RouteEntry] = []
    if specs is not None:
        by_id = {spec.id: spec for spec in specs}
        reps = sorted({rep for (rid, rep) in merged.records if rid in by_id}) or [0]
        for spec in specs:
            for rep in reps:
                entries.append(RouteEntry(spec.id, rep, spec.scenario_type or "", spec.town,
                                          merged.records.get((spec.id, rep)), spec))
        context["extra_records"] = sorted(r.record_id for k, r in merged.records.items() if k[0] not in by_id)
        source = str(routes) if isinstance(routes, (str, Path)) else "the given routes"
        context["source"] = source
        context["denominator"] = f"route file {source}: {len(specs)} routes" + (
            f" x {len(reps)} repetitions" if len(reps) > 1 else "")
        weathers = missing_weathers_note(specs, source)
        if weathers:
            context["notes"].append(weathers)
    else:
        for key in sorted(merged.records, key=lambda k: (_id_key(k[0]), k[1])):
            record = merged.records[key]
            entries.append(RouteEntry(key[0], key[1], scenario_type_from_name(record.scenario_name),
                                      record.town, record, None))
        context["denominator"] = (f"{len(entries)} distinct routes found in the results (no route file "
                                  "given: routes missing from every results file cannot be counted)")
        context["notes"].append("no route file: " + context["denominator"])
    return entries, context


def _id_key(route_id: str) -> tuple[int, int | str]:
    return (0, int(route_id)) if route_id.isdigit() else (1, route_id)
