"""How fast the embedded simulator closes the loop: simulated seconds per wall-clock second.

    python benchmarks/sim_speed.py [--repeats 3]   # a table
    python benchmarks/sim_speed.py --json          # {"realtime_factor": ..., "realtime_factor_no_sensors": ..., ...}

The agent is AutoMoTAgent with its default rig (front camera 1024x512 + LiDAR, GNSS, IMU,
speedometer) driven by the privileged expert, on a signalised urban route with traffic and
buildings (the heaviest scene to render). "no sensors": the same loop with camera and LiDAR
rendering switched off (black frames, no points). The route is cut after --ticks ticks (the tick cap),
so the measured wall time is the tick loop only; by default the process is pinned to one core.
The expert reads no camera, so the agent asks for none and the camera is not rendered (a data
collection run still renders it for the recorder). Each of --repeats runs the route afresh
(the two kinds interleaved); the factors are the medians, with their interquartile range.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_stats import spread

from sim.agents import AutoMoTAgentFactory
from sim.config import SimConfig
from sim.evaluation import RunOptions, run_route
from sim.route_file import read_routes
from sim.statistics import ResultsFile

ROUTES = Path(__file__).resolve().parent.parent / "bench2drive_routes" / "embedded_full.xml"


def measure(route_id: str, ticks: int, render: bool, config: str | None) -> float:
    cfg = SimConfig()
    cfg = replace(cfg, criteria=replace(cfg.criteria, tick_limit=ticks), render=replace(cfg.render, enabled=render))
    spec = next(r for r in read_routes(ROUTES) if r.id == route_id)
    with tempfile.TemporaryDirectory() as tmp:
        factory = AutoMoTAgentFactory(Path(tmp), config, expert=True, expert_config=cfg.expert)
        record, _ = run_route(spec, 0, factory, cfg, RunOptions(Path(tmp)), ResultsFile(Path(tmp) / "r.json"))
    return record["meta"]["duration_game"] / max(record["meta"]["duration_system"], 1e-9)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--route", default="111", help="route id in embedded_full.xml")
    parser.add_argument("--ticks", type=int, default=400, help="ticks per measurement (20 Hz)")
    parser.add_argument("--config", default=None, help="agent YAML (default: the agent's default rig)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each kind")
    parser.add_argument("--all-cores", action="store_true", help="do not pin the process to one core")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if not args.all_cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    with_sensors, without = [], []
    for _ in range(args.repeats):  # interleaved, so a change of machine load hits both kinds alike
        with_sensors.append(measure(args.route, args.ticks, True, args.config))
        without.append(measure(args.route, args.ticks, False, args.config))
    rig, bare = spread(with_sensors), spread(without)
    result = {"realtime_factor": round(rig["median"], 3), "realtime_factor_iqr": round(rig["iqr"], 3),
              "realtime_factor_no_sensors": round(bare["median"], 3),
              "realtime_factor_no_sensors_iqr": round(bare["iqr"], 3),
              "runs": [round(v, 3) for v in with_sensors], "runs_no_sensors": [round(v, 3) for v in without],
              "ticks": args.ticks, "repeats": args.repeats}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"route {args.route}, {args.ticks} ticks, {'all cores' if args.all_cores else 'one core'}, "
              f"median of {args.repeats}")
        print(f"  default rig (camera 1024x512 + LiDAR): {rig['median']:.2f}x real time (IQR {rig['iqr']:.2f}; goal >= 5x)")
        print(f"  sensors off:                           {bare['median']:.2f}x real time (IQR {bare['iqr']:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
