"""Torch thread budgets per thread of the agent, so the threaded scheduler's two sides share the cores.

torch's intra-op thread count (OpenMP) is a per-thread setting: the understanding worker and
the tick thread each set their own. Without a budget each side starts as many threads as
there are cores, and on 2 cores the two passes oversubscribe them (an AE pass of 59 ms took
303 ms beside a running UE pass). torch is only touched when something already imported it:
the network-free planners never load it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def split_threads(understand: int, act: int, cores: int | None = None) -> tuple[int, int]:
    """(understand, act) thread counts; 0 means automatic: the tick gets half the cores (at least 1),
    the understanding worker the rest (at least 1)."""
    cores = available_cores() if cores is None else cores
    act = act if act > 0 else max(1, cores // 2)
    understand = understand if understand > 0 else max(1, cores - act)
    return understand, act


def set_torch_threads(count: int) -> int | None:
    """Set this thread's torch intra-op threads; returns the previous count (None: torch not loaded)."""
    torch = sys.modules.get("torch")
    if torch is None or count <= 0:
        return None
    previous = torch.get_num_threads()
    if previous != count:
        torch.set_num_threads(count)
    return previous


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with `count` torch threads on this thread, then restore the previous count."""
    previous = set_torch_threads(count)
    try:
        yield
    finally:
        if previous is not None:
            set_torch_threads(previous)
