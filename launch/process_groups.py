"""Process groups this command started, and nothing else.

Every server and evaluator is started in a new session (its own process group), so
Ctrl-C in the terminal reaches only automot, which then stops exactly the groups it
owns. Bench2Drive's evaluator starts CarlaUE4.sh itself with `setsid`, i.e. in yet
another group: `adopt_descendant_groups` finds such groups among the descendants of
a process we started and adds them to the registry.

A group is identified by its leader's pid and start time (/proc/<pid>/stat field 22):
before a signal is sent, the leader is checked to be the same process, so a recycled
pid is never signalled.

With a `record_file` the registry is kept on disk as it changes, so a launcher that was
killed (SIGKILL, a lost terminal) leaves a list the next run reads: `stop_leftover_groups`
stops what of it still runs before new servers start.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from core.atomic_files import atomic_write_json

PROC = Path("/proc")


@dataclass(frozen=True)
class ProcStat:
    pid: int
    ppid: int
    pgid: int
    start_time: int  # clock ticks after boot (field 22 of /proc/<pid>/stat)
    state: str  # 'R', 'S', 'Z', ...


def read_stat(pid: int) -> ProcStat | None:
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except (OSError, ValueError):
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    rest = text[text.rfind(")") + 2:].split()
    return ProcStat(pid=pid, ppid=int(rest[1]), pgid=int(rest[2]), start_time=int(rest[19]), state=rest[0])


def all_stats() -> list[ProcStat]:
    stats = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            stat = read_stat(int(entry.name))
            if stat is not None:
                stats.append(stat)
    return stats


def descendants(root_pid: int, stats: list[ProcStat] | None = None) -> list[ProcStat]:
    """All living descendants of `root_pid` (children, grandchildren, ...)."""
    stats = all_stats() if stats is None else stats
    children: dict[int, list[ProcStat]] = {}
    for stat in stats:
        children.setdefault(stat.ppid, []).append(stat)
    found, todo = [], [root_pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child.pid)
    return found


def cmdline(pid: int) -> list[str]:
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def group_members(pgid: int, stats: list[ProcStat] | None = None) -> list[ProcStat]:
    stats = all_stats() if stats is None else stats
    return [s for s in stats if s.pgid == pgid and s.state != "Z"]


@dataclass(frozen=True)
class OwnedGroup:
    pgid: int
    leader_start_time: int  # start time of the process whose pid == pgid when it was registered
    label: str  # e.g. 'shard03 server', for logs


class ProcessGroups:
    """Registry of the process groups one automot command owns; thread-safe."""

    def __init__(self, record_file: Path | None = None) -> None:
        self._groups: dict[int, OwnedGroup] = {}
        self._lock = threading.Lock()
        self.record_file = record_file
        self._save()

    def _save(self) -> None:
        if self.record_file is None:
            return
        with self._lock:
            rows = [vars(g) for g in self._groups.values()]
            atomic_write_json(self.record_file, {"launcher_pid": os.getpid(), "groups": rows})

    @classmethod
    def from_record(cls, record_file: Path) -> ProcessGroups:
        """The registry a (possibly dead) launcher left in record_file; not written back."""
        groups = cls()
        try:
            data = json.loads(Path(record_file).read_text())
            rows = data.get("groups", []) if isinstance(data, dict) else []
        except (OSError, ValueError):
            rows = []
        for row in rows:
            try:
                group = OwnedGroup(int(row["pgid"]), int(row["leader_start_time"]), str(row["label"]))
            except (KeyError, TypeError, ValueError):
                continue
            groups._groups[group.pgid] = group
        return groups

    def spawn(self, argv: list[str], *, label: str, log_path: Path, env: dict[str, str],
              cwd: Path | None = None) -> subprocess.Popen:
        """Start argv in a new session with stdout+stderr appended to log_path; register its group."""
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab", buffering=0) as log:
            process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, cwd=cwd, start_new_session=True,
            )
        self.register(process.pid, label)
        return process

    def register(self, pgid: int, label: str) -> bool:
        """Own the group `pgid`. Its leader may already be gone (a shell that exec'd or
        exited): then the group's living members vouch for it and start time -1 is kept."""
        stat = read_stat(pgid)
        if stat is not None and stat.pgid != pgid:
            return False  # that pid is not a group leader
        if stat is None and not group_members(pgid):
            return False
        start_time = stat.start_time if stat is not None else -1
        with self._lock:
            added = pgid not in self._groups
            self._groups.setdefault(pgid, OwnedGroup(pgid, start_time, label))
        if added:
            self._save()
        return True

    def adopt_descendant_groups(self, root_pid: int, label: str) -> list[int]:
        """Register every group led by a descendant of root_pid that sits in a group other than root's."""
        root = read_stat(root_pid)
        if root is None:
            return []
        adopted = []
        for stat in descendants(root_pid):
            if stat.pgid != root.pgid and stat.pgid not in self._groups:
                if self.register(stat.pgid, label):
                    adopted.append(stat.pgid)
        return adopted

    def adopt_by_argument(self, argument: str, label: str) -> list[int]:
        """Register groups of our own user's processes whose command line holds `argument` exactly.

        Fallback for a server whose parent (the evaluator) died before we saw it: the
        argument is e.g. '-carla-rpc-port=20010', a port this command picked while free.
        """
        adopted = []
        uid = os.getuid()
        for stat in all_stats():
            if stat.pgid in self._groups or stat.state == "Z" or argument not in cmdline(stat.pid):
                continue
            try:
                if (PROC / str(stat.pid)).stat().st_uid != uid:
                    continue
            except OSError:
                continue
            if self.register(stat.pgid, label):
                adopted.append(stat.pgid)
        return adopted

    def owned(self) -> list[OwnedGroup]:
        with self._lock:
            return list(self._groups.values())

    def _is_ours(self, group: OwnedGroup) -> bool:
        leader = read_stat(group.pgid)
        # Leader gone: the pgid stays reserved by the kernel while any member lives, so
        # the members still found under it are ours. A leader that is a different process
        # than the one registered (or appeared after registering a leaderless group) means
        # the number was recycled.
        return leader is None or leader.start_time == group.leader_start_time

    def alive(self, pgid: int) -> bool:
        group = self._groups.get(pgid)
        return bool(group and self._is_ours(group) and group_members(pgid))

    def kill(self, pgid: int, grace_s: float) -> None:
        """SIGTERM the group, SIGKILL what is left after grace_s, then forget it."""
        with self._lock:
            group = self._groups.get(pgid)
        if group is None:
            return
        if not self._is_ours(group):  # the pid was recycled: that group is someone else's now
            with self._lock:
                self._groups.pop(pgid, None)
            self._save()
            return
        self._signal(group, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and group_members(pgid):
            time.sleep(0.05)
        if group_members(pgid):
            self._signal(group, signal.SIGKILL)
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline and group_members(pgid):
                time.sleep(0.05)
        with self._lock:
            self._groups.pop(pgid, None)
        self._save()

    def kill_all(self, grace_s: float) -> None:
        """Stop every owned group: SIGTERM all at once, one shared grace period, then SIGKILL."""
        groups = self.owned()
        for group in groups:
            self._signal(group, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and any(group_members(g.pgid) for g in groups):
            time.sleep(0.05)
        for group in groups:
            self.kill(group.pgid, 0.0)

    def _signal(self, group: OwnedGroup, sig: int) -> None:
        if not self._is_ours(group):
            return
        try:
            os.killpg(group.pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def stop_leftover_groups(record_file: Path, grace_s: float) -> list[OwnedGroup]:
    """Stop the groups a previous launcher recorded that still run (and the groups their processes
    started in other sessions); returns those found alive. Recycled pids are left alone."""
    if not Path(record_file).is_file():
        return []
    leftovers = ProcessGroups.from_record(record_file)
    alive = [g for g in leftovers.owned() if leftovers.alive(g.pgid)]
    for group in alive:  # e.g. a server an evaluator started with setsid, not adopted before the kill
        for member in group_members(group.pgid):
            leftovers.adopt_descendant_groups(member.pid, f"{group.label} (child)")
    found = [g for g in leftovers.owned() if leftovers.alive(g.pgid)]
    leftovers.kill_all(grace_s)
    return found
