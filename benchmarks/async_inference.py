"""Asynchronous inference: a synchronous tick (UE + AE) against an AE-only tick on the cache.

    .venv/bin/python benchmarks/async_inference.py [--size small|full] [--device cpu|cuda]
                                                   [--dtype float32|bfloat16] [--repeats 10] [--json]

Random weights of the named size (latency does not depend on their values), a synthetic
observation as the agent builds it (4 frames 1024x512 RGB, LiDAR BEV 2x256x256).
sync tick = understand (image processing, vision tower, text prefill) + act;
AE tick   = act on the cache (BEV encoder, AE over [cache ‖ 101 AE tokens], heads, decode).
Goal on CPU at `small`: AE tick <= 15% of a sync tick. The two are measured interleaved
(sync, AE, sync, AE, ...) so a change of machine load hits both alike; each reports its median
and interquartile range, and `ratio_paired` is the median of the per-pair ratios.
`--dtype bfloat16` runs the network in bf16 (on CPU too); `--compare-dtype bfloat16` (with the
default float32) also times the sync tick in bf16, interleaved, and reports the speed-up in one run. `--json` prints
{"size", "sync_ms", "sync_iqr_ms", "ae_ms", "ae_iqr_ms", "ratio", "ratio_paired", "peak_mb"}
(+ device, dtype, threads, repeats). peak_mb: CUDA max allocated on a GPU, else the process's
peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch
from bench_stats import spread, time_ms

from planner.automot.build import build_runtime
from planner.automot.model_config import ModelConfig
from planner.interface import EgoState, Observation


def synthetic_observation(seed: int = 0) -> Observation:
    rng = np.random.default_rng(seed)
    return Observation(
        tick=0, timestamp=0.0,
        images=rng.integers(0, 256, (4, 512, 1024, 3), dtype=np.uint8),
        lidar_bev=(rng.random((2, 256, 256)) < 0.05).astype(np.float32),
        lidar_points=np.zeros((0, 4), np.float32), speed=5.0,
        target_points=np.array([[12.0, -1.5], [35.0, 4.0]], np.float32), command=4,
        route=np.zeros((20, 2), np.float32), ego=EgoState(np.zeros(2), 0.0, 5.0),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small", choices=["tiny", "mini", "small", "full"])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", default=None, choices=["float32", "bfloat16", "float16"],
                        help="default: bfloat16 on CUDA, float32 on CPU")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--compare-dtype", default=None, choices=["float32", "bfloat16", "float16"],
                        help="also time the sync tick in this dtype, interleaved with the others, and report "
                             "the speed-up (e.g. --dtype float32 --compare-dtype bfloat16)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    dtype = args.dtype or ("bfloat16" if args.device.startswith("cuda") else "float32")
    cuda = args.device.startswith("cuda")
    sync = torch.cuda.synchronize if cuda else (lambda: None)

    runtime = build_runtime(ModelConfig(size=args.size, device=args.device, dtype=dtype))
    obs = synthetic_observation()
    cache = runtime.understand(obs)
    runtime.act(obs, cache)  # warm-up: first calls allocate and pick kernels
    if cuda:
        torch.cuda.reset_peak_memory_stats()

    def sync_tick() -> None:
        runtime.act(obs, runtime.understand(obs))

    other = None
    if args.compare_dtype:  # the same weights (same seed) in the other dtype
        other = build_runtime(ModelConfig(size=args.size, device=args.device, dtype=args.compare_dtype))
        other.act(obs, other.understand(obs))

    sync_times, ae_times, other_times = [], [], []
    for _ in range(args.repeats):  # interleaved: load drift shows in every series, not in their ratios
        sync_times += time_ms(sync_tick, 1, sync)
        ae_times += time_ms(lambda: runtime.act(obs, cache), 1, sync)
        if other is not None:
            other_times += time_ms(lambda: other.act(obs, other.understand(obs)), 1, sync)
    sync_s, ae_s = spread(sync_times), spread(ae_times)
    sync_ms, ae_ms = sync_s["median"], ae_s["median"]
    paired = float(np.median(np.asarray(ae_times) / np.asarray(sync_times)))
    if cuda:
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    result = {
        "size": args.size, "sync_ms": round(sync_ms, 2), "sync_iqr_ms": round(sync_s["iqr"], 2),
        "ae_ms": round(ae_ms, 2), "ae_iqr_ms": round(ae_s["iqr"], 2),
        "ratio": round(ae_ms / sync_ms, 4), "ratio_paired": round(paired, 4), "peak_mb": round(peak_mb, 1),
        "device": torch.cuda.get_device_name() if cuda else "cpu", "dtype": dtype,
        "threads": torch.get_num_threads(), "repeats": args.repeats,
        "ue_tokens": cache.length, "ae_tokens": runtime.network.spec.ae_tokens,
    }
    if other is not None:
        other_s = spread(other_times)
        result["compare"] = {
            "dtype": args.compare_dtype, "sync_ms": round(other_s["median"], 2), "sync_iqr_ms": round(other_s["iqr"], 2),
            "speedup": round(sync_ms / other_s["median"], 3),  # > 1: the compared dtype is faster
            "speedup_paired": round(float(np.median(np.asarray(sync_times) / np.asarray(other_times))), 3),
        }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"size {args.size} on {result['device']} ({dtype}, {result['threads']} threads), "
              f"{result['ue_tokens']} UE tokens, {result['ae_tokens']} AE tokens")
        print(f"  sync tick (UE + AE): {sync_ms:8.1f} ms (IQR {sync_s['iqr']:.1f}, n={sync_s['n']})")
        print(f"  AE tick on cache:    {ae_ms:8.1f} ms (IQR {ae_s['iqr']:.1f})   ratio {ae_ms / sync_ms:.1%}, "
              f"paired {paired:.1%} (goal <= 15% at small on CPU)")
        print(f"  peak memory:         {peak_mb:8.0f} MB")
        if other is not None:
            c = result["compare"]
            print(f"  sync tick in {c['dtype']}: {c['sync_ms']:8.1f} ms (IQR {c['sync_iqr_ms']:.1f}): "
                  f"{c['speedup']:.2f}x faster than {dtype} (paired {c['speedup_paired']:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
