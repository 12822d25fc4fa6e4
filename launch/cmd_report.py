"""`automot report RESULTS... [--routes FILE] [--compare OTHER ...] [--json OUT] [--plots DIR]`.

RESULTS are leaderboard results files or folders of them (shards, re-runs), merged into one
run with one record per route (a finished record beats a crashed one, then the later start).
Each --compare path is another run, shown side by side with its differences to the first.
DS and SR divide by the route file; abilities follow Bench2Drive's rule (routes with no record
left out) unless --strict-abilities. Exit status 2: unreadable input (bad JSON, a score out
of range, a folder without results files).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="driving score, success rate, abilities, efficiency, comfort of results files",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("results", nargs="+", help="results JSON files or folders of them (one run)")
    parser.add_argument("--routes", help="route file the run used: the denominator (default: routes found)")
    parser.add_argument("--compare", nargs="+", default=[], metavar="OTHER",
                        help="other runs (each a results file or folder) to show side by side")
    parser.add_argument("--json", dest="json_out", metavar="OUT", help="write the report as JSON here")
    parser.add_argument("--plots", metavar="DIR", help="write abilities.png, route_scores.png, infractions.png here")
    parser.add_argument("--metric-dir", action="append", default=[], metavar="DIR",
                        help="folder holding <save_name>/metric_info.json for comfort (repeatable; "
                             "default: the results folders and their parents)")
    maps = parser.add_mutually_exclusive_group()
    maps.add_argument("--town-maps", metavar="DIR",
                      help="folder of <Town>.xodr maps: enables Bench2Drive's Traffic_Signs junction credit")
    maps.add_argument("--carla", metavar="HOST:PORT",
                      help="running CARLA server to read town maps from (junction credit)")
    parser.add_argument("--label", help="name of the first run in tables and plots")
    parser.add_argument("--strict-abilities", action="store_true",
                        help="count routes with no record as ability failures (default: Bench2Drive's "
                             "ability tool leaves them out of the denominators)")
    parser.add_argument("--max-failed", type=int, default=30, help="failed routes listed in the terminal")
    parser.add_argument("--all", dest="all_failed", action="store_true",
                        help="list every failed route in the terminal (no --max-failed limit)")
    parser.add_argument("--no-scenario-table", action="store_true", help="leave the per-scenario-type table out")
    parser.set_defaults(func=run)


def default_metric_dirs(paths: Sequence[str]) -> list[Path]:
    """Where agents usually keep <save_name>/metric_info.json: the results folder or next to the file."""
    dirs: list[Path] = []
    for raw in paths:
        path = Path(raw)
        for candidate in ((path, path.parent) if path.is_dir() else (path.parent, path.parent.parent)):
            if candidate not in dirs:
                dirs.append(candidate)
    return dirs


def map_provider_from_args(args: argparse.Namespace):  # -> MapProvider | None
    from launch.metrics.junctions import CarlaServerMapProvider, XodrMapProvider

    if args.town_maps:
        return XodrMapProvider(args.town_maps)
    if args.carla:
        host, _, port = args.carla.rpartition(":")
        return CarlaServerMapProvider(host or "localhost", int(port))
    return None


def _unique_labels(labels: list[str], paths: list[list[str]]) -> list[str]:
    seen: dict[str, int] = {}
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
    return [label if seen[label] == 1 else str(Path(p[0])) for label, p in zip(labels, paths)]


def run(args: argparse.Namespace) -> int:
    import warnings

    from rich.console import Console

    from bench2drive_routes.route_xml import RouteFileError, RouteFileWarning
    from core.atomic_files import atomic_write_json
    from launch.metrics.records import ResultFileError
    from launch.metrics.summary import build_report
    from launch.reporting.compare import comparison_json
    from launch.reporting.tables import print_comparison, print_report

    console = Console()
    errors = Console(stderr=True)
    runs = [list(args.results)] + [[p] for p in args.compare]
    try:
        map_provider = map_provider_from_args(args)
        reports = []
        with warnings.catch_warnings():
            # The report's notes already say what a RouteFileWarning says (routes without <weathers>).
            warnings.simplefilter("ignore", RouteFileWarning)
            for index, paths in enumerate(runs):
                metric_dirs = args.metric_dir or default_metric_dirs(paths)
                label = args.label if index == 0 and args.label else None
                reports.append(build_report(paths, args.routes, metric_dirs=metric_dirs, map_provider=map_provider,
                                            label=label, progress=True, strict_abilities=args.strict_abilities))
    except (ResultFileError, RouteFileError, FileNotFoundError) as exc:
        errors.print(f"[red]error:[/red] {exc}")
        return 2
    except (ImportError, RuntimeError) as exc:  # carla missing, or the CARLA server unreachable
        errors.print(f"[red]error:[/red] map access failed: {exc}")
        return 2
    for report, label in zip(reports, _unique_labels([r.label for r in reports], runs)):
        report.label = label

    print_report(console, reports[0], max_failed=None if args.all_failed else args.max_failed,
                 scenario_types=not args.no_scenario_table)
    if len(reports) > 1:
        print_comparison(console, reports)
    if args.json_out:
        document = reports[0].to_json()
        if len(reports) > 1:
            document["compare"] = comparison_json(reports[0], reports[1:])
        console.print(f"report: {atomic_write_json(args.json_out, document)}")
    if args.plots:
        from launch.reporting.plots import write_plots

        for path in write_plots(reports, args.plots):
            console.print(f"plot: {path}")
    return 0
