"""Fakes for the launch tests: a CARLA folder whose CarlaUE4.sh listens on the RPC port, and a
Bench2Drive-shaped leaderboard whose evaluator takes the real command line, writes real
leaderboard checkpoint files, and crashes / hangs / dies on purpose.

Behaviour is set per route in <root>/fake_behaviour.json, e.g.
    {"default": {"action": "ok", "score": 100.0, "duration_s": 0.1},
     "routes": {"3": {"action": "crash", "times": 1}}, "start_server": false}
actions: ok, quiet (like ok, but writes only <SAVE_PATH>/<route>/ticks.jsonl, no stdout), crash (a 'Failed - Simulation crashed' record, exit -1 like Bench2Drive), hang
(no output, no exit), die (SIGKILL-like exit without a record), agent_crash (record
'Failed - Agent crashed'), fail_start (exit 1 before any route). 'times': the action
applies to the first n runs of the route, later runs are 'ok'. Every route start is
counted in <root>/counts/<id>; every process writes 'kind pid pgid port' to <root>/pids.log.
Only loopback addresses are used.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

FAKE_SERVER = r'''
import os, signal, socket, sys, time, json, threading
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # <root>/carla/fake_server.py -> <root>
port = int([a for a in sys.argv[1:] if a.startswith("-carla-rpc-port=")][0].split("=", 1)[1])
behaviour = json.load(open(os.path.join(root, "fake_server.json"))) if os.path.exists(os.path.join(root, "fake_server.json")) else {}
with open(os.path.join(root, "pids.log"), "a") as f:
    f.write(f"server {os.getpid()} {os.getpgid(0)} {port}\n")
print("fake CARLA server", sys.argv[1:], flush=True)
if behaviour.get("exit_at_start"):
    print("fake server: failing at start", flush=True)
    sys.exit(3)
time.sleep(behaviour.get("startup_delay_s", 0.0))
socks = []
for p in (port, port + 1):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", p))
    s.listen(16)
    socks.append(s)
held = []
def serve(s):
    while True:
        try:
            conn, _ = s.accept()
            held.append(conn)  # never answers: a carla.Client times out against it
        except OSError:
            return
for s in socks:
    threading.Thread(target=serve, args=(s,), daemon=True).start()
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
while True:
    time.sleep(0.2)
'''

# The option list of Bench2Drive's leaderboard_evaluator.py main(), names, types and defaults.
EVALUATOR_PARSER = r'''
parser = argparse.ArgumentParser()
parser.add_argument('--host', default='localhost')
parser.add_argument('--port', default=2000, type=int)
parser.add_argument('--traffic-manager-port', default=8000, type=int)
parser.add_argument('--traffic-manager-seed', default=0, type=int)
parser.add_argument('--debug', type=int, default=0)
parser.add_argument('--record', type=str, default='')
parser.add_argument('--timeout', default=600.0, type=float)
parser.add_argument('--routes', required=True)
parser.add_argument('--routes-subset', default='', type=str)
parser.add_argument('--repetitions', type=int, default=1)
parser.add_argument("-a", "--agent", type=str, required=True)
parser.add_argument("--agent-config", type=str, default="")
parser.add_argument("--track", type=str, default='SENSORS')
parser.add_argument('--resume', type=bool, default=False)
parser.add_argument("--checkpoint", type=str, default='./simulation_results.json')
parser.add_argument("--debug-checkpoint", type=str, default='./live_results.txt')
parser.add_argument("--gpu-rank", type=int, default=0)
'''

FAKE_EVALUATOR = r'''
import argparse, atexit, json, os, signal, socket, subprocess, sys, time
import xml.etree.ElementTree as ET
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))  # <root>/leaderboard/leaderboard -> <root>

__PARSER__
args = parser.parse_args()

behaviour = json.load(open(os.path.join(ROOT, "fake_behaviour.json")))
with open(os.path.join(ROOT, "pids.log"), "a") as f:
    f.write(f"evaluator {os.getpid()} {os.getpgid(0)} {args.port}\n")
with open(os.path.join(ROOT, "invocations.jsonl"), "a") as f:
    env = {k: os.environ.get(k) for k in ("CARLA_ROOT", "LEADERBOARD_ROOT", "SCENARIO_RUNNER_ROOT", "PYTHONPATH",
                                          "SAVE_PATH", "IS_BENCH2DRIVE", "CUDA_VISIBLE_DEVICES")}
    f.write(json.dumps({"argv": sys.argv[1:], "env": env}) + "\n")
if behaviour.get("fail_start"):
    print("fake evaluator: cannot import the agent", flush=True)
    sys.exit(1)
if behaviour.get("start_server"):  # Bench2Drive's evaluator starts the server itself, in its own session
    cmd = f"{os.path.join(os.environ['CARLA_ROOT'], 'CarlaUE4.sh')} -RenderOffScreen -nosound -carla-rpc-port={args.port} -graphicsadapter={args.gpu_rank}"
    server = subprocess.Popen(cmd, shell=True, preexec_fn=os.setsid)
    atexit.register(lambda: os.killpg(server.pid, signal.SIGKILL))
deadline = time.time() + 10
while True:
    try:
        socket.create_connection(("127.0.0.1", args.port), timeout=0.2).close()
        break
    except OSError:
        if time.time() > deadline:
            print("fake evaluator: no server on", args.port, flush=True)
            sys.exit(1)
        time.sleep(0.05)

# Bench2Drive's get_weather_id opens this relative to the working directory (its repository root).
ET.parse('leaderboard/data/weather.xml')
tree = ET.parse(args.routes)
subset = [s for s in args.routes_subset.split(",") if s]
ids = [r.attrib["id"] for r in tree.iter("route") if not subset or r.attrib["id"] in subset]
results = {"_checkpoint": {"global_record": {}, "progress": [0, len(ids)], "records": []}, "entry_status": "Started",
           "eligible": False, "sensors": ["carla_camera", "carla_lidar"], "values": [], "labels": []}

def write():
    with open(args.checkpoint, "w") as fd:
        json.dump(results, fd, indent=4)

def record(index, route_id, status, score):
    return {"index": index, "route_id": f"RouteScenario_{route_id}_rep0", "status": status, "num_infractions": 0,
            "infractions": {k: [] for k in ("collisions_layout", "collisions_pedestrian", "collisions_vehicle",
                            "red_light", "stop_infraction", "outside_route_lanes", "min_speed_infractions",
                            "yield_emergency_vehicle_infractions", "scenario_timeouts", "route_dev",
                            "vehicle_blocked", "route_timeout")},
            "scores": {"score_route": score, "score_penalty": 1.0, "score_composed": score},
            "meta": {"route_length": 100.0, "duration_game": 10.0, "duration_system": 1.0},
            "scenario_name": "Fake_1", "town_name": "Town01", "weather_id": "1",
            "save_name": f"RouteScenario_{route_id}_rep0_fake"}

write()
os.makedirs(os.path.join(ROOT, "counts"), exist_ok=True)
for index, route_id in enumerate(ids):
    counter = os.path.join(ROOT, "counts", route_id)
    runs = int(open(counter).read()) if os.path.exists(counter) else 0
    with open(counter, "w") as f:
        f.write(str(runs + 1))
    spec = dict(behaviour.get("default", {}))
    spec.update(behaviour.get("routes", {}).get(route_id, {}))
    action = spec.get("action", "ok")
    if runs >= spec.get("times", 10**9):
        action = "ok"
    print(f"========= Preparing RouteScenario_{route_id} (repetition 0) =========", flush=True)
    if action == "hang":
        while True:
            time.sleep(1)
    if action == "die":
        os._exit(137)
    steps = max(1, int(spec.get("duration_s", 0.1) / 0.05))
    route_dir = os.path.join(os.environ.get("SAVE_PATH", ROOT), f"RouteScenario_{route_id}_rep0_fake")
    os.makedirs(route_dir, exist_ok=True)
    for tick in range(steps):
        if action == "quiet":  # nothing on stdout; only the agent's per-tick file grows
            with open(os.path.join(route_dir, "ticks.jsonl"), "a") as f:
                f.write(json.dumps({"tick": tick}) + "\n")
        else:
            print(f"tick {tick}", flush=True)
        time.sleep(0.05)
    if action == "crash":
        results["_checkpoint"]["records"].append(record(index, route_id, "Failed - Simulation crashed", 0.0))
        results["entry_status"] = "Crashed"
        results["_checkpoint"]["progress"] = [index + 1, len(ids)]
        write()
        print("Simulation crashed", flush=True)
        sys.exit(-1)
    status = "Failed - Agent crashed" if action == "agent_crash" else "Completed"
    results["_checkpoint"]["records"].append(record(index, route_id, status, float(spec.get("score", 100.0))))
    results["_checkpoint"]["progress"] = [index + 1, len(ids)]
    write()
results["entry_status"] = "Finished"
write()
'''


def bench2drive_parser():
    """An argparse parser with exactly the evaluator's options (to check our command lines)."""
    import argparse

    scope: dict = {"argparse": argparse}
    exec(EVALUATOR_PARSER, scope)
    return scope["parser"]


def _write_executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def make_fake_carla(root: Path) -> Path:
    """<root>/carla/CarlaUE4.sh -> a Python server listening on 127.0.0.1:<rpc port> and +1."""
    carla = root / "carla"
    (carla / "PythonAPI" / "carla").mkdir(parents=True, exist_ok=True)
    (carla / "fake_server.py").write_text(FAKE_SERVER)
    _write_executable(carla / "CarlaUE4.sh",
                      f'#!/bin/bash\nexec "{sys.executable}" "{carla / "fake_server.py"}" "$@"\n')
    return carla


def make_fake_leaderboard(root: Path, behaviour: dict | None = None) -> tuple[Path, Path]:
    """(<root>/leaderboard, <root>/scenario_runner) with a fake leaderboard_evaluator.py."""
    leaderboard = root / "leaderboard"
    (leaderboard / "leaderboard").mkdir(parents=True, exist_ok=True)
    (leaderboard / "leaderboard" / "leaderboard_evaluator.py").write_text(
        FAKE_EVALUATOR.replace("__PARSER__", EVALUATOR_PARSER))
    (leaderboard / "data").mkdir(exist_ok=True)
    (leaderboard / "data" / "weather.xml").write_text("<weathers/>\n")
    scenario_runner = root / "scenario_runner"
    (scenario_runner / "srunner").mkdir(parents=True, exist_ok=True)
    set_behaviour(root, behaviour or {})
    return leaderboard, scenario_runner


def set_behaviour(root: Path, behaviour: dict) -> None:
    (root / "fake_behaviour.json").write_text(json.dumps(behaviour))


def set_server_behaviour(root: Path, behaviour: dict) -> None:
    """Keys: exit_at_start (bool), startup_delay_s (float)."""
    (root / "fake_server.json").write_text(json.dumps(behaviour))


def write_routes_xml(path: Path, ids: list[str], town: str = "Town01") -> Path:
    routes = []
    for k, route_id in enumerate(ids):
        x = 10.0 * k
        routes.append(textwrap.dedent(f"""\
            <route id="{route_id}" town="{town}">
              <waypoints><position x="{x}" y="0.0" z="0.0"/><position x="{x}" y="{50 + k}.0" z="0.0"/></waypoints>
              <scenarios><scenario name="Accident_{k}" type="Accident"><trigger_point x="{x}" y="1.0" z="0.0" yaw="90"/></scenario></scenarios>
            </route>"""))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("<routes>\n" + "\n".join(routes) + "\n</routes>\n")
    return path


def run_counts(root: Path) -> dict[str, int]:
    counts_dir = root / "counts"
    if not counts_dir.is_dir():
        return {}
    return {p.name: int(p.read_text()) for p in counts_dir.iterdir()}


def logged_pids(root: Path, kind: str | None = None) -> list[tuple[str, int, int, int]]:
    path = root / "pids.log"
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text().splitlines():
        k, pid, pgid, port = line.split()
        if kind is None or k == kind:
            rows.append((k, int(pid), int(pgid), int(port)))
    return rows


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except OSError:
        return False


def wait_for(condition, timeout_s: float = 10.0, interval_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval_s)
    return condition()


# ---- self-tests of the fakes ---------------------------------------------------------------

def test_fake_server_listens_on_loopback_rpc_port(tmp_path):
    from launch.launch_config import PortsConfig
    from launch.ports import PortAllocator, port_accepts

    carla = make_fake_carla(tmp_path)
    port = PortAllocator(PortsConfig(rpc_base=31000)).allocate(0).rpc
    proc = subprocess.Popen([str(carla / "CarlaUE4.sh"), f"-carla-rpc-port={port}"], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: port_accepts("127.0.0.1", port), 10)
        assert logged_pids(tmp_path, "server")[0][3] == port
    finally:
        os.killpg(proc.pid, 9)
        proc.wait()


def test_fake_evaluator_writes_a_leaderboard_checkpoint(tmp_path):
    make_fake_leaderboard(tmp_path, {"default": {"duration_s": 0.05}, "routes": {"2": {"score": 40.0}}})
    routes = write_routes_xml(tmp_path / "r.xml", ["1", "2", "3"])
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    try:
        done = subprocess.run([sys.executable, str(tmp_path / "leaderboard/leaderboard/leaderboard_evaluator.py"),
                               f"--routes={routes}", "--routes-subset=2,3", "--agent=x.py", f"--port={port}",
                               f"--checkpoint={tmp_path / 'ck.json'}"], capture_output=True, timeout=30,
                              cwd=tmp_path)
    finally:
        server.close()
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads((tmp_path / "ck.json").read_text())
    assert [r["route_id"] for r in data["_checkpoint"]["records"]] == ["RouteScenario_2_rep0", "RouteScenario_3_rep0"]
    assert data["_checkpoint"]["records"][0]["scores"]["score_composed"] == 40.0
    assert data["entry_status"] == "Finished" and data["_checkpoint"]["progress"] == [2, 2]
    assert run_counts(tmp_path) == {"2": 1, "3": 1}
