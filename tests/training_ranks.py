"""Run under torchrun by test_training_distributed.py: trains a few steps at tiny size and, after
every step, checks that all ranks hold identical parameters. Writes one JSON line per rank."""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import replace
from pathlib import Path

import torch
import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).parent))
from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict
from training_fixtures import tiny_config

from training.distributed import dist_env, unwrap
from training.trainer import train


def main() -> None:
    data, out, parallel, report = sys.argv[1:5]
    env = dist_env()
    config = tiny_config(Path(data), Path(out), steps=3)
    config = replace(config, run=replace(config.run, parallel=parallel, eval_every=0, checkpoint_every=3,
                                         deterministic=False))
    digests: list[str] = []
    agree: list[bool] = []

    def check(step: int, module: torch.nn.Module) -> None:
        # full tensors on every rank (full_model_state gives them to rank 0 only)
        state = get_model_state_dict(unwrap(module), options=StateDictOptions(full_state_dict=True))
        h = hashlib.sha256()
        for k in sorted(state):
            h.update(k.encode())
            h.update(state[k].float().numpy().tobytes())
        digest = h.hexdigest()
        gathered: list[str] = [""] * env.world
        dist.all_gather_object(gathered, digest)
        digests.append(digest)
        agree.append(len(set(gathered)) == 1)

    result = train(config, on_step=check)
    with open(f"{report}.rank{env.rank}", "w") as f:
        json.dump({"rank": env.rank, "world": env.world, "steps": result.step, "agree": agree,
                   "digests": digests}, f)


if __name__ == "__main__":
    main()
