"""One launcher per output folder: a lock file holding the owner's pid, host and start time.

    out/automot.lock                 a whole evaluation (`automot evaluate ...`)
    out/shards/shardNN/automot.lock  one shard (a SLURM job's `--shard shardNN`)

The lock is an flock on the file, which the kernel drops when its owner dies however it
dies (SIGKILL included), so a lock left by a dead launcher is recognised as stale and taken
over. Where the file system has no flock, the recorded pid and its start time decide:
a live process with that start time on this host holds it. A holder on another host is
never second-guessed: the message says which file to delete if that run is gone.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from launch.process_groups import read_stat

LOCK_NAME = "automot.lock"


class LauncherLockError(RuntimeError):
    """Another launcher is running on this output folder."""


def _holder_text(holder: dict[str, Any]) -> str:
    return (f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, started {holder.get('started', '?')}: "
            f"{' '.join(holder.get('argv', []))[:200]}")


def _read_holder(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _holder_alive(holder: dict[str, Any]) -> bool:
    """For file systems without flock: is the recorded launcher still running here?"""
    if holder.get("host") != socket.gethostname():
        return bool(holder)  # cannot tell: assume it runs
    stat = read_stat(int(holder.get("pid", -1)))
    return stat is not None and stat.state != "Z" and stat.start_time == holder.get("start_time")


class LauncherLock:
    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / LOCK_NAME
        self._fd: int | None = None
        self.stale_holder: dict[str, Any] | None = None  # the dead launcher whose lock was taken over

    def acquire(self) -> LauncherLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        previous = _read_holder(self.path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LauncherLockError(f"another automot launcher is running on {self.path.parent} "
                                    f"({_holder_text(previous)}); wait for it to end or stop it") from None
        except OSError as exc:
            if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
                os.close(fd)
                raise
            if previous and _holder_alive(previous):  # no flock here: the pid and start time decide
                os.close(fd)
                raise LauncherLockError(f"another automot launcher holds {self.path} ({_holder_text(previous)}); "
                                        f"if it is no longer running, delete that file") from None
        self.stale_holder = previous or None
        me = read_stat(os.getpid())
        info = {"pid": os.getpid(), "start_time": me.start_time if me else None, "host": socket.gethostname(),
                "started": time.strftime("%Y-%m-%d %H:%M:%S"), "argv": sys.argv}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        os.fsync(fd)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        os.ftruncate(self._fd, 0)  # an empty lock file is a free one
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> LauncherLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
