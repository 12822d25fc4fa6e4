"""The evaluator's command line / environment, path resolution, and `automot evaluate` as a
process: clean Ctrl-C that kills only the process groups it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_launch_fakes import (
    bench2drive_parser,
    logged_pids,
    make_fake_carla,
    make_fake_leaderboard,
    pid_alive,
    wait_for,
    write_routes_xml,
)

from launch.cmd_evaluate import parse_overrides
from launch.launch_config import ConfigError, LaunchConfig, PathsConfig, load_launch_config
from launch.leaderboard_command import (
    EvaluatorRun,
    PathsError,
    evaluator_argv,
    evaluator_env,
    resolve_paths,
    server_mode,
)

REPO = Path(__file__).resolve().parents[1]


def fake_paths(root: Path) -> PathsConfig:
    make_fake_carla(root)
    make_fake_leaderboard(root)
    return PathsConfig(carla_root=str(root / "carla"), leaderboard_root=str(root / "leaderboard"),
                       scenario_runner_root=str(root / "scenario_runner"))


def a_run(root: Path, **changes) -> EvaluatorRun:
    values = dict(routes=root / "routes.xml", routes_subset=("3", "7"), checkpoint=root / "ck.json",
                  debug_checkpoint=root / "live.txt", agent_config=root / "agent.yaml", save_path=root / "save",
                  rpc_port=20000, traffic_manager_port=40000, gpu=2)
    values.update(changes)
    return EvaluatorRun(**values)


def test_argv_parses_with_the_evaluators_own_options(tmp_path):
    paths = resolve_paths(fake_paths(tmp_path))
    argv = evaluator_argv(a_run(tmp_path, record_dir=tmp_path / "rec", resume=True), paths, LaunchConfig())
    assert argv[:2] == [sys.executable, str(tmp_path / "leaderboard" / "leaderboard" / "leaderboard_evaluator.py")]
    args = bench2drive_parser().parse_args(argv[2:])  # an unknown option would exit here
    assert (args.port, args.traffic_manager_port, args.gpu_rank) == (20000, 40000, 2)
    assert args.routes_subset == "3,7" and args.routes == str(tmp_path / "routes.xml")
    assert args.agent == str(REPO / "agent" / "automot_agent.py")
    assert args.agent_config == str(tmp_path / "agent.yaml")  # Bench2Drive appends '+save_name' itself
    assert args.checkpoint == str(tmp_path / "ck.json") and args.debug_checkpoint == str(tmp_path / "live.txt")
    assert args.record == str(tmp_path / "rec") and args.resume is True
    assert (args.track, args.repetitions, args.timeout, args.traffic_manager_seed) == ("SENSORS", 1, 600.0, 0)
    plain = bench2drive_parser().parse_args(evaluator_argv(a_run(tmp_path, routes_subset=()), paths,
                                                           LaunchConfig())[2:])
    assert plain.resume is False and plain.record == "" and plain.routes_subset == ""
    upstream = evaluator_argv(a_run(tmp_path), paths, LaunchConfig(), gpu_rank=False)
    assert not any(a.startswith("--gpu-rank") for a in upstream)


def test_env_has_what_the_leaderboard_expects(tmp_path):
    paths = resolve_paths(fake_paths(tmp_path))
    env = evaluator_env(a_run(tmp_path), paths, LaunchConfig(), base={"PYTHONPATH": "/user/lib", "HOME": "/h"})
    assert env["CARLA_ROOT"] == str(tmp_path / "carla")
    assert env["LEADERBOARD_ROOT"] == str(tmp_path / "leaderboard")
    assert env["SCENARIO_RUNNER_ROOT"] == str(tmp_path / "scenario_runner")
    parts = env["PYTHONPATH"].split(os.pathsep)
    assert parts[0] == str(REPO) and parts[-1] == "/user/lib"
    assert str(tmp_path / "carla" / "PythonAPI" / "carla") in parts and str(tmp_path / "leaderboard") in parts
    assert env["SAVE_PATH"] == str(tmp_path / "save") and env["IS_BENCH2DRIVE"] == "True"
    assert env["CUDA_VISIBLE_DEVICES"] == "2" and env["HOME"] == "/h"
    not_b2d = LaunchConfig(evaluator=LaunchConfig().evaluator.__class__(is_bench2drive=False))
    assert "IS_BENCH2DRIVE" not in evaluator_env(a_run(tmp_path), paths, not_b2d, base={"IS_BENCH2DRIVE": "1"})


def test_paths_fall_back_to_carla_variables_and_errors_say_how_to_fix(tmp_path):
    fake_paths(tmp_path)
    environ = {"CARLA_ROOT": str(tmp_path / "carla"), "LEADERBOARD_ROOT": str(tmp_path / "leaderboard"),
               "SCENARIO_RUNNER_ROOT": str(tmp_path / "scenario_runner")}
    assert resolve_paths(PathsConfig(), environ).carla_root == tmp_path / "carla"
    with pytest.raises(PathsError, match=r"paths.carla_root is not set and CARLA_ROOT is not in the environment"):
        resolve_paths(PathsConfig(), {k: v for k, v in environ.items() if k != "CARLA_ROOT"})
    with pytest.raises(PathsError, match=r"leaderboard_evaluator.py not found"):
        resolve_paths(PathsConfig(leaderboard_root=str(tmp_path)), environ)
    with pytest.raises(PathsError, match=r"agent file .* not found"):
        resolve_paths(PathsConfig(agent_file=str(tmp_path / "nope.py")), environ)


def test_server_mode_auto_detects_an_evaluator_that_starts_carla(tmp_path):
    paths = resolve_paths(fake_paths(tmp_path))
    evaluator = paths.evaluator
    assert server_mode(LaunchConfig(), paths) == "evaluator"  # the fake, like Bench2Drive's, runs CarlaUE4.sh
    evaluator.write_text("print('upstream leaderboard 2.0: connects to a running server')\n")
    assert server_mode(LaunchConfig(), paths) == "launcher"
    forced = load_launch_config(None, {"server.mode": "evaluator"})
    assert server_mode(forced, paths) == "evaluator"


def test_launch_config_yaml_and_overrides(tmp_path):
    path = tmp_path / "launch.yaml"
    path.write_text("recovery:\n  crash_limit: 5\nslurm:\n  partition: gpu\n")
    config = load_launch_config(path, parse_overrides(["recovery.watchdog_minutes=0.5", "server.probe=tcp"]))
    assert config.recovery.crash_limit == 5 and config.slurm.partition == "gpu"
    assert config.recovery.watchdog_s == 30.0 and config.server.probe == "tcp"
    path.write_text("recovery:\n  crash_limt: 5\n")
    with pytest.raises(ConfigError, match="Did you mean 'crash_limit'"):
        load_launch_config(path)
    with pytest.raises(ConfigError, match=r"ports.stride must be"):
        load_launch_config(None, {"ports.stride": 1})
    with pytest.raises(ConfigError, match="key=value"):
        parse_overrides(["recovery.crash_limit"])


def test_embedded_simulator_delegation_or_clear_error(tmp_path, capsys):
    from launch.cli import main

    code = main(["evaluate", "--simulator", "embedded", "--routes", str(tmp_path / "r.xml"), "--config",
                 str(tmp_path / "a.yaml"), "--out", str(tmp_path / "out")])
    import importlib.util

    if importlib.util.find_spec("launch.cmd_sim") is None:
        assert code == 2 and "embedded simulator's runner" in capsys.readouterr().err


def test_ctrl_c_stops_cleanly_and_kills_only_own_process_groups(tmp_path):
    paths = fake_paths(tmp_path)
    from test_launch_fakes import set_behaviour

    set_behaviour(tmp_path, {"default": {"action": "hang"}, "start_server": True})
    routes = write_routes_xml(tmp_path / "routes.xml", ["1", "2", "3", "4"])
    (tmp_path / "agent.yaml").write_text("")
    launch_yaml = tmp_path / "launch.yaml"
    launch_yaml.write_text(
        f"paths: {{carla_root: '{paths.carla_root}', leaderboard_root: '{paths.leaderboard_root}', "
        f"scenario_runner_root: '{paths.scenario_runner_root}'}}\n"
        "server: {probe: tcp, poll_interval_s: 0.05, stop_grace_s: 1.0}\n"
        "ports: {rpc_base: 35200, tm_base: 35700}\n"
        "recovery: {watchdog_minutes: 10}\npoll_interval_s: 0.05\nprogress_refresh_s: 0.1\n")
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    command = [sys.executable, "-m", "launch.cli", "evaluate", "--routes", str(routes), "--config",
               str(tmp_path / "agent.yaml"), "--out", str(tmp_path / "out"), "--gpus", "0,1",
               "--launch-config", str(launch_yaml)]
    launcher = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # both workers up: evaluators running and each has started its own server (setsid)
        assert wait_for(lambda: len(logged_pids(tmp_path, "server")) >= 2 and
                        len(logged_pids(tmp_path, "evaluator")) >= 2, 30)
        time.sleep(0.5)  # let the workers adopt the evaluator-started servers
        started = time.monotonic()
        launcher.send_signal(signal.SIGINT)
        output, _ = launcher.communicate(timeout=20)
        assert launcher.returncode == 130, output
        assert time.monotonic() - started < 10
        assert "interrupted: run the same command again" in output
        assert "killing 4 process group(s)" in output  # 2 evaluators + the 2 servers they started
        ours = logged_pids(tmp_path)
        assert ours and all(not pid_alive(pid) for _, pid, _, _ in ours), ours
        assert pid_alive(bystander.pid)
    finally:
        if launcher.poll() is None:
            launcher.kill()
        for _, pid, pgid, _ in logged_pids(tmp_path):
            if pid_alive(pid):
                os.killpg(pgid, signal.SIGKILL)
        os.killpg(bystander.pid, signal.SIGKILL)
        bystander.wait()


def test_evaluate_without_carla_root_says_how_to_fix_and_writes_nothing(tmp_path, monkeypatch, capsys):
    from launch.cli import main

    for name in ("CARLA_ROOT", "LEADERBOARD_ROOT", "SCENARIO_RUNNER_ROOT"):
        monkeypatch.delenv(name, raising=False)
    routes = write_routes_xml(tmp_path / "routes.xml", ["1"])
    (tmp_path / "agent.yaml").write_text("")
    code = main(["evaluate", "--routes", str(routes), "--config", str(tmp_path / "agent.yaml"),
                 "--out", str(tmp_path / "out")])
    assert code == 2 and "CARLA_ROOT is not in the environment" in capsys.readouterr().out
    assert not (tmp_path / "out").exists()
