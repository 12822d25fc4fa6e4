"""The plan of an evaluation folder: which routes each shard runs, fixed at the first run.

    out/plan.json                  routes file + its sha256, shard -> route ids
    out/agent_config.yaml          the effective agent config every shard uses
    out/launch_config.yaml         the launch settings of the latest run (SLURM jobs read them)
    out/shards/shardNN/routes.xml  the shard's route subset (bench2drive_routes.write_routes)

Running the same command again finds the plan and continues it; a changed route file
or agent config is refused (the results would mix two evaluations).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from agent.automot_config import load_agent_config, save_agent_config
from bench2drive_routes import parse_routes, split_routes, write_routes
from core.atomic_files import atomic_write_json, atomic_write_text
from core.typed_config import to_dict
from launch.launch_config import LaunchConfig
from launch.shard_state import ShardLayout
from launch.shard_worker import ShardSpec


class PlanError(ValueError):
    """The output folder holds a different evaluation; the message says what differs."""


@dataclass(frozen=True)
class EvaluationPlan:
    out_dir: Path
    routes_file: Path  # the full route file
    route_order: tuple[str, ...]  # all route ids in the file's order
    shards: tuple[ShardSpec, ...]
    agent_config: Path  # out/agent_config.yaml

    def layout(self, shard: ShardSpec) -> ShardLayout:
        return ShardLayout(self.out_dir / "shards" / shard.name)

    @property
    def results_file(self) -> Path:
        return self.out_dir / "results.json"


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def parse_gpus(text: str) -> tuple[int, ...]:
    """'0,1,3' -> (0, 1, 3)."""
    try:
        gpus = tuple(int(part) for part in str(text).split(",") if part.strip() != "")
    except ValueError:
        raise PlanError(f"--gpus must be comma-separated GPU indices like 0,1,2, got {text!r}") from None
    if not gpus or any(g < 0 for g in gpus) or len(set(gpus)) != len(gpus):
        raise PlanError(f"--gpus must list distinct non-negative GPU indices, got {text!r}")
    return gpus


def gpu_for_shard(index: int, gpus: tuple[int, ...]) -> int:
    """Round robin: with K workers per GPU every GPU gets K shards, and with fewer shards
    than slots the shards still spread over all GPUs first."""
    return gpus[index % len(gpus)]


def _prepare_agent_config(out_dir: Path, agent_config: Path) -> Path:
    target = out_dir / "agent_config.yaml"
    effective = load_agent_config(str(agent_config))  # validates before any server starts
    text = yaml.safe_dump(to_dict(effective), sort_keys=False)
    if target.is_file():
        if target.read_text() != text:
            raise PlanError(f"{agent_config} differs from the config this evaluation started with ({target}); "
                            f"use a new --out folder for a new config")
        return target
    save_agent_config(effective, target)
    return target


def make_plan(routes_file: Path, out_dir: Path, agent_config: Path, gpus: tuple[int, ...], n_shards: int,
              launch_config: LaunchConfig) -> EvaluationPlan:
    """Create the plan, or load and check the existing one (resume).

    n_shards: len(gpus) x workers-per-gpu for a local run, the job count for SLURM. Shard k
    runs on gpus[k % len(gpus)]."""
    if n_shards < 1:
        raise PlanError(f"the number of shards must be >= 1, got {n_shards}")
    routes_file = Path(routes_file).resolve()
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    routes = parse_routes(routes_file)
    if not routes:
        raise PlanError(f"{routes_file} holds no routes")
    order = tuple(r.id for r in routes)
    sha = file_sha256(routes_file)
    plan_file = out_dir / "plan.json"
    slots = n_shards
    if plan_file.is_file():
        plan = json.loads(plan_file.read_text())
        if plan["routes_sha256"] != sha:
            raise PlanError(f"{out_dir} was planned for another route file ({plan['routes_file']}, "
                            f"sha256 {plan['routes_sha256'][:12]}…); use a new --out folder")
        shard_routes = [tuple(ids) for ids in plan["shards"]]
        if int(plan["workers"]) != slots:
            raise PlanError(f"{out_dir} was planned for {plan['workers']} shard(s); pass --gpus/--workers-per-gpu "
                            f"(or --shards) giving {plan['workers']} (now {slots}) to continue it")
    else:
        by_id = {r.id: r for r in routes}
        shard_routes = [tuple(r.id for r in shard) for shard in split_routes(routes, min(slots, len(routes)))]
        shard_routes = [ids for ids in shard_routes if ids]
        for k, ids in enumerate(shard_routes):
            write_routes([by_id[i] for i in ids], out_dir / "shards" / f"shard{k:02d}" / "routes.xml")
        atomic_write_json(plan_file, {"routes_file": str(routes_file), "routes_sha256": sha, "workers": slots,
                                      "shards": [list(ids) for ids in shard_routes]})
    # The settings of the latest run (SLURM jobs read them from here).
    atomic_write_text(out_dir / "launch_config.yaml", yaml.safe_dump(to_dict(launch_config), sort_keys=False))
    agent_copy = _prepare_agent_config(out_dir, Path(agent_config))
    shards = tuple(ShardSpec(index=k, name=f"shard{k:02d}", route_ids=ids, gpu=gpu_for_shard(k, gpus))
                   for k, ids in enumerate(shard_routes))
    return EvaluationPlan(out_dir=out_dir, routes_file=routes_file, route_order=order, shards=shards,
                          agent_config=agent_copy)
