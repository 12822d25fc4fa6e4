"""Terminal tables (rich) for reports, comparisons and failure lists."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from bench2drive_routes.abilities import ABILITY_NAMES
from launch.metrics.records import INFRACTION_TYPES
from launch.metrics.summary import Report, RouteRow
from launch.reporting.compare import comparison

_LABELS = {
    "driving_score": "Driving score",
    "success_rate": "Success rate (%)",
    "route_completion": "Route completion (%)",
    "infraction_penalty": "Infraction penalty",
    "efficiency": "Efficiency (%)",
    "comfort": "Comfort (%)",
    "routes": "Routes (denominator)",
    "failed": "Failed routes",
}


def _label(metric: str) -> str:
    if metric.startswith("ability."):
        name = metric.split(".", 1)[1]
        return f"Ability: {name.replace('_', ' ')}" + (" (strict)" if name == "Traffic_Signs" else "")
    return _LABELS.get(metric, metric)


def fmt(value: float | None, metric: str = "", signed: bool = False) -> str:
    if value is None:
        return "-"
    if metric in ("routes", "failed"):
        return f"{value:+.0f}" if signed else f"{value:.0f}"
    digits = 3 if metric == "infraction_penalty" else 2
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


# Failed routes in the terminal table, most alarming first: a missing or crashed route is a gap
# in the run, not a driving result, and must not hide below the row limit.
OUTCOME_ORDER = ("missing", "crashed", "failed", "infraction")


def summary_line(report: Report) -> str:
    """'<label>: 220 routes, 4 missing (no record)' -- the count of missing routes is never left out."""
    missing = len(report.missing)
    return f"{report.label}: {report.n_routes} routes, " + (
        f"{missing} missing (no record)" if missing else "none missing")


def _ability_detail(report: Report, name: str) -> str:
    s, n = report.ability.counts[name]
    detail = f"{s}/{n}"
    no_record = report.ability.no_record.get(name, 0)
    if no_record:
        detail += f" ({no_record} without record " + ("left out" if report.ability.rule != "strict" else "failed") + ")"
    if name == "Traffic_Signs":
        detail += f" ({report.ability.traffic_signs_mode})"
    return detail


def _summary_table(report: Report) -> Table:
    table = Table(title=summary_line(report), title_justify="left")
    table.add_column("Metric")
    table.add_column("Value", justify="right")
    table.add_column("Detail", style="dim")
    table.add_row("Driving score", fmt(report.driving_score), report.denominator)
    table.add_row("Success rate (%)", fmt(report.success_rate), f"{report.n_routes - len(report.failed)} successes")
    table.add_row("Route completion (%)", fmt(report.route_completion), "")
    table.add_row("Infraction penalty", fmt(report.infraction_penalty, "infraction_penalty"), "")
    rule = ("Bench2Drive's rule: routes without record left out" if report.ability.rule != "strict"
            else "strict: routes without record are failures")
    table.add_row("Abilities (%)", "", rule)
    for name in ABILITY_NAMES:
        table.add_row(f"  {name.replace('_', ' ')}", fmt(report.abilities[name]), _ability_detail(report, name))
    table.add_row("  Mean ability", fmt(report.abilities["mean"]), "")
    table.add_row("Efficiency (%)", fmt(report.efficiency), f"{report.efficiency_routes} routes with speed checkpoints")
    table.add_row("Comfort (%)", fmt(report.comfort), f"{report.comfort_routes} routes with metric_info.json")
    return table


def _infraction_table(report: Report) -> Table:
    stats = report.infractions
    table = Table(title=f"Infractions per km ({stats.km_driven:.2f} km driven)", title_justify="left")
    table.add_column("Type")
    table.add_column("Events", justify="right")
    table.add_column("Per km", justify="right")
    for name, count in stats.counts.items():
        note = " (not a failure)" if name == "min_speed_infractions" else ""
        table.add_row(name + note, str(count), f"{stats.per_km[name]:.3f}")
    table.add_row("outside_route_lanes (km)", "", f"{stats.outside_route_lanes_km:.3f}")
    return table


def _scenario_table(report: Report) -> Table:
    table = Table(title="Success by scenario type", title_justify="left")
    table.add_column("Scenario type")
    table.add_column("Successes", justify="right")
    table.add_column("Rate (%)", justify="right")
    for name, (s, n) in report.scenario_types.items():
        table.add_row(name, f"{s}/{n}", fmt(100.0 * s / n if n else None))
    return table


def failures_table(rows: Sequence[RouteRow], title: str, limit: int | None = None) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("Route", "Town", "Scenario type", "Outcome", "DS", "Reason"):
        table.add_column(column, justify="right" if column == "DS" else "left",
                         overflow="fold", no_wrap=column in ("Route", "Town", "DS"))
    shown = list(rows) if limit is None else list(rows)[:limit]
    for row in shown:
        table.add_row(row.route_id, row.town, row.scenario_type, row.outcome, fmt(row.driving_score), row.reason)
    if limit is not None and len(rows) > limit:
        table.caption = f"{len(rows) - limit} more (use --all)"
        table.caption_justify = "left"
    return table


def by_outcome(rows: Sequence[RouteRow]) -> list[RouteRow]:
    """Failed rows, missing and crashed first (route-file order inside each outcome)."""
    rank = {outcome: i for i, outcome in enumerate(OUTCOME_ORDER)}
    return sorted(rows, key=lambda row: rank.get(row.outcome, len(rank)))


def print_report(console: Console, report: Report, max_failed: int | None = 30, scenario_types: bool = True) -> None:
    """The report in the terminal; max_failed=None lists every failed route."""
    print_warnings(console, report)
    console.print(_summary_table(report))
    console.print(_infraction_table(report))
    if scenario_types:
        console.print(_scenario_table(report))
    if report.failed:
        outcomes = ", ".join(f"{sum(r.outcome == o for r in report.failed)} {o}" for o in OUTCOME_ORDER
                             if any(r.outcome == o for r in report.failed))
        console.print(failures_table(by_outcome(report.failed), f"Failed routes ({len(report.failed)}: {outcomes})",
                                     max_failed))
    print_notes(console, report)


def print_warnings(console: Console, report: Report) -> None:
    for warning in report.warnings:
        console.print(f"[bold red]warning:[/bold red] {warning}")


def print_notes(console: Console, report: Report) -> None:
    notes = list(report.notes)
    if report.skipped_files:
        notes.append(f"skipped {len(report.skipped_files)} JSON files that are not results files")
    for note in notes:
        console.print(f"[yellow]note:[/yellow] {note}")


def print_comparison(console: Console, reports: Sequence[Report]) -> None:
    table = Table(title="Comparison (differences to the first run)", title_justify="left")
    table.add_column("Metric")
    for report in reports:
        table.add_column(report.label, justify="right")
    for report in reports[1:]:
        table.add_column(f"Δ {report.label}", justify="right")
    for metric, values, deltas in comparison(reports):
        cells = [fmt(v, metric) for v in values] + [_delta_cell(d, metric) for d in deltas]
        table.add_row(_label(metric), *cells)
    per_km = [r.infractions.per_km for r in reports]
    for name in INFRACTION_TYPES:
        values = [p.get(name, 0.0) for p in per_km]
        cells = [f"{v:.3f}" for v in values] + [f"{v - values[0]:+.3f}" for v in values[1:]]
        table.add_row(f"{name} /km", *cells)
    console.print(table)
    for report in reports:
        if report.notes or report.warnings:
            console.print(f"[bold]{report.label}[/bold]")
            print_warnings(console, report)
            print_notes(console, report)


def _delta_cell(delta: float | None, metric: str) -> str:
    text = fmt(delta, metric, signed=True)
    if delta is None or delta == 0:
        return text
    worse = delta < 0 if metric != "failed" else delta > 0
    return f"[{'red' if worse else 'green'}]{text}[/]"
