"""automot doctor: each problem found with its one-line fix; exit 1 while something blocks a run."""

from __future__ import annotations

import importlib.metadata
import os
import stat
from pathlib import Path

import pytest
from test_launch_fakes import make_fake_carla, make_fake_leaderboard

from launch.doctor import (
    blocking_failures,
    check_vulkan,
    import_fix,
    run_doctor,
    scan_source_fixes,
    server_version,
)
from launch.launch_config import launch_config_from_dict

try:
    CLIENT = importlib.metadata.version("carla")
except importlib.metadata.PackageNotFoundError:
    CLIENT = None


def machine(root: Path, monkeypatch, server_version_text: str, gpus_listed: int = 2) -> dict:
    carla = make_fake_carla(root)
    binary = carla / "CarlaUE4" / "Binaries" / "Linux" / "CarlaUE4-Linux-Shipping"
    binary.parent.mkdir(parents=True)
    binary.write_text("")
    dist = carla / "PythonAPI" / "carla" / "dist"
    dist.mkdir(parents=True)
    (dist / f"carla-{server_version_text}-cp310-cp310-manylinux_2_27_x86_64.whl").write_text("")
    make_fake_leaderboard(root)
    utils = root / "leaderboard" / "leaderboard" / "utils"
    utils.mkdir(parents=True)
    (utils / "statistics_manager.py").write_text("import dictor_not_installed_here\n")
    (utils / "route_indexer.py").write_text("x = 1\n")
    parser = root / "scenario_runner" / "srunner" / "route_parser.py"
    parser.write_text("def parse(scenario):\n    for elem in scenario.getchildren():\n        pass\n")
    bin_dir = root / "bin"
    bin_dir.mkdir()
    smi = bin_dir / "nvidia-smi"
    smi.write_text("#!/bin/bash\n" + "".join(f"echo 'GPU {i}: NVIDIA H100 (UUID: GPU-{i})'\n" for i in range(gpus_listed)))
    smi.chmod(smi.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    icd = root / "icd.d"
    icd.mkdir()
    (icd / "nvidia_icd.json").write_text("{}")
    return {
        "paths": {"carla_root": str(carla), "leaderboard_root": str(root / "leaderboard"),
                  "scenario_runner_root": str(root / "scenario_runner")},
        "ports": {"rpc_base": 37000, "tm_base": 37500},
        "doctor": {"import_modules": ["leaderboard.utils.route_indexer", "leaderboard.utils.statistics_manager",
                                      "agents.navigation.local_planner"],
                   "vulkan_loader": "libm.so.6", "vulkan_icd_dirs": [str(icd)]},
    }


def by_check(findings):
    return {f.check: f for f in findings}


@pytest.mark.skipif(CLIENT is None, reason="needs the carla client package for the version check")
def test_doctor_reports_each_problem_with_a_fix(tmp_path, monkeypatch):
    config = launch_config_from_dict(machine(tmp_path, monkeypatch, "0.9.15"))
    findings = run_doctor(config, {}, gpus=(0, 3))
    found = by_check(findings)
    assert found["CARLA_ROOT"].ok and found["server binary"].ok
    version = found["client/server version"]
    wheel = tmp_path / "carla" / "PythonAPI" / "carla" / "dist" / "carla-0.9.15-cp310-cp310-manylinux_2_27_x86_64.whl"
    if CLIENT != "0.9.15":
        assert not version.ok and str(wheel) in version.fix
        python = found["evaluator Python"]  # this interpreter has no 0.9.15 client wheel at all
        assert not python.ok and "client wheels for Python 3.8, 3.10 only" in python.detail
        assert python.fix == version.fix and "Python 3.10 environment" in python.fix
    assert found["py_trees"].ok == (importlib.metadata.version("py_trees") == "0.8.3")
    assert found["import leaderboard.utils.route_indexer"].ok
    stats = found["import leaderboard.utils.statistics_manager"]
    assert not stats.ok and "dictor_not_installed_here" in stats.detail
    assert stats.fix == "pip install dictor_not_installed_here"
    agents = found["import agents.navigation.local_planner"]
    assert not agents.ok and "PythonAPI/carla" in agents.fix
    fixes = found["Python >= 3.9 fixes"]
    assert not fixes.ok and "route_parser.py:2" in fixes.detail and fixes.fix == "replace X.getchildren() with list(X)"
    gpus = found["GPUs"]
    assert not gpus.ok and "asked for [0, 3]" in gpus.detail and gpus.fix == "use --gpus from 0,1"
    assert found["ports"].ok and "37000-37002/37500" in found["ports"].detail
    assert found["Vulkan loader"].ok and found["Vulkan NVIDIA ICD"].ok
    assert blocking_failures(findings)


@pytest.mark.skipif(CLIENT is None, reason="needs the carla client package for the version check")
def test_doctor_passes_on_a_ready_machine_and_the_command_exits_zero(tmp_path, monkeypatch, capsys):
    data = machine(tmp_path, monkeypatch, CLIENT or "0.9.16")
    (tmp_path / "leaderboard" / "leaderboard" / "utils" / "statistics_manager.py").write_text("import json\n")
    (tmp_path / "scenario_runner" / "srunner" / "route_parser.py").write_text("def parse(s):\n    return list(s)\n")
    agents = tmp_path / "carla" / "PythonAPI" / "carla" / "agents" / "navigation"
    agents.mkdir(parents=True)
    (agents / "local_planner.py").write_text("class RoadOption: pass\n")
    config = launch_config_from_dict(data)
    findings = run_doctor(config, {}, gpus=(0, 1))
    assert not blocking_failures(findings), [f for f in findings if not f.ok]
    import yaml

    from launch.cli import main

    (tmp_path / "launch.yaml").write_text(yaml.safe_dump(data))
    assert main(["doctor", "--gpus", "0,1", "--launch-config", str(tmp_path / "launch.yaml")]) == 0
    assert "ready to evaluate on CARLA" in capsys.readouterr().out
    # break one thing: the command exits 1 and prints the fix
    (tmp_path / "carla" / "CarlaUE4.sh").unlink()
    assert main(["doctor", "--gpus", "0,1", "--launch-config", str(tmp_path / "launch.yaml")]) == 1
    out = capsys.readouterr().out
    assert "block a CARLA run" in out and "download CARLA 0.9.15" in out


def test_missing_roots_name_the_variable_to_set(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-smi either
    config = launch_config_from_dict({"doctor": {"vulkan_loader": "libnot-a-vulkan.so.9",
                                                 "vulkan_icd_dirs": [str(tmp_path)]}})
    found = by_check(run_doctor(config, {"LEADERBOARD_ROOT": str(tmp_path / "missing")}))
    assert found["CARLA_ROOT"].fix.startswith("export CARLA_ROOT=")
    assert "is not a folder" in found["LEADERBOARD_ROOT"].detail
    assert found["GPUs"].detail == "nvidia-smi not found"
    assert found["Vulkan loader"].fix.startswith("apt-get install libvulkan1")
    assert not found["Vulkan NVIDIA ICD"].ok


def test_small_helpers(tmp_path):
    dist = tmp_path / "PythonAPI" / "carla" / "dist"
    dist.mkdir(parents=True)
    (dist / "carla-0.9.15-py3.7-linux-x86_64.egg").write_text("")
    assert server_version(tmp_path) == "0.9.15"
    assert server_version(tmp_path / "nope") is None
    assert import_fix("x", "ModuleNotFoundError: No module named 'yaml'") == "pip install pyyaml"
    assert "SCENARIO_RUNNER_ROOT" in import_fix("srunner.a", "ModuleNotFoundError: No module named 'srunner'")
    src = tmp_path / "old.py"
    src.write_text("import collections\nx = collections.Mapping\n")
    assert scan_source_fixes([tmp_path], (3, 9))[0].ok  # removed only in 3.10
    assert not scan_source_fixes([tmp_path], (3, 10))[0].ok
    assert len(check_vulkan(launch_config_from_dict({"doctor": {"vulkan_icd_dirs": [str(tmp_path)]}}))) == 2


def test_working_folder_check_finds_bench2drives_relative_weather_file(tmp_path):
    from launch.doctor import check_working_dir
    from launch.leaderboard_command import resolve_paths

    data = machine_paths(tmp_path)
    evaluator = tmp_path / "leaderboard" / "leaderboard" / "leaderboard_evaluator.py"
    evaluator.write_text("tree = ET.parse('leaderboard/data/weather.xml')\n")
    config = launch_config_from_dict(data)
    paths = resolve_paths(config.paths, {})
    assert check_working_dir(paths, config).ok  # <root>/leaderboard/data/weather.xml exists
    (tmp_path / "leaderboard" / "data" / "weather.xml").unlink()
    finding = check_working_dir(paths, config)
    assert not finding.ok and "leaderboard/data/weather.xml" in finding.detail
    assert finding.fix == "set evaluator.working_dir to Bench2Drive's repository root"


def machine_paths(root: Path) -> dict:
    make_fake_carla(root)
    make_fake_leaderboard(root)
    return {"paths": {"carla_root": str(root / "carla"), "leaderboard_root": str(root / "leaderboard"),
                      "scenario_runner_root": str(root / "scenario_runner")}}


def test_client_install_fix_is_one_rule_for_every_python(tmp_path):
    from launch.doctor import check_probe

    carla = tmp_path / "carla"
    dist = carla / "PythonAPI" / "carla" / "dist"
    dist.mkdir(parents=True)
    wheel = dist / "carla-0.9.15-cp310-cp310-manylinux_2_27_x86_64.whl"
    wheel.write_text("")
    config = launch_config_from_dict({})

    def found(python, client):
        probe = {"python": list(python), "versions": {"carla": client, "py_trees": "0.8.3"}, "imports": {}}
        return by_check(check_probe(probe, carla, config, "/envs/b2d/bin/python"))

    ready = found((3, 10, 12), None)
    assert ready["evaluator Python"].ok
    assert ready["carla client"].fix == f"/envs/b2d/bin/python -m pip install {wheel}"  # the server's own wheel
    old = found((3, 8, 10), "0.9.15")  # a 0.9.15 wheel exists for 3.8, but the agent needs 3.10
    assert not old["evaluator Python"].ok and "needs Python >= 3.10" in old["evaluator Python"].detail
    new = found((3, 12, 1), None)
    assert not new["evaluator Python"].ok and "3.8, 3.10 only" in new["evaluator Python"].detail
    assert new["carla client"].fix == new["evaluator Python"].fix and str(wheel) in new["carla client"].fix
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "-m pip install \"$CARLA_ROOT\"/PythonAPI/carla/dist/carla-0.9.15-cp310-" in readme  # the same fix


def test_doctor_says_the_embedded_simulator_needs_no_carla(tmp_path, monkeypatch, capsys):
    from launch.cli import main

    monkeypatch.setenv("PATH", str(tmp_path))
    for name in ("CARLA_ROOT", "LEADERBOARD_ROOT", "SCENARIO_RUNNER_ROOT"):
        monkeypatch.delenv(name, raising=False)
    assert main(["doctor"]) == 1
    assert "automot sim (the embedded simulator) runs without CARLA" in capsys.readouterr().out
