"""Reports users can trust: Bench2Drive's ability rule, missing and duplicate routes, wrong route files, bad values."""

from __future__ import annotations

import json
import math
import os

import pytest
from b2d_fixtures import make_record, make_route, write_results

from bench2drive_routes import RouteFileWarning, parse_routes, write_routes
from launch.cli import main
from launch.metrics import ResultFileError, build_report, load_result_file, merge_results
from launch.metrics.consistency import length_tolerance_m


def _routes(tmp_path, kinds: dict[str, str], name: str = "routes.xml"):
    """A route file: id -> scenario type, routes 20 m long, 100 m apart."""
    routes = [make_route(i, scenario_type=k, origin=(100.0 * n, 0.0)) for n, (i, k) in enumerate(kinds.items())]
    return write_routes(routes, tmp_path / name)


# -- 1. abilities by Bench2Drive's rule ------------------------------------------------------------

def _published_style_run(tmp_path):
    """80 Merging routes (HighwayExit) with 11 successes and 2 without record, like UniAD-Base's
    published Merging 14.10 (11/78); 60 Emergency_Brake routes (ParkingCutIn) with 11 successes and
    1 without record, like VAD's Emergency_Brake 18.64 (11/59)."""
    kinds = {str(1000 + i): "HighwayExit" for i in range(80)} | {str(2000 + i): "ParkingCutIn" for i in range(60)}
    records = []
    for n, route_id in enumerate(kinds):
        block = n if n < 80 else n - 80
        if (n < 80 and block >= 78) or (n >= 80 and block >= 59):
            continue  # no record
        if block < 11:
            records.append(make_record(route_id, scenario_type=kinds[route_id]))
        elif block == 11:  # a crashed record exists: it is a failure under either rule
            records.append(make_record(route_id, status="Failed - Simulation crashed", score_route=0.0,
                                       scenario_type=kinds[route_id]))
        else:
            records.append(make_record(route_id, infractions={"collisions_vehicle": 1}, scenario_type=kinds[route_id]))
    return write_results(tmp_path / "run" / "r.json", records), _routes(tmp_path, kinds)


def test_abilities_leave_routes_without_record_out_by_default(tmp_path):
    results, routes = _published_style_run(tmp_path)
    report = build_report(results, routes)
    assert report.ability.rule == "bench2drive"
    assert report.ability.counts["Merging"] == (11, 78) and round(report.abilities["Merging"], 2) == 14.10
    assert report.ability.counts["Emergency_Brake"] == (11, 59) and round(report.abilities["Emergency_Brake"], 2) == 18.64
    assert report.ability.no_record == {"Merging": 2, "Overtaking": 0, "Emergency_Brake": 1, "Give_Way": 0,
                                        "Traffic_Signs": 0}
    # DS and SR still divide by the route file
    assert report.n_routes == 140 and report.success_rate == pytest.approx(100.0 * 22 / 140)
    assert report.scenario_types["HighwayExit"] == (11, 78)  # Bench2Drive's per-type table skips them too
    assert any("3 routes with no record left out" in note for note in report.notes)
    document = report.to_json()
    assert document["ability_rule"] == "bench2drive" and document["n_missing"] == 3
    assert document["ability_no_record"]["Merging"] == 2

    strict = build_report(results, routes, strict_abilities=True)
    assert strict.ability.rule == "strict"
    assert strict.ability.counts["Merging"] == (11, 80) and round(strict.abilities["Merging"], 2) == 13.75
    assert round(strict.abilities["Emergency_Brake"], 2) == 18.33
    assert strict.scenario_types["HighwayExit"] == (11, 80)
    assert strict.driving_score == report.driving_score and strict.success_rate == report.success_rate
    assert strict.abilities["mean"] == pytest.approx((13.75 + 11 / 60 * 100) / 2, abs=1e-9)


def test_strict_abilities_flag_and_the_rule_in_the_terminal(tmp_path, capsys):
    results, routes = _published_style_run(tmp_path)
    out = tmp_path / "default.json"
    assert main(["report", str(results), "--routes", str(routes), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Bench2Drive's rule" in text and "11/78 (2 without record left out)" in text
    assert json.loads(out.read_text())["abilities"]["Merging"] == pytest.approx(100 * 11 / 78)
    assert main(["report", str(results), "--routes", str(routes), "--strict-abilities", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "strict: routes without record are failures" in text and "11/80" in text
    assert json.loads(out.read_text())["abilities"]["Merging"] == pytest.approx(100 * 11 / 80)


# -- 2. missing routes are loud --------------------------------------------------------------------

def test_missing_routes_are_counted_and_never_hidden_below_the_row_limit(tmp_path, capsys):
    kinds = {str(i): "ParkingCutIn" for i in range(1, 41)}
    records = [make_record(str(i), infractions={"collisions_layout": 1}) for i in range(1, 37)]  # 37..40 missing
    results = write_results(tmp_path / "r.json", records)
    routes = _routes(tmp_path, kinds)
    report = build_report(results, routes)
    assert [row.route_id for row in report.missing] == ["37", "38", "39", "40"]
    assert report.warnings and "4 of 40 routes have no record" in report.warnings[0] and "37, 38, 39, 40" in report.warnings[0]
    assert main(["report", str(results), "--routes", str(routes), "--max-failed", "5"]) == 0
    text = capsys.readouterr().out
    assert "40 routes, 4 missing (no record)" in text  # the summary line
    assert "35 more (use --all)" in text  # 40 failed, 5 shown
    for route_id in ("37", "38", "39", "40"):  # the missing rows come first, inside the limit
        assert f"\n│ {route_id} " in text
    assert main(["report", str(results), "--routes", str(routes), "--max-failed", "5", "--all"]) == 0
    text = capsys.readouterr().out
    assert "more (use --all)" not in text and "│ 36 " in text
    assert main(["failures", str(results), "--routes", str(routes)]) == 0
    assert "4 have no record" in capsys.readouterr().out


# -- 3. an empty results folder is an error --------------------------------------------------------

def test_empty_results_folder_exits_nonzero(tmp_path, capsys):
    routes = _routes(tmp_path, {"1": "ParkingCutIn"})
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["report", str(empty), "--routes", str(routes)]) == 2
    assert f"no result files under {empty}" in capsys.readouterr().err.replace("\n", "")
    with pytest.raises(ResultFileError, match="no result files under"):
        merge_results([empty])
    (empty / "merged_ability.json").write_text(json.dumps({"Merging": 0.5}))  # JSON, but not results
    with pytest.raises(ResultFileError, match=r"no result files under .*1 JSON files there are not"):
        build_report(empty, routes)
    # a folder next to one that holds results is still an error: the user named it for a reason
    write_results(tmp_path / "full" / "r.json", [make_record("1")])
    with pytest.raises(ResultFileError, match="empty"):
        merge_results([tmp_path / "full", empty])
    assert main(["failures", str(empty), "--routes", str(routes)]) == 2


# -- 4. duplicates resolved by the records ---------------------------------------------------------

def test_a_finished_record_beats_a_crashed_one(tmp_path):
    done = make_record("1", status="Failed - Agent got blocked", score_route=40.0, started="05_01_10_00_00")
    crashed = make_record("1", status="Failed - Simulation crashed", score_route=0.0, started="05_02_10_00_00")
    started = make_record("1", status="Started", score_route=0.0, started="05_03_10_00_00")
    a = write_results(tmp_path / "a.json", [done])
    b = write_results(tmp_path / "b.json", [crashed, started])
    for order in ([a, b], [b, a]):
        merged = merge_results(order)
        assert merged.records[("1", 0)].status == done["status"]
        assert {d.reason for d in merged.duplicates} == {"finished record over crashed"}
        assert len(merged.duplicates) == 2


def test_the_later_start_wins_and_file_times_change_nothing(tmp_path):
    first = make_record("1", score_route=100.0, started="06_01_09_00_00")
    rerun = make_record("1", status="Failed - Agent got blocked", score_route=20.0, started="06_02_09_00_00")
    old = write_results(tmp_path / "a.json", [rerun], mtime=1_000_000)  # the newer attempt in the older file
    new = write_results(tmp_path / "b.json", [first], mtime=2_000_000)
    routes = _routes(tmp_path, {"1": "ParkingCutIn"})
    scores = []
    for order in ([old, new], [new, old]):
        report = build_report(order, routes)
        assert report.routes[0].status == rerun["status"]
        scores.append(report.driving_score)
    os.utime(old, (3_000_000, 3_000_000))  # `touch` a shard: nothing changes
    scores.append(build_report([tmp_path / "a.json", tmp_path / "b.json"], routes).driving_score)
    assert scores == [20.0, 20.0, 20.0]
    note = next(n for n in build_report([old, new], routes).notes if "duplicate" in n)
    assert "1 duplicate records resolved (1x later start time (save_name))" in note
    assert "1 disagreed in driving score, by up to 80.00 points" in note
    assert "kept 20.00 (Failed - Agent got blocked) over 100.00 (Completed)" in note


def test_without_times_the_checkpoints_order_then_the_argument_order(tmp_path):
    a = make_record("1", score_route=30.0, save_name="no_time_here")
    b = make_record("1", score_route=60.0, save_name="")
    one_file = write_results(tmp_path / "one.json", [a, b])
    merged = merge_results([one_file])
    assert merged.records[("1", 0)].score_route == 60.0 and merged.duplicates[0].reason == "later in its results file"
    x, y = write_results(tmp_path / "x.json", [a]), write_results(tmp_path / "y.json", [b])
    assert merge_results([x, y]).records[("1", 0)].score_route == 60.0
    assert merge_results([y, x]).records[("1", 0)].score_route == 30.0
    assert merge_results([y, x]).duplicates[0].reason == "later results file"
    # identical copies of a shard: resolved, and the note says they agreed
    copy = write_results(tmp_path / "copy.json", [a])
    note = next(n for n in build_report([x, copy], _routes(tmp_path, {"1": "ParkingCutIn"})).notes if "duplicate" in n)
    assert "all agreed in driving score" in note


def test_save_name_times_are_read_only_when_valid():
    from launch.metrics.records import save_name_time

    assert save_name_time("RouteScenario_1711_rep0_Town12_ParkingCutIn_1_15_12_03_18_10_17") == (12, 3, 18, 10, 17)
    assert save_name_time("RouteScenario_1_rep0_Town01_X_1_3_13_40_25_61_99") is None  # month 13
    assert save_name_time("") is None


# -- 5. a wrong route file is caught ---------------------------------------------------------------

def test_records_unlike_their_route_are_named(tmp_path):
    kinds = {"1": "ParkingCutIn", "2": "ParkingCutIn", "3": "ParkingCutIn", "4": "ParkingCutIn", "5": "ParkingCutIn"}
    routes = _routes(tmp_path, kinds)  # every route 20 m, Town01, scenario ParkingCutIn_1
    tolerance = length_tolerance_m(20.0)
    records = [
        make_record("1", route_length=20.0 + tolerance - 0.5),  # within what densifying can add
        make_record("2", route_length=20.0 + tolerance + 5.0),  # another route's length
        make_record("3", town="Town05"),
        make_record("4", scenario_type="Accident"),
        make_record("5", status="Failed - Simulation crashed", score_route=0.0, route_length=0.0),  # never built
    ]
    report = build_report(write_results(tmp_path / "r.json", records), routes)
    found = {(m.record_id, m.field) for m in report.mismatches}
    assert found == {("RouteScenario_2_rep0", "route_length"), ("RouteScenario_3_rep0", "town"),
                     ("RouteScenario_4_rep0", "scenario")}
    warning = next(w for w in report.warnings if "do not match" in w)
    assert "3 records do not match their route" in warning and "wrong route file?" in warning
    assert "RouteScenario_2_rep0: route_length 35.0 m in the record, 20.0 m in the route file" in warning
    assert "Town05 in the record, Town01 in the route file" in warning
    assert report.to_json()["route_mismatches"][0]["field"] == "route_length"


def test_results_of_another_route_file_are_called_out(tmp_path):
    routes = _routes(tmp_path, {"1": "ParkingCutIn", "2": "ParkingCutIn"})
    records = [make_record("1")] + [make_record(str(i)) for i in range(100, 104)]
    report = build_report(write_results(tmp_path / "r.json", records), routes)
    warning = next(w for w in report.warnings if "not in" in w)
    assert "4 records are for routes not in" in warning and "100, 101, 102, 103" in warning
    assert "only 1 records match a route of the file: are these results for another route file?" in warning


def test_routes_without_weathers_are_reported_when_parsing(tmp_path):
    bare = make_route("8")
    bare = type(bare)(id="8", town=bare.town, waypoints=bare.waypoints, scenarios=bare.scenarios)
    path = write_routes([make_route("7"), bare], tmp_path / "r.xml")
    with pytest.warns(RouteFileWarning, match=r"1 routes have no <weathers> \(ids 8\)"):
        parse_routes(path)
    with pytest.warns(RouteFileWarning):
        report = build_report(write_results(tmp_path / "x.json", [make_record("7")]), path)
    assert any("no <weathers>" in note for note in report.notes)


# -- 6. and 7. range checks and absent keys --------------------------------------------------------

@pytest.mark.parametrize(("key", "value", "message"), [
    ("score_composed", 250.0, r"scores\.score_composed = 250\.0 is outside \[0, 100\]"),
    ("score_composed", -1.0, r"scores\.score_composed = -1\.0 is outside \[0, 100\]"),
    ("score_penalty", 1.5, r"scores\.score_penalty = 1\.5 is outside \[0, 1\]"),
    ("score_penalty", -0.1, r"scores\.score_penalty = -0\.1 is outside \[0, 1\]"),
    ("score_route", 100.5, r"scores\.score_route = 100\.5 is outside \[0, 100\]"),
    ("score_route", math.nan, r"scores\.score_route is nan, expected a finite number"),
    ("score_composed", None, r"scores\.score_composed is null, expected a number"),
    ("score_composed", "80", r"scores\.score_composed is '80', expected a number"),
])
def test_values_out_of_range_are_named_errors(tmp_path, key, value, message):
    record = make_record("3")
    record["scores"][key] = value
    path = write_results(tmp_path / "bad.json", [make_record("2"), record])
    with pytest.raises(ResultFileError, match=message) as info:
        load_result_file(path)
    assert str(path) in str(info.value) and "record #1 (RouteScenario_3_rep0)" in str(info.value)


def test_absent_keys_are_reported_as_absent(tmp_path, capsys):
    for key, expected in (("score_composed", "missing key 'scores.score_composed'"),
                          ("score_penalty", "missing key 'scores.score_penalty'")):
        record = make_record("3")
        del record["scores"][key]
        path = write_results(tmp_path / f"no_{key}.json", [record])
        with pytest.raises(ResultFileError) as info:
            load_result_file(path)
        assert expected in str(info.value) and "None" not in str(info.value)
    record = make_record("4")
    del record["scores"]
    with pytest.raises(ResultFileError, match="missing key 'scores'"):
        load_result_file(write_results(tmp_path / "no_scores.json", [record]))
    record = make_record("5")
    record["meta"]["route_length"] = -3.0
    with pytest.raises(ResultFileError, match=r"meta\.route_length = -3\.0 is outside"):
        load_result_file(write_results(tmp_path / "neg.json", [record]))
    # the CLI: a named error, exit status 2, no report at DS 130
    record = make_record("6", score_route=100.0)
    record["scores"]["score_composed"] = 250.0
    path = write_results(tmp_path / "cli" / "r.json", [record])
    assert main(["report", str(path), "--routes", str(_routes(tmp_path, {"6": "ParkingCutIn"}))]) == 2
    captured = capsys.readouterr()
    assert "outside [0, 100]" in captured.err.replace("\n", "") and "Driving score" not in captured.out


def test_an_evaluations_shards_merge_by_the_same_rule(tmp_path):
    from launch.evaluate_plan import EvaluationPlan
    from launch.results_report import merge_plan_results
    from launch.shard_worker import ShardSpec

    routes = _routes(tmp_path, {"1": "ParkingCutIn", "2": "ParkingCutIn"})
    shards = (ShardSpec(0, "shard00", ("1", "2"), 0), ShardSpec(1, "shard01", ("1",), 0))
    plan = EvaluationPlan(out_dir=tmp_path / "out", routes_file=routes, route_order=("1", "2"), shards=shards,
                          agent_config=tmp_path / "agent.yaml")
    finished = make_record("1", score_route=70.0, started="04_01_00_00_00")
    crashed = make_record("1", status="Failed - Agent crashed", score_route=0.0, started="04_02_00_00_00")
    write_results(plan.layout(shards[0]).results_file, [crashed, make_record("2")])  # the first shard's crash ...
    write_results(plan.layout(shards[1]).results_file, [finished])  # ... loses to an earlier finished attempt
    document = json.loads(merge_plan_results(plan).read_text())
    kept = {r["route_id"]: r["scores"]["score_route"] for r in document["_checkpoint"]["records"]}
    assert kept == {"RouteScenario_1_rep0": 70.0, "RouteScenario_2_rep0": 100.0}
