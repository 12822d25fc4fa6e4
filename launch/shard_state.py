"""What a shard has done so far, read back from its folder: the basis of resume.

A shard folder holds one leaderboard checkpoint per evaluator run ("attempt"):

    shards/shard03/attempts/attempt_007.json     the evaluator's own --checkpoint file
    shards/shard03/state.json                    crash counts, skipped routes, attempt outcomes
    shards/shard03/results.json                  merged leaderboard-format results of the shard

Each attempt runs only the routes that are not finished yet (--routes-subset), into a
fresh checkpoint file, so a finished route is never run again and one bad route cannot
make the leaderboard's own resume re-run its neighbours. (Bench2Drive's resume after a
crash restarts from the route *before* the crashed one.)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.atomic_files import atomic_write_json
from launch.checkpoint_files import (
    checkpoint_records,
    is_finished,
    read_checkpoint,
    record_id,
    results_document,
    route_of_record,
    sensors_of,
    skipped_record,
    write_results,
)

ATTEMPT_RE = re.compile(r"^attempt_(\d+)\.json$")


@dataclass(frozen=True)
class ShardLayout:
    root: Path  # shards/shardNN

    @property
    def attempts_dir(self) -> Path:
        return self.root / "attempts"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def save_dir(self) -> Path:
        return self.root / "save"  # SAVE_PATH of the agent

    @property
    def record_dir(self) -> Path:
        return self.root / "recordings"

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def results_file(self) -> Path:
        return self.root / "results.json"

    @property
    def routes_file(self) -> Path:
        return self.root / "routes.xml"

    def attempt_checkpoint(self, n: int) -> Path:
        return self.attempts_dir / f"attempt_{n:03d}.json"

    def attempt_live(self, n: int) -> Path:
        return self.attempts_dir / f"attempt_{n:03d}_live.txt"

    def evaluator_log(self, n: int) -> Path:
        return self.logs_dir / f"evaluator_{n:03d}.log"

    @property
    def server_log(self) -> Path:
        return self.logs_dir / "server.log"

    def attempt_numbers(self) -> list[int]:
        if not self.attempts_dir.is_dir():
            return []
        numbers = []
        for path in self.attempts_dir.iterdir():
            match = ATTEMPT_RE.match(path.name)
            if match:
                numbers.append(int(match.group(1)))
        return sorted(numbers)


@dataclass
class AttemptOutcome:
    number: int
    kind: str  # 'finished' | 'crash' | 'hang' | 'died' | 'server_died' | 'server_start' | 'interrupted'
    returncode: int | None
    blamed_route: str | None  # route id charged with a crash, if any
    new_finished: int  # routes this attempt finished
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class ShardState:
    """Persisted per shard (state.json); crash counts are per route id ('1711')."""

    crashes: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # route id -> why
    outcomes: list[dict[str, Any]] = field(default_factory=list)  # AttemptOutcome.to_json(), in order
    fruitless: int = 0  # attempts in a row that neither finished nor crashed a route
    error: str | None = None  # why the shard stopped for good (None while it can go on)

    @property
    def accounted(self) -> set[int]:
        return {int(o["number"]) for o in self.outcomes}

    @classmethod
    def load(cls, path: Path) -> ShardState:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError):
            return cls()
        return cls(
            crashes={str(k): int(v) for k, v in (data.get("crashes") or {}).items()},
            skipped={str(k): str(v) for k, v in (data.get("skipped") or {}).items()},
            outcomes=list(data.get("outcomes") or []),
            fruitless=int(data.get("fruitless", 0)),
            error=data.get("error"),
        )

    def save(self, path: Path) -> None:
        atomic_write_json(path, {"crashes": self.crashes, "skipped": self.skipped, "outcomes": self.outcomes,
                                 "fruitless": self.fruitless, "error": self.error})


def finished_records(layout: ShardLayout, retry_statuses: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """record id -> the finished record, over all attempts (the first finished one wins)."""
    found: dict[str, dict[str, Any]] = {}
    for n in layout.attempt_numbers():
        for record in checkpoint_records(read_checkpoint(layout.attempt_checkpoint(n))):
            if is_finished(record, retry_statuses):
                found.setdefault(str(record["route_id"]), record)
    return found


def route_done(route_id: str, finished: dict[str, dict[str, Any]], repetitions: int) -> bool:
    return all(record_id(route_id, rep) in finished for rep in range(repetitions))


def remaining_routes(route_ids: tuple[str, ...], finished: dict[str, dict[str, Any]],
                     state: ShardState, repetitions: int) -> tuple[str, ...]:
    """Routes of the shard still to run, in the shard's order."""
    return tuple(r for r in route_ids if r not in state.skipped and not route_done(r, finished, repetitions))


def analyse_attempt(layout: ShardLayout, number: int, subset: tuple[str, ...], retry_statuses: tuple[str, ...],
                    repetitions: int) -> tuple[list[str], str | None, int]:
    """(routes with a crash record, the route in progress when it ended, finished route count).

    The route in progress is the first route of the attempt's subset (the evaluator runs
    them in file order) that has no record at all in the attempt's checkpoint.
    """
    records = checkpoint_records(read_checkpoint(layout.attempt_checkpoint(number)))
    crashed = [route_of_record(r["route_id"]) for r in records if r.get("status") in retry_statuses]
    seen = {str(r["route_id"]) for r in records}
    in_progress = None
    for route_id in subset:
        if any(record_id(route_id, rep) not in seen for rep in range(repetitions)):
            in_progress = route_id
            break
    finished = sum(1 for r in records if is_finished(r, retry_statuses))
    return crashed, in_progress, finished


def charge_crash(state: ShardState, route_id: str, crash_limit: int) -> bool:
    """Count one crash against route_id; True when it has now reached the limit and is skipped."""
    state.crashes[route_id] = state.crashes.get(route_id, 0) + 1
    if state.crashes[route_id] >= crash_limit and route_id not in state.skipped:
        state.skipped[route_id] = f"crashed the simulator {state.crashes[route_id]} times"
        return True
    return False


def shard_results(layout: ShardLayout, route_ids: tuple[str, ...], state: ShardState,
                  retry_statuses: tuple[str, ...], repetitions: int) -> dict[str, Any]:
    """The shard's merged leaderboard-format results (finished + skipped routes, shard order)."""
    finished = finished_records(layout, retry_statuses)
    records: list[dict[str, Any]] = []
    for route_id in route_ids:
        for rep in range(repetitions):
            rid = record_id(route_id, rep)
            if rid in finished:
                records.append(finished[rid])
            elif route_id in state.skipped:
                records.append(skipped_record(rid, state.crashes.get(route_id, 0), state.skipped[route_id]))
    sensors: list[str] = []
    for n in layout.attempt_numbers():
        sensors = sensors_of(read_checkpoint(layout.attempt_checkpoint(n))) or sensors
    return results_document(records, total=len(route_ids) * repetitions, sensors=sensors)


def write_shard_results(layout: ShardLayout, route_ids: tuple[str, ...], state: ShardState,
                        retry_statuses: tuple[str, ...], repetitions: int) -> dict[str, Any]:
    document = shard_results(layout, route_ids, state, retry_statuses, repetitions)
    write_results(layout.results_file, document)
    return document
