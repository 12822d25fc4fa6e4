"""Collection: generated training routes stay off the evaluation sets; the recorder writes PDM-Lite route
folders the dataset reads, resumes, and keeps recovery perturbations out of the labels."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from data_fixtures import straight, write_route

from bench2drive_routes.abilities import ABILITY_NAMES, abilities_of
from core.typed_config import to_dict
from data.dataset import DrivingDataset
from data.labels import pose_from_measurement
from data.layout import RouteFolder
from launch.cli import main
from sim.collect_config import CollectConfig, GeneratorConfig, RecoveryConfig
from sim.collector import PARTIAL_DIR, RouteJob, collect_route, final_path, is_done
from sim.route_designs import ROUTES_DIR
from sim.route_file import RouteSpec, read_routes
from sim.route_generator import evaluation_routes, generate_routes, overlaps


def test_generated_routes_stay_off_the_evaluation_sets():
    cfg = GeneratorConfig(seed=5)
    routes, meta = generate_routes(30, cfg)
    evaluation = [r for name in ("embedded_full.xml", "embedded_quick.xml") for r in read_routes(ROUTES_DIR / name)]
    assert {r.id for r in routes}.isdisjoint({r.id for r in evaluation}) and len({r.id for r in routes}) == 30
    for route in routes:
        trigger = np.asarray(route.scenarios[0].trigger[:2])
        for ev in evaluation:
            if ev.town != route.town:
                continue
            if ev.scenarios[0].type == route.scenarios[0].type:
                assert np.linalg.norm(trigger - np.asarray(ev.scenarios[0].trigger[:2])) >= cfg.min_trigger_separation_m
            same_ends = (np.linalg.norm(route.positions[0, :2] - ev.positions[0, :2]) < cfg.min_endpoint_separation_m
                         and np.linalg.norm(route.positions[-1, :2] - ev.positions[-1, :2]) < cfg.min_endpoint_separation_m)
            assert not same_ends
    abilities = {a for r in routes for a in abilities_of(r.scenarios[0].type)}
    assert abilities == set(ABILITY_NAMES)
    assert {r.town for r in routes} == {"EmbeddedGrid", "EmbeddedTJunction", "EmbeddedHighway", "EmbeddedRural"}
    assert all(cfg.background_vehicles[0] <= m["background_vehicles"] <= cfg.background_vehicles[1]
               for m in meta.values())
    again, _ = generate_routes(30, cfg)
    assert all(np.array_equal(a.positions, b.positions) for a, b in zip(routes, again))


def test_overlap_check_catches_an_evaluation_route():
    cfg = GeneratorConfig()
    evaluation = evaluation_routes(cfg)
    copy = read_routes(ROUTES_DIR / "embedded_quick.xml")[0]
    assert overlaps(copy, evaluation, cfg) is not None
    moved = RouteSpec("99999", copy.town, copy.positions, (replace(copy.scenarios[0], type="HardBreakRoute"),))
    assert "same start and end" in overlaps(moved, evaluation, cfg)


def _short_route(path) -> str:
    """60 m of rural road, no scenario: a few seconds of driving."""
    spec = RouteSpec("77", "EmbeddedRural", np.array([[-300.0 + 5 * k, 1.75, 0.0] for k in range(13)]))
    from sim.route_file import write_routes

    write_routes([spec], path)
    return str(path)


def test_collect_records_pdm_lite_frames_the_dataset_reads(tmp_path):
    routes = _short_route(tmp_path / "routes.xml")
    recovery = RecoveryConfig(route_share=1.0, gap_s=(1.5, 1.5), duration_s=(0.5, 0.5), steer=(0.05, 0.05),
                              min_speed_mps=1.0, clear_radius_m=1.0, max_pulses=1)
    cfg = CollectConfig(recovery=recovery)
    out = tmp_path / "data"
    (out / PARTIAL_DIR / "EmbeddedRural_RouteScenario_77" / "rgb").mkdir(parents=True)  # a crashed earlier attempt
    outcome = collect_route(RouteJob(routes, 0, str(out), to_dict(cfg)))
    assert outcome["success"], outcome["record"]["status"]
    spec = read_routes(routes)[0]
    folder = RouteFolder(final_path(out, spec))
    assert folder.finished and is_done(out, spec) and not (out / PARTIAL_DIR / folder.name).exists()
    n = len(folder.frame_indices())
    ticks = round(outcome["duration_game"] * 20)
    assert n == (ticks + 4) // 5 and n == outcome["frames"]  # one frame every 5th tick, from tick 0
    for kind, suffix in (("rgb", ".jpg"), ("lidar", ".laz"), ("boxes", ".json.gz")):
        assert len(list((folder.path / kind).glob(f"*{suffix}"))) == n
    m = folder.measurement(8)
    for key in ("pos_global", "theta", "speed", "target_speed", "target_point", "target_point_next", "command",
                "next_command", "aim_wp", "route", "steer", "throttle", "brake", "junction", "ego_matrix"):
        assert key in m
    assert folder.boxes(8)[0]["class"] == "ego_car" and folder.rgb(8).shape == (512, 1024, 3)
    # rendered for the recorder although the expert reads no camera (not the black frame of an unread one)
    assert folder.rgb(8).std() > 10.0
    assert len(folder.lidar(8)) > 1000
    info = json.loads((folder.path / "automot_route.json").read_text())
    assert info["pulses"], "the recovery config asks for a pulse 1.5 s in"
    perturbed = [folder.measurement(k)["perturbed"] for k in range(n)]
    assert any(perturbed)
    for k in range(n):  # the expert's own command is stored; the executed one differs only inside a pulse
        mk = folder.measurement(k)
        assert (abs(mk["executed_steer"] - mk["steer"]) > 1e-6) == (abs(mk["perturbation_steer"]) > 0)
    ds = DrivingDataset([out], image_size=(512, 256))
    flags = np.array(perturbed)
    for idx in range(len(ds)):
        _, i = ds.locate(idx)
        assert not flags[i + 1: i + 13].any()
    sample = ds[len(ds) - 1]
    i = sample.frame
    x, y, _yaw = pose_from_measurement(folder.measurement(i + 12))
    x0, y0, yaw0 = pose_from_measurement(folder.measurement(i))
    c, s = np.cos(yaw0), np.sin(yaw0)
    assert sample.waypoints[-1] == pytest.approx([c * (x - x0) + s * (y - y0), -s * (x - x0) + c * (y - y0)], abs=1e-4)
    # the CLI resumes: the finished route is not recorded again, and the manifest counts it
    stamp = folder.file("measurements", 0).stat().st_mtime_ns
    assert main(["collect", "--routes", routes, "--out", str(out)]) == 0
    assert folder.file("measurements", 0).stat().st_mtime_ns == stamp
    manifest = json.loads((out / "dataset_manifest.json").read_text())
    assert manifest["routes_recorded"] == 1 and manifest["frames"] == n and manifest["expert_driving_score"] == 100.0


def test_dataset_info_json(tmp_path, capsys):
    write_route(tmp_path, "a", *straight(20, 6.0))
    write_route(tmp_path, "b", *straight(16, 0.0))
    assert main(["dataset-info", str(tmp_path), "--json", "--show", "1", "--show-dir", str(tmp_path / "png")]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["routes"] == 2 and info["frames"] == 36 and info["samples"] == 8 + 4
    assert info["hours"] == pytest.approx(36 * 0.25 / 3600, abs=1e-4)
    assert info["labels"]["decision_words"]["stop"] == 4 * 3 and len(list((tmp_path / "png").glob("*.png"))) == 1


class _StubWorld:
    class ego:  # stands in for sim.actors.Actor
        vx, vy, id = 10.0, 0.0, 1
        xy = np.zeros(2)

    def nearby(self, *args, **kwargs):
        return []


@pytest.mark.parametrize("mode", ["add", "hold"])
def test_recovery_pulse_modes(mode):
    import random

    from sim.recovery import SteeringPerturber

    cfg = RecoveryConfig(mode=mode, route_share=1.0, gap_s=(0.0, 0.0), duration_s=(0.2, 0.2), steer=(0.1, 0.1),
                         max_pulses=1)
    perturber = SteeringPerturber(cfg, random.Random(1), 0.05)
    expert = [0.0, 0.2, -0.1, 0.3, 0.05, 0.05]
    out = [perturber.executed_steer(t, _StubWorld(), s) for t, s in enumerate(expert)]
    offset = out[0][1]
    assert abs(offset) == pytest.approx(0.1) and [o for _, o in out] == [offset] * 4 + [0.0, 0.0]
    if mode == "add":
        assert [s for s, _ in out[:4]] == pytest.approx([e + offset for e in expert[:4]])
    else:  # the car keeps the steer the expert had when the pulse began
        assert [s for s, _ in out[:4]] == pytest.approx([offset] * 4)
    assert [s for s, _ in out[4:]] == pytest.approx(expert[4:])
    assert perturber.touched(0, 0) and perturber.touched(8, 8) and not perturber.touched(9, 20)  # 4 ticks + 5 settle
