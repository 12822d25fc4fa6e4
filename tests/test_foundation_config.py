"""Config: strict loading, suggestions for misspelled keys, validation, Bench2Drive's setup argument."""

from __future__ import annotations

import pytest
import yaml

from agent.automot_config import (
    AgentConfig,
    agent_config_from_dict,
    load_agent_config,
    save_agent_config,
    split_setup_argument,
)
from core.typed_config import ConfigError, override, to_dict


def test_defaults_match_the_design_rig():
    config = AgentConfig()
    front = config.sensors.cameras[0]
    assert (front.width, front.height, front.fov) == (1024, 512, 110.0)
    assert (front.x, front.y, front.z) == (-1.5, 0.0, 2.0)
    assert config.sensors.lidar is not None and config.sensors.lidar.yaw == -90.0
    assert config.sensors.history_stride_ticks == 5
    assert config.scheduler.ue_interval == 2


def test_misspelled_key_names_path_and_suggests():
    with pytest.raises(ConfigError) as err:
        agent_config_from_dict({"controllers": {"lateral": {"lookahed_min": 10}}})
    message = str(err.value)
    assert "controllers.lateral.lookahed_min" in message
    assert "lookahead_min" in message


def test_unknown_top_level_section():
    with pytest.raises(ConfigError, match="Did you mean 'sensors'"):
        agent_config_from_dict({"sensor": {}})


@pytest.mark.parametrize(
    "data, fragment",
    [
        ({"scheduler": {"ue_interval": 0}}, "ue_interval"),
        ({"scheduler": {"ue_interval": "two"}}, "scheduler.ue_interval"),
        ({"scheduler": {"mode": "async"}}, "not one of"),
        ({"sensors": {"cameras": [{"id": "a", "x": 0, "y": 0, "z": 1, "fov": 0}]}}, "fov"),
        ({"sensors": {"front_camera_id": "nope"}}, "front_camera_id"),
        ({"sensors": {"model_image_width": 500}}, "multiples of 32"),
        ({"planner": {"route": {"min_distance_m": 60.0}}}, "min_distance_m"),
        ({"controllers": {"longitudinal": {"max_throttle": 1.5}}}, "max_throttle"),
        ({"logging": {"debug_frames": "yes"}}, "true/false"),
    ],
)
def test_invalid_values_are_rejected_with_their_path(data, fragment):
    with pytest.raises(ConfigError, match=fragment):
        agent_config_from_dict(data)


def test_setup_argument_forms(tmp_path):
    path = tmp_path / "agent.yaml"
    path.write_text(yaml.safe_dump({"scheduler": {"ue_interval": 4}}))
    assert split_setup_argument(f"{path}+RouteScenario_1_rep0") == (str(path), "RouteScenario_1_rep0")
    assert split_setup_argument(str(path)) == (str(path), None)
    # the second route of one Bench2Drive evaluator run: the save names pile up
    assert split_setup_argument(f"{path}+Route_1+Route_2") == (str(path), "Route_2")
    assert load_agent_config(f"{path}+run").scheduler.ue_interval == 4
    assert load_agent_config("") == AgentConfig()
    assert load_agent_config("+only_a_save_name") == AgentConfig()
    assert load_agent_config(None) == AgentConfig()


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_agent_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("scheduler: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_agent_config(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_agent_config(listy)


def test_save_and_reload_round_trip(tmp_path):
    config = override(AgentConfig(), {"scheduler.ue_interval": 3, "planner.route_follower.target_speed_mps": 4.5})
    path = save_agent_config(config, tmp_path / "out" / "agent_config.yaml")
    assert load_agent_config(path) == config
    assert not list(path.parent.glob("*.tmp"))  # atomic: no temporary left behind


def test_config_is_frozen():
    config = AgentConfig()
    with pytest.raises(AttributeError):
        config.scheduler.ue_interval = 5  # type: ignore[misc]


def test_override_rejects_unknown_paths():
    with pytest.raises(ConfigError):
        override(AgentConfig(), {"scheduler.nope": 1})
    assert to_dict(override(AgentConfig(), {"scheduler.mode": "threaded"}))["scheduler"]["mode"] == "threaded"
