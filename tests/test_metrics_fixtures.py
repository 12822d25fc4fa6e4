"""Merging results and scoring runs on fixtures: statuses, infraction types, duplicates, missing routes, bad files."""

from __future__ import annotations

import json
import math

import pytest
from b2d_fixtures import ALL_STATUSES, MESSAGES, make_record, make_route, write_results

from bench2drive_routes import parse_routes, write_routes
from launch.metrics import (
    INFRACTION_TYPES,
    ResultFileError,
    build_report,
    failed_route_ids,
    load_result_file,
    merge_results,
)

CRASHED = {"Failed - Simulation crashed", "Failed - Agent crashed", "Failed - Agent couldn't be set up",
           "Failed - Agent's sensors were invalid", "Started"}


def _route_file(tmp_path, ids, types=None):
    routes = [make_route(i, scenario_type=(types or {}).get(i, "ParkingCutIn"), origin=(100.0 * n, 0.0))
              for n, i in enumerate(ids)]
    return write_routes(routes, tmp_path / "routes.xml")


def test_every_status_has_the_right_outcome(tmp_path):
    ids = [str(i) for i in range(1, len(ALL_STATUSES) + 1)]
    records = [make_record(i, status=s, score_route=100.0 if s in ("Perfect", "Completed") else 40.0,
                           min_speed=[90.0]) for i, s in zip(ids, ALL_STATUSES)]
    report = build_report(write_results(tmp_path / "r.json", records), _route_file(tmp_path, ids))
    outcome = {row.status: row.outcome for row in report.routes}
    for status in ALL_STATUSES:
        expected = "success" if status in ("Perfect", "Completed") else "crashed" if status in CRASHED else "failed"
        assert outcome[status] == expected, status
    assert report.success_rate == pytest.approx(100.0 * 2 / len(ids))
    assert {row.route_id for row in report.failed} == set(ids[2:])
    assert all(status in next(r.reason for r in report.failed if r.status == status) for status in ALL_STATUSES[2:])


def test_every_infraction_type_counts_except_min_speed(tmp_path):
    ids = [str(i) for i in range(len(INFRACTION_TYPES))]
    raw = [make_record(i, status="Failed - Agent timed out", infractions={t: 1}, route_length=250.0, score_route=80.0)
           for i, t in zip(ids, INFRACTION_TYPES)]
    report = build_report(write_results(tmp_path / "r.json", raw), _route_file(tmp_path, ids))
    for row, t, record in zip(report.routes, INFRACTION_TYPES, raw):
        assert not row.success and row.outcome == "failed"
        assert row.infraction_penalty == pytest.approx(record["scores"]["score_penalty"])
        assert row.driving_score == pytest.approx(80.0 * record["scores"]["score_penalty"])
        assert (t in row.infractions) == (t != "min_speed_infractions")
    # completed runs: success iff the only infraction is min speed
    done = [make_record(i, status="Completed", infractions={t: 2}) for i, t in zip(ids, INFRACTION_TYPES)]
    report = build_report(write_results(tmp_path / "done.json", done), _route_file(tmp_path, ids))
    for row, t in zip(report.routes, INFRACTION_TYPES):
        assert row.success == (t == "min_speed_infractions"), t
        if t != "min_speed_infractions":
            assert row.outcome == "infraction" and f"{t}×2" in row.reason
    stats = report.infractions
    km = len(ids) * 20.0 / 1000.0  # 20 m routes (the fixtures' default), fully completed
    assert stats.km_driven == pytest.approx(km)
    assert all(stats.counts[t] == 2 and stats.per_km[t] == pytest.approx(2 / km) for t in INFRACTION_TYPES)
    assert stats.outside_route_lanes_km == pytest.approx(2 * 12.5 / 1000.0)


def test_scores_use_the_route_file_denominator_and_missing_routes_fail(tmp_path):
    ids = [str(i) for i in range(1, 8)]
    raw = [
        make_record("1"),
        make_record("2", infractions={"collisions_vehicle": 1}),
        make_record("3", status="Failed - Agent got blocked", score_route=35.0, infractions={"vehicle_blocked": 1}),
        make_record("4", infractions={"red_light": 1, "outside_route_lanes": 1}, score_route=100.0),
        make_record("5", status="Failed - Simulation crashed", score_route=0.0),
    ]  # routes 6 and 7 have no record
    report = build_report(write_results(tmp_path / "r.json", raw), _route_file(tmp_path, ids))
    n = len(ids)
    assert report.n_routes == n and "7 routes" in report.denominator
    assert report.driving_score == pytest.approx(sum(r["scores"]["score_composed"] for r in raw) / n)
    assert report.route_completion == pytest.approx(sum(r["scores"]["score_route"] for r in raw) / n)
    assert report.infraction_penalty == pytest.approx(sum(r["scores"]["score_penalty"] for r in raw) / n)
    assert report.success_rate == pytest.approx(100.0 / n)
    failed = {row.route_id: row for row in report.failed}
    assert set(failed) == set(ids[1:])
    assert failed["6"].outcome == failed["7"].outcome == "missing"
    assert failed["6"].status == "Missing" and failed["6"].driving_score == 0.0
    assert failed["5"].outcome == "crashed"
    document = report.to_json()
    for key in ("driving_score", "success_rate", "route_completion", "infraction_penalty", "abilities",
                "efficiency", "comfort", "routes", "failed"):
        assert key in document
    assert [f["route_id"] for f in document["failed"]] == ids[1:]
    json.dumps(document)  # serialisable as is


def test_no_route_file_uses_distinct_routes_and_says_so(tmp_path):
    raw = [make_record("1", scenario_type="InvadingTurn"), make_record("2", scenario_type="Accident",
                                                                       infractions={"collisions_layout": 1})]
    report = build_report(write_results(tmp_path / "r.json", raw))
    assert report.n_routes == 2 and report.success_rate == pytest.approx(50.0)
    assert "distinct routes found" in report.denominator
    assert any("no route file" in note for note in report.notes)
    # abilities come from the records' scenario names when no route file is given
    assert report.ability.counts["Give_Way"] == (1, 1) and report.ability.counts["Overtaking"] == (0, 1)
    assert report.abilities["Merging"] is None  # no routes: not 0, and left out of the mean
    assert report.abilities["mean"] == pytest.approx(50.0)


def test_records_outside_the_route_file_are_left_out_and_listed(tmp_path):
    raw = [make_record("1"), make_record("99")]
    report = build_report(write_results(tmp_path / "r.json", raw), _route_file(tmp_path, ["1", "2"]))
    assert report.n_routes == 2 and report.success_rate == pytest.approx(50.0)
    assert report.extra_records == ["RouteScenario_99_rep0"]


def test_repetitions_are_separate_routes(tmp_path):
    raw = [make_record("1", rep=0), make_record("1", rep=1, infractions={"collisions_vehicle": 1})]
    report = build_report(write_results(tmp_path / "r.json", raw), _route_file(tmp_path, ["1", "2"]))
    assert report.n_routes == 4  # 2 routes x 2 repetitions
    assert report.success_rate == pytest.approx(25.0)
    assert "2 repetitions" in report.denominator


def test_duplicates_in_one_folder_are_reported(tmp_path):
    good = make_record("1", started="03_01_10_00_00")
    bad = make_record("1", status="Failed - Agent got blocked", score_route=20.0, started="03_02_10_00_00")
    write_results(tmp_path / "a.json", [good])
    write_results(tmp_path / "b.json", [bad, good])
    report = build_report([tmp_path], _route_file(tmp_path, ["1"]))
    assert report.n_routes == 1 and len(report.duplicates) == 2  # 3 records of one route
    assert report.routes[0].status == bad["status"]  # the later start wins, even when it did worse
    assert report.to_json()["duplicates"][0]["reason"]


def test_malformed_json_names_the_file(tmp_path):
    broken = tmp_path / "shard3.json"
    broken.write_text('{"_checkpoint": {"records": [')
    with pytest.raises(ResultFileError) as info:
        merge_results([broken])
    assert str(broken) in str(info.value) and "line 1" in str(info.value)
    with pytest.raises(ResultFileError, match=r"shard3\.json"):
        merge_results([tmp_path])  # inside a folder too
    with pytest.raises(ResultFileError, match="no such"):
        merge_results([tmp_path / "absent.json"])


def test_bad_records_and_non_results_files(tmp_path):
    record = make_record("5")
    del record["scores"]["score_composed"]
    path = write_results(tmp_path / "bad.json", [make_record("4"), record])
    with pytest.raises(ResultFileError) as info:
        load_result_file(path)
    assert all(s in str(info.value) for s in (str(path), "record #1", "RouteScenario_5_rep0", "score_composed"))
    other = tmp_path / "sub" / "merged_ability.json"
    other.parent.mkdir()
    other.write_text(json.dumps({"Merging": 0.5}))
    write_results(tmp_path / "sub" / "ok.json", [make_record("4")])
    merged = merge_results([tmp_path / "sub"])  # in a folder: skipped and listed
    assert merged.skipped == [str(other)] and list(merged.records) == [("4", 0)]
    with pytest.raises(ResultFileError, match="not a leaderboard results file"):
        merge_results([other])  # named explicitly: an error


def test_failed_route_ids_by_kind_and_subset(tmp_path):
    ids = ["1", "2", "3", "4", "5"]
    raw = [make_record("1"), make_record("2", infractions={"red_light": 1}),
           make_record("3", status="Failed - TickRuntime", score_route=50.0),
           make_record("4", status="Failed - Agent crashed", score_route=0.0)]
    results = write_results(tmp_path / "r.json", raw)
    routes_file = _route_file(tmp_path, ids)
    assert failed_route_ids(results, routes_file) == ["2", "3", "4", "5"]
    assert failed_route_ids([results], routes_file, kinds=("missing", "crashed")) == ["4", "5"]
    assert failed_route_ids(results, parse_routes(routes_file), kinds=["infraction"]) == ["2"]
    with pytest.raises(ValueError, match="choose from"):
        failed_route_ids(results, routes_file, kinds=["broken"])


def test_message_fixtures_parse_like_the_leaderboard():
    # the outside-lanes message carries metres in the 9th word, as the leaderboard reads it
    assert math.isclose(float(MESSAGES["outside_route_lanes"].split(" ")[8]), 12.5)
