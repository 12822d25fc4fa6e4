"""End-of-run summary of an embedded run, computed by the project's metrics tools (launch.metrics)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from launch.metrics.summary import build_report
from sim.map_provider import EmbeddedMapProvider


def print_summary(console: Console, results: str | Path, routes: str | Path, out_dir: str | Path) -> None:
    report = build_report([results], routes, metric_dirs=[out_dir], map_provider=EmbeddedMapProvider())
    table = Table(title=f"embedded run: {results}")
    for column in ("route", "scenario", "status", "RC", "penalty", "DS", "infractions"):
        table.add_column(column, justify="right" if column in ("RC", "penalty", "DS") else "left")
    for row in report.routes:
        infractions = ", ".join(f"{k} x{v}" for k, v in row.infractions.items() if v)
        table.add_row(row.route_id, row.scenario_type, row.status, f"{row.route_completion:.1f}",
                      f"{row.infraction_penalty:.2f}", f"{row.driving_score:.1f}", infractions)
    console.print(table)
    abilities = "  ".join(f"{k} {'-' if v is None else f'{v:.0f}%'}" for k, v in report.abilities.items())
    eff = "-" if report.efficiency is None else f"{report.efficiency:.1f}%"
    comfort = "-" if report.comfort is None else f"{report.comfort:.1f}%"
    for warning in report.warnings:
        console.print(f"[bold red]warning:[/bold red] {warning}")
    console.print(f"[bold]Driving score {report.driving_score:.2f}   Success rate {report.success_rate:.1f}%[/bold]   "
                  f"({report.n_routes} routes, {len(report.missing)} missing)")
    console.print(f"Abilities: {abilities}")
    console.print(f"Efficiency {eff}   Comfort {comfort}")
