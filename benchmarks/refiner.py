"""The action refiner's cost against the AE tick it sits on, measured interleaved at the same size.

    .venv/bin/python benchmarks/refiner.py [--size mini|small|full] [--steps 2] [--repeats 30] [--json]

Random weights (latency does not depend on their values), the synthetic observation of
async_inference.py. Each repeat times one AE tick (act on a cached UE pass: BEV encoder, AE,
heads) and then one refiner pass on that tick's outputs (DDIM `--steps` denoising steps), so
load on the machine hits both alike. Goal: refiner_ms <= 15 % of ae_ms.
`--json` prints {"size", "refiner_ms", "ae_ms", "ratio", "refiner_spread_ms", "ae_spread_ms", ...}
(medians; spread = interquartile range).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from async_inference import synthetic_observation

from planner.automot.build import build_runtime
from planner.automot.model_config import ModelConfig
from planner.automot.refiner import ActionRefiner
from planner.automot.refiner_config import RefinerConfig


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="mini", choices=["tiny", "mini", "small", "full"])
    parser.add_argument("--steps", type=int, default=RefinerConfig.inference_steps, help="DDIM denoising steps")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--width", type=int, default=RefinerConfig.width)
    parser.add_argument("--layers", type=int, default=RefinerConfig.layers)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    runtime = build_runtime(ModelConfig(size=args.size))
    config = RefinerConfig(inference_steps=args.steps, truncation_step=25 * args.steps, width=args.width,
                           layers=args.layers, heads=4 if args.width % 4 == 0 else 1)
    refiner = ActionRefiner(runtime.network.spec, config).eval()
    obs = synthetic_observation()
    cache = runtime.understand(obs)
    ae_times, refiner_times = [], []
    for k in range(args.repeats + 3):  # 3 warm-up rounds
        start = time.perf_counter()
        out = runtime.act_batch(runtime.ae_batch([obs]), cache)
        middle = time.perf_counter()
        with torch.inference_mode():
            refiner.refine(out)
        end = time.perf_counter()
        if k >= 3:
            ae_times.append(1e3 * (middle - start))
            refiner_times.append(1e3 * (end - middle))

    def iqr(values: list[float]) -> float:
        q1, q3 = np.percentile(values, [25, 75])
        return float(q3 - q1)

    ae_ms, refiner_ms = float(np.median(ae_times)), float(np.median(refiner_times))
    result = {"size": args.size, "refiner_ms": round(refiner_ms, 3), "ae_ms": round(ae_ms, 3),
              "ratio": round(refiner_ms / ae_ms, 4), "refiner_spread_ms": round(iqr(refiner_times), 3),
              "ae_spread_ms": round(iqr(ae_times), 3), "steps": args.steps, "width": args.width, "layers": args.layers, "threads": args.threads,
              "repeats": args.repeats, "refiner_params": sum(p.numel() for p in refiner.parameters())}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"size {args.size}: AE tick {ae_ms:.2f} ms (IQR {result['ae_spread_ms']}), refiner {refiner_ms:.2f} ms "
              f"(IQR {result['refiner_spread_ms']}), ratio {result['ratio']:.1%} (goal <= 15 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
