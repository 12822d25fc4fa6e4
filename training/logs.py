"""What a training run shows and leaves behind (rank 0 only):

    rich progress     loss terms, learning rate, samples/s, ETA
    tensorboard/      event files (train/*, val/*)
    metrics.jsonl     one JSON line per logged step and per validation
    loss_curve.png    training loss terms and validation L2 over steps
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

METRICS_FILE = "metrics.jsonl"
CURVE_FILE = "loss_curve.png"


class TrainLogger:
    def __init__(self, out: Path, total_steps: int, start_step: int, enabled: bool,
                 console: Console | None = None) -> None:
        self.out, self.enabled = out, enabled
        self.console = console or Console(stderr=True)
        self.total, self.start = total_steps, start_step
        self.progress: Progress | None = None
        self.writer = None
        self._t0 = time.perf_counter()
        self._samples = 0
        if not enabled:
            return
        out.mkdir(parents=True, exist_ok=True)
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(out / "tensorboard"), purge_step=start_step or None)
        self.progress = Progress(TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[status]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                                 console=self.console, transient=False)
        self.task = self.progress.add_task("train", total=total_steps, completed=start_step, status="")
        self.progress.start()

    def step(self, step: int, losses: dict[str, float], lr: float, samples: int, log: bool) -> None:
        """Called after every optimiser step; `log` on every run.log_every-th."""
        self._samples += samples
        if not self.enabled:
            return
        if log:
            elapsed = max(time.perf_counter() - self._t0, 1e-9)
            rate = self._samples / elapsed
            status = " ".join(f"{k} {v:.3f}" for k, v in losses.items()) + f" lr {lr:.2e} {rate:.1f} samples/s"
            self.progress.update(self.task, completed=step, status=status)
            for k, v in losses.items():
                self.writer.add_scalar(f"train/{k}", v, step)
            self.writer.add_scalar("train/lr", lr, step)
            self.writer.add_scalar("train/samples_per_s", rate, step)
            self._append({"step": step, "kind": "train", "lr": lr, "samples_per_s": rate, **losses})
            self._t0, self._samples = time.perf_counter(), 0
        else:
            self.progress.update(self.task, completed=step)

    def validation(self, step: int, metrics: dict[str, float]) -> None:
        if not self.enabled or not metrics:
            return
        for k, v in metrics.items():
            self.writer.add_scalar(f"val/{k}", v, step)
        self._append({"step": step, "kind": "val", **metrics})
        shown = ", ".join(f"{k} {v:.3f}" for k, v in metrics.items() if k != "samples")
        self.console.print(f"[bold]val @ step {step}[/] ({int(metrics.get('samples', 0))} samples): {shown}")
        self.plot()

    def message(self, text: str) -> None:
        if self.enabled:
            self.console.print(text)

    def _append(self, record: dict) -> None:
        with open(self.out / METRICS_FILE, "a") as f:  # append-only: a kill loses at most one line
            f.write(json.dumps(record) + "\n")

    def plot(self) -> Path | None:
        path = self.out / METRICS_FILE
        if not path.is_file():
            return None
        return plot_metrics(path, self.out / CURVE_FILE)

    def close(self) -> None:
        if not self.enabled:
            return
        self.progress.stop()
        self.writer.close()
        self.plot()


def read_metrics(path: Path) -> list[dict]:
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:  # the last line of a killed run
            continue
    return records


def plot_metrics(metrics_file: Path, png: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = read_metrics(metrics_file)
    train = [r for r in records if r.get("kind") == "train"]
    val = [r for r in records if r.get("kind") == "val"]
    fig, (ax_loss, ax_val) = plt.subplots(1, 2, figsize=(11, 4))
    for key in ("loss", "waypoint", "route", "speed", "decision"):
        points = [(r["step"], r[key]) for r in train if key in r]
        if points:
            ax_loss.plot(*zip(*points), label=key, linewidth=1.5 if key == "loss" else 1.0)
    ax_loss.set(xlabel="step", ylabel="weighted loss", yscale="log", title="training loss")
    ax_loss.legend(fontsize=8)
    for key in ("l2_1s", "l2_2s", "l2_3s"):
        points = [(r["step"], r[key]) for r in val if key in r]
        if points:
            ax_val.plot(*zip(*points), marker="o", label=key)
    ax_val.set(xlabel="step", ylabel="m", title="validation L2 (open loop)")
    if val:
        ax_val.legend(fontsize=8)
    fig.tight_layout()
    tmp = png.with_name(f".{png.name}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(png)
    return png
