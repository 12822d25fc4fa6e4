"""Training throughput of `automot train` on this machine: samples/s at a named size.

    .venv/bin/python benchmarks/train_throughput.py --size tiny --data datasets/embedded_train [--json]
    .venv/bin/python benchmarks/train_throughput.py --size small --steps 6 --batch 4

Runs the real trainer (loader workers, batch building, forward, backward, AdamW) for `--steps`
optimiser steps on a dataset folder and reports the median samples/s over the steps after the
first two (warm-up: worker start, first allocations), with the interquartile range.
`--json` prints {"size", "samples_per_s", "spread", "batch", "workers", "threads", "steps"}.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from planner.automot.model_config import ModelConfig
from training.logs import METRICS_FILE, read_metrics
from training.train_config import OptimConfig, RunConfig, TrainConfig, TrainDataConfig
from training.trainer import train


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="tiny", choices=["tiny", "mini", "small"])
    parser.add_argument("--data", default="datasets/embedded_train")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        config = TrainConfig(
            model=ModelConfig(size=args.size),
            data=TrainDataConfig(roots=(args.data,), val_fraction=0.0, workers=args.workers),
            optim=OptimConfig(batch_size=args.batch, steps=args.steps, warmup_steps=1),
            run=RunConfig(out=out, log_every=1, eval_every=0, checkpoint_every=10 * args.steps,
                          torch_threads=args.threads))
        train(config)
        rates = [r["samples_per_s"] for r in read_metrics(Path(out) / METRICS_FILE) if r["kind"] == "train"][2:]
    q1, median, q3 = np.percentile(rates, [25, 50, 75])
    result = {"size": args.size, "samples_per_s": round(float(median), 2), "spread": round(float(q3 - q1), 2),
              "batch": args.batch, "workers": args.workers, "threads": args.threads, "steps": args.steps}
    print(json.dumps(result) if args.json else
          f"{args.size}: {median:.1f} samples/s (IQR {q3 - q1:.1f}), batch {args.batch}, {args.workers} worker(s), "
          f"{args.threads} thread(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
