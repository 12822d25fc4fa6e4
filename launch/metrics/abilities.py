"""Multi-ability success rates and the per-scenario-type success table.

Follows Bench2Drive's tools/ability_benchmark.py (v0.0.3), which produces the numbers papers print:
  - a route counts for the abilities of its first scenario's type (bench2drive_routes.abilities);
  - ability success = share of its routes that are successes (completed or perfect, no
    infraction but min speed);
  - a route of the route file with NO record is left out of every ability's denominator (and of
    the per-scenario-type table): Bench2Drive lists it as 'crashed' and skips it. A record that
    exists but crashed ('Failed - Simulation crashed', 'Started', ...) is counted as a failure.
    That is rule BENCH2DRIVE, the default. Rule STRICT (`--strict-abilities`) counts routes with
    no record as failures instead, like DS and SR do (those always divide by the route file);
  - Traffic_Signs with a map: every Traffic_Signs route is counted TWICE, once strictly and
    once more with the junction credit (a route that got past its first junction + 8 waypoints
    without stop or red-light infraction is a success for that second count). That double count
    is Bench2Drive's and is what published Traffic_Signs numbers contain;
  - without a map, Traffic_Signs is strict only (the report says so);
  - mean = average of the abilities (Bench2Drive divides by 5; an ability with no counted route
    is left out of the mean here, where Bench2Drive would divide by zero).
Difference, chosen on purpose: a route whose trace has no junction gets no credit (Bench2Drive
raises).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bench2drive_routes.abilities import ABILITY_NAMES, abilities_of
from bench2drive_routes.route_spec import RouteSpec
from launch.metrics.records import RouteRecord

STRICT = "strict"  # Traffic_Signs without junction credit; also the ability rule that fails missing routes
BENCH2DRIVE = "bench2drive"  # the ability rule of Bench2Drive's tool: routes with no record left out
ABILITY_RULES: tuple[str, ...] = (BENCH2DRIVE, STRICT)


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
    rule: str = BENCH2DRIVE  # how routes with no record were treated (ABILITY_RULES)
    no_record: dict[str, int] = field(default_factory=dict)  # ability -> its routes with no record
    # (left out of counts under BENCH2DRIVE, counted as failures under STRICT)


def _check_rule(rule: str) -> None:
    if rule not in ABILITY_RULES:
        raise ValueError(f"unknown ability rule {rule!r}; choose from {', '.join(ABILITY_RULES)}")


def counted(entry: RouteEntry, rule: str) -> bool:
    """Whether an expected route enters ability and scenario-type denominators under `rule`."""
    return entry.record is not None or rule == STRICT


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
    rule: str = BENCH2DRIVE,
) -> AbilityResult:
    """Ability success rates; pass `junction_fraction` (route -> fraction or None) to credit junctions.

    rule: BENCH2DRIVE leaves routes with no record out (Bench2Drive's tool), STRICT fails them."""
    _check_rule(rule)
    counts = {name: [0, 0] for name in ABILITY_NAMES}
    no_record = {name: 0 for name in ABILITY_NAMES}
    notes: list[str] = []
    no_junction: list[str] = []
    for entry in entries:
        if entry.record is None:
            for ability in abilities_of(entry.scenario_type):
                no_record[ability] += 1
        if not counted(entry, rule):
            continue
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
    missing = sum(1 for e in entries if e.record is None)
    if missing:
        notes.append(f"abilities: {missing} routes with no record " + (
            "left out of the ability denominators (Bench2Drive's rule; --strict-abilities counts them as failures)"
            if rule == BENCH2DRIVE else "counted as failures (strict rule)"))
    return AbilityResult(percent=percent, counts={k: (s, n) for k, (s, n) in counts.items()},
                         traffic_signs_mode=mode, notes=notes, rule=rule, no_record=no_record)


def scenario_type_table(entries: Sequence[RouteEntry], rule: str = BENCH2DRIVE) -> dict[str, tuple[int, int]]:
    """Scenario type -> (successes, routes) under the ability rule (as Bench2Drive's table); sorted by type."""
    _check_rule(rule)
    table: dict[str, list[int]] = {}
    for entry in entries:
        if not counted(entry, rule):
            continue
        row = table.setdefault(entry.scenario_type or "(unknown)", [0, 0])
        row[0] += int(entry.success)
        row[1] += 1
    return {k: (v[0], v[1]) for k, v in sorted(table.items())}
