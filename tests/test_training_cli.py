"""`automot train` on the command line: dry run, overrides, torchrun and SLURM launch, named errors."""

from __future__ import annotations

import pytest
import yaml
from test_launch_slurm import install_fake_slurm
from training_fixtures import write_dataset

from launch.cli import main


@pytest.fixture
def config_file(tmp_path):
    data = write_dataset(tmp_path / "data", routes=3)
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump({
        "model": {"size": "tiny"}, "data": {"roots": [str(data)], "val_fraction": 0.34, "workers": 0},
        "optim": {"batch_size": 2, "steps": 2, "warmup_steps": 1}, "run": {"out": str(tmp_path / "run")}}))
    return path


def test_dry_run_checks_the_data_and_trains_nothing(config_file, tmp_path, capsys):
    assert main(["train", "--config", str(config_file), "--dry-run", "--set", "optim.steps=7"]) == 0
    err = capsys.readouterr().err
    assert "steps: 7" in err and "training samples in 2 routes" in err
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_a_wrong_key_or_empty_data_is_a_named_error(config_file, tmp_path, capsys):
    assert main(["train", "--config", str(config_file), "--set", "optim.stepz=3"]) == 2
    assert "Unknown config key 'optim.stepz'" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["train", "--config", str(config_file), "--set", f"data.roots=[{tmp_path / 'empty'}]"]) == 1
    assert "no PDM-Lite route folders" in capsys.readouterr().err
    assert main(["train", "--config", str(config_file), "--resume"]) == 1
    assert "holds no checkpoint" in capsys.readouterr().err


def test_train_then_auto_resume_continues(config_file, tmp_path, capsys):
    assert main(["train", "--config", str(config_file)]) == 0
    assert (tmp_path / "run" / "checkpoints" / "step_0000002" / "model" / "model.safetensors").is_file()
    assert main(["train", "--config", str(config_file), "--auto-resume", "--set", "optim.steps=3"]) == 0
    err = capsys.readouterr().err
    assert "resuming" in err and "optim.steps: 2 -> 3" in err
    assert (tmp_path / "run" / "checkpoints" / "step_0000003").is_dir()


def test_nproc_per_node_starts_torchrun(config_file, capsys):
    assert main(["train", "--config", str(config_file), "--nproc-per-node", "2", "--dry-run"]) == 0
    err = capsys.readouterr().err
    assert "torch.distributed.run --standalone --nproc-per-node=2 -m launch.cli train --config" in err


def test_slurm_backend_submits_one_torchrun_per_node(config_file, tmp_path, monkeypatch, capsys):
    state = install_fake_slurm(tmp_path, monkeypatch)
    (state / "hold").touch()  # the fake cluster queues the job instead of running it
    launch = tmp_path / "launch.yaml"
    launch.write_text(yaml.safe_dump({"slurm": {"account": "proj42", "partition": "gpu-a100", "time": "12:00:00"}}))
    argv = ["train", "--config", str(config_file), "--backend", "slurm", "--nodes", "2", "--nproc-per-node", "4",
            "--launch-config", str(launch)]
    assert main(argv) == 0
    assert "submitted training job 1001" in capsys.readouterr().err
    script = (tmp_path / "run" / "slurm" / "train.sbatch").read_text()
    for line in ("#SBATCH --account=proj42", "#SBATCH --partition=gpu-a100", "#SBATCH --nodes=2",
                 "#SBATCH --gres=gpu:4", "#SBATCH --time=12:00:00"):
        assert line in script
    assert "torch.distributed.run --nnodes 2 --nproc-per-node=4 --rdzv-backend c10d" in script
    assert "--auto-resume" in script and "HEAD_NODE=$(scontrol show hostnames" in script
    assert len((state / "submitted").read_text().splitlines()) == 1
