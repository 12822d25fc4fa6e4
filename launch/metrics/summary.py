"""The report of one run: driving score, success rate, abilities, efficiency, comfort, per route.

    report = build_report(["runs/shard0.json", "runs/shard1.json"], routes="bench2drive220.xml")
    report.driving_score, report.success_rate, report.abilities["Merging"], report.to_json()

Denominators come from the route file (every route it lists is expected; a route without a
record scores 0 and is a failure for DS and SR). Without a route file the denominator is the
number of distinct routes found in the results, and the report says so (missing routes cannot
be seen). Route completion and infraction penalty are averaged over the same denominator with
missing routes contributing 0, as the leaderboard's global record does. Abilities follow
Bench2Drive's rule by default: a route with no record is left out of them (strict_abilities
counts it as a failure); the report says which rule it used and how many routes had no record.

`warnings` are what a user must see before trusting the numbers: routes with no record,
records that do not match their route (wrong route file?), records for routes not in the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench2drive_routes.route_spec import RouteSpec, format_ids
from launch.metrics.abilities import (
    BENCH2DRIVE,
    STRICT,
    AbilityResult,
    RouteEntry,
    ability_scores,
    scenario_type_table,
)
from launch.metrics.comfort import find_metric_info, load_metric_info, route_comfort
from launch.metrics.consistency import RouteMismatch, check_against_route_file, route_file_warnings
from launch.metrics.efficiency import route_efficiency
from launch.metrics.entries import build_entries
from launch.metrics.failures import classify
from launch.metrics.infractions import InfractionStats, infraction_stats
from launch.metrics.junctions import MapProvider, junction_completion
from launch.metrics.merge import Duplicate, MergedResults
from launch.metrics.progress import progress_iter

# Duplicates whose driving scores differ by more than this are called out (points of 0-100):
# records are rounded to 6 digits, so anything above is a real difference between attempts.
SCORE_AGREEMENT = 1e-6


@dataclass
class RouteRow:
    """One expected route in the report."""

    route_id: str  # route file id, e.g. '1711'
    record_id: str  # 'RouteScenario_1711_rep0' (constructed when missing)
    town: str
    scenario_type: str
    status: str  # leaderboard status, 'Missing' when there is no record
    outcome: str  # success | infraction | failed | crashed | missing
    reason: str  # why it is not a success ('' for successes)
    driving_score: float  # percent 0-100
    route_completion: float  # percent 0-100
    infraction_penalty: float  # factor 0-1
    success: bool
    infractions: dict[str, int]  # type -> events (min speed excluded)
    efficiency: float | None  # percent of surrounding traffic speed
    comfort: float | None  # percent of comfortable segments
    route_length_m: float
    source: str  # results file of the record used

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class Report:
    label: str
    n_routes: int  # the denominator
    denominator: str  # where it came from, in words
    driving_score: float  # percent
    success_rate: float  # percent
    route_completion: float  # percent
    infraction_penalty: float  # factor 0-1
    ability: AbilityResult
    efficiency: float | None  # percent
    efficiency_routes: int
    comfort: float | None  # percent
    comfort_routes: int
    infractions: InfractionStats
    scenario_types: dict[str, tuple[int, int]]
    routes: list[RouteRow]
    duplicates: list[Duplicate] = field(default_factory=list)
    extra_records: list[str] = field(default_factory=list)  # record ids not in the route file
    files: list[str] = field(default_factory=list)
    skipped_files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # must be seen before trusting the numbers
    mismatches: list[RouteMismatch] = field(default_factory=list)  # records unlike their route

    @property
    def abilities(self) -> dict[str, float | None]:
        return self.ability.percent

    @property
    def failed(self) -> list[RouteRow]:
        return [row for row in self.routes if not row.success]

    @property
    def missing(self) -> list[RouteRow]:
        """Expected routes with no record in any results file (they score 0)."""
        return [row for row in self.routes if row.outcome == "missing"]

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "driving_score": self.driving_score,
            "success_rate": self.success_rate,
            "route_completion": self.route_completion,
            "infraction_penalty": self.infraction_penalty,
            "abilities": dict(self.ability.percent),
            "efficiency": self.efficiency,
            "comfort": self.comfort,
            "routes": [row.to_json() for row in self.routes],
            "failed": [
                {"route_id": r.route_id, "record_id": r.record_id, "outcome": r.outcome, "reason": r.reason}
                for r in self.failed
            ],
            "n_routes": self.n_routes,
            "n_missing": len(self.missing),
            "missing": [r.record_id for r in self.missing],
            "denominator": self.denominator,
            "ability_rule": self.ability.rule,
            "ability_counts": {k: list(v) for k, v in self.ability.counts.items()},
            "ability_no_record": dict(self.ability.no_record),
            "traffic_signs_mode": self.ability.traffic_signs_mode,
            "efficiency_routes": self.efficiency_routes,
            "comfort_routes": self.comfort_routes,
            "infractions": self.infractions.to_json(),
            "scenario_types": {k: {"successes": s, "routes": n} for k, (s, n) in self.scenario_types.items()},
            "duplicates": [
                {"record_id": d.kept.record_id, "kept": d.kept.source, "dropped": d.dropped.source,
                 "kept_status": d.kept.status, "dropped_status": d.dropped.status,
                 "kept_score": d.kept.score_composed, "dropped_score": d.dropped.score_composed,
                 "reason": d.reason}
                for d in self.duplicates
            ],
            "route_mismatches": [m.to_json() for m in self.mismatches],
            "extra_records": list(self.extra_records),
            "files": list(self.files),
            "skipped_files": list(self.skipped_files),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
        }


def _row(entry: RouteEntry, efficiency: float | None, comfort: float | None) -> RouteRow:
    outcome, reason = classify(entry)
    record = entry.record
    spec_len = entry.spec.length_m if entry.spec is not None else 0.0
    return RouteRow(
        route_id=entry.route_id,
        record_id=record.record_id if record else f"RouteScenario_{entry.route_id}_rep{entry.repetition}",
        town=entry.town or (record.town if record else ""),
        scenario_type=entry.scenario_type,
        status=record.status if record else "Missing",
        outcome=outcome,
        reason=reason,
        driving_score=record.score_composed if record else 0.0,
        route_completion=record.score_route if record else 0.0,
        infraction_penalty=record.score_penalty if record else 0.0,
        success=outcome == "success",
        infractions=record.failing_infractions() if record else {},
        efficiency=efficiency,
        comfort=comfort,
        route_length_m=record.route_length_m if record and record.route_length_m else spec_len,
        source=record.source if record else "",
    )


def _comforts(entries: Sequence[RouteEntry], metric_dirs: Sequence[str | Path], progress: bool) -> dict[int, float]:
    values: dict[int, float] = {}
    if not metric_dirs:
        return values
    for index, entry in progress_iter(list(enumerate(entries)), "comfort (metric_info.json)", progress):
        if entry.record is None:
            continue
        path = find_metric_info(entry.record.save_name, metric_dirs)
        if path is not None:
            value = route_comfort(load_metric_info(path))
            if value is not None:
                values[index] = value
    return values


def build_report(
    results: Iterable[str | Path] | str | Path | MergedResults,
    routes: str | Path | Sequence[RouteSpec] | None = None,
    *,
    metric_dirs: Sequence[str | Path] | None = None,
    map_provider: MapProvider | None = None,
    label: str | None = None,
    progress: bool = False,
    strict_abilities: bool = False,
) -> Report:
    """All metrics of one run. metric_dirs: folders holding <save_name>/metric_info.json (comfort);
    map_provider: town maps for the Traffic_Signs junction credit (needs `routes`);
    strict_abilities: count routes with no record as ability failures (default: Bench2Drive's
    rule, which leaves them out)."""
    entries, context = build_entries(results, routes, progress)
    merged: MergedResults = context["merged"]
    notes: list[str] = list(context["notes"])
    n = len(entries)
    records = [e.record for e in entries if e.record is not None]
    rule = STRICT if strict_abilities else BENCH2DRIVE
    warnings = _missing_warning(entries)
    mismatches = check_against_route_file(entries)
    if routes is not None:
        warnings += route_file_warnings(mismatches, len(records), context["extra_records"], context["source"])
    notes += _duplicate_notes(merged.duplicates)

    junction_fraction = None
    if map_provider is not None:
        if routes is None:
            notes.append("junction credit needs a route file (waypoints); Traffic_Signs left strict")
        else:
            def junction_fraction(spec: RouteSpec) -> float | None:
                return junction_completion(spec, map_provider.get_map(spec.town))
    ability = ability_scores(entries, junction_fraction, getattr(map_provider, "description", ""), rule)
    notes.extend(ability.notes)

    efficiencies = [route_efficiency(e.record) if e.record else None for e in entries]
    eff_values = [v for v in efficiencies if v is not None]
    comforts = _comforts(entries, metric_dirs or [], progress)
    if not metric_dirs:
        notes.append("comfort not computed: no folder with <save_name>/metric_info.json given")
    elif not comforts:
        notes.append("comfort not computed: no metric_info.json found for any route")
    elif len(comforts) < len(records):
        notes.append(f"comfort from {len(comforts)} of {len(records)} routes with records (others lack metric_info.json)")

    rows = [_row(e, efficiencies[i], 100.0 * comforts[i] if i in comforts else None) for i, e in enumerate(entries)]
    return Report(
        label=label or _default_label(merged.files),
        n_routes=n,
        denominator=context["denominator"],
        driving_score=sum(r.driving_score for r in rows) / n if n else 0.0,
        success_rate=100.0 * sum(r.success for r in rows) / n if n else 0.0,
        route_completion=sum(r.route_completion for r in rows) / n if n else 0.0,
        infraction_penalty=sum(r.infraction_penalty for r in rows) / n if n else 0.0,
        ability=ability,
        efficiency=sum(eff_values) / len(eff_values) if eff_values else None,
        efficiency_routes=len(eff_values),
        comfort=100.0 * sum(comforts.values()) / len(comforts) if comforts else None,
        comfort_routes=len(comforts),
        infractions=infraction_stats(records),
        scenario_types=scenario_type_table(entries, rule),
        routes=rows,
        duplicates=merged.duplicates,
        extra_records=context["extra_records"],
        files=merged.files,
        skipped_files=merged.skipped,
        notes=notes,
        warnings=warnings,
        mismatches=mismatches,
    )


def _missing_warning(entries: Sequence[RouteEntry]) -> list[str]:
    missing = [e.route_id for e in entries if e.record is None]
    if not missing:
        return []
    return [f"{len(missing)} of {len(entries)} routes have no record in any results file (they score 0 in DS "
            f"and SR): ids {format_ids(missing)}"]


def _duplicate_notes(duplicates: Sequence[Duplicate]) -> list[str]:
    """'N duplicates resolved (by which rules); K disagreed in score by up to X: ...'."""
    if not duplicates:
        return []
    reasons: dict[str, int] = {}
    for d in duplicates:
        reasons[d.reason] = reasons.get(d.reason, 0) + 1
    text = (f"{len(duplicates)} duplicate records resolved ("
            + ", ".join(f"{n}x {reason}" for reason, n in reasons.items()) + ")")
    disagree = sorted((d for d in duplicates if abs(d.score_difference) > SCORE_AGREEMENT),
                      key=lambda d: -abs(d.score_difference))
    if disagree:
        worst = max(abs(d.score_difference) for d in disagree)
        shown = "; ".join(f"{d.kept.record_id} kept {d.kept.score_composed:.2f} ({d.kept.status}) over "
                          f"{d.dropped.score_composed:.2f} ({d.dropped.status})" for d in disagree[:5])
        text += (f"; {len(disagree)} disagreed in driving score, by up to {worst:.2f} points: {shown}"
                 + (f"; ... ({len(disagree) - 5} more, all in --json)" if len(disagree) > 5 else ""))
    else:
        text += "; all agreed in driving score"
    return [text]


def _default_label(files: Sequence[str]) -> str:
    if not files:
        return "run"
    parents = {Path(f).parent.name or "." for f in files}
    return parents.pop() if len(parents) == 1 else Path(files[0]).stem
