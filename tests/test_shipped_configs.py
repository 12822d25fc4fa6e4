"""Every YAML the project ships in configs/ loads through its typed loader: a renamed or misspelled
key in a shipped config fails here, not in a user's run (the loaders refuse unknown keys)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.automot_config import load_agent_config
from core.typed_config import ConfigError
from sim.collect_config import load_collect_config
from training.train_config import load_train_config

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
LOADERS = {"train_": load_train_config, "collect_": load_collect_config}


def _loader(path: Path):
    for prefix, loader in LOADERS.items():
        if path.name.startswith(prefix):
            return loader
    return load_agent_config  # agent_*, default, official_agent: agent configs


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_config_loads(path: Path) -> None:
    assert _loader(path)(path) is not None


def test_every_training_stage_starts_from_a_file_the_pipeline_makes() -> None:
    """A stage's init.checkpoint is a run folder of an earlier stage (or none): starting from the
    shipped model would make the reproduce chain depend on its own output."""
    for path in sorted(CONFIGS.glob("train_*.yaml")):
        init = load_train_config(path).init.checkpoint
        if init is not None and "refiner" not in path.name:
            assert str(init).startswith("runs/"), f"{path.name}: init.checkpoint {init}"


def test_a_misspelled_key_in_a_config_file_names_it(tmp_path: Path) -> None:
    bad = tmp_path / "train_bad.yaml"
    bad.write_text((CONFIGS / "train_embedded_mini.yaml").read_text().replace("batch_size:", "batchsize:"))
    with pytest.raises(ConfigError, match=r"optim\.batchsize.*batch_size"):
        load_train_config(bad)
