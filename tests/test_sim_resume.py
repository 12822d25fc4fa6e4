"""The embedded evaluation resumes only what it started: route-file and config fingerprints,
routes that never drove run again, the global record counts the route file's routes only,
unreadable checkpoints and empty route files are named errors, Ctrl-C of `automot sim` stops cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from launch.cli import main
from sim.agents import AutoMoTAgentFactory, ClassAgentFactory
from sim.config import SimConfig
from sim.evaluation import RunOptions, evaluate
from sim.resume_check import FINGERPRINT_NAME, EvaluationFingerprint, EvaluationMismatch
from sim.route_file import RouteSpec, read_routes, write_routes
from sim.scripted_driver import scripted_driver
from sim.statistics import ResultsFile, new_route_record

ROOT = Path(__file__).resolve().parents[1]
SHORT = RouteSpec("7", "EmbeddedRural", np.array([[-300.0 + 5 * k, 1.75, 0.0] for k in range(13)]))


def _route(route_id: str, x0: float) -> RouteSpec:
    return RouteSpec(route_id, "EmbeddedRural", np.array([[x0 + 5 * k, 1.75, 0.0] for k in range(13)]))


def _record(route_id: str, index: int, status: str, score: float) -> dict:
    record = new_route_record(f"RouteScenario_{route_id}_rep0", "NoScenario", "0", f"save_{route_id}", "EmbeddedRural")
    record.update(index=index, status=status)
    record["scores"].update(score_route=score, score_penalty=1.0, score_composed=score)
    record["meta"]["route_length"] = 60.0
    return record


def _folder(out: Path, routes: list[RouteSpec], records: list[dict], factory, cfg: SimConfig) -> Path:
    """A results folder as a finished (or partly finished) run leaves it, without running anything."""
    out.mkdir(parents=True, exist_ok=True)
    routes_file = write_routes(routes, out / "routes.xml")
    results = ResultsFile(out / "simulation_results.json")
    results.records = records
    results.progress = [len(records), len(routes)]
    results.entry_status = "Finished"
    results.write()
    fingerprint = EvaluationFingerprint.of(routes_file, read_routes(routes_file), factory, cfg)
    (out / FINGERPRINT_NAME).write_text(json.dumps(fingerprint.to_json()))
    return routes_file


def _driver():
    return ClassAgentFactory(scripted_driver(speed=12.0))


def test_another_route_file_is_refused_and_the_folder_is_untouched(tmp_path):
    five = [_route(str(k), -300.0 + 10 * k) for k in range(1, 6)]
    _folder(tmp_path / "run", five, [_record(r.id, k, "Perfect", 100.0) for k, r in enumerate(five)], _driver(),
            SimConfig())
    before = (tmp_path / "run" / "simulation_results.json").read_bytes()
    two = write_routes(five[:2], tmp_path / "two.xml")
    with pytest.raises(EvaluationMismatch, match="another route file"):
        evaluate(two, _driver(), SimConfig(), RunOptions(tmp_path / "run"))  # today: score_composed 250
    assert (tmp_path / "run" / "simulation_results.json").read_bytes() == before


def test_another_agent_or_simulator_config_is_refused(tmp_path):
    (tmp_path / "a.yaml").write_text("planner: {route_follower: {target_speed_mps: 6.0}}\n")
    (tmp_path / "b.yaml").write_text("planner: {route_follower: {target_speed_mps: 9.0}}\n")
    out = tmp_path / "run"
    routes = _folder(out, [SHORT], [_record("7", 0, "Perfect", 100.0)], AutoMoTAgentFactory(out, str(tmp_path / "a.yaml")),
                     SimConfig())
    (out / "agent_config.yaml").write_text("the config the run used\n")
    with pytest.raises(EvaluationMismatch, match="another agent config"):
        evaluate(routes, AutoMoTAgentFactory(out, str(tmp_path / "b.yaml")), SimConfig(), RunOptions(out))
    assert (out / "agent_config.yaml").read_text() == "the config the run used\n"  # not overwritten
    with pytest.raises(EvaluationMismatch, match="another simulator config"):
        evaluate(routes, AutoMoTAgentFactory(out, str(tmp_path / "a.yaml")), replace(SimConfig(), seed=5), RunOptions(out))
    # the same config again resumes (nothing left to run), and --no-resume may start over with another one
    evaluate(routes, AutoMoTAgentFactory(out, str(tmp_path / "a.yaml")), SimConfig(), RunOptions(out))


def test_the_global_record_counts_the_route_files_routes_only(tmp_path):
    routes = [_route("7", -300.0), _route("8", -200.0)]
    records = [_record("7", 0, "Perfect", 100.0), _record("8", 1, "Perfect", 50.0), _record("99", 2, "Perfect", 100.0)]
    routes_file = _folder(tmp_path, routes, records, _driver(), SimConfig())
    results = evaluate(routes_file, _driver(), SimConfig(), RunOptions(tmp_path))
    data = json.loads(results.path.read_text())
    assert data["_checkpoint"]["global_record"]["scores_mean"]["score_composed"] == pytest.approx(75.0)
    assert data["_checkpoint"]["progress"] == [2, 2] and data["entry_status"] == "Finished"


def test_a_legacy_folder_with_foreign_records_is_refused(tmp_path):
    routes_file = _folder(tmp_path, [SHORT], [_record("7", 0, "Perfect", 100.0), _record("8", 1, "Perfect", 100.0)],
                          _driver(), SimConfig())
    (tmp_path / FINGERPRINT_NAME).unlink()  # a folder from before fingerprints
    with pytest.raises(EvaluationMismatch, match="not in"):
        evaluate(routes_file, _driver(), SimConfig(), RunOptions(tmp_path))


def test_an_empty_route_file_is_refused_before_anything_is_written(tmp_path):
    _folder(tmp_path, [SHORT], [_record("7", 0, "Perfect", 100.0)], _driver(), SimConfig())
    before = (tmp_path / "simulation_results.json").read_bytes()
    (tmp_path / "empty.xml").write_text("<routes/>\n")
    with pytest.raises(EvaluationMismatch, match="holds no routes"):  # today: ZeroDivisionError, folder 'Started'
        evaluate(tmp_path / "empty.xml", _driver(), SimConfig(), RunOptions(tmp_path))
    assert (tmp_path / "simulation_results.json").read_bytes() == before


def test_a_corrupt_checkpoint_is_a_named_error(tmp_path):
    routes_file = _folder(tmp_path, [SHORT], [], _driver(), SimConfig())
    (tmp_path / "simulation_results.json").write_text('{"_checkpoint": {"records": [')
    with pytest.raises(EvaluationMismatch, match="not a readable results file"):
        evaluate(routes_file, _driver(), SimConfig(), RunOptions(tmp_path))
    (tmp_path / "simulation_results.json").write_text('{"_checkpoint": {"records": [{"route_id": 7}]}}')
    with pytest.raises(EvaluationMismatch, match="record 0"):
        evaluate(routes_file, _driver(), SimConfig(), RunOptions(tmp_path))


def test_routes_that_never_drove_run_again_and_finished_ones_never(tmp_path):
    routes = [SHORT, _route("8", -200.0), _route("9", -100.0)]
    records = [_record("7", 0, "Failed - Agent couldn't be set up", 0.0), _record("8", 1, "Completed", 80.0),
               _record("9", 2, "Failed - Simulation crashed", 0.0)]
    routes_file = _folder(tmp_path, routes, records, _driver(), SimConfig())
    started = []
    results = evaluate(routes_file, _driver(), SimConfig(),
                       RunOptions(tmp_path, on_route_start=lambda spec, i, n: started.append(spec.id)))
    assert started == ["7", "9"]  # today: nothing ran
    by_id = {r["route_id"]: r for r in json.loads(results.path.read_text())["_checkpoint"]["records"]}
    assert by_id["RouteScenario_8_rep0"] == records[1]
    assert by_id["RouteScenario_7_rep0"]["status"] in ("Completed", "Perfect")
    assert by_id["RouteScenario_9_rep0"]["status"] in ("Completed", "Perfect")


def test_sim_command_refuses_a_mismatch_without_a_traceback(tmp_path, capsys):
    five = [_route(str(k), -300.0 + 10 * k) for k in range(1, 4)]
    out = tmp_path / "run"
    _folder(out, five, [_record(r.id, k, "Perfect", 100.0) for k, r in enumerate(five)],
            AutoMoTAgentFactory(out, None), SimConfig())
    two = write_routes(five[:2], tmp_path / "two.xml")
    assert main(["sim", "--routes", str(two), "--out", str(out)]) == 2
    printed = capsys.readouterr().out
    assert "another route file" in printed and "Traceback" not in printed


def test_ctrl_c_of_automot_sim_stops_cleanly_and_stale_temporaries_go(tmp_path):
    long_route = RouteSpec("9", "EmbeddedHighway", np.array([[-450.0 + 5 * k, 3.8, 0.0] for k in range(181)]))
    routes = write_routes([long_route], tmp_path / "routes.xml")
    out = tmp_path / "run"
    (out / "RouteScenario_1_old").mkdir(parents=True)
    stale = [out / ".simulation_results.json.abc123.tmp", out / "RouteScenario_1_old" / ".metric_info.json.x.tmp"]
    for path in stale:
        path.write_text("half")
    (tmp_path / "rig.yaml").write_text("sensors: {cameras: [{id: rgb_front, x: -1.5, y: 0.0, z: 2.0, width: 64, "
                                       "height: 32}]}\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "launch.cli", "sim", "--routes", str(routes), "--out", str(out),
                             "--agent", "expert", "--config", str(tmp_path / "rig.yaml")],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list(out.glob("RouteScenario_9_rep0_*/metric_info.json")):
            time.sleep(0.1)  # the route is driving
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, output
    assert "stopped; run the same command again to resume" in output and "Traceback" not in output
    assert not any(path.exists() for path in stale)
