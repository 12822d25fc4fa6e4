"""`automot report` and `automot failures` end to end on fixture files."""

from __future__ import annotations

import json

import matplotlib.image
import pytest
from b2d_fixtures import make_record, make_route, write_results

from bench2drive_routes import parse_routes, write_routes
from launch.cli import main


@pytest.fixture()
def run_files(tmp_path):
    kinds = ["ParkingCutIn", "Accident", "InvadingTurn", "T_Junction", "EnterActorFlow", "HighwayExit"]
    routes = [make_route(str(i), town=f"Town0{1 + i % 3}", scenario_type=k, origin=(0.0, 40.0 * i))
              for i, k in enumerate(kinds)]
    routes_file = write_routes(routes, tmp_path / "routes.xml")
    def record(i: int, **kw) -> dict:  # a record of route i, with its town and scenario
        return make_record(str(i), town=f"Town0{1 + i % 3}", scenario_type=kinds[i], **kw)

    base = [record(0, min_speed=[90.0]), record(1, infractions={"collisions_vehicle": 1}),
            record(2, status="Failed - Agent got blocked", score_route=30.0),
            record(3, status="Failed - Simulation crashed", score_route=0.0), record(4)]
    # run A is split in two shards; route 5 is missing
    write_results(tmp_path / "a" / "shard0.json", base[:3])
    write_results(tmp_path / "a" / "shard1.json", base[3:])
    better = [record(i, min_speed=[110.0]) for i in range(6)]
    write_results(tmp_path / "b" / "all.json", better)
    return tmp_path, routes_file


def test_report_json_plots_and_compare(run_files, capsys):
    tmp_path, routes_file = run_files
    out = tmp_path / "out" / "report.json"
    code = main(["report", str(tmp_path / "a"), "--routes", str(routes_file), "--compare", str(tmp_path / "b"),
                 "--json", str(out), "--plots", str(tmp_path / "plots"), "--label", "baseline"])
    assert code == 0
    text = capsys.readouterr().out
    assert "baseline" in text and "Δ b" in text and "missing" in text
    document = json.loads(out.read_text())
    assert document["driving_score"] == pytest.approx((100.0 + 60.0 + 30.0 + 0.0 + 100.0) / 6)
    assert document["success_rate"] == pytest.approx(100.0 * 2 / 6)
    assert set(document["abilities"]) == {"Merging", "Overtaking", "Emergency_Brake", "Give_Way", "Traffic_Signs", "mean"}
    assert [f["route_id"] for f in document["failed"]] == ["1", "2", "3", "5"]
    assert len(document["routes"]) == 6
    other = document["compare"][0]
    assert other["summary"]["success_rate"] == pytest.approx(100.0)
    assert other["difference"]["success_rate"] == pytest.approx(100.0 - document["success_rate"])
    assert other["difference"]["efficiency"] == pytest.approx(110.0 - 90.0)
    for name in ("abilities.png", "route_scores.png", "infractions.png"):
        image = matplotlib.image.imread(tmp_path / "plots" / name)
        assert image.shape[0] > 200 and image.shape[1] > 400


def test_report_without_routes_says_where_the_denominator_comes_from(run_files, capsys):
    tmp_path, _ = run_files
    assert main(["report", str(tmp_path / "a" / "shard0.json"), str(tmp_path / "a" / "shard1.json")]) == 0
    assert "distinct routes found" in capsys.readouterr().out.replace("\n", " ")


def test_report_malformed_json_exits_2_naming_the_file(run_files, capsys):
    tmp_path, routes_file = run_files
    broken = tmp_path / "a" / "shard2.json"
    broken.write_text("{ truncated")
    assert main(["report", str(tmp_path / "a"), "--routes", str(routes_file)]) == 2
    assert "shard2.json" in capsys.readouterr().err.replace("\n", "")


def test_failures_lists_reasons_and_writes_a_rerun_file(run_files, capsys):
    tmp_path, routes_file = run_files
    subset = tmp_path / "rerun.xml"
    assert main(["failures", str(tmp_path / "a"), "--routes", str(routes_file), "--out", str(subset)]) == 0
    text = capsys.readouterr().out
    assert "4 of 6" in text and "crashed" in text and "collisions_vehicle" in text
    assert [r.id for r in parse_routes(subset)] == ["1", "2", "3", "5"]
    assert main(["failures", str(tmp_path / "a"), "--routes", str(routes_file), "--kinds", "missing", "crashed",
                 "--out", str(subset)]) == 0
    assert [r.id for r in parse_routes(subset)] == ["3", "5"]
