"""Merge any number of results files (parallel shards, resumed runs, re-runs) into one record per route.

Duplicates (the same RouteScenario_<id>_rep<k> in several files, or twice in one file) are
resolved to the NEWEST record:
  1. the record from the file modified last (file mtime) wins;
  2. on equal mtimes, the file given later wins (command-line order; inside a folder, files
     are taken in name order);
  3. inside one file, the later position in the records list wins (the leaderboard appends
     a resumed route's record after the earlier one).
So a re-run of failed routes, written after the first run, replaces the first attempt, even
when the re-run did worse. Every replaced record is kept in `duplicates` for the report.
"""

from __future__ import annotations

import os
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


@dataclass(frozen=True)
class Duplicate:
    key: tuple[str, int]  # (route id, repetition)
    kept: RouteRecord
    dropped: RouteRecord


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


def _newer(candidate: RouteRecord, order_c: int, current: RouteRecord, order_cur: int) -> bool:
    return (candidate.source_mtime, order_c, candidate.position) > (current.source_mtime, order_cur, current.position)


def merge_records(batches: Sequence[Sequence[RouteRecord]]) -> tuple[dict[tuple[str, int], RouteRecord], list[Duplicate]]:
    """Newest record per key; `batches` are files' record lists in argument order."""
    best: dict[tuple[str, int], tuple[RouteRecord, int]] = {}
    duplicates: list[Duplicate] = []
    for order, batch in enumerate(batches):
        for record in batch:
            current = best.get(record.key)
            if current is None:
                best[record.key] = (record, order)
            elif _newer(record, order, current[0], current[1]):
                duplicates.append(Duplicate(record.key, kept=record, dropped=current[0]))
                best[record.key] = (record, order)
            else:
                duplicates.append(Duplicate(record.key, kept=current[0], dropped=record))
    # A record dropped early may be named as 'kept' by an earlier Duplicate; report final winners.
    final = {key: rec for key, (rec, _) in best.items()}
    duplicates = [Duplicate(d.key, kept=final[d.key], dropped=d.dropped) for d in duplicates]
    return final, duplicates


def merge_results(paths: Iterable[str | Path] | str | Path, progress: bool = False) -> MergedResults:
    """Read results files/folders and merge them (see the module docstring for the rules).

    An explicitly named file must be a leaderboard results file; JSON files found in a folder
    that are not (e.g. Bench2Drive's *_ability.json) are skipped and listed in `skipped`.
    Malformed JSON is an error naming the file either way.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
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
        batches.append(records_from_document(data, str(path), os.stat(path).st_mtime))
        files.append(str(path))
    records, duplicates = merge_records(batches)
    return MergedResults(records=records, files=files, duplicates=duplicates, skipped=skipped)

