"""`--backend slurm`: one job per shard through sbatch; status through squeue / sacct.

Each job runs the local worker for its one shard on the node it gets
(`automot evaluate ... --shard shardNN --gpus 0`), so crash restarts, the watchdog and
the crash limit work exactly as in a local run, in the same shard folders. Resume is
the same too: running the submit command again skips finished shards and shards whose
job is still queued or running, and submits the others, which continue from their
checkpoints. A job that ends with its shard unfinished is resubmitted up to
`slurm.max_resubmits` times.

    out/slurm/shardNN.sbatch     the job script (written before submission)
    out/slurm/jobs.json          shard -> job ids submitted, oldest first
    out/shards/shardNN/logs/slurm_<jobid>.out
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console

from core.atomic_files import atomic_write_json, atomic_write_text
from launch.evaluate_plan import EvaluationPlan
from launch.launch_config import LaunchConfig
from launch.leaderboard_command import REPO_ROOT
from launch.shard_state import ShardState, finished_records, remaining_routes
from launch.shard_worker import ShardSpec

ACTIVE_STATES = frozenset({"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING",
                           "STAGE_OUT", "SIGNALING"})


class SlurmError(RuntimeError):
    """sbatch / squeue / sacct failed; the message quotes the command and its output."""


def job_name(plan: EvaluationPlan, shard: ShardSpec, config: LaunchConfig) -> str:
    return f"{config.slurm.job_name_prefix}_{plan.out_dir.name}_{shard.name}"


def shard_command(plan: EvaluationPlan, shard: ShardSpec, python: str, record: bool) -> list[str]:
    """What the job runs: the local backend on this one shard, GPU 0 of the job's allocation."""
    argv = [python, "-m", "launch.cli", "evaluate", "--simulator", "carla", "--backend", "local",
            "--routes", str(plan.routes_file), "--config", str(plan.agent_config), "--out", str(plan.out_dir),
            "--launch-config", str(plan.out_dir / "launch_config.yaml"),
            "--shards", str(len(plan.shards)), "--gpus", "0", "--shard", shard.name, "--no-report"]
    if record:
        argv.append("--record")
    return argv


def sbatch_script(config: LaunchConfig, job_name: str, output: str, command: list[str] | str,
                  gpus: int, extra: tuple[str, ...] = ()) -> str:
    """A job script with the launch config's account / partition / time / resources; `command`
    (argv, or a ready shell line) is exec'd from the repository root. Shared by evaluation and training."""
    s = config.slurm
    directives = [f"--job-name={job_name}", f"--output={output}", f"--time={s.time}",
                  f"--cpus-per-task={s.cpus_per_task}", f"--mem={s.mem}", *extra]
    if s.account:
        directives.append(f"--account={s.account}")
    if s.partition:
        directives.append(f"--partition={s.partition}")
    if gpus:
        directives.append(f"--gres=gpu:{gpus}")
    directives.extend(s.extra_directives)
    line = command if isinstance(command, str) else shlex.join(command)
    lines = ["#!/bin/bash", *(f"#SBATCH {d}" for d in directives), "", "set -euo pipefail", *s.setup_lines,
             f"cd {shlex.quote(str(REPO_ROOT))}", f"exec {line}", ""]
    return "\n".join(lines)


def job_script(plan: EvaluationPlan, shard: ShardSpec, config: LaunchConfig, python: str = sys.executable,
               record: bool = False) -> str:
    logs = plan.layout(shard).logs_dir
    return sbatch_script(config, job_name(plan, shard, config), f"{logs}/slurm_%j.out",
                         shard_command(plan, shard, python, record), config.slurm.gpus_per_job, ("--ntasks=1",))


def _run(argv: list[str], timeout_s: float = 120.0) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SlurmError(f"{shlex.join(argv)}: {exc}") from None
    if done.returncode != 0:
        raise SlurmError(f"{shlex.join(argv)} exited {done.returncode}: {(done.stderr or done.stdout).strip()}")
    return done.stdout


def submit(script: Path, config: LaunchConfig) -> str:
    """sbatch --parsable SCRIPT -> job id ('123' from '123' or '123;cluster')."""
    out = _run([config.slurm.sbatch, "--parsable", str(script)]).strip()
    job_id = out.splitlines()[-1].split(";")[0].strip() if out else ""
    if not job_id:
        raise SlurmError(f"sbatch printed no job id for {script}")
    return job_id


def job_states(job_ids: list[str], config: LaunchConfig) -> dict[str, str]:
    """job id -> SLURM state; squeue for queued/running jobs, sacct for ended ones, 'UNKNOWN' if neither knows."""
    if not job_ids:
        return {}
    states: dict[str, str] = {}
    out = _run([config.slurm.squeue, "-h", "-o", "%i %T", "-j", ",".join(job_ids)])
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            states[parts[0]] = parts[1]
    missing = [j for j in job_ids if j not in states]
    if missing:
        out = _run([config.slurm.sacct, "-n", "-P", "-X", "-o", "JobID,State,ExitCode", "-j", ",".join(missing)])
        for line in out.splitlines():
            parts = line.split("|")
            if len(parts) >= 2 and parts[0] in missing:
                states[parts[0]] = parts[1].split()[0]  # 'CANCELLED by 123' -> 'CANCELLED'
    return {j: states.get(j, "UNKNOWN") for j in job_ids}


def shard_progress(plan: EvaluationPlan, shard: ShardSpec, config: LaunchConfig) -> tuple[int, ShardState]:
    """(routes left, state) read from the shard folder."""
    layout = plan.layout(shard)
    state = ShardState.load(layout.state_file)
    finished = finished_records(layout, config.recovery.retry_statuses)
    left = remaining_routes(shard.route_ids, finished, state, config.evaluator.repetitions)
    return len(left), state


class SlurmBackend:
    def __init__(self, plan: EvaluationPlan, config: LaunchConfig, console: Console | None = None,
                 python: str = sys.executable, record: bool = False) -> None:
        self.plan = plan
        self.config = config
        self.console = console or Console()
        self.python = python
        self.record = record
        self.jobs_file = plan.out_dir / "slurm" / "jobs.json"
        try:
            self.jobs: dict[str, list[str]] = json.loads(self.jobs_file.read_text())
        except (OSError, json.JSONDecodeError):
            self.jobs = {}
        self._session: dict[str, int] = {}  # jobs submitted per shard by this command

    def _save_jobs(self) -> None:
        atomic_write_json(self.jobs_file, self.jobs)

    def write_script(self, shard: ShardSpec) -> Path:
        path = self.plan.out_dir / "slurm" / f"{shard.name}.sbatch"
        self.plan.layout(shard).logs_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, job_script(self.plan, shard, self.config, self.python, self.record))
        path.chmod(0o755)
        return path

    def submit_pending(self, first: bool = False) -> dict[str, str]:
        """Submit every unfinished shard that has no active job; returns shard -> new job id.

        first=True is the submit of a new command: shards that stopped with an error are
        tried again (the cause may be fixed now). Later calls, while waiting, leave them
        alone and resubmit a shard at most `slurm.max_resubmits` times (node failure,
        time limit, ...)."""
        latest = {name: ids[-1] for name, ids in self.jobs.items() if ids}
        states = job_states(list(latest.values()), self.config)
        submitted = {}
        for shard in self.plan.shards:
            left, state = shard_progress(self.plan, shard, self.config)
            job = latest.get(shard.name)
            if left == 0 or (job and states.get(job) in ACTIVE_STATES):
                continue
            if not first and (state.error or self._session.get(shard.name, 0) > self.config.slurm.max_resubmits):
                continue
            job_id = submit(self.write_script(shard), self.config)
            self.jobs.setdefault(shard.name, []).append(job_id)
            self._session[shard.name] = self._session.get(shard.name, 0) + 1
            self._save_jobs()
            submitted[shard.name] = job_id
            self.console.print(f"{shard.name}: submitted job {job_id} ({left} route(s) left)")
        return submitted

    def status(self) -> dict[str, tuple[str, int, str | None]]:
        """shard -> (latest job state or 'NONE', routes left, error)."""
        latest = {name: ids[-1] for name, ids in self.jobs.items() if ids}
        states = job_states(list(latest.values()), self.config)
        out = {}
        for shard in self.plan.shards:
            left, state = shard_progress(self.plan, shard, self.config)
            job = latest.get(shard.name)
            out[shard.name] = (states.get(job, "UNKNOWN") if job else "NONE", left, state.error)
        return out

    def wait(self) -> int:
        """Poll until every shard is finished (0) or none can make progress any more (1);
        shards whose job ended unfinished are resubmitted on the way."""
        while True:
            submitted = self.submit_pending()
            status = self.status()
            active = [n for n, (st, _, _) in status.items() if st in ACTIVE_STATES]
            left_total = sum(left for _, left, _ in status.values())
            self.console.print(f"{time.strftime('%H:%M:%S')} routes left {left_total}; active jobs {len(active)}: "
                               + ", ".join(f"{n}={st}" for n, (st, _, _) in status.items()), highlight=False)
            if left_total == 0:
                return 0
            if not active and not submitted:
                for name, (state, left, error) in status.items():
                    if left:
                        self.console.print(f"[red]{name}[/]: {left} route(s) left, last job {state}, "
                                           f"{len(self.jobs.get(name, []))} job(s) submitted"
                                           + (f": {error}" if error else ""))
                return 1
            time.sleep(self.config.slurm.poll_interval_s)
