"""Config: `automot config --check` checks the model folders, duplicate YAML keys are errors, 1e9 is a
float, and sizes that cannot fit in memory are rejected on load."""

from __future__ import annotations

import pytest

from agent.automot_config import agent_config_from_dict, load_agent_config
from core.typed_config import ConfigError, parse_yaml
from launch.cli import main
from launch.cmd_evaluate import parse_overrides


def _check(tmp_path, text: str, capsys) -> tuple[int, str]:
    path = tmp_path / "agent.yaml"
    path.write_text(text)
    code = main(["config", "--check", str(path)])
    return code, capsys.readouterr().out


def test_check_verifies_the_checkpoint_folder(tmp_path, capsys):
    code, out = _check(tmp_path, f"model: {{checkpoint: {tmp_path / 'nowhere'}}}\n", capsys)
    assert code == 1 and "does not exist" in out  # today: ok
    weights = tmp_path / "release" / "model.safetensors"
    weights.parent.mkdir()
    weights.write_bytes(b"")
    code, out = _check(tmp_path, f"model: {{checkpoint: {weights}}}\n", capsys)
    assert code == 1 and "is a file; give the folder that holds it" in out and str(weights.parent) in out
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out = _check(tmp_path, f"model: {{checkpoint: {empty}}}\n", capsys)
    assert code == 1 and "holds neither" in out
    code, out = _check(tmp_path, f"model: {{checkpoint: {weights.parent}}}\n", capsys)  # the official layout
    assert code == 0 and "ok" in out
    code, out = _check(tmp_path, f"model: {{qwen_path: {empty}}}\n", capsys)
    assert code == 1 and "config.json" in out


def test_duplicate_keys_are_rejected_with_their_lines(tmp_path, capsys):
    code, out = _check(tmp_path, "scheduler:\n  ue_interval: 2\n  ue_interval: 4\n", capsys)
    assert code == 1 and "duplicate key 'ue_interval' on line 3 (first given on line 2)" in out
    path = tmp_path / "agent.yaml"
    path.write_text("planner: {kind: route_follower}\nplanner: {kind: automot}\n")
    with pytest.raises(ConfigError, match="duplicate key 'planner'"):
        load_agent_config(path)


def test_exponent_floats_without_a_dot(tmp_path, capsys):
    path = tmp_path / "agent.yaml"
    path.write_text("controllers: {longitudinal: {max_speed_mps: 2e1}}\nsensors: {sanity: {max_lidar_points: 2e5}}\n")
    config = load_agent_config(path)
    assert config.controllers.longitudinal.max_speed_mps == 20.0  # YAML 1.1 reads '2e1' as a string
    assert config.sensors.sanity.max_lidar_points == 200_000
    assert parse_yaml("a: 10\nb: 1e3\nc: 1.5e+2\n") == {"a": 10, "b": 1000.0, "c": 150.0}
    assert parse_overrides(["recovery.watchdog_minutes=1e1"]) == {"recovery.watchdog_minutes": 10.0}
    code, out = _check(tmp_path, "controllers: {longitudinal: {max_speed_mps: '1e9'}}\n", capsys)
    assert code == 1 and "write it without quotes" in out


@pytest.mark.parametrize("data,fragment", [
    ({"sensors": {"bev": {"pixels_per_meter": 1.0e9}}}, "px per side"),  # today: passes, every tick fails
    ({"sensors": {"bev": {"range_m": float("inf")}}}, "px per side"),
    ({"sensors": {"cameras": [{"id": "rgb_front", "x": 0, "y": 0, "z": 2, "width": 100000, "height": 512}]}}, "1..8192"),
    ({"sensors": {"history_frames": 100000}}, "history_frames"),
    ({"controllers": {"lateral": {"interpolation_step_m": 1e-9}}}, "interpolation_step_m"),
    ({"planner": {"route": {"route_points": 10 ** 8}}}, "route_points"),
    ({"sensors": {"sanity": {"max_lidar_points": 10 ** 9}}}, "max_lidar_points"),
])
def test_sizes_that_cannot_fit_are_rejected(data, fragment):
    with pytest.raises(ConfigError, match=fragment):
        agent_config_from_dict(data)
