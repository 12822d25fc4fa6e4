"""`automot dataset-info DIR [--json] [--show N]`: what a driving dataset holds, and samples to look at.

    automot dataset-info /data/embedded_v1                 # routes, frames, hours, mix, label statistics
    automot dataset-info /data/embedded_v1 --json          # the same as JSON (keys include routes, frames)
    automot dataset-info /data/embedded_v1 --show 4 --show-dir samples/   # 4 drawn samples (PNG)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("dataset-info", help="statistics of a PDM-Lite-layout dataset; draw samples")
    parser.add_argument("dirs", nargs="+", help="dataset or route folders")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--show", type=int, default=0, metavar="N", help="draw N samples, evenly spread")
    parser.add_argument("--show-dir", default="dataset_samples", help="where --show writes its PNG files")
    parser.add_argument("--image-size", type=int, nargs=2, default=(512, 256), metavar=("W", "H"),
                        help="network image size of the drawn samples")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import cv2
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    from data.dataset import DrivingDataset
    from data.dataset_info import dataset_info
    from data.sample_view import draw_sample

    console = Console()
    dataset = DrivingDataset(args.dirs, image_size=tuple(args.image_size))
    info = dataset_info(dataset)
    if args.show:
        out = Path(args.show_dir)
        out.mkdir(parents=True, exist_ok=True)
        picks = np.linspace(0, len(dataset) - 1, args.show).round().astype(int) if len(dataset) else []
        info["shown"] = []
        for k in picks:
            sample = dataset[int(k)]
            path = out / f"{sample.route_name}_{sample.frame:04d}.png"
            cv2.imwrite(str(path), cv2.cvtColor(draw_sample(sample, dataset.sensors), cv2.COLOR_RGB2BGR))
            info["shown"].append(str(path))
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    table = Table(title="dataset")
    table.add_column("what")
    table.add_column("value")
    for key in ("routes", "frames", "samples", "hours", "frame_period_s"):
        table.add_row(key, str(info[key]))
    for key in ("scenarios", "abilities", "towns", "skipped_frames", "recovery"):
        table.add_row(key, ", ".join(f"{k}: {v}" for k, v in info[key].items()) or "-")
    for key, value in info["labels"].items():
        table.add_row(f"labels.{key}", ", ".join(f"{k}: {v}" for k, v in value.items()) or "-")
    console.print(table)
    for path in info.get("shown", []):
        console.print(f"drew {path}")
    return 0
