"""Held-out closed-loop routes: generated like training routes, but off the training data's and the
evaluation sets' routes, so a trained network is scored on drives it never saw.

    python -m sim.heldout_routes --avoid models/embedded_mini/training_routes/embedded_train.xml \\
        --count 20 --seed 4242 --out bench2drive_routes/embedded_heldout.xml

Ids start at 20001 (training routes use 10001.., the evaluation sets 1xx). Every route is checked
against the avoided files with the generator's own overlap rule (the same scenario instance, or
the same start and end), on top of embedded_full / embedded_quick.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from sim.collect_config import GeneratorConfig
from sim.route_file import RouteSpec, read_routes, write_routes
from sim.route_generator import SCENARIO_ORDER, EvaluationRoute, evaluation_routes, generate_routes, overlaps

FIRST_HELDOUT_ID = 20001


def routes_as_evaluation(paths: list[Path]) -> list[EvaluationRoute]:
    out = []
    for path in paths:
        for r in read_routes(path):
            for sc in r.scenarios:
                out.append(EvaluationRoute(r.town, sc.type, np.asarray(sc.trigger[:2]), r.positions[0, :2],
                                           r.positions[-1, :2]))
    return out


def heldout_routes(count: int, seed: int, avoid: list[Path], cfg: GeneratorConfig | None = None,
                   trigger_separation_m: float = 2.0) -> list[RouteSpec]:
    """`count` routes, the same number of each scenario type. Against the avoided (training) routes
    a trigger must lie `trigger_separation_m` from the same type's: the towns are small, and a few
    hundred training routes use every stop-sign junction and highway cut-in stretch, so for those
    types a held-out route shares the place but not the drive (start, turns, end, parameters,
    traffic). A type with no free placement at all (the highway's short cut-in stretch) is left
    out, and the other types fill its share, in turn."""
    cfg = replace(cfg or GeneratorConfig(), seed=seed)
    evaluation = evaluation_routes(cfg)
    avoided = routes_as_evaluation(avoid)
    loose = replace(cfg, min_trigger_separation_m=trigger_separation_m)
    quota = -(-count // len(SCENARIO_ORDER))  # the same number of each scenario type (all five abilities)
    batch = count
    while True:  # draw more than needed: many candidates land on a training route's scenario
        candidates, _ = generate_routes(batch, cfg)
        per_type: dict[str, list[RouteSpec]] = {}
        for r in candidates:
            if overlaps(r, evaluation, cfg) is None and overlaps(r, avoided, loose) is None:
                per_type.setdefault(r.scenarios[0].type, []).append(r)
        if all(len(per_type.get(t, [])) >= quota for t in SCENARIO_ORDER):
            break
        if batch >= 8 * count:
            break  # a type whose every placement the training data already uses stays short
        batch *= 2
    kept = [r for k in range(count) for t in SCENARIO_ORDER for r in per_type.get(t, [])[k:k + 1]][:count]
    if len(kept) < count:
        raise RuntimeError(f"only {len(kept)} of {count} routes avoid the given route files")
    return [replace(r, id=str(FIRST_HELDOUT_ID + k)) for k, r in enumerate(kept)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.heldout_routes", description=__doc__.split("\n")[0])
    parser.add_argument("--avoid", action="append", default=[], help="route file whose drives to avoid")
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--seed", type=int, default=4242)
    parser.add_argument("--trigger-separation-m", type=float, default=2.0,
                        help="least distance to the same scenario type's trigger in an avoided route")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    routes = heldout_routes(args.count, args.seed, [Path(p) for p in args.avoid],
                            trigger_separation_m=args.trigger_separation_m)
    write_routes(routes, args.out)
    print(f"{len(routes)} held-out routes -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
