"""Per-tick JSON-lines log of what the agent decided: decisions, speeds, controls, warnings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class TickLog:
    """Appends one JSON object per tick; line-buffered so a crash keeps all finished ticks."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = self.path.open("a", buffering=1)

    def write(self, record: dict[str, Any]) -> None:
        self._handle.write(json.dumps(record) + "\n")

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.close()
