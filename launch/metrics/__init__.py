"""Metrics for leaderboard / Bench2Drive results: merge result files, score runs, list failures.

What launch code calls:
    build_report(results, routes=None, metric_dirs=None, map_provider=None, strict_abilities=False) -> Report
        report.driving_score / success_rate / abilities / efficiency / comfort / to_json()
        report.missing (routes with no record) / warnings / mismatches / ability.rule
    merge_results(paths) -> MergedResults          (one record per route: finished over crashed,
                                                    then the later start; never file times)
    failed_route_ids(results, routes, kinds=FAILURE_KINDS) -> list[str]
    load_result_file(path) -> list[RouteRecord]    (ResultFileError on absent keys, bad ranges)
Modules: records (typed records, statuses, value ranges), merge, summary, abilities, efficiency,
comfort (+ savgol), infractions, junctions (map hook), failures, consistency (records against
the route file).
"""

from launch.metrics.abilities import ABILITY_RULES
from launch.metrics.consistency import RouteMismatch, check_against_route_file
from launch.metrics.entries import build_entries
from launch.metrics.failures import FAILURE_KINDS, classify, failed_route_ids
from launch.metrics.junctions import CarlaServerMapProvider, XodrMapProvider, junction_completion
from launch.metrics.merge import Duplicate, MergedResults, merge_results
from launch.metrics.records import (
    INFRACTION_TYPES,
    ResultFileError,
    RouteRecord,
    load_result_file,
    parse_record,
    status_kind,
)
from launch.metrics.summary import Report, RouteRow, build_report

__all__ = [
    "ABILITY_RULES",
    "FAILURE_KINDS",
    "INFRACTION_TYPES",
    "CarlaServerMapProvider",
    "Duplicate",
    "MergedResults",
    "Report",
    "ResultFileError",
    "RouteMismatch",
    "RouteRecord",
    "RouteRow",
    "XodrMapProvider",
    "build_entries",
    "build_report",
    "check_against_route_file",
    "classify",
    "failed_route_ids",
    "junction_completion",
    "load_result_file",
    "merge_results",
    "parse_record",
    "status_kind",
]
