"""metric_info.json: appended in linear time, a complete JSON object between any two writes, even after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.metric_info import MetricInfoRecorder

ROOT = Path(__file__).resolve().parents[1]


def _info(k: int) -> dict[str, list[float]]:
    return {"acceleration": [0.1 * k, 0.0, 0.0], "angular_velocity": [0.0, 0.0, 0.01],
            "forward_vector": [1.0, 0.0, 0.0], "right_vector": [0.0, 1.0, 0.0],
            "location": [float(k), 2.0, 0.0], "rotation": [0.0, 0.0, 90.0]}


def test_valid_json_after_every_flush_and_same_content_as_a_full_dump(tmp_path: Path) -> None:
    path = tmp_path / "metric_info.json"
    recorder = MetricInfoRecorder(path, flush_every=3)
    expected: dict[str, dict] = {}
    for k in range(50):
        recorder.add(str(k), _info(k))
        expected[str(k)] = _info(k)
        flushed = (k + 1) // 3 * 3
        if flushed:
            on_disk = json.loads(path.read_text())
            assert list(on_disk) == [str(i) for i in range(flushed)]  # file order = tick order
        else:
            assert not path.exists()
    recorder.close()
    recorder.close()  # destroy() twice: harmless
    assert json.loads(path.read_text()) == expected


def test_each_flush_writes_only_the_new_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Linear time: the bytes written per flush do not grow with the records already on disk."""
    import agent.metric_info as module

    written: list[int] = []
    real_pwrite = os.pwrite

    def counting_pwrite(fd: int, data: bytes, offset: int) -> int:
        written.append(len(data))
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(module.os, "pwrite", counting_pwrite)
    path = tmp_path / "metric_info.json"
    recorder = MetricInfoRecorder(path, flush_every=10)
    for k in range(2000):
        recorder.add(str(k), _info(1))
    recorder.close()
    assert len(written) == 200
    # every flush writes its ten records (key widths 2..4 digits differ), never the file so far
    assert max(written[1:]) - min(written[1:]) <= 10 * 2
    assert sum(written) - (len(written) - 1) == path.stat().st_size  # each flush overwrote one brace
    assert len(json.loads(path.read_text())) == 2000


def test_records_after_close_are_appended_not_truncated(tmp_path: Path) -> None:
    path = tmp_path / "metric_info.json"
    recorder = MetricInfoRecorder(path, flush_every=100)
    recorder.add("0", _info(0))
    recorder.close()
    recorder.add("1", _info(1))
    recorder.close()
    assert list(json.loads(path.read_text())) == ["0", "1"]


_WRITER = """
import sys
sys.path.insert(0, {root!r})
from agent.metric_info import MetricInfoRecorder
recorder = MetricInfoRecorder({path!r}, flush_every=1)
info = {{"acceleration": [0.1, 0.0, 0.0], "angular_velocity": [0.0, 0.0, 0.0], "forward_vector": [1.0, 0.0, 0.0],
        "right_vector": [0.0, 1.0, 0.0], "location": [1.0, 2.0, 0.0], "rotation": [0.0, 0.0, 0.0]}}
k = 0
while True:
    recorder.add(str(k), info)
    k += 1
    if k == 50:
        print("ready", flush=True)
"""


@pytest.mark.parametrize("delay_s", [0.0, 0.013, 0.071])
def test_sigkill_mid_route_leaves_valid_json(tmp_path: Path, delay_s: float) -> None:
    """A writer flushing every record, killed with SIGKILL at an arbitrary moment: the file parses."""
    path = tmp_path / "metric_info.json"
    proc = subprocess.Popen([sys.executable, "-c", _WRITER.format(root=str(ROOT), path=str(path))],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(delay_s)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    data = json.loads(path.read_text())
    assert len(data) >= 50
    assert list(data) == [str(i) for i in range(len(data))]
