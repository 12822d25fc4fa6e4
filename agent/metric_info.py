"""Bench2Drive's per-route `metric_info.json`: the hero's motion per tick, for the comfort metric.

Format (as Bench2Drive's AutonomousAgent.get_metric_info): {step: {acceleration,
angular_velocity, forward_vector, right_vector, location: [x, y, z],
rotation: [roll, pitch, yaw]}}. Bench2Drive agents rewrite the whole file every
tick, which costs time growing with the route (79 ms per write at 10k ticks).
Here the file stays open and each flush writes only the new records, over the
previous closing brace, ending with a new one: linear in the route's length.

Validity after a kill: the file on disk is a complete JSON object between any
two flushes, because each flush is one os.pwrite of `, "k": {...} ... }` at the
old brace's offset and the file only grows (nothing to truncate). A kill loses
at most the unflushed `flush_every - 1` ticks. (A power cut can tear a write of
the page cache, as for any file not yet fsynced; close() fsyncs.)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def _xyz(vector: Any) -> list[float]:
    return [float(vector.x), float(vector.y), float(vector.z)]


def hero_metric_info(hero_actor: Any) -> dict[str, list[float]]:
    transform = hero_actor.get_transform()
    rotation = transform.rotation
    return {
        "acceleration": _xyz(hero_actor.get_acceleration()),
        "angular_velocity": _xyz(hero_actor.get_angular_velocity()),
        "forward_vector": _xyz(transform.get_forward_vector()),
        "right_vector": _xyz(transform.get_right_vector()),
        "location": _xyz(transform.location),
        "rotation": [float(rotation.roll), float(rotation.pitch), float(rotation.yaw)],
    }


class MetricInfoRecorder:
    """Appends records to one JSON object on disk; `flush` every `flush_every` records and at `close`."""

    def __init__(self, path: Path, flush_every: int) -> None:
        self.path = Path(path)
        self.flush_every = max(1, flush_every)
        self._pending: list[tuple[str, dict[str, list[float]]]] = []
        self._fd: int | None = None
        self._tail = 0  # byte offset of the closing brace on disk
        self.records_written = 0

    def record(self, step: int, hero_actor: Any) -> None:
        self.add(str(step), hero_metric_info(hero_actor))

    def add(self, key: str, info: dict[str, list[float]]) -> None:
        self._pending.append((key, info))
        if len(self._pending) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        first = self._tail == 0
        if self._fd is None:  # first flush (a new file), or records after close() (reopened, kept)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | (os.O_TRUNC if first else 0), 0o644)
        body = ", ".join(f"{json.dumps(key)}: {json.dumps(info)}" for key, info in self._pending)
        chunk = ("{" if first else ", ") + body + "}"
        data = chunk.encode()
        # One syscall at the old brace: the file never holds a half record between flushes.
        written = os.pwrite(self._fd, data, self._tail)
        if written != len(data):  # a short write (disk full): finish it, the file is not valid until then
            os.pwrite(self._fd, data[written:], self._tail + written)
        self._tail += len(data) - 1
        self.records_written += len(self._pending)
        self._pending.clear()

    def close(self) -> None:
        self.flush()
        if self._fd is not None:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None
