"""Shipping a run: the model folder, its card with the stages it came from, the size budget; and a
stage that stops the network reading the ego speed, loaded by the agent only when it says so."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from training_fixtures import tiny_config, write_dataset

from planner.automot.build import build_runtime
from planner.automot.checkpoint import CheckpointError
from planner.automot.model_config import ModelConfig
from training import checkpoints
from training.ship import CARD_FILE, main, ship
from training.train_config import InitConfig
from training.trainer import train


def test_a_two_stage_run_ships_with_its_lineage_and_a_stage_may_drop_the_speed(tmp_path):
    data = write_dataset(tmp_path / "data", routes=4)
    first = tiny_config(data, tmp_path / "stage1", steps=2)
    train(first)
    stage1_model = checkpoints.latest(tmp_path / "stage1") / checkpoints.MODEL_DIR
    second = replace(tiny_config(data, tmp_path / "stage2", steps=2),
                     model=ModelConfig(size="tiny", ego_speed_input=False),
                     init=InitConfig(checkpoint=str(stage1_model)))
    train(second)  # a fine-tune may change what the network reads

    out = ship(tmp_path / "stage2", tmp_path / "models" / "shipped")
    card = json.loads((out / CARD_FILE).read_text())
    assert card["step"] == 2 and card["train_config"]["model"]["ego_speed_input"] is False
    assert [stage["step"] for stage in card["lineage"]] == [2]
    assert card["lineage"][0]["train_config"]["run"]["out"] == str(tmp_path / "stage1")
    assert {"l2_1s", "collision_3s"} <= set(card["validation"])
    assert not (tmp_path / "models" / ".shipped.tmp").exists()

    # a model shipped from the shipped one carries both stages
    third = replace(second, run=replace(second.run, out=str(tmp_path / "stage3")),
                    init=InitConfig(checkpoint=str(out)))
    train(third)
    again = json.loads((ship(tmp_path / "stage3", tmp_path / "models" / "again") / CARD_FILE).read_text())
    assert [stage["train_config"]["run"]["out"] for stage in again["lineage"]] == [
        str(tmp_path / "stage2"), str(tmp_path / "stage1")]

    # the agent must say that its network reads no speed
    with pytest.raises(CheckpointError, match="ego_speed_input"):
        build_runtime(ModelConfig(size="tiny", checkpoint=str(out)))
    assert build_runtime(ModelConfig(size="tiny", checkpoint=str(out), ego_speed_input=False))


def test_ship_refuses_a_run_without_checkpoints_and_a_folder_over_budget(tmp_path, capsys):
    assert main(["--run", str(tmp_path / "nothing"), "--out", str(tmp_path / "m")]) == 1
    assert "no complete checkpoint" in capsys.readouterr().err
    data = write_dataset(tmp_path / "data", routes=4)
    train(tiny_config(data, tmp_path / "run", steps=2))
    assert main(["--run", str(tmp_path / "run"), "--out", str(tmp_path / "m"), "--max-mb", "0.01"]) == 1
    assert "budget" in capsys.readouterr().err and not (tmp_path / "m").exists()
