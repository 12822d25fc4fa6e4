"""Configuration of `automot collect`: the simulator, the dataset layout, recovery perturbations and the
training-route generator, one frozen tree loaded from YAML (every key optional)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from core.typed_config import from_dict, load_yaml, require
from data.data_config import DataConfig
from sim.config import SimConfig


@dataclass(frozen=True)
class RecoveryConfig:
    """Steering pulses added to the expert's executed control, so the data shows it recovering.

    A pulse adds `steer` (random sign) to the executed steer for `duration_s`; the car drifts off the
    lane centre and turns away from the lane heading (the lateral and heading offsets), then the expert,
    which never sees the pulse, steers back. Pulses start only at speed, with nobody close, a random
    gap after the last one. The expert's own commands are what the measurements store; the dataset
    leaves out every frame whose label horizon overlaps a pulse (plus `settle_ticks`), so no label
    holds perturbed motion.
    """

    enabled: bool = True
    # 'add': the pulse is added to the expert's steer of every tick, so the expert already fights it during the
    # pulse (small offsets: median 0.08 m on embedded_v1). 'hold': during the pulse the car keeps the steer the
    # expert had when it began, plus the pulse; the expert's corrections act only after it.
    mode: Literal["add", "hold"] = "add"
    route_share: float = 0.6  # share of routes that get pulses at all (the rest is clean driving)
    gap_s: tuple[float, float] = (6.0, 14.0)  # time between two pulses, uniform
    duration_s: tuple[float, float] = (0.3, 0.8)
    steer: tuple[float, float] = (0.03, 0.07)  # |added steer| (CARLA steer units, 1 = full lock)
    min_speed_mps: float = 3.0  # no pulses slower than this (standing at lights, stop signs)
    clear_radius_m: float = 15.0  # ... or with another road user this close
    settle_ticks: int = 5  # ticks after a pulse that still count as perturbed (wheel-angle lag)
    max_pulses: int = 0  # per route; 0 = no limit

    def __post_init__(self) -> None:
        require(0.0 <= self.route_share <= 1.0, "recovery.route_share must be in [0, 1]")
        for name in ("gap_s", "duration_s", "steer"):
            lo, hi = getattr(self, name)
            require(0 <= lo <= hi, f"recovery.{name} must be an interval [lo, hi] with 0 <= lo <= hi")
        require(self.settle_ticks >= 0, "recovery.settle_ticks must be >= 0")


@dataclass(frozen=True)
class GeneratorConfig:
    """`--generate N`: random training routes over the four towns."""

    seed: int = 2026
    length_m: tuple[float, float] = (200.0, 650.0)  # route length, uniform (capped by the town)
    background_vehicles: tuple[int, int] = (2, 14)  # traffic density per route, uniform integer
    min_trigger_separation_m: float = 40.0  # from the same scenario type's trigger in an evaluation route
    min_endpoint_separation_m: float = 20.0  # a route with both ends this close to an evaluation route's is a copy
    attempts_per_route: int = 60  # placement tries before a scenario type is skipped for this route
    evaluation_sets: tuple[str, ...] = ("embedded_full.xml", "embedded_quick.xml")  # in bench2drive_routes/

    def __post_init__(self) -> None:
        require(0 < self.length_m[0] <= self.length_m[1], "generate.length_m must be [lo, hi] with 0 < lo <= hi")
        require(0 <= self.background_vehicles[0] <= self.background_vehicles[1],
                "generate.background_vehicles must be [lo, hi]")


@dataclass(frozen=True)
class CollectConfig:
    sim: SimConfig = field(default_factory=SimConfig)
    data: DataConfig = field(default_factory=DataConfig)
    recovery: RecoveryConfig = field(default_factory=RecoveryConfig)
    generate: GeneratorConfig = field(default_factory=GeneratorConfig)
    keep_failed: bool = False  # keep the frames of routes the expert failed (under _failed/), for debugging

    def __post_init__(self) -> None:
        require(abs(self.sim.frame_rate_hz - self.data.layout.sim_rate_hz) < 1e-9,
                f"data.layout.sim_rate_hz ({self.data.layout.sim_rate_hz}) must equal sim.frame_rate_hz "
                f"({self.sim.frame_rate_hz}): the save rate counts simulator ticks")


def load_collect_config(path: str | Path | None) -> CollectConfig:
    if path is None or str(path).strip() == "":
        return CollectConfig()
    return load_yaml(CollectConfig, path)


def collect_config_from_dict(data: dict) -> CollectConfig:
    return from_dict(CollectConfig, data)
