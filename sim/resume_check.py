"""What an embedded results folder was started with, so a resume continues only that evaluation.

    <out>/evaluation.json   route file + a fingerprint of its routes (ids, towns, waypoints,
                            scenarios), the agent, fingerprints of the agent and simulator configs

The first run writes it; a resume compares: a different route file, agent or config is
refused with what differs (as `automot evaluate --simulator carla` refuses a changed plan).
Fingerprints are of the content, not the file bytes: reformatting a route file is not a
new evaluation. A folder from before this file existed is adopted when its records all
belong to the route file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from core.atomic_files import atomic_write_json
from core.typed_config import to_dict
from sim.config import SimConfig
from sim.route_file import RouteSpec

FINGERPRINT_NAME = "evaluation.json"


class EvaluationMismatch(ValueError):
    """The results folder holds another evaluation, or its files are unreadable; the message says what."""


def _sha(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def routes_fingerprint(routes: list[RouteSpec]) -> str:
    return _sha([{"id": r.id, "town": r.town, "waypoints": [[round(float(v), 3) for v in p] for p in r.positions],
                  "scenarios": [[s.name, s.type, [round(float(v), 2) for v in s.trigger]] for s in r.scenarios]}
                 for r in routes])


def agent_config_fingerprint(factory: Any) -> str:
    """The agent's effective config without the per-folder save path (a factory with an
    `agent_config`), else the config file its setup argument names, else that argument."""
    config = getattr(factory, "agent_config", None)
    if config is not None:
        data = to_dict(config)
    else:
        argument = str(factory.setup_argument())
        path = Path(argument.split("+", 1)[0]) if argument else None
        if path is None or not path.is_file():
            return _sha(argument)
        data = yaml.safe_load(path.read_text()) or {}
    if isinstance(data, dict) and isinstance(data.get("logging"), dict):
        data["logging"].pop("save_path", None)
    return _sha(data)


@dataclass(frozen=True)
class EvaluationFingerprint:
    routes_file: str
    routes: str  # sha256 of the routes' content
    route_ids: tuple[str, ...]
    agent: str  # the factory's name: 'automot', 'expert', ...
    agent_config: str  # sha256
    sim_config: str  # sha256

    @classmethod
    def of(cls, routes_file: str | Path, routes: list[RouteSpec], factory: Any, cfg: SimConfig) -> EvaluationFingerprint:
        return cls(str(Path(routes_file).resolve()), routes_fingerprint(routes), tuple(r.id for r in routes),
                   str(getattr(factory, "name", type(factory).__name__)), agent_config_fingerprint(factory),
                   _sha(to_dict(cfg)))

    def to_json(self) -> dict:
        return {"routes_file": self.routes_file, "routes_sha256": self.routes, "route_ids": list(self.route_ids),
                "agent": self.agent, "agent_config_sha256": self.agent_config, "sim_config_sha256": self.sim_config}

    @classmethod
    def from_json(cls, data: dict) -> EvaluationFingerprint:
        return cls(str(data["routes_file"]), str(data["routes_sha256"]), tuple(map(str, data["route_ids"])),
                   str(data["agent"]), str(data["agent_config_sha256"]), str(data["sim_config_sha256"]))


def _ids_text(ids: tuple[str, ...] | list[str]) -> str:
    return ", ".join(ids[:5]) + (f", … ({len(ids)} routes)" if len(ids) > 5 else f" ({len(ids)} route(s))")


def check_or_record(out_dir: Path, now: EvaluationFingerprint, resume: bool, record_ids: list[str]) -> None:
    """Refuse a resume of a folder that holds another evaluation; record the fingerprint otherwise.

    record_ids: the route ids of the records already in the folder's results file."""
    path = Path(out_dir) / FINGERPRINT_NAME
    hint = "use a new --out folder, or --no-resume to start this folder over"
    if resume and path.is_file():
        try:
            before = EvaluationFingerprint.from_json(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise EvaluationMismatch(f"{path} is unreadable ({type(exc).__name__}: {exc}); {hint}") from None
        if before.routes != now.routes:
            raise EvaluationMismatch(
                f"{out_dir} holds an evaluation of another route file ({before.routes_file}: "
                f"{_ids_text(before.route_ids)}); {now.routes_file} has {_ids_text(now.route_ids)}; {hint}")
        for label, old, new in (("agent", before.agent, now.agent),
                                ("agent config", before.agent_config, now.agent_config),
                                ("simulator config", before.sim_config, now.sim_config)):
            if old != new:
                raise EvaluationMismatch(f"{out_dir} was evaluated with another {label} "
                                         f"({old[:12]} then, {new[:12]} now); {hint}")
    elif resume:
        foreign = sorted(set(record_ids) - {f"RouteScenario_{i}_rep0" for i in now.route_ids})
        if foreign:
            raise EvaluationMismatch(f"{out_dir} holds results of routes that are not in {now.routes_file} "
                                     f"({_ids_text(foreign)}); {hint}")
    atomic_write_json(path, now.to_json())
