"""Live progress of an evaluation: a rich table on a terminal, plain lines in a log.

One row per worker (status, routes done / total, skipped, crashes, attempts, the route
running now, the running driving score) and a total row. Off a terminal (SLURM logs,
pipes) a one-line summary is printed whenever it changes.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.live import Live
from rich.table import Table

from launch.shard_worker import WorkerSnapshot


def _ds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def overall(snapshots: Sequence[WorkerSnapshot]) -> dict:
    done = sum(s.done for s in snapshots)
    total = sum(s.total for s in snapshots)
    weighted = [(s.driving_score, s.done - s.skipped) for s in snapshots if s.driving_score is not None]
    n = sum(w for _, w in weighted)
    ds = sum(v * w for v, w in weighted) / n if n else None
    return {"done": done, "total": total, "skipped": sum(s.skipped for s in snapshots),
            "crashes": sum(s.crashes for s in snapshots), "driving_score": ds}


def summary_line(snapshots: Sequence[WorkerSnapshot]) -> str:
    o = overall(snapshots)
    states = ", ".join(f"{s.name}:{s.status}" + (f"@{s.current_route}" if s.current_route else "") for s in snapshots)
    return (f"routes {o['done']}/{o['total']}  skipped {o['skipped']}  crashes {o['crashes']}  "
            f"DS(finished) {_ds(o['driving_score'])}  [{states}]")


def progress_table(snapshots: Sequence[WorkerSnapshot], title: str = "automot evaluate") -> Table:
    table = Table(title=title)
    for column in ("worker", "gpu", "status", "routes", "skipped", "crashes", "attempts", "route now", "DS"):
        table.add_column(column, justify="right" if column in ("routes", "skipped", "crashes", "attempts", "DS")
                         else "left")
    for s in snapshots:
        table.add_row(s.name, str(s.gpu), s.status, f"{s.done}/{s.total}", str(s.skipped), str(s.crashes),
                      str(s.attempts), s.current_route or "", _ds(s.driving_score))
    o = overall(snapshots)
    table.add_row("total", "", "", f"{o['done']}/{o['total']}", str(o["skipped"]), str(o["crashes"]), "", "",
                  _ds(o["driving_score"]), style="bold")
    return table


class ProgressView:
    """Context manager: `with ProgressView(console) as view: view.update(snapshots)`."""

    def __init__(self, console: Console | None = None, title: str = "automot evaluate") -> None:
        self.console = console or Console()
        self.title = title
        self._live: Live | None = None
        self._last_line = ""

    def __enter__(self) -> ProgressView:
        if self.console.is_terminal:
            self._live = Live(console=self.console, auto_refresh=False, transient=False)
            self._live.__enter__()
        return self

    def update(self, snapshots: Sequence[WorkerSnapshot]) -> None:
        if self._live is not None:
            self._live.update(progress_table(snapshots, self.title), refresh=True)
            return
        line = summary_line(snapshots)
        if line != self._last_line:
            self.console.print(line, markup=False, highlight=False, soft_wrap=True)
            self._last_line = line

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)
            self._live = None
