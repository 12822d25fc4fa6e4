"""automot replay: failed routes re-run with debugging (and the recorder), recorder logs followed
by the camera, debug frames turned into videos."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import stat

import pytest
import yaml
from rich.console import Console
from test_launch_evaluate import fast_config
from test_launch_fakes import (
    make_fake_carla,
    make_fake_leaderboard,
    run_counts,
    set_behaviour,
    write_routes_xml,
)

from agent.automot_config import AgentConfig, load_agent_config
from agent.debug_frames import DebugFrameRecorder
from controllers.command import VehicleCommand
from core.typed_config import to_dict
from launch.cli import main
from launch.evaluate_plan import make_plan
from launch.launch_config import ReplayConfig
from launch.leaderboard_command import resolve_paths
from launch.local_runner import run_local
from launch.replay import ReplayError, hero_id_from_info, recording_duration, replay_recorder_log

HAVE_CARLA = importlib.util.find_spec("carla") is not None

INFO = """Version: 1
Map: Town12
Date: 11/24/26 16:00:00

Frame 1 at 0 seconds
 Create 190: spectator (0) at (0, 0, 0)
 Create 211: vehicle.tesla.model3 (1) at (100, 200, 30)
  number_of_wheels = 4
  role_name = scenario
 Create 212: vehicle.lincoln.mkz_2020 (1) at (150, 250, 30)
  number_of_wheels = 4
  role_name = hero
Frame 2 at 0.05 seconds

Frames: 830
Duration: 41.5 seconds
"""


class FakeClient:
    def __init__(self, info=INFO, fail=False):
        self.info, self.fail, self.calls = info, fail, []

    def show_recorder_file_info(self, name, show_all):
        if self.fail:
            raise RuntimeError("time-out of 500ms while waiting for the simulator")
        self.calls.append(("info", name, show_all))
        return self.info

    def set_replayer_time_factor(self, factor):
        self.calls.append(("factor", factor))

    def replay_file(self, name, start, duration, follow_id):
        self.calls.append(("replay", name, start, duration, follow_id))


def test_recorder_log_replay_follows_the_hero():
    assert hero_id_from_info(INFO) == 212 and recording_duration(INFO) == 41.5
    assert hero_id_from_info(INFO.replace("role_name = hero", "role_name = x")) is None
    client = FakeClient()
    hero, length = replay_recorder_log(client, "/logs/RouteScenario_3_rep0.log", ReplayConfig(time_factor=2.0), 5.0)
    assert (hero, length) == (212, 41.5)
    assert client.calls[-1] == ("replay", "/logs/RouteScenario_3_rep0.log", 5.0, 0.0, 212)
    assert ("factor", 2.0) in client.calls
    with pytest.raises(ReplayError, match="role_name = hero"):
        replay_recorder_log(FakeClient(info="Frames: 1\n"), "/x.log", ReplayConfig())
    with pytest.raises(ReplayError, match="did not answer"):
        replay_recorder_log(FakeClient(fail=True), "/x.log", ReplayConfig())


@pytest.mark.carla
@pytest.mark.skipif(not HAVE_CARLA, reason="carla client not installed")
def test_replay_log_command_against_a_server_that_does_not_answer(tmp_path):
    """A real carla.Client against the fake server: the recorder call times out, the command says so."""
    import subprocess

    from test_launch_fakes import wait_for

    from launch.launch_config import PortsConfig
    from launch.ports import PortAllocator, port_accepts

    carla_root = make_fake_carla(tmp_path)
    port = PortAllocator(PortsConfig(rpc_base=38000)).allocate(0).rpc
    server = subprocess.Popen([str(carla_root / "CarlaUE4.sh"), f"-carla-rpc-port={port}"], start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: port_accepts("127.0.0.1", port), 10)
        code = main(["replay", "log", "--log", str(tmp_path / "a.log"), "--port", str(port),
                     "--set", "replay.client_timeout_s=0.5"])
        assert code == 1
    finally:
        os.killpg(server.pid, 9)
        server.wait()


def test_failed_routes_are_rerun_with_debugging_and_the_recorder(tmp_path):
    make_fake_carla(tmp_path)
    make_fake_leaderboard(tmp_path, {"default": {"action": "ok", "duration_s": 0.05},
                                     "routes": {"2": {"action": "agent_crash"}}})
    (tmp_path / "agent.yaml").write_text("")
    routes = write_routes_xml(tmp_path / "routes.xml", ["1", "2", "3"])
    config = fast_config(tmp_path)
    plan = make_plan(routes, tmp_path / "run", tmp_path / "agent.yaml", (0,), 1, config)
    assert run_local(plan, resolve_paths(config.paths), config, console=Console(file=io.StringIO())).exit_code == 0
    set_behaviour(tmp_path, {"default": {"action": "ok", "duration_s": 0.05}})
    (tmp_path / "launch.yaml").write_text(yaml.safe_dump(to_dict(config)))
    code = main(["replay", "failed", "--results", str(tmp_path / "run"), "--out", str(tmp_path / "replay"),
                 "--record", "--launch-config", str(tmp_path / "launch.yaml")])
    assert code == 0
    assert run_counts(tmp_path) == {"1": 1, "2": 2, "3": 1}  # only the failed route ran again
    replay_config = load_agent_config(str(tmp_path / "replay" / "agent_config.yaml"))
    assert replay_config.logging.debug_frames and replay_config.logging.debug_video
    assert replay_config.logging.draw_plan and replay_config.logging.spectator == "chase"
    last = json.loads((tmp_path / "invocations.jsonl").read_text().splitlines()[-1])
    assert "--routes-subset=2" in last["argv"]
    record = next(a for a in last["argv"] if a.startswith("--record="))
    assert record.endswith("/recordings") and os.path.isdir(record.split("=", 1)[1])


def test_nothing_failed_is_a_clear_message(tmp_path, capsys):
    make_fake_carla(tmp_path)
    make_fake_leaderboard(tmp_path, {"default": {"action": "ok", "duration_s": 0.05}})
    (tmp_path / "agent.yaml").write_text("")
    routes = write_routes_xml(tmp_path / "routes.xml", ["1"])
    config = fast_config(tmp_path)
    plan = make_plan(routes, tmp_path / "run", tmp_path / "agent.yaml", (0,), 1, config)
    run_local(plan, resolve_paths(config.paths), config, console=Console(file=io.StringIO()))
    assert main(["replay", "failed", "--results", str(tmp_path / "run"), "--out", str(tmp_path / "r")]) == 2
    assert "no route" in capsys.readouterr().out


def test_debug_frames_become_videos_and_play(tmp_path, monkeypatch, capsys):
    from test_launch_debug_views import a_plan, observation

    config = AgentConfig()
    for route in ("RouteScenario_1_rep0_x", "RouteScenario_2_rep0_x"):
        recorder = DebugFrameRecorder(tmp_path / "save" / route / "debug", config)
        for tick in range(2):
            recorder.record(tick, observation(config, tick), a_plan(), VehicleCommand(0.0, 0.2, 0.0), ("keep",))
        recorder.close()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    player = bin_dir / "ffplay"
    player.write_text(f"#!/bin/bash\necho \"$@\" >> {tmp_path / 'played.txt'}\n")
    player.chmod(player.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert main(["replay", "frames", "--dir", str(tmp_path / "save"), "--play"]) == 0
    videos = sorted((tmp_path / "save").rglob("debug.mp4"))
    assert len(videos) == 2 and all(v.stat().st_size > 0 for v in videos)
    played = (tmp_path / "played.txt").read_text().splitlines()
    assert [line.split()[-1] for line in played] == [str(v) for v in videos]
    assert "-autoexit" in played[0]
    assert main(["replay", "frames", "--dir", str(tmp_path / "empty_dir_that_is_missing")]) == 1
