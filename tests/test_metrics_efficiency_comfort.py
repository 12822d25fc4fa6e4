"""Efficiency from min-speed checkpoints; comfort from metric_info.json (numpy Savitzky-Golay)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from b2d_fixtures import make_record, make_route, write_results

from bench2drive_routes import write_routes
from launch.metrics import build_report, parse_record
from launch.metrics.comfort import route_comfort
from launch.metrics.efficiency import route_efficiency, speed_ratios
from launch.metrics.savgol import savgol_filter

# scipy.signal.savgol_filter(Y, 7, 2[, deriv=1, delta=0.1]) computed once with scipy 1.17 as an oracle.
Y = np.array([0.0, 1.588, 2.571, 2.626, 1.87, 0.798, 0.057, 0.135, 1.137, 2.734, 4.314, 5.276])
SCIPY_SMOOTH = [0.1833333333, 1.5092857143, 2.2747142857, 2.4796190476, 1.812952381, 0.8578571429,
                0.2046666667, 0.3017619048, 1.2446666667, 2.3262857143, 3.8177857143, 5.7191666667]
SCIPY_DERIV = [16.0621428571, 10.4569047619, 4.8516666667, -0.7535714286, -4.0053571429, -3.9632142857,
               -0.6446428571, 4.3871428571, 8.7667857143, 12.8655952381, 16.9644047619, 21.0632142857]
SCIPY_EVEN_WHOLE = [19.4831428571, 12.2488571429, 5.0145714286, -2.2197142857, -9.454, -16.6882857143]


def test_savgol_matches_scipy_oracle():
    assert np.allclose(savgol_filter(Y, 7, 2), SCIPY_SMOOTH, atol=1e-9)
    assert np.allclose(savgol_filter(Y, 7, 2, deriv=1, delta=0.1), SCIPY_DERIV, atol=1e-8)
    assert np.allclose(savgol_filter(Y[:6], 6, 2, deriv=1, delta=0.1), SCIPY_EVEN_WHOLE, atol=1e-8)


def test_savgol_is_exact_on_quadratics_and_local_least_squares_inside():
    i = np.arange(15, dtype=float)
    quadratic = 3.0 + 2.0 * i - 0.5 * i**2
    assert np.allclose(savgol_filter(quadratic, 7, 2), quadratic)
    assert np.allclose(savgol_filter(quadratic, 7, 2, deriv=1, delta=0.1), (2.0 - i) / 0.1)
    noisy = np.random.default_rng(3).normal(size=15)
    smooth = savgol_filter(noisy, 7, 2)
    offsets = np.arange(-3, 4)
    for center in range(3, 12):
        fit = np.polyfit(offsets, noisy[center - 3 : center + 4], 2)
        assert smooth[center] == pytest.approx(np.polyval(fit, 0.0))
    with pytest.raises(ValueError):
        savgol_filter(noisy[:5], 7, 2)


def _ticks(n, lat_accel=None, yaw_rate=0.0):
    lat = np.zeros(n) if lat_accel is None else np.asarray(lat_accel, dtype=float)
    return [{"acceleration": [0.0, float(lat[k]), 0.0], "angular_velocity": [0.0, 0.0, yaw_rate],
             "forward_vector": [1.0, 0.0, 0.0], "right_vector": [0.0, 1.0, 0.0],
             "location": [k * 0.5, 0.0, 0.0], "rotation": [0.0, 0.0, 0.0]} for k in range(n)]


def test_route_comfort_segments():
    assert route_comfort(_ticks(45)) == 1.0
    spike = np.zeros(45)
    spike[25:31] = 10.0  # 10 m/s^2 sideways inside the second 20-tick segment
    assert route_comfort(_ticks(45, spike)) == 0.5
    tail = np.zeros(45)
    tail[41:45] = 10.0  # only in the last 5 ticks, which do not make a full segment
    assert route_comfort(_ticks(45, tail)) == 1.0
    short = np.zeros(12)
    short[5:8] = 10.0
    assert route_comfort(_ticks(12)) == 1.0 and route_comfort(_ticks(12, short)) == 0.0  # <= 20: one segment
    assert route_comfort(_ticks(2)) is None


def test_yaw_rate_bound_applies_to_the_raw_value():
    # Bench2Drive compares CARLA's angular velocity (deg/s) with a 0.95 bound, unconverted
    assert route_comfort(_ticks(40, yaw_rate=0.9)) == 1.0
    assert route_comfort(_ticks(40, yaw_rate=1.0)) == 0.0


def test_efficiency_drops_outliers_and_routes_without_checkpoints():
    assert speed_ratios(["Average speed is 1000% of the surrounding traffic's one",
                         "Average speed is 26277096.5% of the surrounding traffic's one",
                         "Average speed is 100% of the surrounding traffic's one", "no number here"]) == [1000.0, 100.0]
    assert route_efficiency(parse_record(make_record("1", min_speed=[50.0, 150.0, 5000.0]))) == pytest.approx(100.0)
    assert route_efficiency(parse_record(make_record("1"))) is None
    assert route_efficiency(parse_record(make_record("1", min_speed=[1500.0]))) is None


def test_report_efficiency_and_comfort_from_metric_info(tmp_path):
    routes = write_routes([make_route(i, origin=(50.0 * n, 0.0)) for n, i in enumerate("1234")], tmp_path / "r.xml")
    raw = [make_record("1", min_speed=[80.0, 120.0]), make_record("2", min_speed=[60.0, 2000.0]),
           make_record("3"), make_record("4", status="Failed - Agent crashed", score_route=0.0)]
    results = write_results(tmp_path / "run" / "results.json", raw)
    save = tmp_path / "save"
    spike = np.zeros(45)
    spike[25:31] = 10.0
    for record, ticks in ((raw[0], _ticks(45)), (raw[1], _ticks(45, spike))):
        folder = save / record["save_name"]
        folder.mkdir(parents=True)
        (folder / "metric_info.json").write_text(json.dumps({str(k): t for k, t in enumerate(ticks)}))
    report = build_report(results, routes, metric_dirs=[tmp_path / "elsewhere", save])
    assert report.efficiency == pytest.approx((100.0 + 60.0) / 2) and report.efficiency_routes == 2
    assert report.comfort == pytest.approx(75.0) and report.comfort_routes == 2
    assert [row.comfort for row in report.routes] == [100.0, 50.0, None, None]
    assert any("comfort from 2 of 4" in note for note in report.notes)
    bare = build_report(results, routes)
    assert bare.comfort is None and any("comfort not computed" in note for note in bare.notes)
