"""How fast the driving dataset feeds a trainer: samples per second through a DataLoader.

    python benchmarks/loader_throughput.py --data /work/data/embedded_v1            # 2 workers, a table
    python benchmarks/loader_throughput.py --data DIR --workers 0 2 --json

Each sample reads 4 JPEG frames (resized to the network's 512x256 as the agent does), one LAZ sweep
(-> the agent's 256x256 BEV), 7 box files and 1 measurement file. The first batch (worker start-up)
is not timed. Besides the overall rate, the wait for each batch is reported as a median with its
interquartile range (its spread: workers deliver in bursts). Peak resident memory of the main process is reported too: it must not grow with the
dataset (samples stream from disk).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch
from bench_stats import spread

from data.dataset import DrivingDataset, collate


def measure(dataset: DrivingDataset, workers: int, batch_size: int, batches: int, seed: int) -> dict:
    generator = torch.Generator().manual_seed(seed)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=workers,
                                         collate_fn=collate, generator=generator,
                                         persistent_workers=False, prefetch_factor=2 if workers else None)
    it = iter(loader)
    next(it)  # worker start-up and the first files
    start = time.perf_counter()
    samples = 0
    waits = []
    for _ in range(batches):
        before = time.perf_counter()
        try:
            batch = next(it)
        except StopIteration:
            break
        waits.append(1e3 * (time.perf_counter() - before))
        samples += len(batch.frames)
    elapsed = time.perf_counter() - start
    wait = spread(waits) if waits else {"median": float("nan"), "iqr": float("nan")}
    return {"workers": workers, "batch_size": batch_size, "samples": samples, "seconds": round(elapsed, 2),
            "samples_per_s": round(samples / elapsed, 2) if elapsed > 0 else None,
            "batch_wait_ms": round(wait["median"], 1), "batch_wait_iqr_ms": round(wait["iqr"], 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, nargs="+", help="dataset folders")
    parser.add_argument("--workers", type=int, nargs="+", default=[2])
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--batches", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    start = time.perf_counter()
    dataset = DrivingDataset(args.data, image_size=(512, 256))
    index_s = time.perf_counter() - start
    rows = [measure(dataset, w, args.batch_size, args.batches, args.seed) for w in args.workers]
    result = {"samples_in_dataset": len(dataset), "routes": len(dataset.routes), "index_build_s": round(index_s, 1),
              "main_process_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
              "runs": rows}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"dataset: {result['samples_in_dataset']} samples in {result['routes']} routes "
          f"(index built in {result['index_build_s']} s, main process peak RSS {result['main_process_peak_rss_mb']} MB)")
    for row in rows:
        print(f"workers={row['workers']} batch={row['batch_size']}: {row['samples_per_s']} samples/s "
              f"({row['samples']} samples in {row['seconds']} s; wait per batch {row['batch_wait_ms']} ms, "
              f"IQR {row['batch_wait_iqr_ms']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
