"""Two CPU ranks (gloo) under torchrun, DDP and FSDP: identical parameters on every rank after each
step, a checkpoint written by rank 0 only, and training that actually moved the weights."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from training_fixtures import write_dataset

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data"), routes=4)


@pytest.mark.parametrize("parallel", ["ddp", "fsdp"])
def test_two_ranks_keep_identical_parameters(dataset, tmp_path, parallel):
    report = tmp_path / "report"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(HERE.parent)}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
         str(HERE / "training_ranks.py"), str(dataset), str(tmp_path / "run"), parallel, str(report)],
        env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads(Path(f"{report}.rank{r}").read_text()) for r in range(2)]
    assert [r["world"] for r in ranks] == [2, 2] and [r["steps"] for r in ranks] == [3, 3]
    assert ranks[0]["agree"] == [True, True, True]
    assert ranks[0]["digests"] == ranks[1]["digests"]
    assert len(set(ranks[0]["digests"])) == 3  # every step changed the weights
    steps = sorted(p.name for p in (tmp_path / "run" / "checkpoints").glob("step_*"))
    assert steps == ["step_0000003"]
    assert not list((tmp_path / "run" / "checkpoints").glob(".*tmp"))
