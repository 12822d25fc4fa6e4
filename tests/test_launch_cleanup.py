"""The launcher cleans up after itself: a SIGKILLed launcher's servers and evaluators are stopped by
the next run before it starts anything, SIGHUP stops like Ctrl-C, and one launcher per --out."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_launch_evaluate import fast_config
from test_launch_fakes import (
    logged_pids,
    make_fake_carla,
    make_fake_leaderboard,
    pid_alive,
    wait_for,
    write_routes_xml,
)

from core.typed_config import to_dict
from launch import launcher_lock
from launch.launcher_lock import LauncherLock, LauncherLockError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def setup(tmp_path):
    make_fake_carla(tmp_path)
    make_fake_leaderboard(tmp_path, {"default": {"action": "ok", "duration_s": 30.0}})
    (tmp_path / "agent.yaml").write_text("scheduler:\n  ue_interval: 2\n")
    (tmp_path / "launch.yaml").write_text(yaml.safe_dump(to_dict(fast_config(tmp_path))))
    write_routes_xml(tmp_path / "routes.xml", ["1", "2", "3"])
    yield tmp_path
    for _, pid, pgid, _ in logged_pids(tmp_path):  # whatever a failing test left behind
        if pid_alive(pid):
            os.killpg(pgid, signal.SIGKILL)


def _argv(root: Path) -> list[str]:
    return [sys.executable, "-m", "launch.cli", "evaluate", "--simulator", "carla", "--routes", str(root / "routes.xml"),
            "--config", str(root / "agent.yaml"), "--out", str(root / "out"), "--launch-config", str(root / "launch.yaml"),
            "--no-report"]


def _start(root: Path) -> subprocess.Popen:
    return subprocess.Popen(_argv(root), cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _running(root: Path, evaluators: int = 1) -> bool:
    return wait_for(lambda: len(logged_pids(root, "evaluator")) >= evaluators and logged_pids(root, "server"), 60)


def _stop(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=60)
    return output


def test_a_sigkilled_launchers_processes_are_stopped_before_the_next_run_starts(setup):
    root = setup
    first = _start(root)
    try:
        assert _running(root)
        first.kill()  # SIGKILL: no cleanup at all
        first.wait()
        old = logged_pids(root)
        assert all(pid_alive(pid) for _, pid, _, _ in old)  # its server and evaluator live on
        record = json.loads((root / "out" / "launcher_processes.json").read_text())
        assert {g["pgid"] for g in record["groups"]} >= {pgid for _, _, pgid, _ in old}
        second = _start(root)
        try:
            # when the new run's evaluator starts, the old one (mid-route) must be gone already
            assert wait_for(lambda: len(logged_pids(root, "evaluator")) >= 2, 60)
            assert not any(pid_alive(pid) for _, pid, _, _ in old)
        finally:
            output = _stop(second)
        assert "a previous launcher left running" in output, output
    finally:
        if first.poll() is None:
            first.kill()


def test_sighup_stops_like_ctrl_c(setup):
    root = setup
    proc = _start(root)
    assert _running(root)
    proc.send_signal(signal.SIGHUP)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, output
    assert "SIGHUP" in output and "Traceback" not in output
    assert wait_for(lambda: not any(pid_alive(pid) for _, pid, _, _ in logged_pids(root)), 10)


def test_a_second_launcher_on_the_same_out_is_refused(setup, capsys):
    from launch.cli import main

    root = setup
    proc = _start(root)
    try:
        assert _running(root)
        assert main(_argv(root)[3:]) == 2
        printed = capsys.readouterr().out
        assert "another automot launcher is running" in printed and f"pid {proc.pid}" in printed
        assert len(logged_pids(root, "evaluator")) == 1  # the refused one started nothing
    finally:
        _stop(proc)


def test_a_stale_lock_is_taken_over(tmp_path):
    (tmp_path / "automot.lock").write_text(json.dumps({"pid": 2 ** 22 + 7, "host": "gone", "start_time": 1}))
    with LauncherLock(tmp_path) as lock:  # nobody holds the flock: the launcher that wrote it is gone
        assert lock.stale_holder["pid"] == 2 ** 22 + 7
        with pytest.raises(LauncherLockError, match=f"pid {os.getpid()}"):
            LauncherLock(tmp_path).acquire()
    LauncherLock(tmp_path).acquire().release()  # released: free again


def test_without_flock_the_pid_and_start_time_decide(tmp_path, monkeypatch):
    def no_flock(fd, operation):
        if operation & launcher_lock.fcntl.LOCK_UN:
            return None
        raise OSError(errno.ENOLCK, "no locks available")

    monkeypatch.setattr(launcher_lock.fcntl, "flock", no_flock)
    held = LauncherLock(tmp_path).acquire()  # writes our own pid and start time
    with pytest.raises(LauncherLockError, match="if it is no longer running, delete"):
        LauncherLock(tmp_path).acquire()
    held.release()
    info = {"pid": os.getpid(), "host": launcher_lock.socket.gethostname(), "start_time": -5}
    (tmp_path / "automot.lock").write_text(json.dumps(info))  # our pid, but another start time: recycled
    LauncherLock(tmp_path).acquire().release()
