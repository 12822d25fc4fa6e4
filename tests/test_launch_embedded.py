"""`automot evaluate --simulator embedded` runs the embedded simulator and its results are reportable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench2drive_routes import write_route_subset
from launch.cli import main

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_evaluate_embedded_writes_leaderboard_results_and_resumes(tmp_path, capsys):
    routes = tmp_path / "one_route.xml"
    write_route_subset(REPO / "bench2drive_routes" / "embedded_quick.xml", ["101"], routes)
    config = tmp_path / "agent.yaml"
    config.write_text("planner: {kind: route_follower}\n")
    out = tmp_path / "run"
    args = ["evaluate", "--simulator", "embedded", "--routes", str(routes), "--config", str(config), "--out", str(out)]
    assert main(args) == 0
    results = json.loads((out / "simulation_results.json").read_text())
    records = results["_checkpoint"]["records"]
    assert [r["route_id"] for r in records] == ["RouteScenario_101_rep0"]
    assert records[0]["status"] in ("Completed", "Perfect")  # the route follower clears the pedestrian route
    assert records[0]["scores"]["score_route"] == pytest.approx(100.0)
    first_mtime = (out / "simulation_results.json").stat().st_mtime_ns
    assert main(args) == 0  # the same command again: the finished route is not run twice
    again = json.loads((out / "simulation_results.json").read_text())
    assert len(again["_checkpoint"]["records"]) == 1
    assert again["_checkpoint"]["records"][0] == records[0]
    assert (out / "simulation_results.json").stat().st_mtime_ns >= first_mtime
