"""`automot failures RESULTS... --routes FILE [--out subset.xml] [--kinds ...]`.

Lists the routes of the route file that did not succeed (missing, crashed, failed, completed
with infractions) with the reason, and writes a route file holding just them, to re-run.
--kinds missing crashed re-runs only what broke for infrastructure reasons.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    from launch.metrics.failures import FAILURE_KINDS

    parser = subparsers.add_parser(
        "failures",
        help="list failed routes with reasons; write a route file to re-run them",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("results", nargs="+", help="results JSON files or folders of them")
    parser.add_argument("--routes", required=True, help="route file the run used")
    parser.add_argument("--out", help="write the failed routes as a route file here")
    parser.add_argument("--kinds", nargs="+", choices=FAILURE_KINDS, default=list(FAILURE_KINDS),
                        help="outcomes that count as failed (default: all)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import warnings

    from rich.console import Console

    from bench2drive_routes.route_sets import write_route_subset
    from bench2drive_routes.route_xml import RouteFileError, RouteFileWarning, parse_routes
    from launch.metrics.records import ResultFileError
    from launch.metrics.summary import build_report
    from launch.reporting.tables import failures_table, print_warnings

    console = Console()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RouteFileWarning)  # routes without <weathers> still re-run
            routes = parse_routes(args.routes)
        report = build_report(args.results, routes, progress=True)
    except (ResultFileError, RouteFileError) as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}")
        return 2
    wanted = set(args.kinds)
    rows = [row for row in report.failed if row.outcome in wanted]
    print_warnings(console, report)
    console.print(failures_table(rows, f"{len(rows)} of {report.n_routes} routes failed ({', '.join(args.kinds)}); "
                                       f"{len(report.missing)} have no record"))
    if args.out:
        ids = list(dict.fromkeys(row.route_id for row in rows))
        subset = write_route_subset(routes, ids, args.out)
        console.print(f"wrote {args.out}: {len(subset)} routes to re-run")
    return 0
