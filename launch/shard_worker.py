"""One worker: runs one shard to the end through crashes, hangs and restarts.

Loop, until every route of the shard is finished or skipped:
  1. pick free ports (the same ones again when still free);
  2. 'launcher' server mode: start CarlaUE4.sh and wait until it answers;
     'evaluator' mode: the evaluator starts it (Bench2Drive) and we adopt its group;
  3. run the evaluator on the routes not finished yet, into a new attempt checkpoint;
  4. watch it: exit, server death, and the watchdog (no growth of its log, checkpoint
     or live file for `recovery.watchdog_minutes`);
  5. kill what is left of this attempt's process groups, charge a crash to the route
     that was running if the attempt ended in a crash / hang / death, skip routes that
     reached the crash limit, write state.json and the shard's results.json.

Runs in its own thread; `stop_event` makes it return at the next look (the caller
then kills every owned process group).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from launch.carla_server import CarlaServer, ServerStartError, log_tail, rpc_port_argument
from launch.checkpoint_files import checkpoint_records, read_checkpoint, running_driving_score
from launch.launch_config import LaunchConfig
from launch.leaderboard_command import (
    EvaluatorRun,
    ResolvedPaths,
    evaluator_argv,
    evaluator_env,
    evaluator_working_dir,
)
from launch.ports import PortAllocator, WorkerPorts
from launch.process_groups import ProcessGroups
from launch.shard_state import (
    AttemptOutcome,
    ShardLayout,
    ShardState,
    analyse_attempt,
    charge_crash,
    finished_records,
    remaining_routes,
    write_shard_results,
)


@dataclass(frozen=True)
class ShardSpec:
    index: int  # 0-based worker / shard number
    name: str  # 'shard03'
    route_ids: tuple[str, ...]  # route file ids, in the order the evaluator runs them
    gpu: int  # GPU index: --gpu-rank and CUDA_VISIBLE_DEVICES


@dataclass(frozen=True)
class WorkerSnapshot:
    """What the progress view shows; read from another thread."""

    name: str
    gpu: int
    status: str  # 'pending', 'starting server', 'running', 'restarting', 'done', 'failed', 'stopped'
    done: int  # routes finished or skipped
    total: int
    skipped: int
    crashes: int
    attempts: int
    current_route: str | None
    driving_score: float | None  # mean composed score of the finished routes


def newest_route_output(save_path: Path) -> int | None:
    """Newest mtime (ns) of the files in the most recently created route folder under save_path."""
    try:
        folders = [p for p in Path(save_path).iterdir() if p.is_dir()]
        if not folders:
            return None
        newest = max(folders, key=lambda p: p.stat().st_mtime_ns)
        return max((p.stat().st_mtime_ns for p in newest.iterdir() if p.is_file()), default=None)
    except OSError:  # a folder removed while we look: no signal this time
        return None


class ShardWorker:
    def __init__(self, spec: ShardSpec, layout: ShardLayout, paths: ResolvedPaths, config: LaunchConfig,
                 agent_config: Path, groups: ProcessGroups, allocator: PortAllocator, server_mode: str,
                 record: bool = False) -> None:
        self.spec = spec
        self.layout = layout
        self.paths = paths
        self.config = config
        self.agent_config = Path(agent_config)
        self.groups = groups
        self.allocator = allocator
        self.server_mode = server_mode
        self.record = record
        self.state = ShardState.load(layout.state_file)
        self.ports: WorkerPorts | None = None
        self.status = "pending"
        self.current_route: str | None = None
        self.thread: threading.Thread | None = None
        self._finished_cache: dict = {}
        self._evaluator = None  # the running evaluator's Popen, for adopt_strays()

    # ---- bookkeeping -------------------------------------------------------
    @property
    def repetitions(self) -> int:
        return self.config.evaluator.repetitions

    @property
    def retry_statuses(self) -> tuple[str, ...]:
        return self.config.recovery.retry_statuses

    def remaining(self) -> tuple[str, ...]:
        self._finished_cache = finished_records(self.layout, self.retry_statuses)
        return remaining_routes(self.spec.route_ids, self._finished_cache, self.state, self.repetitions)

    def snapshot(self) -> WorkerSnapshot:
        finished = dict(self._finished_cache)
        done_routes = [r for r in self.spec.route_ids if r in self.state.skipped or all(
            f"RouteScenario_{r}_rep{k}" in finished for k in range(self.repetitions))]
        return WorkerSnapshot(
            name=self.spec.name, gpu=self.spec.gpu, status=self.status, done=len(done_routes),
            total=len(self.spec.route_ids), skipped=len(self.state.skipped),
            crashes=sum(self.state.crashes.values()), attempts=len(self.state.outcomes),
            current_route=self.current_route if self.status == "running" else None,
            driving_score=running_driving_score(list(finished.values())),
        )

    def _log(self, message: str) -> None:
        self.layout.logs_dir.mkdir(parents=True, exist_ok=True)
        with open(self.layout.logs_dir / "worker.log", "a") as handle:
            handle.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")

    def _save(self) -> None:
        self.state.save(self.layout.state_file)
        write_shard_results(self.layout, self.spec.route_ids, self.state, self.retry_statuses, self.repetitions)

    def _account_unfinished_attempts(self) -> None:
        """Attempts that have a checkpoint but no outcome (the launcher was stopped during them):
        count their crash records; the route that was running is not blamed (we killed it)."""
        for n in self.layout.attempt_numbers():
            if n in self.state.accounted:
                continue
            crashed, _, finished = analyse_attempt(self.layout, n, self.spec.route_ids, self.retry_statuses,
                                                   self.repetitions)
            for route_id in crashed:
                charge_crash(self.state, route_id, self.config.recovery.crash_limit)
            self.state.outcomes.append(AttemptOutcome(n, "interrupted", None, None, finished).to_json())

    # ---- the loop ------------------------------------------------------------
    def start(self, stop_event: threading.Event) -> None:
        self.thread = threading.Thread(target=self.run, args=(stop_event,), name=self.spec.name, daemon=True)
        self.thread.start()

    def run(self, stop_event: threading.Event) -> None:
        try:
            self._run(stop_event)
        except Exception as exc:  # a bug or an unexpected OS error must show, not kill the thread silently
            self.state.error = f"{type(exc).__name__}: {exc}"
            self.status = "failed"
            self._log(f"worker error: {self.state.error}")
            self._save()

    def _run(self, stop_event: threading.Event) -> None:
        self.layout.root.mkdir(parents=True, exist_ok=True)
        # A new command is a new chance: an error that stopped the shard last time (say, an
        # agent that did not import) may be fixed now. Crash counts and skips persist.
        self.state.error, self.state.fruitless = None, 0
        self._account_unfinished_attempts()
        self._save()
        while not stop_event.is_set():
            remaining = self.remaining()
            if not remaining:
                self.status = "done"
                self._save()
                self._log("shard complete")
                return
            if self.state.error:
                self.status = "failed"
                return
            outcome = self._attempt(remaining, stop_event)
            if outcome is None:  # stopped from outside
                break
            self._record_outcome(outcome)
            if not stop_event.is_set() and self.remaining() and not self.state.error:
                self.status = "restarting"
                stop_event.wait(self.config.recovery.restart_delay_s)
        self.status = "stopped" if self.status not in ("done", "failed") else self.status
        self._save()  # the routes finished before the stop are in results.json too

    def _ports(self) -> WorkerPorts:
        if self.ports is not None and self.allocator.still_free(self.ports):
            return self.ports
        if self.ports is not None:
            self.allocator.release(self.ports)
        self.ports = self.allocator.allocate(self.spec.index)
        return self.ports

    def _attempt(self, subset: tuple[str, ...], stop_event: threading.Event) -> AttemptOutcome | None:
        numbers = self.layout.attempt_numbers() + sorted(self.state.accounted)
        number = max(numbers, default=-1) + 1
        ports = self._ports()
        self.current_route = subset[0]
        server = None
        if self.server_mode == "launcher":
            self.status = "starting server"
            server = CarlaServer(self.paths.carla_root, ports.rpc, self.spec.gpu, self.config.server, self.groups,
                                 self.layout.server_log, label=f"{self.spec.name} server")
            try:
                server.start()
                self._wait_server(server, stop_event)
            except ServerStartError as exc:
                server.stop()
                if stop_event.is_set():
                    return None
                self._log(str(exc))
                return AttemptOutcome(number, "server_start", None, None, 0, str(exc))
            if stop_event.is_set():
                server.stop()
                return None
        run = EvaluatorRun(
            routes=self.layout.routes_file, routes_subset=subset,
            checkpoint=self.layout.attempt_checkpoint(number), debug_checkpoint=self.layout.attempt_live(number),
            agent_config=self.agent_config, save_path=self.layout.save_dir, rpc_port=ports.rpc,
            traffic_manager_port=ports.traffic_manager, gpu=self.spec.gpu,
            record_dir=self.layout.record_dir if self.record else None,
        )
        self.layout.attempts_dir.mkdir(parents=True, exist_ok=True)
        self.layout.save_dir.mkdir(parents=True, exist_ok=True)
        if run.record_dir is not None:
            run.record_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.layout.evaluator_log(number)
        self._log(f"attempt {number}: {len(subset)} route(s) from {subset[0]}, ports {ports.rpc}/{ports.traffic_manager}")
        self.status = "running"
        argv = evaluator_argv(run, self.paths, self.config, gpu_rank=self.server_mode == "evaluator")
        evaluator = self.groups.spawn(argv, label=f"{self.spec.name} evaluator", log_path=log_path,
                                      env=evaluator_env(run, self.paths, self.config),
                                      cwd=evaluator_working_dir(self.paths, self.config))
        self._evaluator = evaluator
        kind, detail = self._watch(evaluator, server, run, log_path, stop_event)
        self._kill_attempt(evaluator, server, ports)
        self._evaluator = None
        if kind == "stopped":
            return None
        crashed, in_progress, finished = analyse_attempt(self.layout, number, subset, self.retry_statuses,
                                                         self.repetitions)
        if in_progress is not None and not self._route_started(log_path, in_progress):
            in_progress = None
        blamed = None
        if crashed:
            kind, blamed = "crash", crashed[0]
        elif kind in ("died", "server_died") or (kind == "hang" and self.config.recovery.hang_counts_as_crash):
            blamed = in_progress
        elif kind == "exited" and in_progress is not None:
            kind = "died"  # exit 0 with routes left: treat like a death, the route did not end
            blamed = in_progress
        elif kind == "exited":
            kind = "finished"
        if kind in ("died", "hang", "server_died"):
            detail = f"{detail}\n--- {log_path} ---\n{log_tail(log_path, self.config.log_tail_lines)}".strip()
        return AttemptOutcome(number, kind, evaluator.returncode, blamed, finished, detail)

    def _route_started(self, log_path: Path, route_id: str) -> bool:
        marker = self.config.evaluator.route_start_marker.format(route_id=route_id)
        try:
            return marker in log_path.read_text(errors="replace")
        except OSError:
            return False

    def _wait_server(self, server: CarlaServer, stop_event: threading.Event) -> None:
        server.wait_ready(tail_lines=self.config.log_tail_lines, should_stop=stop_event.is_set)

    def _progress_signature(self, run: EvaluatorRun, log_path: Path) -> tuple:
        """Changes whenever the attempt shows life: its log, checkpoint or live file grows, or the
        agent writes into its newest route folder under SAVE_PATH (per-tick log, metric_info)."""
        signature = []
        for path in (log_path, run.checkpoint, run.debug_checkpoint):
            try:
                st = path.stat()
                signature.append((st.st_size, st.st_mtime_ns))
            except OSError:
                signature.append(None)
        signature.append(newest_route_output(run.save_path))
        return tuple(signature)

    def _watch(self, evaluator, server: CarlaServer | None, run: EvaluatorRun, log_path: Path,
               stop_event: threading.Event) -> tuple[str, str]:
        """Wait for the attempt to end: ('exited'|'died'|'hang'|'server_died'|'stopped', detail)."""
        watchdog_s = self.config.recovery.watchdog_s
        signature = self._progress_signature(run, log_path)
        last_progress = time.monotonic()
        while True:
            if stop_event.wait(self.config.poll_interval_s):
                return "stopped", ""
            code = evaluator.poll()
            if self.server_mode == "evaluator":
                self.groups.adopt_descendant_groups(evaluator.pid, f"{self.spec.name} server")
            self._update_current_route(run)
            if code is not None:
                return ("exited", "") if code == 0 else ("died", f"evaluator exited with code {code}")
            if server is not None and not server.running():
                return "server_died", f"CARLA server on port {run.rpc_port} exited"
            now_signature = self._progress_signature(run, log_path)
            if now_signature != signature:
                signature, last_progress = now_signature, time.monotonic()
            elif time.monotonic() - last_progress > watchdog_s:
                self._log(f"watchdog: no progress for {watchdog_s:.0f} s, killing the attempt")
                return "hang", f"no progress for {watchdog_s:.0f} s (watchdog)"

    def adopt_strays(self) -> None:
        """Register the server groups the running evaluator started (called before a stop)."""
        evaluator, ports = self._evaluator, self.ports
        if self.server_mode != "evaluator" or evaluator is None or ports is None:
            return
        self.groups.adopt_descendant_groups(evaluator.pid, f"{self.spec.name} server")
        self.groups.adopt_by_argument(rpc_port_argument(ports.rpc), f"{self.spec.name} server")

    def _update_current_route(self, run: EvaluatorRun) -> None:
        seen = {str(r["route_id"]) for r in checkpoint_records(read_checkpoint(run.checkpoint))}
        for route_id in run.routes_subset:
            if f"RouteScenario_{route_id}_rep0" not in seen:
                self.current_route = route_id
                return

    def _kill_attempt(self, evaluator, server: CarlaServer | None, ports: WorkerPorts) -> None:
        """Kill this attempt's groups only: the evaluator's, the server's, and any it started."""
        grace = self.config.server.stop_grace_s
        if self.server_mode == "evaluator":
            self.groups.adopt_descendant_groups(evaluator.pid, f"{self.spec.name} server")
            self.groups.adopt_by_argument(rpc_port_argument(ports.rpc), f"{self.spec.name} server")
        adopted = [g.pgid for g in self.groups.owned() if g.label == f"{self.spec.name} server"]
        self.groups.kill(evaluator.pid, grace)
        try:
            evaluator.wait(timeout=5)
        except Exception:  # a process we cannot reap must not block the restart
            pass
        for pgid in adopted:
            self.groups.kill(pgid, grace)
        if server is not None:
            server.stop()

    def _record_outcome(self, outcome: AttemptOutcome) -> None:
        rec = self.config.recovery
        skipped_now = False
        if outcome.blamed_route is not None and outcome.kind in ("crash", "died", "server_died", "hang"):
            skipped_now = charge_crash(self.state, outcome.blamed_route, rec.crash_limit)
            self._log(f"attempt {outcome.number}: {outcome.kind} on route {outcome.blamed_route} "
                      f"({self.state.crashes[outcome.blamed_route]}/{rec.crash_limit})"
                      + (" -> recorded as failed and skipped" if skipped_now else ""))
        else:
            self._log(f"attempt {outcome.number}: {outcome.kind} (exit {outcome.returncode}) {outcome.detail}".strip())
        productive = outcome.new_finished > 0 or outcome.blamed_route is not None
        self.state.fruitless = 0 if productive else self.state.fruitless + 1
        if self.state.fruitless >= rec.max_fruitless_attempts:
            self.state.error = (f"{self.state.fruitless} attempts in a row finished no route "
                                f"(last: {outcome.kind}, exit {outcome.returncode}): {outcome.detail}").strip()
            self._log(self.state.error)
        self.state.outcomes.append(outcome.to_json())
        self._save()
