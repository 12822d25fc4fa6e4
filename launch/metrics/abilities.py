"""Multi-ability success rates and the per-scenario-type success table.

Follows Bench2Drive's tools/ability_benchmark.py (v0.0.3):
  - a route counts for the abilities of its first scenario's type (bench2drive_routes.abilities);
  - ability success = share of its routes that are successes (completed, no infraction but
    min speed);
  - Traffic_Signs with a map: every Traffic_Signs route is counted TWICE, once strictly and
    once more with the junction credit (a route that got past its first junction + 8 waypoints
    without stop or red-light infraction is a success for that second count). That double count
    is Bench2Drive's and is what published Traffic_Signs numbers contain;
  - without a map, Traffic_Signs is strict only (the report says so);
  - mean = average of the abilities (Bench2Drive divides by 5; abilities with no routes in a
    subset are left out of the mean instead of dividing by zero).
Differences, chosen on purpose: routes missing from the results count as failures (Bench2Drive
leaves them out of the ability denominators); a route whose trace has no junction gets no
credit (Bench2Drive raises).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bench2drive_routes.abilities import ABILITY_NAMES, abilities_of
from bench2drive_routes.route_spec import RouteSpec
from launch.metrics.records import RouteRecord

STRICT = "strict"


@dataclass(frozen=True)
class RouteEntry:
    """A route the metrics expect, with its record when one exists."""

    route_id: str
    repetition: int
    scenario_type: str  # first scenario's type ('' if unknown)
    town: str
    record: RouteRecord | None  # None: missing from every results file
    spec: RouteSpec | None = None  # from the route file, when one was given

    @property
    def success(self) -> bool:
        return self.record is not None and self.record.success


@dataclass
class AbilityResult:
    percent: dict[str, float | None]  # ability name and 'mean' -> percent (None: no routes)
    counts: dict[str, tuple[int, int]]  # ability -> (successes, counted routes)
    traffic_signs_mode: str  # 'strict' or 'junction credit (<map source>)'
    notes: list[str] = field(default_factory=list)


def _junction_credit(entry: RouteEntry, fraction: float | None) -> bool:
    record = entry.record
    if record is None or fraction is None:
        return False
    return (
        record.score_route / 100.0 > fraction
        and not record.infractions.get("stop_infraction")
        and not record.infractions.get("red_light")
    )


def ability_scores(
    entries: Sequence[RouteEntry],
    junction_fraction: Callable[[RouteSpec], float | None] | None = None,
    map_description: str = "",
) -> AbilityResult:
    """Ability success rates; pass `junction_fraction` (route -> fraction or None) to credit junctions."""
    counts = {name: [0, 0] for name in ABILITY_NAMES}
    notes: list[str] = []
    no_junction: list[str] = []
    for entry in entries:
        for ability in abilities_of(entry.scenario_type):
            counts[ability][1] += 1
            counts[ability][0] += int(entry.success)
        if junction_fraction is not None and "Traffic_Signs" in abilities_of(entry.scenario_type):
            fraction = None
            if entry.spec is not None and entry.record is not None:
                try:
                    fraction = junction_fraction(entry.spec)
                except (FileNotFoundError, RuntimeError) as exc:
                    notes.append(f"route {entry.route_id}: no junction credit ({exc})")
                else:
                    if fraction is None:
                        no_junction.append(entry.route_id)
            counts["Traffic_Signs"][1] += 1
            counts["Traffic_Signs"][0] += int(entry.success or _junction_credit(entry, fraction))
    if no_junction:
        notes.append(f"no junction found on the map for routes {', '.join(no_junction)}: no credit")
    percent: dict[str, float | None] = {
        name: (100.0 * s / n if n else None) for name, (s, n) in counts.items()
    }
    present = [v for v in percent.values() if v is not None]
    percent["mean"] = sum(present) / len(present) if present else None
    if junction_fraction is None:
        mode = STRICT
        notes.append("Traffic_Signs is strict: no CARLA map given, so Bench2Drive's junction credit "
                     "is not applied (published Traffic_Signs numbers include it)")
    else:
        mode = f"junction credit ({map_description or 'map'})"
    return AbilityResult(percent=percent, counts={k: (s, n) for k, (s, n) in counts.items()},
                         traffic_signs_mode=mode, notes=notes)


def scenario_type_table(entries: Sequence[RouteEntry]) -> dict[str, tuple[int, int]]:
    """Scenario type -> (successes, routes), missing routes counted as failures; sorted by type."""
    table: dict[str, list[int]] = {}
    for entry in entries:
        row = table.setdefault(entry.scenario_type or "(unknown)", [0, 0])
        row[0] += int(entry.success)
        row[1] += 1
    return {k: (v[0], v[1]) for k, v in sorted(table.items())}
