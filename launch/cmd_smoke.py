"""`automot smoke`: the leaderboard call sequence on a synthetic curved road, no simulator needed."""

from __future__ import annotations

import argparse
import time

import numpy as np


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("smoke", help="run the agent's leaderboard loop on a synthetic road (no simulator)")
    parser.add_argument("--config", default="", help="agent YAML config (default: built-in defaults)")
    parser.add_argument("--ticks", type=int, default=400, help="ticks to drive (20 Hz)")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import track

    from agent.automot_agent import AutoMoTAgent
    from launch.synthetic_drive import SyntheticDrive, curved_route

    console = Console()
    agent = AutoMoTAgent("localhost", 2000)
    drive = SyntheticDrive([], curved_route(), seed=args.seed, lateral_offset_m=1.0)
    agent.set_global_plan(*drive.global_plan())
    agent.setup(args.config)
    drive.sensors = agent.sensors()
    distances, controls, tick_s = [], [], []
    try:
        for tick in track(range(args.ticks), description="smoke loop", console=console):
            data = drive.input_data()
            start = time.perf_counter()
            control = agent.run_step(data, tick * drive.dt)
            tick_s.append(time.perf_counter() - start)
            drive.apply(control)
            controls.append((control.steer, control.throttle, control.brake))
            distances.append(drive.distance_to_route())
    finally:
        agent.destroy()
    controls_array = np.asarray(controls)
    finite = bool(np.isfinite(controls_array).all())
    console.print(
        f"ticks {args.ticks}  finite controls {finite}  "
        f"median tick {1e3 * float(np.median(tick_s)):.2f} ms  "
        f"distance travelled along the road {drive.car.x:.1f} m (x)  final speed {drive.car.speed:.2f} m/s  "
        f"max distance to the dense route {max(distances):.2f} m"
    )
    return 0 if finite else 1
