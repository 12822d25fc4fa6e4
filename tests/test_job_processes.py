"""Jobs in their own processes: every job is heard of when its process ends, however it ends."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

from launch.job_processes import run_job_processes


def _job(spec: tuple[str, str]) -> None:
    """(folder, how): 'ok' writes its result, 'die' exits hard before writing, 'raise' raises."""
    folder, how = spec
    if how == "die":
        os._exit(3)
    if how == "raise":
        raise RuntimeError("boom")
    (Path(folder) / "done").write_text(how)


def test_every_job_ends_with_its_exit_code_and_none_is_lost(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    jobs = []
    for i, how in enumerate(["ok", "die", "ok", "raise", "ok"]):
        (tmp_path / str(i)).mkdir()
        jobs.append((str(tmp_path / str(i)), how))
    ended: list[tuple[str, int]] = []
    started = run_job_processes(jobs, _job, 2, ctx, lambda job, code: ended.append((job[1], code)), poll_s=0.05)
    assert started == 5
    assert sorted(ended) == sorted([("ok", 0), ("die", 3), ("ok", 0), ("raise", 1), ("ok", 0)])
    assert [(tmp_path / str(i) / "done").is_file() for i in range(5)] == [True, False, True, False, True]


def test_may_start_stops_new_jobs_and_the_running_ones_finish(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    jobs = [(str(tmp_path), "ok")] * 4
    ended: list[int] = []
    started = run_job_processes(jobs, _job, 1, ctx, lambda job, code: ended.append(code),
                                may_start=lambda: len(ended) < 2, poll_s=0.05)
    assert started == 2 and ended == [0, 0]
    with pytest.raises(ValueError, match="workers"):
        run_job_processes(jobs, _job, 0, ctx, lambda job, code: None)
