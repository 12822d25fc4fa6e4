"""Checkpoint reading while the evaluator writes, shard bookkeeping, and the progress view."""

from __future__ import annotations

import io
import json

from rich.console import Console

from launch.checkpoint_files import read_checkpoint, results_document, route_of_record, skipped_record
from launch.progress_view import ProgressView, overall, progress_table, summary_line
from launch.shard_state import ShardLayout, ShardState, analyse_attempt, charge_crash, remaining_routes
from launch.shard_worker import WorkerSnapshot


def record(route_id: str, status: str = "Completed", score: float = 100.0) -> dict:
    return {"index": 0, "route_id": f"RouteScenario_{route_id}_rep0", "status": status,
            "scores": {"score_route": score, "score_penalty": 1.0, "score_composed": score}}


def test_half_written_checkpoint_reads_as_nothing_yet(tmp_path):
    path = tmp_path / "ck.json"
    assert read_checkpoint(path) is None
    path.write_text("")
    assert read_checkpoint(path) is None
    path.write_text('{"_checkpoint": {"records": [{"route_id": "RouteSc')
    assert read_checkpoint(path) is None
    path.write_text(json.dumps(results_document([record("1")], total=2)))
    assert read_checkpoint(path)["_checkpoint"]["progress"] == [1, 2]


def test_results_document_status_follows_the_leaderboard_rules():
    assert results_document([record("1")], total=2)["entry_status"] == "Started"
    done = results_document([record("1"), record("2", "Failed - Agent got blocked", 40.0)], total=2)
    assert done["entry_status"] == "Finished" and done["eligible"]
    assert [r["index"] for r in done["_checkpoint"]["records"]] == [0, 1]
    crashed = results_document([record("1"), skipped_record("RouteScenario_2_rep0", 3, "x")], total=2)
    assert crashed["entry_status"] == "Crashed" and not crashed["eligible"]
    assert route_of_record("RouteScenario_1711_rep0") == "1711"


def test_attempt_analysis_finds_crash_and_route_in_progress(tmp_path):
    layout = ShardLayout(tmp_path)
    layout.attempts_dir.mkdir(parents=True)
    doc = results_document([record("4"), record("7", "Failed - Simulation crashed", 0.0)], total=3, complete=False)
    layout.attempt_checkpoint(0).write_text(json.dumps(doc))
    crashed, in_progress, finished = analyse_attempt(layout, 0, ("4", "7", "9"), ("Failed - Simulation crashed",), 1)
    assert crashed == ["7"] and in_progress == "9" and finished == 1
    state = ShardState()
    assert charge_crash(state, "7", 2) is False and charge_crash(state, "7", 2) is True
    assert state.skipped == {"7": "crashed the simulator 2 times"}
    finished_records = {"RouteScenario_4_rep0": record("4")}
    assert remaining_routes(("4", "7", "9"), finished_records, state, 1) == ("9",)
    state.save(layout.state_file)
    assert ShardState.load(layout.state_file).crashes == {"7": 2}


def snapshots():
    return [WorkerSnapshot("shard00", 0, "running", 3, 5, 1, 2, 3, "17", 80.0),
            WorkerSnapshot("shard01", 1, "done", 4, 4, 0, 0, 1, None, 50.0)]


def test_progress_totals_and_current_driving_score():
    o = overall(snapshots())
    assert (o["done"], o["total"], o["skipped"], o["crashes"]) == (7, 9, 1, 2)
    assert o["driving_score"] == (80.0 * 2 + 50.0 * 4) / 6  # weighted by routes finished (skips excluded)
    line = summary_line(snapshots())
    assert line.startswith("routes 7/9  skipped 1  crashes 2  DS(finished) 60.00") and "shard00:running@17" in line
    console = Console(file=io.StringIO(), width=200)
    console.print(progress_table(snapshots()))
    text = console.file.getvalue()
    assert "3/5" in text and "7/9" in text and "80.00" in text


def test_progress_view_prints_lines_off_a_terminal_only_when_something_changes():
    console = Console(file=io.StringIO(), width=300)
    with ProgressView(console) as view:
        view.update(snapshots())
        view.update(snapshots())
        changed = snapshots()
        changed[1] = WorkerSnapshot("shard01", 1, "done", 4, 4, 0, 0, 1, None, 60.0)
        view.update(changed)
    assert len(console.file.getvalue().splitlines()) == 2
