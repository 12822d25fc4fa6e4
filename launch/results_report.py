"""The end of an evaluation: merge the shards' results and run the metrics report on them.

    out/results.json   one leaderboard-format file, records in the route file's order
    out/report.json    launch.metrics.build_report(...).to_json()
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from core.atomic_files import atomic_write_json
from launch.checkpoint_files import (
    checkpoint_records,
    read_checkpoint,
    results_document,
    route_of_record,
    write_results,
)
from launch.evaluate_plan import EvaluationPlan

if TYPE_CHECKING:
    from launch.metrics.records import RouteRecord


def merge_plan_results(plan: EvaluationPlan, repetitions: int = 1) -> Path:
    """Merge every shard's results.json into out/results.json (route file order).

    A route recorded by several shards (a plan changed between resumes) keeps one record by the
    metrics' duplicate rule: a finished record beats a crashed one, then the later start."""
    from launch.metrics.merge import precedence
    from launch.metrics.records import parse_record

    by_id: dict[str, tuple[dict, RouteRecord, int]] = {}
    sensors: list[str] = []
    for order, shard in enumerate(plan.shards):
        path = plan.layout(shard).results_file
        data = read_checkpoint(path)
        sensors = list((data or {}).get("sensors") or sensors)
        for position, record in enumerate(checkpoint_records(data)):
            parsed = parse_record(record, str(path), position)
            current = by_id.get(parsed.record_id)
            if current is None or precedence(parsed, order, current[1], current[2])[0]:
                by_id[parsed.record_id] = (record, parsed, order)
    position = {route_id: i for i, route_id in enumerate(plan.route_order)}
    records = sorted((raw for raw, _, _ in by_id.values()),
                     key=lambda r: (position.get(route_of_record(r["route_id"]), len(position)), str(r["route_id"])))
    document = results_document(records, total=len(plan.route_order) * repetitions, sensors=sensors)
    return write_results(plan.results_file, document)


def write_report(plan: EvaluationPlan, console: Console | None = None) -> Path | None:
    """Metrics report of out/results.json against the full route file (missing routes score 0)."""
    console = console or Console()
    try:
        from launch.metrics import build_report
    except ImportError as exc:  # the metrics package is optional for a bare launcher install
        console.print(f"metrics report skipped: {exc}")
        return None
    metric_dirs = [plan.layout(s).save_dir for s in plan.shards if plan.layout(s).save_dir.is_dir()]
    report = build_report(plan.results_file, plan.routes_file, metric_dirs=metric_dirs, label=plan.out_dir.name)
    path = atomic_write_json(plan.out_dir / "report.json", report.to_json())
    abilities = ", ".join(f"{k} {v:.1f}" for k, v in report.abilities.items() if v is not None)
    for warning in report.warnings:
        console.print(f"[bold red]warning:[/bold red] {warning}")
    console.print(f"[bold]Driving score {report.driving_score:.2f}[/]  success rate {report.success_rate:.2f}%  "
                  f"route completion {report.route_completion:.2f}%  ({report.n_routes} routes, "
                  f"{len(report.failed)} not successful, {len(report.missing)} missing)")
    if abilities:
        console.print(f"abilities: {abilities}")
    console.print(f"results: {plan.results_file}\nreport:  {path}")
    return path
