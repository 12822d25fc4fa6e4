"""Reading and scoring 10 000 route records stays interactive (< 2 s)."""

from __future__ import annotations

import time

from b2d_fixtures import make_record, write_results

from launch.metrics import build_report, merge_results


def test_ten_thousand_records_in_under_two_seconds(tmp_path):
    speeds = [80.0 + k for k in range(20)]  # real records carry ~20 min-speed checkpoints each
    for shard in range(10):
        records = [make_record(str(shard * 1000 + i), min_speed=speeds,
                               infractions={"collisions_vehicle": 1} if i % 7 == 0 else None)
                   for i in range(1000)]
        write_results(tmp_path / f"shard{shard}.json", records)
    start = time.perf_counter()
    merged = merge_results([tmp_path])
    report = build_report(merged)
    elapsed = time.perf_counter() - start
    assert len(merged.records) == 10_000 and report.n_routes == 10_000
    assert report.success_rate < 100.0
    assert elapsed < 2.0, f"{elapsed:.2f} s"
