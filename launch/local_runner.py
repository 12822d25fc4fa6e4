"""Run an evaluation plan on this machine: one worker thread per shard, K per GPU.

Ctrl-C (SIGINT), SIGTERM or SIGHUP (the terminal went away): the workers stop at their
next look, every process group this command started (servers, evaluators, the servers
evaluators started) gets SIGTERM, then SIGKILL after `server.stop_grace_s`; nothing else
is touched. Running the same command again continues from the shards' checkpoints.

A launcher killed outright (SIGKILL) cannot clean up: the groups it owned are recorded in
`groups_record` as they start, and the next run stops what of them still runs first.
"""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from launch.evaluate_plan import EvaluationPlan
from launch.launch_config import LaunchConfig
from launch.leaderboard_command import ResolvedPaths, server_mode
from launch.ports import PortAllocator
from launch.process_groups import ProcessGroups, stop_leftover_groups
from launch.progress_view import ProgressView
from launch.results_report import merge_plan_results, write_report
from launch.shard_worker import ShardWorker

EXIT_INTERRUPTED = 130


@dataclass
class LocalRunResult:
    exit_code: int  # 0 all shards done, 1 a shard failed for good, 130 interrupted
    interrupted: bool
    failed_shards: list[str]
    results_file: Path | None


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class _StopOnSignals:
    """Turns SIGINT/SIGTERM/SIGHUP into a stop event while active (main thread only)."""

    def __init__(self, stop_event: threading.Event) -> None:
        self.stop_event = stop_event
        self.signal_name: str | None = None
        self._previous: dict[int, object] = {}

    def _handler(self, signum, _frame) -> None:
        self.signal_name = signal.Signals(signum).name
        self.stop_event.set()

    def __enter__(self) -> _StopOnSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def run_local(plan: EvaluationPlan, paths: ResolvedPaths, config: LaunchConfig, *, record: bool = False,
              console: Console | None = None, stop_event: threading.Event | None = None,
              shard_names: tuple[str, ...] | None = None, report: bool = True,
              groups_record: Path | None = None) -> LocalRunResult:
    """Run (or continue) the plan's shards; `shard_names` limits it to some (a SLURM job runs one).

    groups_record: where the owned process groups are kept on disk (see the module doc)."""
    console = console or Console()
    stop_event = stop_event or threading.Event()
    if groups_record is not None:
        leftovers = stop_leftover_groups(groups_record, config.server.stop_grace_s)
        if leftovers:
            console.print(f"stopped {len(leftovers)} process group(s) a previous launcher left running: "
                          + ", ".join(f"{g.label} (pgid {g.pgid})" for g in leftovers), highlight=False)
    groups = ProcessGroups(groups_record)
    allocator = PortAllocator(config.ports, host=config.server.host)
    mode = server_mode(config, paths)
    shards = [s for s in plan.shards if shard_names is None or s.name in shard_names]
    workers = [ShardWorker(spec, plan.layout(spec), paths, config, plan.agent_config, groups, allocator, mode,
                           record=record) for spec in shards]
    console.print(f"[bold]automot evaluate[/]: {len(plan.route_order)} routes, {len(workers)} worker(s), "
                  f"server started by the {mode}; logs in {plan.out_dir / 'shards'}/<shard>/logs")
    with _StopOnSignals(stop_event) as signals:
        try:
            for worker in workers:
                worker.start(stop_event)
            with ProgressView(console) as view:
                while any(w.thread is not None and w.thread.is_alive() for w in workers):
                    view.update([w.snapshot() for w in workers])
                    if stop_event.wait(config.progress_refresh_s):
                        break
                view.update([w.snapshot() for w in workers])
        finally:
            if stop_event.is_set():
                console.print(f"stopping ({signals.signal_name or 'stop requested'}): killing "
                              f"{len(groups.owned())} process group(s) this command started")
            stop_event.set()
            for worker in workers:  # servers an evaluator started since the worker last looked
                worker.adopt_strays()
            groups.kill_all(config.server.stop_grace_s)
            deadline = time.monotonic() + config.server.stop_grace_s + 10
            for worker in workers:
                if worker.thread is not None:
                    worker.thread.join(timeout=max(0.1, deadline - time.monotonic()))
            groups.kill_all(0.0)  # anything a worker started while we were stopping it
    interrupted = signals.signal_name is not None or any(w.status == "stopped" for w in workers)
    failed = [w.spec.name for w in workers if w.state.error]
    for w in workers:
        if w.state.error:
            console.print(f"[red]{w.spec.name} stopped:[/] {w.state.error}", markup=True, highlight=False)
    if interrupted:
        console.print("interrupted: run the same command again to continue from the checkpoints")
        return LocalRunResult(EXIT_INTERRUPTED, True, failed, None)
    results_file = None
    if report and all(w.status in ("done", "failed") for w in workers):
        results_file = merge_plan_results(plan, config.evaluator.repetitions)
        write_report(plan, console)
    return LocalRunResult(1 if failed else 0, False, failed, results_file)
