"""Ports, owned process groups and the CARLA server wrapper (fake CarlaUE4.sh; real carla.Client)."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from test_launch_fakes import logged_pids, make_fake_carla, pid_alive, set_server_behaviour, wait_for

from launch.carla_server import CarlaServer, ServerStartError, probe_world, server_command
from launch.launch_config import PortsConfig, ServerConfig
from launch.ports import PortAllocator, port_free
from launch.process_groups import ProcessGroups, descendants, read_stat

HAVE_CARLA = importlib.util.find_spec("carla") is not None


def test_allocator_gives_disjoint_free_blocks_and_skips_busy_ports():
    config = PortsConfig(rpc_base=34000, tm_base=34500, stride=10, rpc_span=3)
    busy = socket.socket()
    busy.bind(("127.0.0.1", 34000 + 10 + 1))  # inside worker 1's own block (its streaming port)
    busy.listen(1)
    try:
        allocator = PortAllocator(config)
        ports = [allocator.allocate(i) for i in range(3)]
        rpcs = [p.rpc for p in ports]
        assert rpcs[0] == 34000 and 34010 not in rpcs  # the busy block is skipped
        blocks = [set(range(p.rpc, p.rpc + 3)) for p in ports]
        assert all(not (a & b) for i, a in enumerate(blocks) for b in blocks[i + 1:])
        assert len({p.traffic_manager for p in ports}) == 3
        assert all(port_free("127.0.0.1", p.rpc) for p in ports)
        # A block handed out stays reserved in this process even though nothing bound it yet.
        again = PortAllocator(config)
        again._taken.update(range(34000, 34003))
        assert again.allocate(0).rpc != 34000
    finally:
        busy.close()


def test_allocator_reports_exhaustion():
    allocator = PortAllocator(PortsConfig(rpc_base=34600, tm_base=34700, search_limit=1))
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 34600))
    blocker.listen(1)
    try:
        with pytest.raises(RuntimeError, match="no free block"):
            allocator.allocate(0)
    finally:
        blocker.close()


SETSID_CHILD = (
    "import os, subprocess, sys, time\n"
    "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], preexec_fn=os.setsid)\n"
    "print(p.pid, flush=True)\n"
    "time.sleep(60)\n"
)


def test_groups_adopt_setsid_descendants_and_kill_only_their_own(tmp_path):
    groups = ProcessGroups()
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        parent = groups.spawn([sys.executable, "-c", SETSID_CHILD], label="evaluator",
                              log_path=tmp_path / "log.txt", env=dict(os.environ))
        assert wait_for(lambda: (tmp_path / "log.txt").read_text().strip() != "", 10)
        grandchild = int((tmp_path / "log.txt").read_text().split()[0])
        assert read_stat(grandchild).pgid == grandchild != parent.pid  # a group of its own, like CARLA under B2D
        assert grandchild in {s.pid for s in descendants(parent.pid)}
        assert groups.adopt_descendant_groups(parent.pid, "server") == [grandchild]
        assert {g.pgid for g in groups.owned()} == {parent.pid, grandchild}
        started = time.monotonic()
        groups.kill_all(grace_s=2.0)
        assert time.monotonic() - started < 5
        assert wait_for(lambda: not pid_alive(grandchild), 5)
        parent.wait(timeout=5)
        assert pid_alive(bystander.pid)  # never ours, never touched
        assert groups.owned() == []
    finally:
        os.killpg(bystander.pid, signal.SIGKILL)
        bystander.wait()


def test_group_with_recycled_leader_is_not_signalled(tmp_path):
    groups = ProcessGroups()
    proc = groups.spawn([sys.executable, "-c", "import time; time.sleep(60)"], label="x",
                        log_path=tmp_path / "l.txt", env=dict(os.environ))
    group = groups.owned()[0]
    # Pretend the registered leader started at another time: the pid now belongs to someone else.
    groups._groups[proc.pid] = type(group)(group.pgid, group.leader_start_time + 1, group.label)
    groups.kill(proc.pid, grace_s=0.2)
    assert proc.poll() is None  # not signalled
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def test_server_command_matches_bench2drive(tmp_path):
    argv = server_command(tmp_path, 2000, 3, ("-quality-level=Low",))
    assert argv == [str(tmp_path / "CarlaUE4.sh"), "-RenderOffScreen", "-nosound", "-carla-rpc-port=2000",
                    "-graphicsadapter=3", "-quality-level=Low"]


def test_server_starts_answers_tcp_and_stops(tmp_path):
    carla_root = make_fake_carla(tmp_path)
    groups = ProcessGroups()
    port = PortAllocator(PortsConfig(rpc_base=34800)).allocate(0).rpc
    server = CarlaServer(carla_root, port, 1, ServerConfig(probe="tcp", poll_interval_s=0.05, stop_grace_s=1.0),
                         groups, tmp_path / "logs" / "server.log")
    server.start()
    assert server.wait_ready(timeout_s=10) == "TCP connect"
    (_, pid, pgid, logged_port), = logged_pids(tmp_path, "server")
    assert logged_port == port and pgid == server.process.pid
    assert "-graphicsadapter=1" in (tmp_path / "logs" / "server.log").read_text()
    server.stop()
    assert not pid_alive(pid) and groups.owned() == []
    assert wait_for(lambda: port_free("127.0.0.1", port), 5)


def test_server_that_exits_early_raises_with_its_log(tmp_path):
    carla_root = make_fake_carla(tmp_path)
    set_server_behaviour(tmp_path, {"exit_at_start": True})
    server = CarlaServer(carla_root, 34900, 0, ServerConfig(probe="tcp", poll_interval_s=0.05), ProcessGroups(),
                         tmp_path / "server.log")
    server.start()
    with pytest.raises(ServerStartError, match=r"exited \(code 3\)[\s\S]*failing at start"):
        server.wait_ready(timeout_s=10)


def test_missing_server_script_is_a_clear_error(tmp_path):
    server = CarlaServer(tmp_path, 35000, 0, ServerConfig(), ProcessGroups(), tmp_path / "s.log")
    with pytest.raises(ServerStartError, match=r"CarlaUE4.sh not found"):
        server.start()


@pytest.mark.carla
@pytest.mark.skipif(not HAVE_CARLA, reason="carla client not installed")
def test_world_probe_against_a_non_carla_listener_is_handled(tmp_path):
    """A real carla.Client against the fake server: get_world() raises RuntimeError after the
    client timeout; the probe reports 'not ready' and wait_ready gives up with that reason."""
    carla_root = make_fake_carla(tmp_path)
    groups = ProcessGroups()
    port = PortAllocator(PortsConfig(rpc_base=35100)).allocate(0).rpc
    config = ServerConfig(probe="world", probe_timeout_s=0.3, poll_interval_s=0.05, stop_grace_s=1.0)
    server = CarlaServer(carla_root, port, 0, config, groups, tmp_path / "server.log")
    server.start()
    try:
        assert wait_for(lambda: server.answers()[1] != f"nothing accepts connections on 127.0.0.1:{port}", 10)
        ok, why = probe_world("127.0.0.1", port, 0.3)
        assert not ok and why.startswith("get_world() failed")
        with pytest.raises(ServerStartError, match=r"did not answer within 1 s .get_world.. failed"):
            server.wait_ready(timeout_s=1.0)
    finally:
        server.stop()


def test_orphaned_server_of_a_dead_evaluator_is_found_by_its_port_argument(tmp_path):
    """The evaluator (group leader) died right after starting the server: the server is an orphan
    in a leaderless group. It is adopted by its exact '-carla-rpc-port=P' argument and killed."""
    launcher = subprocess.Popen(
        [sys.executable, "-c", "import subprocess, sys; p = subprocess.Popen([sys.executable, '-c', "
         "'import time; time.sleep(60)', '-carla-rpc-port=39999']); print(p.pid, flush=True)"],
        start_new_session=True, stdout=subprocess.PIPE, text=True)
    orphan = int(launcher.stdout.readline())
    launcher.wait(timeout=10)
    try:
        assert read_stat(launcher.pid) is None and read_stat(orphan).pgid == launcher.pid  # leaderless group
        groups = ProcessGroups()
        assert groups.adopt_by_argument("-carla-rpc-port=3999", "server") == []  # exact argument only
        assert groups.adopt_by_argument("-carla-rpc-port=39999", "server") == [launcher.pid]
        groups.kill_all(grace_s=1.0)
        assert wait_for(lambda: not pid_alive(orphan), 5)
    finally:
        if pid_alive(orphan):
            os.kill(orphan, signal.SIGKILL)
