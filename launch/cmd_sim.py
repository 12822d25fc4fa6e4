"""`automot sim`: drive an agent through a route file in the embedded simulator, score it as Bench2Drive.

    automot sim --routes bench2drive_routes/embedded_quick.xml --agent automot --out runs/sim_quick
    automot sim --routes bench2drive_routes/embedded_full.xml --agent expert --out runs/sim_expert --video

Writes <out>/simulation_results.json (the leaderboard's checkpoint format, rewritten after every
route; a re-run resumes and skips finished routes), <out>/<save_name>/metric_info.json (comfort),
and with --video <out>/<save_name>/topdown.mp4. Prints the run's DS / SR / abilities at the end.
Ctrl-C stops after saying so; the routes finished until then are kept and the same command
resumes. A resume refuses a folder that holds another route file or config.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

EXIT_INTERRUPTED = 130
EXIT_REFUSED = 2


def remove_stale_temporaries(out: Path) -> list[Path]:
    """Delete the '.<name>.<random>.tmp' files core/atomic_files leaves behind when a run is killed mid-write."""
    removed = []
    for path in Path(out).rglob(".*.tmp"):
        if path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("sim", help="closed-loop evaluation in the embedded CPU simulator")
    parser.add_argument("--routes", required=True, help="route file (Bench2Drive XML, embedded towns)")
    parser.add_argument("--agent", choices=("expert", "automot"), default="automot",
                        help="'automot': the agent with its configured planner; 'expert': the privileged expert")
    parser.add_argument("--config", default="", help="agent YAML config (default: built-in defaults)")
    parser.add_argument("--sim-config", default="", help="simulator YAML config (default: built-in defaults)")
    parser.add_argument("--out", required=True, help="output folder (the run's SAVE_PATH)")
    parser.add_argument("--video", action="store_true", help="write a top-down mp4 per route")
    parser.add_argument("--no-resume", action="store_true", help="start over instead of skipping finished routes")
    parser.add_argument("--seed", type=int, default=None, help="override the simulator seed")
    parser.add_argument("--pace", choices=("auto", "on", "off"), default="auto",
                        help="pace the world to wall-clock time (20 Hz); 'auto': when the agent's scheduler "
                             "is threaded (its background pass needs real time to finish)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return run_embedded_evaluation(
        routes=Path(args.routes), config=Path(args.config) if args.config else None, out=Path(args.out),
        agent=args.agent, sim_config=args.sim_config, video=args.video, resume=not args.no_resume, seed=args.seed,
        pace={"auto": None, "on": True, "off": False}[args.pace],
    )


def run_embedded_evaluation(routes: Path, config: Path | None, out: Path, agent: str = "automot",
                            sim_config: str = "", video: bool = False, resume: bool = True,
                            seed: int | None = None, pace: bool | None = None) -> int:
    """Evaluate over `routes` in the embedded simulator; 0 when every route ran (also `automot evaluate --simulator embedded`)."""
    from dataclasses import replace

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from launch.sim_summary import print_summary
    from sim.agents import AutoMoTAgentFactory
    from sim.config import load_sim_config
    from sim.evaluation import RunOptions, evaluate
    from sim.resume_check import EvaluationMismatch

    console = Console()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    cfg = load_sim_config(sim_config)
    if seed is not None:
        cfg = replace(cfg, seed=seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stale = remove_stale_temporaries(out)
    if stale:
        console.print(f"removed {len(stale)} unfinished temporary file(s) of an earlier run", highlight=False)
    factory = AutoMoTAgentFactory(out, str(config) if config else None, expert=agent == "expert",
                                  expert_config=cfg.expert)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:5.1f}% RC"),
                        TextColumn("{task.fields[info]}"), TimeElapsedColumn(), console=console)
    state: dict = {}

    def on_start(spec, index, total) -> None:
        label = f"[{index + 1}/{total}] {spec.id} {spec.scenario_name} ({spec.town})"
        state["task"] = progress.add_task(label, total=100.0, info="")

    def on_tick(runner, agent) -> None:
        w = runner.world
        if w.tick_count % 10 == 0:
            progress.update(state["task"], completed=runner.completion.actual_value,
                            info=f"t={w.time:5.1f}s {w.ego.speed * 3.6:4.0f} km/h")

    def on_end(record) -> None:
        s = record["scores"]
        progress.update(state["task"], completed=s["score_route"],
                        info=f"{record['status']}  DS {s['score_composed']:.1f}")

    options = RunOptions(out, resume=resume, video=video, on_tick=on_tick,
                         on_route_start=on_start, on_route_end=on_end, pace=pace)
    try:
        with progress:
            results = evaluate(str(routes), factory, cfg, options)
    except KeyboardInterrupt:
        console.print(f"stopped; run the same command again to resume (finished routes are kept in {out})",
                      highlight=False)
        return EXIT_INTERRUPTED
    except EvaluationMismatch as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        return EXIT_REFUSED
    print_summary(console, results.path, str(routes), out)
    return 0 if results.entry_status == "Finished" else 1
