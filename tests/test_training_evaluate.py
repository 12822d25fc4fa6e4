"""`python -m training.evaluate`: a saved network's open-loop metrics on a config's validation routes."""

from __future__ import annotations

from dataclasses import replace

import pytest
from training_fixtures import tiny_config, write_dataset

from training.evaluate import evaluate_checkpoint, main, validation_folders
from training.logs import METRICS_FILE, read_metrics
from training.trainer import train


def test_a_runs_last_checkpoint_scores_what_its_last_validation_logged(tmp_path):
    """The same routes, samples and metrics as the trainer's own validation: evaluating a run's
    final checkpoint reproduces the numbers the run logged at that step."""
    config = tiny_config(write_dataset(tmp_path / "data", routes=4), tmp_path / "run", steps=2)
    result = train(config)
    logged = [r for r in read_metrics(tmp_path / "run" / METRICS_FILE) if r["kind"] == "val"][-1]
    assert logged["step"] == 2
    metrics = evaluate_checkpoint(config, str(result.checkpoint / "model"))
    assert metrics["routes"] == 1
    for key in ("l2_1s", "l2_3s", "collision_3s", "loss"):
        assert metrics[key] == pytest.approx(logged[key], rel=1e-5, abs=1e-6), key


def test_only_keeps_the_routes_of_the_named_recording(tmp_path):
    first = write_dataset(tmp_path / "a", routes=4)
    second = write_dataset(tmp_path / "b", routes=4)
    config = tiny_config(first, tmp_path / "run")
    config = replace(config, data=replace(config.data, roots=(str(first), str(second))))
    everything = validation_folders(config, [])
    mine = validation_folders(config, [str(second)])
    assert len(everything) == 2 and len(mine) == 1 and second.resolve() in mine[0].resolve().parents
    with pytest.raises(FileNotFoundError, match="no validation route"):
        validation_folders(config, [str(tmp_path / "elsewhere")])


def test_a_missing_checkpoint_folder_is_named(tmp_path, capsys):
    assert main(["--config", "configs/train_embedded_mini_stage4.yaml", "--checkpoint", str(tmp_path / "nope")]) == 2
    assert "nope does not exist" in capsys.readouterr().err
