"""Results: deterministic for a seed, the leaderboard's checkpoint JSON shape, resume after a killed run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import yaml

from sim.agents import AutoMoTAgentFactory, ClassAgentFactory
from sim.config import SimConfig
from sim.evaluation import RunOptions, evaluate
from sim.route_file import RouteSpec, write_routes
from sim.scripted_driver import scripted_driver

ROOT = Path(__file__).resolve().parent.parent
PEER = ROOT.parent / "shared" / "peer_results" / "tfpp" / "eval_bench2drive220_0.json"
ROUTES = [
    RouteSpec("7", "EmbeddedRural", np.array([[-300.0 + 5 * k, 1.75, 0.0] for k in range(25)])),
    RouteSpec("8", "EmbeddedGrid", np.array([[30.0 + 5 * k, 155.25, 0.0] for k in range(20)])),
]
TINY_RIG = {"sensors": {"cameras": [{"id": "rgb_front", "x": -1.5, "y": 0.0, "z": 2.0, "width": 64, "height": 32}]}}


def _fixed_clocks() -> dict:
    ticks = iter(range(1_000_000))
    return {"wall_clock": lambda: float(next(ticks)), "now": lambda: datetime(2026, 1, 2, 3, 4, 5)}


def _expert_run(out: Path, seed: int) -> Path:
    out.mkdir(parents=True)
    write_routes(ROUTES, out / "routes.xml")
    (out / "rig.yaml").write_text(yaml.safe_dump(TINY_RIG))
    cfg = replace(SimConfig(), seed=seed)
    factory = AutoMoTAgentFactory(out, str(out / "rig.yaml"), expert=True, expert_config=cfg.expert)
    return evaluate(out / "routes.xml", factory, cfg, RunOptions(out, resume=False, **_fixed_clocks())).path


@pytest.mark.slow
def test_same_seed_gives_identical_results(tmp_path: Path) -> None:
    first = _expert_run(tmp_path / "a", seed=3)
    second = _expert_run(tmp_path / "b", seed=3)
    other = _expert_run(tmp_path / "c", seed=4)
    assert first.read_bytes() == second.read_bytes()
    data = json.loads(first.read_text())
    for record in data["_checkpoint"]["records"]:
        a = (tmp_path / "a" / record["save_name"] / "metric_info.json").read_bytes()
        assert a == (tmp_path / "b" / record["save_name"] / "metric_info.json").read_bytes()
        assert record["status"] in ("Completed", "Perfect")
    assert first.read_bytes() != other.read_bytes()  # the seed drives traffic and sensor noise


def _shape(value: object) -> object:
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value and isinstance(value[0], dict) else "list"
    return type(value).__name__.replace("int", "number").replace("float", "number")


def test_checkpoint_json_has_the_leaderboards_shape_and_feeds_the_metrics_tools(tmp_path: Path) -> None:
    write_routes(ROUTES, tmp_path / "routes.xml")
    results = evaluate(tmp_path / "routes.xml", ClassAgentFactory(scripted_driver(speed=8.0)), SimConfig(),
                       RunOptions(tmp_path, resume=False))
    data = json.loads(results.path.read_text())
    assert list(data) == ["_checkpoint", "entry_status", "eligible", "sensors", "values", "labels"]
    assert data["entry_status"] == "Finished" and data["eligible"] is True and data["sensors"] == ["carla_speedometer"]
    assert data["_checkpoint"]["progress"] == [2, 2] and len(data["values"]) == len(data["labels"]) == 15
    record = data["_checkpoint"]["records"][0]
    assert record["route_id"] == "RouteScenario_7_rep0" and record["index"] == 0 and record["town_name"] == "EmbeddedRural"
    assert record["save_name"].startswith("RouteScenario_7_rep0_EmbeddedRural_NoScenario_0_")
    if PEER.is_file():
        peer = json.loads(PEER.read_text())
        assert data["labels"] == peer["labels"]
        assert list(record) == list(peer["_checkpoint"]["records"][0])
        assert _shape(record) == _shape(peer["_checkpoint"]["records"][0])
        ours, theirs = _shape(data["_checkpoint"]["global_record"]), _shape(peer["_checkpoint"]["global_record"])
        assert ours == theirs
    from launch.metrics.summary import build_report

    report = build_report([results.path], tmp_path / "routes.xml")
    assert report.driving_score == pytest.approx(float(data["values"][0]))
    assert report.n_routes == 2


RUNNER = """
import sys
from pathlib import Path
from sim.agents import ClassAgentFactory
from sim.config import SimConfig
from sim.evaluation import RunOptions, evaluate
from sim.scripted_driver import scripted_driver
out = Path(sys.argv[1])
evaluate(out / "routes.xml", ClassAgentFactory(scripted_driver(speed=6.0)), SimConfig(), RunOptions(out))
"""


def test_resume_after_a_killed_run_keeps_every_finished_route(tmp_path: Path) -> None:
    long_route = RouteSpec("9", "EmbeddedHighway", np.array([[-450.0 + 5 * k, 3.8, 0.0] for k in range(181)]))
    write_routes([ROUTES[0], long_route, ROUTES[1]], tmp_path / "routes.xml")
    results = tmp_path / "simulation_results.json"
    proc = subprocess.Popen([sys.executable, "-c", RUNNER, str(tmp_path)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if results.is_file() and json.loads(results.read_text() or "{}").get("_checkpoint", {}).get("records"):
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    killed = json.loads(results.read_text())
    assert [r["route_id"] for r in killed["_checkpoint"]["records"]] == ["RouteScenario_7_rep0"]
    assert killed["entry_status"] == "Started" and killed["_checkpoint"]["global_record"] == {}
    resumed = evaluate(tmp_path / "routes.xml", ClassAgentFactory(scripted_driver(speed=12.0)), SimConfig(),
                       RunOptions(tmp_path, resume=True))
    data = json.loads(resumed.path.read_text())
    records = data["_checkpoint"]["records"]
    assert [r["route_id"] for r in records] == ["RouteScenario_7_rep0", "RouteScenario_9_rep0", "RouteScenario_8_rep0"]
    assert records[0] == killed["_checkpoint"]["records"][0]  # untouched, not re-run
    assert [r["index"] for r in records] == [0, 1, 2]
    assert data["_checkpoint"]["progress"] == [3, 3] and data["entry_status"] == "Finished"
