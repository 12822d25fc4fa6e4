"""Per-route leaderboard records: the typed form of `_checkpoint.records[i]` in a results JSON.

A results file is what the leaderboard writes to its checkpoint endpoint:
    {"_checkpoint": {"global_record": {...}, "progress": [done, total], "records": [record, ...]}, ...}
with record = {route_id 'RouteScenario_<id>_rep<k>', status, infractions {type: [message]},
scores {score_route, score_penalty, score_composed}, meta {route_length, duration_game,
duration_system}, scenario_name, town_name, weather_id, save_name, index}.
"""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench2drive_routes.route_spec import normalize_route_id, route_repetition

# Every infraction list a leaderboard-2.0 record carries, in the leaderboard's label order.
INFRACTION_TYPES: tuple[str, ...] = (
    "collisions_pedestrian",
    "collisions_vehicle",
    "collisions_layout",
    "red_light",
    "stop_infraction",
    "outside_route_lanes",
    "route_dev",
    "route_timeout",
    "vehicle_blocked",
    "yield_emergency_vehicle_infractions",
    "scenario_timeouts",
    "min_speed_infractions",
)

# Bench2Drive removed the min-speed penalty (Aug 2024): min-speed entries are efficiency
# checkpoints ("Average speed is X% of ..."), not failures, for DS and for success alike.
NOT_A_FAILURE: frozenset[str] = frozenset({"min_speed_infractions"})

COMPLETED_STATUSES: frozenset[str] = frozenset({"Completed", "Perfect"})

# Statuses that mean the run itself broke (simulator, agent process, sensor setup), as opposed
# to the agent driving badly. 'Started' = the record was opened and never closed: a crash.
_CRASH_MARKERS: tuple[str, ...] = (
    "Simulation crashed",
    "Agent crashed",
    "Agent couldn't be set up",
    "sensors were invalid",
)


# Bench2Drive's leaderboard names each route's output folder
# f"{route}_rep{k}_{town}_{scenario}_{weather}_{datetime.now():%m_%d_%H_%M_%S}" when the route STARTS:
# the only clock a record carries. It has no year, so it orders attempts within a year.
_SAVE_NAME_TIME_RE = re.compile(r"_(\d{2})_(\d{2})_(\d{2})_(\d{2})_(\d{2})$")
_TIME_LIMITS = ((1, 12), (1, 31), (0, 23), (0, 59), (0, 61))  # month, day, hour, minute, second

# Value ranges the leaderboard can produce; anything else is a corrupt or hand-edited file
# (a score_composed of 250 would lift a run's DS above 100).
SCORE_RANGES: dict[str, tuple[float, float]] = {
    "score_route": (0.0, 100.0),  # percent of the route completed
    "score_penalty": (0.0, 1.0),  # product of infraction factors
    "score_composed": (0.0, 100.0),  # score_route x score_penalty
}


def save_name_time(save_name: str) -> tuple[int, int, int, int, int] | None:
    """(month, day, hour, minute, second) a route started, from its save_name; None if absent."""
    match = _SAVE_NAME_TIME_RE.search(save_name or "")
    if match is None:
        return None
    values = tuple(int(v) for v in match.groups())
    if not all(lo <= v <= hi for v, (lo, hi) in zip(values, _TIME_LIMITS)):
        return None
    return values  # type: ignore[return-value]


def status_kind(status: str) -> str:
    """'completed', 'crashed' or 'failed' (agent failure: blocked, deviated, timeout, TickRuntime)."""
    if status in COMPLETED_STATUSES:
        return "completed"
    if status == "Started" or any(marker in status for marker in _CRASH_MARKERS):
        return "crashed"
    return "failed"


class ResultFileError(ValueError):
    """A results file that cannot be used; the message names the file (and record)."""


@dataclass(frozen=True)
class RouteRecord:
    """One route's result as the leaderboard recorded it."""

    record_id: str  # 'RouteScenario_1711_rep0'
    route_id: str  # '1711', the route file's id
    repetition: int  # the _rep<k> suffix
    status: str  # 'Completed', 'Perfect', 'Failed - Agent got blocked', 'Started', ...
    infractions: dict[str, tuple[str, ...]]  # type -> leaderboard messages, one per event
    score_route: float  # route completion, percent 0-100
    score_penalty: float  # infraction penalty factor, 0-1
    score_composed: float  # the route's driving score, percent 0-100
    route_length_m: float  # leaderboard's length of the (densified) route, metres
    duration_game_s: float  # simulated seconds
    duration_system_s: float  # wall-clock seconds
    scenario_name: str = ""  # e.g. 'ParkingCutIn_1'
    town: str = ""
    weather_id: str = ""
    save_name: str = ""  # folder name under the agent's SAVE_PATH (holds metric_info.json)
    source: str = ""  # results file it came from
    position: int = 0  # index in that file's records list
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> tuple[str, int]:
        return (self.route_id, self.repetition)

    @property
    def kind(self) -> str:
        return status_kind(self.status)

    @property
    def started_at(self) -> tuple[int, int, int, int, int] | None:
        """(month, day, hour, minute, second) from save_name; None when it carries no time."""
        return save_name_time(self.save_name)

    def failing_infractions(self) -> dict[str, int]:
        """Infraction type -> event count, for types that cost success (min speed excluded)."""
        return {k: len(v) for k, v in self.infractions.items() if v and k not in NOT_A_FAILURE}

    @property
    def success(self) -> bool:
        """Bench2Drive's success: completed (or perfect) with no infraction but min speed."""
        return self.status in COMPLETED_STATUSES and not self.failing_infractions()


_ABSENT = object()
_FINITE = (-sys.float_info.max, sys.float_info.max)  # no bounds but finiteness


def _number(container: dict, key: str, what: str, where: str, default: Any = _ABSENT,
            bounds: tuple[float, float] = _FINITE) -> float:
    """container[key] as a finite float within bounds; errors say whether the key is absent, null or wrong."""
    value = container.get(key, _ABSENT)
    # Fast path (10 000 records must score in well under 2 s): an in-range int or float. `type() is`
    # leaves out bool; NaN and infinities fail the comparison and get their error below.
    if (type(value) is float or type(value) is int) and bounds[0] <= value <= bounds[1]:
        return float(value)
    if value is _ABSENT:
        if default is _ABSENT:
            raise ResultFileError(f"{where}: missing key '{what}'")
        return float(default)
    if value is None:
        raise ResultFileError(f"{where}: {what} is null, expected a number")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ResultFileError(f"{where}: {what} is {value!r}, expected a number")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int too large for a float
        finite = False
    if not finite:
        raise ResultFileError(f"{where}: {what} is {value!r}, expected a finite number")
    if bounds is not _FINITE:
        allowed = f"[{bounds[0]:g}, {bounds[1]:g}]" if bounds[1] < _FINITE[1] else f"[{bounds[0]:g}, ...)"
        raise ResultFileError(f"{where}: {what} = {value!r} is outside {allowed}")
    return float(value)


def parse_record(raw: Any, source: str = "", position: int = 0) -> RouteRecord:
    """Typed RouteRecord from one raw record dict; errors name the source and the record."""
    where = f"{source}: record #{position}"
    if not isinstance(raw, dict):
        raise ResultFileError(f"{where}: expected an object, got {type(raw).__name__}")
    record_id = raw.get("route_id")
    if "route_id" not in raw:
        raise ResultFileError(f"{where}: missing key 'route_id'")
    if not isinstance(record_id, str) or not record_id:
        raise ResultFileError(f"{where}: route_id is {record_id!r}, expected 'RouteScenario_<id>_rep<k>'")
    where = f"{where} ({record_id})"
    if "status" not in raw:
        raise ResultFileError(f"{where}: missing key 'status'")
    status = raw["status"]
    if not isinstance(status, str):
        raise ResultFileError(f"{where}: status is {status!r}, expected text")
    if "scores" not in raw:
        raise ResultFileError(f"{where}: missing key 'scores'")
    scores = raw["scores"]
    if not isinstance(scores, dict):
        raise ResultFileError(f"{where}: scores is {scores!r}, expected an object")
    raw_infractions = raw.get("infractions", {})
    if not isinstance(raw_infractions, dict):
        raise ResultFileError(f"{where}: 'infractions' is not an object")
    infractions: dict[str, tuple[str, ...]] = {}
    for name, events in raw_infractions.items():
        if not isinstance(events, list):
            raise ResultFileError(f"{where}: infractions.{name} is not a list")
        infractions[name] = tuple(str(e) for e in events)
    meta = raw.get("meta") or {}
    if not isinstance(meta, dict):
        raise ResultFileError(f"{where}: 'meta' is not an object")
    known = {"route_id", "status", "scores", "infractions", "meta", "scenario_name", "town_name",
             "weather_id", "save_name", "index", "num_infractions"}
    return RouteRecord(
        record_id=record_id,
        route_id=normalize_route_id(record_id),
        repetition=route_repetition(record_id),
        status=status,
        infractions=infractions,
        score_route=_number(scores, "score_route", "scores.score_route", where, bounds=SCORE_RANGES["score_route"]),
        score_penalty=_number(scores, "score_penalty", "scores.score_penalty", where,
                              bounds=SCORE_RANGES["score_penalty"]),
        score_composed=_number(scores, "score_composed", "scores.score_composed", where,
                               bounds=SCORE_RANGES["score_composed"]),
        # meta is filled when the route is built; a record of a route that crashed before keeps 0
        route_length_m=_number(meta, "route_length", "meta.route_length", where, 0.0, (0.0, _FINITE[1])),
        duration_game_s=_number(meta, "duration_game", "meta.duration_game", where, 0.0),
        duration_system_s=_number(meta, "duration_system", "meta.duration_system", where, 0.0),
        scenario_name=str(raw.get("scenario_name") or ""),
        town=str(raw.get("town_name") or ""),
        weather_id=str(raw.get("weather_id") or ""),
        save_name=str(raw.get("save_name") or ""),
        source=source,
        position=position,
        extra={k: v for k, v in raw.items() if k not in known},
    )


def read_json_file(path: str | Path) -> Any:
    """json.load with errors that name the file (and line/column for syntax errors)."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            return json.load(handle)
    except json.JSONDecodeError as exc:
        raise ResultFileError(f"{path}: not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})") from exc
    except UnicodeDecodeError as exc:
        raise ResultFileError(f"{path}: not valid JSON (not UTF-8 text)") from exc
    except OSError as exc:
        raise ResultFileError(f"{path}: cannot read ({exc.strerror or exc})") from exc


def is_results_document(data: Any) -> bool:
    checkpoint = data.get("_checkpoint") if isinstance(data, dict) else None
    return isinstance(checkpoint, dict) and isinstance(checkpoint.get("records", []), list)


def records_from_document(data: Any, source: str) -> list[RouteRecord]:
    if not is_results_document(data):
        raise ResultFileError(f"{source}: no '_checkpoint.records' list: not a leaderboard results file")
    raw_records = data["_checkpoint"].get("records", [])
    return [parse_record(raw, source, i) for i, raw in enumerate(raw_records)]


def load_result_file(path: str | Path) -> list[RouteRecord]:
    """All records of one leaderboard results file, in file order."""
    path = Path(path)
    return records_from_document(read_json_file(path), str(path))
