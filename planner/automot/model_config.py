"""AutoMoT network configuration (placeholder until the network lands: issue #3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class ModelConfig:
    size: Literal["tiny", "small", "full"] = "tiny"
    checkpoint: str | None = None  # folder with the project's checkpoint or the official release
    device: str = "cpu"
