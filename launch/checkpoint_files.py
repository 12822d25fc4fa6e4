"""Leaderboard checkpoint files: read them (also half-written ones), merge them, write them.

The format is the leaderboard's results JSON (Bench2Drive's StatisticsManager):
    {"_checkpoint": {"global_record": {...}, "progress": [done, total], "records": [...]},
     "entry_status": "Started|Finished|Crashed|Rejected|Invalid", "eligible": bool,
     "sensors": [...], "values": [...], "labels": [...]}
A record: {"index", "route_id": "RouteScenario_<id>_rep<r>", "status", "infractions",
"scores": {"score_route", "score_penalty", "score_composed"}, "meta", ...}.

The evaluator writes its file with a plain open()/json.dump, so a reader can meet an
empty or truncated file while it is being written: that reads as "no records yet".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.atomic_files import atomic_write_json

SIMULATION_CRASHED = "Failed - Simulation crashed"
INFRACTION_KEYS: tuple[str, ...] = (
    "collisions_layout", "collisions_pedestrian", "collisions_vehicle", "red_light", "stop_infraction",
    "outside_route_lanes", "min_speed_infractions", "yield_emergency_vehicle_infractions",
    "scenario_timeouts", "route_dev", "vehicle_blocked", "route_timeout",
)


def record_id(route_id: str, repetition: int = 0) -> str:
    """'1711' -> 'RouteScenario_1711_rep0' (the leaderboard's record id)."""
    return f"RouteScenario_{route_id}_rep{repetition}"


def route_of_record(record_route_id: str) -> str:
    """'RouteScenario_1711_rep0' -> '1711'."""
    text = str(record_route_id)
    if text.startswith("RouteScenario_"):
        text = text[len("RouteScenario_"):]
    return text.rsplit("_rep", 1)[0]


def read_checkpoint(path: Path) -> dict[str, Any] | None:
    """The parsed file, or None when it is missing, empty or not (yet) valid JSON."""
    try:
        text = Path(path).read_text()
    except OSError:
        return None
    if not text.strip():
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def checkpoint_records(data: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not data:
        return []
    records = (data.get("_checkpoint") or {}).get("records") or []
    return [r for r in records if isinstance(r, dict) and r.get("route_id") and r.get("index", -1) != -1]


def is_finished(record: dict[str, Any], retry_statuses: tuple[str, ...]) -> bool:
    """A record that ends its route for good (not 'Started', not a status that is retried)."""
    status = str(record.get("status", "Started"))
    return status != "Started" and status not in retry_statuses


def skipped_record(route_record_id: str, crashes: int, reason: str) -> dict[str, Any]:
    """The record written for a route given up after `crashes` simulator crashes: failed, score 0."""
    return {
        "index": 0,
        "route_id": route_record_id,
        "status": SIMULATION_CRASHED,
        "num_infractions": 0,
        "infractions": {key: [] for key in INFRACTION_KEYS},
        "scores": {"score_route": 0.0, "score_penalty": 1.0, "score_composed": 0.0},
        "meta": {"route_length": 0.0, "duration_game": 0.0, "duration_system": 0.0},
        "automot_skipped": {"crashes": crashes, "reason": reason},
    }


def results_document(records: list[dict[str, Any]], total: int, sensors: list[str] | None = None,
                     complete: bool | None = None) -> dict[str, Any]:
    """A leaderboard-format results dict for `records` (re-indexed 0..n-1 in the given order).

    entry_status follows the leaderboard's rule: 'Crashed' when a record says the
    simulation crashed, 'Finished' when all `total` routes have records, else 'Started'.
    The global record and values/labels are left for the metrics tools to fill.
    """
    out = []
    for i, record in enumerate(records):
        record = dict(record)
        record["index"] = i
        out.append(record)
    complete = len(out) >= total if complete is None else complete
    if not complete:
        entry_status = "Started"
    elif any(SIMULATION_CRASHED in str(r.get("status", "")) for r in out):
        entry_status = "Crashed"
    else:
        entry_status = "Finished"
    return {
        "_checkpoint": {"global_record": {}, "progress": [len(out), total], "records": out},
        "entry_status": entry_status,
        "eligible": entry_status == "Finished",
        "sensors": list(sensors or []),
        "values": [],
        "labels": [],
    }


def write_results(path: Path, document: dict[str, Any]) -> Path:
    return atomic_write_json(path, document)


def sensors_of(data: dict[str, Any] | None) -> list[str]:
    return list((data or {}).get("sensors") or [])


def composed_scores(records: list[dict[str, Any]]) -> list[float]:
    return [float((r.get("scores") or {}).get("score_composed", 0.0)) for r in records]


def running_driving_score(records: list[dict[str, Any]]) -> float | None:
    """Mean composed score over the routes finished so far (None before the first one)."""
    scores = composed_scores(records)
    return sum(scores) / len(scores) if scores else None
