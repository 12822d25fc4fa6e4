"""`automot train` in one process at tiny size: it learns, saves, resumes exactly, and names bad input."""

from __future__ import annotations

import gzip
import itertools
import json
import re
import shutil
from dataclasses import replace

import numpy as np
import pytest
import torch
from data_fixtures import write_route
from training_fixtures import tiny_config, write_dataset

from core.typed_config import ConfigError
from planner.automot.build import build_runtime
from planner.automot.checkpoint import CheckpointError, save_checkpoint
from planner.automot.model_config import ModelConfig
from training import checkpoints
from training.logs import METRICS_FILE, read_metrics
from training.sampler import ResumableBatchSampler
from training.train_config import PartsConfig, SamplingConfig
from training.trainer import (
    NonFiniteLoss,
    TrainingDataError,
    build_datasets,
    lr_factor,
    resolve_parts,
    sample_weights,
    train,
)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data"))


def _weights(folder) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(folder / checkpoints.MODEL_DIR / "model.safetensors"))


def test_a_run_writes_checkpoints_logs_and_a_loadable_model(dataset, tmp_path):
    config = tiny_config(dataset, tmp_path / "run", steps=4)
    result = train(config)
    assert result.step == 4 and result.checkpoint.name == "step_0000004"
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").glob("step_*")) == ["step_0000002",
                                                                                       "step_0000004"]
    records = read_metrics(tmp_path / "run" / METRICS_FILE)
    train_records = [r for r in records if r["kind"] == "train"]
    assert [r["step"] for r in train_records] == [1, 2, 3, 4]
    assert all(np.isfinite(r["loss"]) and r["lr"] > 0 for r in train_records)
    val = [r for r in records if r["kind"] == "val"]
    assert [r["step"] for r in val] == [2, 4] and {"l2_1s", "l2_3s", "collision_3s"} <= set(val[-1])
    assert list((tmp_path / "run" / "tensorboard").glob("events.out.tfevents.*"))
    assert (tmp_path / "run" / "loss_curve.png").stat().st_size > 1000
    # The step folder's model/ is what the agent loads as model.checkpoint.
    runtime = build_runtime(ModelConfig(size="tiny", checkpoint=str(result.checkpoint / "model")))
    trained = _weights(result.checkpoint)
    key = "action_expert.norm.weight"
    assert torch.equal(runtime.network.state_dict()[key], trained[key])


def test_training_lowers_the_loss_on_a_fixed_batch(dataset, tmp_path):
    config = tiny_config(dataset, tmp_path / "run", steps=30)
    config = replace(config, run=replace(config.run, eval_every=0, checkpoint_every=30, log_every=1),
                     optim=replace(config.optim, lr=1e-2, min_lr=1e-3, warmup_steps=3))
    train(config)
    losses = [r["loss"] for r in read_metrics(tmp_path / "run" / METRICS_FILE) if r["kind"] == "train"]
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])


def test_resume_continues_exactly(dataset, tmp_path):
    config = tiny_config(dataset, tmp_path / "full", steps=4)
    train(config)
    # A run stopped after its step-2 save: the same folder without what came later.
    stopped = tmp_path / "stopped"
    shutil.copytree(tmp_path / "full", stopped)
    shutil.rmtree(stopped / "checkpoints" / "step_0000004")
    (stopped / "checkpoints" / "latest").write_text("step_0000002\n")
    result = train(replace(config, run=replace(config.run, out=str(stopped))), resume=True)
    assert result.step == 4
    a, b = _weights(tmp_path / "full" / "checkpoints" / "step_0000004"), _weights(result.checkpoint)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])][:3]
    # ... and the optimiser moved: step 2 differs from step 4.
    c = _weights(tmp_path / "full" / "checkpoints" / "step_0000002")
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_resume_without_a_checkpoint_is_an_error(dataset, tmp_path):
    with pytest.raises(checkpoints.TrainCheckpointError, match="holds no checkpoint"):
        train(tiny_config(dataset, tmp_path / "none"), resume=True)


def test_an_interrupted_save_leaves_the_previous_checkpoint(dataset, tmp_path):
    config = tiny_config(dataset, tmp_path / "run", steps=2)
    train(config)
    checkpoints.begin(tmp_path / "run", 4)  # a save killed half-way: its hidden folder stays
    assert checkpoints.latest(tmp_path / "run").name == "step_0000002"


def test_empty_or_missing_data_folders_are_named(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(TrainingDataError, match="no PDM-Lite route folders"):
        build_datasets(tiny_config(tmp_path / "empty", tmp_path / "run"))
    with pytest.raises(TrainingDataError, match="does not exist"):
        build_datasets(tiny_config(tmp_path / "nowhere", tmp_path / "run"))
    with pytest.raises(ConfigError, match=r"data\.roots is empty"):
        build_datasets(replace(tiny_config(tmp_path, tmp_path), data=replace(tiny_config(tmp_path, tmp_path).data,
                                                                              roots=())))


def test_a_missing_frame_file_is_left_out_and_counted(tmp_path):
    data = write_dataset(tmp_path / "data", routes=3)
    victim = next((data / "ScenarioX").iterdir())
    (victim / "lidar" / "0003.laz").unlink()
    train_ds, val_ds = build_datasets(tiny_config(data, tmp_path / "run"))
    missing = train_ds.skipped.get("lidar file missing", 0) + val_ds.skipped.get("lidar file missing", 0)
    assert missing == 1 and len(train_ds) + len(val_ds) == 3 * (22 - 12) - 1


def test_a_checkpoint_of_another_size_is_refused(dataset, tmp_path):
    from planner.automot.build import build_network

    network, tokenizer = build_network(ModelConfig(size="mini"))
    save_checkpoint(network, tokenizer, tmp_path / "mini")
    config = tiny_config(dataset, tmp_path / "run")
    config = replace(config, init=replace(config.init, checkpoint=str(tmp_path / "mini")))
    with pytest.raises(CheckpointError, match="mini"):
        train(config)
    bad = replace(config, init=replace(config.init, checkpoint=str(tmp_path / "absent")))
    with pytest.raises(CheckpointError, match="does not exist"):
        train(bad)


def test_a_nan_loss_stops_the_run_and_names_step_route_and_frame(tmp_path):
    data = write_dataset(tmp_path / "data", routes=2)
    route = next((data / "ScenarioX").iterdir())
    for f in sorted((route / "measurements").iterdir()):
        m = json.loads(gzip.open(f, "rt").read())
        m["target_point"] = [float("nan"), 0.0]
        with gzip.open(f, "wt") as handle:
            json.dump(m, handle)
    config = tiny_config(data, tmp_path / "run", steps=6)
    config = replace(config, data=replace(config.data, val_fraction=0.0))
    with pytest.raises(NonFiniteLoss, match=rf"step \d+.*{re.escape(route.name)}/\d{{4}}"):
        train(config)


def test_set_off_samples_are_weighted(tmp_path):
    speeds = [0.0] * 6 + [0.3 * k for k in range(1, 19)]  # rests, then sets off
    xs = np.cumsum([0.0] + [s * 0.25 for s in speeds[:-1]])
    write_route(tmp_path, "Town01_SetOff", [(float(x), 0.0, 0.0) for x in xs], speeds)
    ds, _ = build_datasets(replace(tiny_config(tmp_path, tmp_path / "run"),
                                   data=replace(tiny_config(tmp_path, tmp_path).data, val_fraction=0.0)))
    weights = sample_weights(ds, SamplingConfig(set_off_weight=5.0, set_off_speed_mps=0.5, set_off_gain_mps=1.0))
    speeds_now = ds.sample_speeds()
    assert weights is not None and set(np.unique(weights)) == {1.0, 5.0}
    assert np.all(speeds_now[weights == 5.0, 0] < 0.5)
    assert sample_weights(ds, SamplingConfig()) is None


def test_sampler_resumes_at_any_batch_and_splits_ranks():
    full = ResumableBatchSampler(50, 4, seed=3, rank=0, world=2)
    it = iter(full)
    batches = [next(it) for _ in range(20)]  # across several epochs
    later = iter(ResumableBatchSampler(50, 4, seed=3, rank=0, world=2, start_batch=13))
    assert [next(later) for _ in range(7)] == batches[13:]
    other = iter(ResumableBatchSampler(50, 4, seed=3, rank=1, world=2))
    for mine, theirs in zip(batches[:6], [next(other) for _ in range(6)]):
        assert not set(mine) & set(theirs)
    weighted = iter(ResumableBatchSampler(50, 5, seed=0, weights=[100.0] + [1e-6] * 49))
    assert all(b == [0] * 5 for b in (next(weighted) for _ in range(3)))
    with pytest.raises(ValueError, match="cannot fill one batch"):
        ResumableBatchSampler(3, 4, seed=0)


def test_learning_rate_warms_up_then_follows_the_cosine_to_its_floor(dataset, tmp_path):
    config = tiny_config(dataset, tmp_path, steps=100)
    config = replace(config, optim=replace(config.optim, lr=1e-3, min_lr=1e-4, warmup_steps=10))
    factors = [lr_factor(s, config) for s in range(100)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in itertools.pairwise(factors[10:]))
    assert lr_factor(100, config) == pytest.approx(0.1)


def test_parts_auto_trains_a_random_ue_and_freezes_a_pretrained_one():
    model = ModelConfig(size="tiny")
    random_ue = resolve_parts(model, PartsConfig(), pretrained_ue=False)
    assert random_ue.freeze_understanding is False and random_ue.freeze_vision is False
    pretrained = resolve_parts(model, PartsConfig(), pretrained_ue=True)
    assert pretrained.freeze_understanding is True and pretrained.freeze_vision is True
    forced = resolve_parts(model, PartsConfig(understanding="train", bev_encoder="freeze"), pretrained_ue=True)
    assert forced.freeze_understanding is False and forced.freeze_bev_encoder is True


def test_speed_dropout_hides_a_stable_share_of_the_speed_inputs(dataset, tmp_path):
    from training.batches import speed_dropped
    from training.trainer import batch_maker

    picks = [speed_dropped(f"Town01_Route{r}", f, seed=0, probability=0.33) for r in range(20) for f in range(100)]
    assert 0.28 < np.mean(picks) < 0.38
    assert picks == [speed_dropped(f"Town01_Route{r}", f, seed=0, probability=0.33) for r in range(20) for f in range(100)]
    assert not any(speed_dropped("x", f, seed=0, probability=0.0) for f in range(100))
    # In a batch, a dropped sample's AE speed reads 0 while its labels stay the recorded ones.
    from planner.automot.build import build_network
    from training.batches import BatchMaker

    network, tokenizer = build_network(ModelConfig(size="tiny"))
    maker, codec = batch_maker(network, ModelConfig(size="tiny"), tokenizer)
    ds, _ = build_datasets(tiny_config(dataset, tmp_path))
    samples = [ds[i] for i in range(4)]
    dropped = BatchMaker(network, maker.builder, codec, speed_dropout=0.999, seed=0)(samples)
    kept = maker(samples)
    assert torch.all(dropped.ae.speed == 0) and torch.all(kept.ae.speed > 0)
    assert torch.equal(dropped.targets.waypoints, kept.targets.waypoints)


def test_set_off_horizon_reaches_further_ahead(tmp_path):
    speeds = [0.0] * 10 + [0.4 * k for k in range(1, 17)]  # rests 2.5 s, then sets off gently
    xs = np.cumsum([0.0] + [s * 0.25 for s in speeds[:-1]])
    write_route(tmp_path, "Town01_SetOff", [(float(x), 0.0, 0.0) for x in xs], speeds)
    config = tiny_config(tmp_path, tmp_path / "run")
    config = replace(config, data=replace(config.data, val_fraction=0.0, dataset=replace(
        config.data.dataset, labels=replace(config.data.dataset.labels, route_start_speed_mps=0.0))))
    ds, _ = build_datasets(config)
    near = sample_weights(ds, SamplingConfig(set_off_weight=5.0, set_off_within_s=1.0))
    far = sample_weights(ds, SamplingConfig(set_off_weight=5.0, set_off_within_s=2.0))
    assert (far == 5.0).sum() > (near == 5.0).sum() >= 1
    with pytest.raises(ValueError, match="past the label horizon"):
        ds.sample_speeds(4.0)
