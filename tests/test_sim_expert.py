"""The privileged expert drives the agent (through its own controllers) through the quick route set,
and `automot sim` writes what the metrics tools read: checkpoint JSON, metric_info.json, video."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from launch.cli import main as automot
from launch.metrics.comfort import load_metric_info
from sim.route_file import RouteSpec, write_routes

ROOT = Path(__file__).resolve().parent.parent
QUICK = ROOT / "bench2drive_routes" / "embedded_quick.xml"
# A small camera and no LiDAR: the expert reads ground truth, so rendering is the only cost it does not need.
RIG = {"sensors": {"cameras": [{"id": "rgb_front", "x": -1.5, "y": 0.0, "z": 2.0, "width": 64, "height": 32}],
                   "lidar": None}}


@pytest.mark.slow
def test_expert_clears_the_quick_set(tmp_path: Path) -> None:
    (tmp_path / "rig.yaml").write_text(yaml.safe_dump(RIG))
    code = automot(["sim", "--routes", str(QUICK), "--agent", "expert", "--config", str(tmp_path / "rig.yaml"),
                    "--out", str(tmp_path / "run")])
    assert code == 0
    data = json.loads((tmp_path / "run" / "simulation_results.json").read_text())
    records = data["_checkpoint"]["records"]
    assert len(records) == 5
    for record in records:
        bad = {k: v for k, v in record["infractions"].items() if v and k != "min_speed_infractions"}
        assert record["status"] in ("Completed", "Perfect") and not bad, (record["route_id"], record["status"], bad)
    assert float(data["values"][0]) == pytest.approx(100.0)


def test_cli_writes_results_metric_info_and_video(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    route = RouteSpec("5", "EmbeddedRural", np.array([[-300.0 + 5 * k, 1.75, 0.0] for k in range(17)]))
    write_routes([route], tmp_path / "route.xml")
    (tmp_path / "rig.yaml").write_text(yaml.safe_dump(RIG))
    out = tmp_path / "run"
    code = automot(["sim", "--routes", str(tmp_path / "route.xml"), "--agent", "automot",
                    "--config", str(tmp_path / "rig.yaml"), "--out", str(out), "--video"])
    assert code == 0
    (record,) = json.loads((out / "simulation_results.json").read_text())["_checkpoint"]["records"]
    assert record["status"] == "Completed"  # the route follower on an empty road
    folder = out / record["save_name"]
    ticks = load_metric_info(folder / "metric_info.json")
    assert len(ticks) > 100 and set(ticks[0]) >= {"acceleration", "angular_velocity", "forward_vector", "location"}
    assert (folder / "topdown.mp4").stat().st_size > 10_000
    printed = capsys.readouterr().out
    assert "Driving score" in printed and "Success rate" in printed
