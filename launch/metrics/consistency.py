"""Do the results belong to this route file? Checks of each record against the route it was matched to.

Records are matched to routes by id alone, and ids repeat across Bench2Drive's files (4183 and
26990 are in both bench2drive220.xml and bench2drive_0.0.4_val.xml), so scoring a run against
the wrong file can look fine. Each record carries what the leaderboard built for its route:
  - meta.route_length: the length of the route after the global planner densified it (1 m
    hops along the lanes). The file's polyline differs from it by -2.1..+9.2 m (ratio
    0.984..1.070) on Bench2Drive-220, so a record further off than LENGTH_TOLERANCE_M or
    LENGTH_TOLERANCE_FRACTION of the file's length, whichever is larger, drove another route;
  - town_name and scenario_name (the route's first scenario's name attribute), when present.
A record whose route was never built (a crash before it, meta.route_length 0) is not checked for
length. These checks cannot see a route that differs only in its weather (4183 in the two files).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench2drive_routes.route_spec import MAX_IDS_IN_NOTE, format_ids, normalize_route_id
from launch.metrics.abilities import RouteEntry

LENGTH_TOLERANCE_M = 10.0  # 1.08x the largest difference measured on Bench2Drive-220 (9.23 m)
LENGTH_TOLERANCE_FRACTION = 0.10  # of the file's length; 1.4x the largest ratio measured (7.0 %)


@dataclass(frozen=True)
class RouteMismatch:
    """A record that disagrees with the route of the same id in the route file."""

    record_id: str  # 'RouteScenario_4183_rep0'
    field: str  # 'route_length', 'town' or 'scenario'
    record_value: str  # what the record says
    route_file_value: str  # what the route file says

    def describe(self) -> str:
        return f"{self.record_id}: {self.field} {self.record_value} in the record, {self.route_file_value} in the route file"

    def to_json(self) -> dict[str, str]:
        return dict(vars(self))


def length_tolerance_m(file_length_m: float) -> float:
    """Largest |record length - file length| a record of this route can show, metres."""
    return max(LENGTH_TOLERANCE_M, LENGTH_TOLERANCE_FRACTION * file_length_m)


def check_entry(entry: RouteEntry) -> list[RouteMismatch]:
    """What one matched record disagrees on with its route (empty without a record or a route)."""
    record, spec = entry.record, entry.spec
    if record is None or spec is None:
        return []
    found: list[RouteMismatch] = []
    if record.route_length_m > 0.0:
        file_length = spec.length_m
        if abs(record.route_length_m - file_length) > length_tolerance_m(file_length):
            found.append(RouteMismatch(record.record_id, "route_length", f"{record.route_length_m:.1f} m",
                                       f"{file_length:.1f} m"))
    if record.town and record.town != spec.town:
        found.append(RouteMismatch(record.record_id, "town", record.town, spec.town))
    if record.scenario_name and spec.scenarios and record.scenario_name != spec.scenarios[0].name:
        found.append(RouteMismatch(record.record_id, "scenario", record.scenario_name, spec.scenarios[0].name))
    return found


def check_against_route_file(entries: Sequence[RouteEntry]) -> list[RouteMismatch]:
    """Every disagreement between records and the routes they were matched to, in route-file order."""
    return [mismatch for entry in entries for mismatch in check_entry(entry)]


def route_file_warnings(mismatches: Sequence[RouteMismatch], n_matched: int, extra_records: Sequence[str],
                        source: str) -> list[str]:
    """Warnings for a user who may have scored a run against the wrong route file."""
    warnings: list[str] = []
    if mismatches:
        routes = list(dict.fromkeys(m.record_id for m in mismatches))
        details = "; ".join(m.describe() for m in mismatches[:MAX_IDS_IN_NOTE])
        warnings.append(f"{len(routes)} records do not match their route in {source} (wrong route file?): {details}"
                        + (f"; ... ({len(mismatches) - MAX_IDS_IN_NOTE} more)" if len(mismatches) > MAX_IDS_IN_NOTE
                           else ""))
    if extra_records:
        ids = list(dict.fromkeys(normalize_route_id(r) for r in extra_records))
        text = f"{len(extra_records)} records are for routes not in {source} and were left out: ids {format_ids(ids)}"
        if len(extra_records) >= n_matched:
            text += f"; only {n_matched} records match a route of the file: are these results for another route file?"
        warnings.append(text)
    return warnings
