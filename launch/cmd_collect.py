"""`automot collect`: the privileged expert records a PDM-Lite-layout dataset in the embedded simulator.

    automot collect --generate 160 --out /data/embedded_v1 --workers 2      # training routes, then record
    automot collect --routes my_routes.xml --out /data/mine                   # a route file of your own

One process per route (a fresh interpreter each), rich progress, resumable: a finished route folder
is never recorded again, a half-written one is redone, a failed route is counted once and skipped.
At the end: routes kept / failed, the expert's driving score over the whole route set (failed
routes included), frames, simulated hours, disk size; all of it in <out>/dataset_manifest.json
with the routes file and the config, to ship next to a model trained on the data.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import shutil
import sys
import time
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("collect", help="record a driving dataset with the expert (embedded simulator)")
    parser.add_argument("--routes", default="", help="route file to record (with --generate: where to write them)")
    parser.add_argument("--generate", type=int, default=0, metavar="N", help="generate N training routes first")
    parser.add_argument("--out", required=True, help="dataset folder")
    parser.add_argument("--workers", type=int, default=1, help="routes recorded in parallel (one process each)")
    parser.add_argument("--config", default="", help="collect YAML (sim / data / recovery / generate sections)")
    parser.add_argument("--max-hours", type=float, default=0.0, metavar="H",
                        help="stop starting routes once the recorded routes hold H simulated hours (0: record all)")
    parser.set_defaults(func=run)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from core.atomic_files import atomic_write_json, atomic_write_text
    from core.typed_config import to_dict
    from launch.job_processes import run_job_processes
    from sim.collect_config import load_collect_config
    from sim.collector import RouteJob, collect_route, finished_outcome, is_done, route_folder_name
    from sim.route_file import read_routes
    from sim.route_generator import generate_routes, meta_path, read_meta, scenario_mix, write_generated

    console = Console()
    cfg = load_collect_config(args.config or None)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if args.workers < 1:
        console.print("[red]--workers must be >= 1[/red]")
        return 2
    routes_file = Path(args.routes) if args.routes else out / "training_routes.xml"
    if args.generate:
        if routes_file.is_file() and read_routes(routes_file):
            console.print(f"{routes_file} exists: recording it (delete it to generate anew)")
        else:
            routes, meta = generate_routes(args.generate, cfg.generate, cfg.sim)
            write_generated(routes, meta, routes_file)
            console.print(f"generated {len(routes)} training routes -> {routes_file}: {scenario_mix(routes)}")
    if not routes_file.is_file():
        console.print(f"[red]{routes_file}: route file not found (give --routes or --generate N)[/red]")
        return 2
    routes = read_routes(routes_file)
    meta = read_meta(routes_file)
    kept_routes = out / "routes.xml"
    if routes_file.resolve() != kept_routes:
        shutil.copyfile(routes_file, kept_routes)
        if meta_path(routes_file).is_file():
            shutil.copyfile(meta_path(routes_file), meta_path(kept_routes))
    config_dict = to_dict(cfg)
    import yaml

    atomic_write_text(out / "collect_config.yaml", yaml.safe_dump(config_dict, sort_keys=False))
    pending = [i for i, spec in enumerate(routes) if not is_done(out, spec)]
    console.print(f"{len(routes)} routes, {len(routes) - len(pending)} already done, {len(pending)} to record, "
                  f"{args.workers} worker(s)")
    start = time.perf_counter()
    ctx = multiprocessing.get_context("spawn")
    manager = ctx.Manager()
    queue = manager.Queue()
    jobs = [RouteJob(str(routes_file.resolve()), i, str(out), config_dict,
                     meta.get(routes[i].id, {}).get("background_vehicles"), queue) for i in pending]
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[info]}"), TimeElapsedColumn(), console=console)
    hours = sum(o["duration_game"] for o in (finished_outcome(out, s) for s in routes if is_done(out, s))
                if o["success"]) / 3600.0
    running: dict[str, int] = {}  # route name -> its progress bar
    crashed: list[str] = []
    tally = {"failures": 0, "hours": hours}

    def may_start() -> bool:
        return not (args.max_hours and tally["hours"] >= args.max_hours)

    def show_progress() -> None:
        while not queue.empty():
            name, completion, sim_t = queue.get()
            if name not in running:
                running[name] = progress.add_task(name, total=100.0, info="")
            progress.update(running[name], completed=completion, info=f"t={sim_t:5.0f}s")

    def route_ended(job: RouteJob, exit_code: int) -> None:
        spec = routes[job.index]
        name = route_folder_name(spec)
        task = running.pop(name, None)
        if task is not None:
            progress.remove_task(task)
        if not is_done(out, spec):  # the process died before it wrote its outcome
            crashed.append(name)
            progress.console.print(f"[red]{name}: the recording process ended with exit code "
                                   f"{exit_code} and left no outcome; the next run records it again[/red]")
        else:
            outcome = finished_outcome(out, spec)
            tally["failures"] += 0 if outcome["success"] else 1
            tally["hours"] += outcome["duration_game"] / 3600.0 if outcome["success"] else 0.0
            status = "ok" if outcome["success"] else f"[red]FAILED ({outcome['record']['status']})[/red]"
            progress.console.print(f"{outcome['name']}: {status} DS {outcome['record']['scores']['score_composed']:.1f}"
                                   f" {outcome['frames']} frames {outcome['wall_s']:.0f} s")
        progress.update(total, advance=1, info=f"{tally['failures']} failed, {tally['hours']:.2f} h recorded")

    with progress:
        total = progress.add_task("routes", total=len(jobs), info="")
        run_job_processes(jobs, collect_route, args.workers, ctx, route_ended, may_start, show_progress)
    manager.shutdown()
    wall = time.perf_counter() - start
    outcomes = [finished_outcome(out, spec) for spec in routes if is_done(out, spec)]
    kept = [o for o in outcomes if o["success"]]
    # the expert's DS over the routes it drove (kept + failed); routes never started (--max-hours) are listed apart
    ds = sum(o["record"]["scores"]["score_composed"] for o in outcomes) / max(len(outcomes), 1)
    abilities: dict[str, int] = {}
    for o in kept:
        abilities[o["ability"]] = abilities.get(o["ability"], 0) + 1
    manifest = {
        "routes_file": str(kept_routes), "routes_sha256": _sha256(kept_routes), "config": config_dict,
        "command": " ".join(["automot", *sys.argv[1:]]) if sys.argv[0].endswith("automot") else " ".join(sys.argv),
        "routes": len(routes), "routes_recorded": len(kept), "routes_failed": len(outcomes) - len(kept),
        "routes_not_recorded": len(routes) - len(outcomes), "expert_driving_score": round(ds, 3),
        "failed": [o["name"] for o in outcomes if not o["success"]],
        "frames": sum(o["frames"] for o in kept), "simulated_hours": sum(o["duration_game"] for o in kept) / 3600.0,
        "frame_period_s": cfg.data.layout.frame_period_s, "abilities": abilities,
        "scenario_types": scenario_mix([s for s in routes if any(o["name"].endswith(s.name) and o["success"]
                                                                  for o in kept)]),
        "disk_bytes": _folder_bytes(out), "wall_s_this_run": round(wall, 1),
        "record_wall_s_total": round(sum(o["wall_s"] for o in outcomes), 1),
    }
    atomic_write_json(out / "dataset_manifest.json", manifest)
    console.print(f"routes: {len(kept)} recorded, {manifest['routes_failed']} failed, "
                  f"{manifest['routes_not_recorded']} not started; expert DS over the {len(outcomes)} driven routes "
                  f"{ds:.2f}")
    console.print(f"frames {manifest['frames']}, simulated {manifest['simulated_hours']:.2f} h, disk "
                  f"{manifest['disk_bytes'] / 1e9:.2f} GB, wall {wall / 60:.1f} min -> {out / 'dataset_manifest.json'}")
    if crashed:
        console.print(f"[red]{len(crashed)} recording process(es) died without an outcome: {', '.join(crashed)}; "
                      f"run the same command again to record them[/red]")
    stopped_early = bool(args.max_hours) and tally["hours"] >= args.max_hours and not crashed
    return 0 if manifest["routes_not_recorded"] == 0 or stopped_early else 1
