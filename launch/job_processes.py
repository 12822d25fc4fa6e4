"""Run jobs in fresh processes, a few at a time, and hear about every one of them when it ends.

`multiprocessing.Pool(maxtasksperchild=1)` can lose a task: when a worker process dies, or is
replaced while its result is in flight, the AsyncResult never becomes ready and the parent waits
for ever (`automot collect` hung that way once, both workers idle, after its last route). Here
each job owns its process, the parent watches the processes themselves, and a job ends when its
process has exited, whatever the reason: normally (exit code 0) or not (the code, or -signal).
The job's result is whatever it left on disk; the parent reads it back in `on_exit`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from multiprocessing.context import BaseContext
from typing import TypeVar

Job = TypeVar("Job")


def run_job_processes(jobs: Sequence[Job], target: Callable[[Job], object], workers: int, ctx: BaseContext,
                      on_exit: Callable[[Job, int], None], may_start: Callable[[], bool] = lambda: True,
                      on_poll: Callable[[], None] = lambda: None, poll_s: float = 0.5) -> int:
    """Run target(job) for each job in its own process, at most `workers` at once, in order.

    on_exit(job, exit_code) runs in this process as each one ends (0: returned normally).
    may_start() is asked before each start: False stops starting new jobs (the running ones
    finish). on_poll() runs between polls (e.g. to drain a progress queue).
    Returns the number of jobs started. `target` must be importable by the child (spawn)."""
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    queued = list(jobs)
    running: list[tuple[object, Job]] = []
    started = 0
    try:
        while queued or running:
            while queued and len(running) < workers and may_start():
                job = queued.pop(0)
                process = ctx.Process(target=target, args=(job,))
                process.start()
                running.append((process, job))
                started += 1
            if not running:
                break  # may_start() said no and nothing is left running
            ended = [(p, j) for p, j in running if not p.is_alive()]
            for process, job in ended:
                process.join()
                running.remove((process, job))
                on_exit(job, process.exitcode)
            on_poll()
            if not ended:
                time.sleep(poll_s)
    finally:  # Ctrl-C or an error in a callback: leave no child behind
        for process, _ in running:
            if process.is_alive():
                process.terminate()
                process.join(5)
    return started
