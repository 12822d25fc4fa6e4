"""Merge any number of results files (parallel shards, resumed runs, re-runs) into one record per route.

Duplicates (the same RouteScenario_<id>_rep<k> in several files, or twice in one file) are
resolved by what the records themselves say, never by file modification times (copying or
`touch`ing a shard must not change a score):
  1. a finished record (completed, or failed by the agent's driving) beats a crashed one
     ('Started', simulation/agent crash, sensors rejected): a crash says nothing about driving;
  2. among equals, the attempt that STARTED later wins, by the time stamp the leaderboard puts
     at the end of save_name ('_%m_%d_%H_%M_%S', written when the route starts);
  3. when either record has no time stamp, or they are equal: inside one file the later
     position in its records list wins (the checkpoint's own order: a resumed route's record is
     appended after the earlier one); across files the file given later wins (command-line
     order; inside a folder, files are taken in name order).
So a re-run of failed routes replaces the first attempt even when it did worse, unless it
crashed. Every replaced record is kept in `duplicates`, with the rule that decided it, so the
report can say when duplicates disagreed in score and by how much.

Bench2Drive's own tools do not resolve duplicates: merge_route_json.py concatenates every
record (its DS sums them all over 220) and ability_benchmark.py takes whichever comes first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from launch.metrics.progress import progress_iter
from launch.metrics.records import (
    ResultFileError,
    RouteRecord,
    is_results_document,
    read_json_file,
    records_from_document,
)

# JSON files inside result folders that are known not to be leaderboard checkpoints.
_NOT_RESULTS = ("metric_info.json",)


# Why a duplicate was resolved the way it was (Duplicate.reason).
FINISHED_OVER_CRASHED = "finished record over crashed"
LATER_START = "later start time (save_name)"
LATER_IN_FILE = "later in its results file"
LATER_FILE = "later results file"


@dataclass(frozen=True)
class Duplicate:
    key: tuple[str, int]  # (route id, repetition)
    kept: RouteRecord
    dropped: RouteRecord
    reason: str = ""  # one of the rules above: why `kept` beat `dropped`

    @property
    def score_difference(self) -> float:
        """kept minus dropped driving score, points (0 when the two attempts agreed)."""
        return self.kept.score_composed - self.dropped.score_composed


@dataclass
class MergedResults:
    """One record per (route id, repetition), plus what merging had to decide."""

    records: dict[tuple[str, int], RouteRecord]  # newest record per route key
    files: list[str]  # results files read, in the order considered
    duplicates: list[Duplicate] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # JSON in folders that were not results files

    @property
    def route_ids(self) -> list[str]:
        return sorted({key[0] for key in self.records}, key=_id_sort_key)


def _id_sort_key(route_id: str) -> tuple[int, int | str]:
    return (0, int(route_id)) if route_id.isdigit() else (1, route_id)


def expand_result_paths(paths: Iterable[str | Path]) -> list[tuple[Path, bool]]:
    """(path, explicitly named) in argument order; a folder contributes its top-level *.json.

    Folders are not searched recursively: below a results folder Bench2Drive keeps one folder
    per route with large per-tick files that are not results.
    """
    expanded: list[tuple[Path, bool]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.glob("*.json")):
                if child.is_file() and not child.name.startswith(".") and child.name not in _NOT_RESULTS:
                    expanded.append((child, False))
        elif path.is_file():
            expanded.append((path, True))
        else:
            raise ResultFileError(f"{path}: no such results file or folder")
    return expanded


def precedence(candidate: RouteRecord, order_c: int, current: RouteRecord, order_cur: int) -> tuple[bool, str]:
    """(candidate replaces current, the rule that decided); order_* = the files' argument order."""
    finished_c, finished_cur = candidate.kind != "crashed", current.kind != "crashed"
    if finished_c != finished_cur:
        return finished_c, FINISHED_OVER_CRASHED
    time_c, time_cur = candidate.started_at, current.started_at
    if time_c is not None and time_cur is not None and time_c != time_cur:
        return time_c > time_cur, LATER_START
    if order_c == order_cur:
        return candidate.position > current.position, LATER_IN_FILE
    return order_c > order_cur, LATER_FILE


def merge_records(batches: Sequence[Sequence[RouteRecord]]) -> tuple[dict[tuple[str, int], RouteRecord], list[Duplicate]]:
    """One record per key by the rules of the module docstring; `batches` are files' record lists in argument order."""
    best: dict[tuple[str, int], tuple[RouteRecord, int]] = {}
    losers: list[tuple[RouteRecord, int]] = []
    for order, batch in enumerate(batches):
        for record in batch:
            current = best.get(record.key)
            if current is None:
                best[record.key] = (record, order)
            elif precedence(record, order, current[0], current[1])[0]:
                losers.append(current)
                best[record.key] = (record, order)
            else:
                losers.append((record, order))
    # Each dropped record is reported against the final winner, with the rule that separates the two.
    duplicates = []
    for record, order in losers:
        kept, kept_order = best[record.key]
        duplicates.append(Duplicate(record.key, kept=kept, dropped=record,
                                    reason=precedence(kept, kept_order, record, order)[1]))
    return {key: rec for key, (rec, _) in best.items()}, duplicates


def _check_folders_hold_results(paths: Sequence[str | Path], files: Sequence[str], skipped: Sequence[str]) -> None:
    """A folder given as results must hold at least one results file.

    An empty folder is a wrong path or a run that never wrote anything; scoring it would print a
    full report at DS 0 (every route 'missing') and look like a real, terrible run.
    """
    read = {Path(f).resolve().parent for f in files}
    for raw in paths:
        folder = Path(raw)
        if folder.is_dir() and folder.resolve() not in read:
            others = sum(1 for s in skipped if Path(s).resolve().parent == folder.resolve())
            detail = f" ({others} JSON files there are not leaderboard results)" if others else ""
            raise ResultFileError(f"no result files under {folder}{detail}")


def merge_results(paths: Iterable[str | Path] | str | Path, progress: bool = False) -> MergedResults:
    """Read results files/folders and merge them (see the module docstring for the rules).

    An explicitly named file must be a leaderboard results file; JSON files found in a folder
    that are not (e.g. Bench2Drive's *_ability.json) are skipped and listed in `skipped`.
    Malformed JSON is an error naming the file either way.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = list(paths)
    ordered = expand_result_paths(paths)
    batches: list[list[RouteRecord]] = []
    files: list[str] = []
    skipped: list[str] = []
    seen: set[Path] = set()
    for path, must_be_results in progress_iter(ordered, "reading results", progress):
        if path.resolve() in seen:  # a file named and also inside a named folder: read once
            continue
        seen.add(path.resolve())
        data = read_json_file(path)
        if not must_be_results and not is_results_document(data):
            skipped.append(str(path))
            continue
        batches.append(records_from_document(data, str(path)))
        files.append(str(path))
    _check_folders_hold_results(paths, files, skipped)
    records, duplicates = merge_records(batches)
    return MergedResults(records=records, files=files, duplicates=duplicates, skipped=skipped)

