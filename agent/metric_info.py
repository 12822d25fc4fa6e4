"""Bench2Drive's per-route `metric_info.json`: the hero's motion per tick, for the comfort metric.

Format (as Bench2Drive's AutonomousAgent.get_metric_info): {step: {acceleration,
angular_velocity, forward_vector, right_vector, location: [x, y, z],
rotation: [roll, pitch, yaw]}}. Bench2Drive agents rewrite the whole file
every tick; we rewrite it atomically every `flush_every` ticks and at the end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.atomic_files import atomic_write_json


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
    def __init__(self, path: Path, flush_every: int) -> None:
        self.path = Path(path)
        self.flush_every = max(1, flush_every)
        self._records: dict[str, dict[str, list[float]]] = {}

    def record(self, step: int, hero_actor: Any) -> None:
        self._records[str(step)] = hero_metric_info(hero_actor)
        if len(self._records) % self.flush_every == 0:
            self.flush()

    def flush(self) -> None:
        if self._records:
            atomic_write_json(self.path, self._records, indent=None)
