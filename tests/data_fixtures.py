"""A PDM-Lite route folder written by hand, the way carla_garage's data agent writes one (no simulator)."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import cv2
import laspy
import numpy as np

PERIOD = 0.25  # PDM-Lite: one saved frame every 5 ticks at 20 Hz


def _json_gz(path: Path, data: object) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as f:
        json.dump(data, f)


def _matrix(x: float, y: float, yaw: float) -> list[list[float]]:
    c, s = math.cos(yaw), math.sin(yaw)
    return [[c, -s, 0.0, x], [s, c, 0.0, y], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]]


def write_route(root: Path, name: str, poses: list[tuple[float, float, float]], speeds: list[float],
                other: list[tuple[float, float, float]] | None = None, perturbed: set[int] = frozenset(),
                points: np.ndarray | None = None) -> Path:
    """A PDM-Lite route folder the way carla_garage writes one (cv2 JPEG, laspy LAZ, gzip JSON)."""
    route = root / "ScenarioX" / name
    for sub in ("rgb", "lidar", "measurements", "boxes"):
        (route / sub).mkdir(parents=True)
    rng = np.random.default_rng(0)
    cloud = points if points is not None else rng.uniform(-20, 20, (500, 3))
    for k, ((x, y, yaw), v) in enumerate(zip(poses, speeds)):
        image = np.full((64, 128, 3), (k * 7) % 255, np.uint8)  # BGR; each frame its own grey level
        cv2.imwrite(str(route / "rgb" / f"{k:04d}.jpg"), image)
        header = laspy.LasHeader(point_format=0)
        header.offsets = cloud.min(axis=0)
        header.scales = np.array([0.001, 0.001, 0.001])
        with laspy.open(route / "lidar" / f"{k:04d}.laz", mode="w", header=header) as writer:
            rec = laspy.ScaleAwarePointRecord.zeros(len(cloud), header=header)
            rec.x, rec.y, rec.z = cloud[:, 0], cloud[:, 1], cloud[:, 2]
            writer.write_points(rec)
        c, s = math.cos(yaw), math.sin(yaw)
        ahead = [[float(d), 0.0] for d in range(1, 31)]
        _json_gz(route / "measurements" / f"{k:04d}.json.gz", {
            "pos_global": [x, y], "theta": yaw, "speed": v, "target_speed": v, "target_point": [20.0, 0.0],
            "target_point_next": [40.0, 1.0], "command": 4, "next_command": 4, "route": ahead, "steer": 0.0,
            "throttle": 0.5, "brake": False, "ego_matrix": _matrix(x, y, yaw), "perturbed": k in perturbed})
        boxes = [{"class": "ego_car", "extent": [2.45, 1.06, 0.76], "position": [0, 0, 0], "yaw": 0.0, "speed": v}]
        if other is not None:
            ox, oy, oyaw = other[k]
            dx, dy = ox - x, oy - y
            boxes.append({"class": "car", "extent": [2.0, 1.0, 0.8], "position": [c * dx + s * dy, -s * dx + c * dy, 0.0],
                          "yaw": oyaw - yaw, "speed": 5.0, "id": 7})
        boxes.append({"class": "traffic_light", "extent": [0.1, 0.1, 2.0], "position": [30.0, 5.0, 0.0], "yaw": 0.0})
        _json_gz(route / "boxes" / f"{k:04d}.json.gz", boxes)
    _json_gz(route / "results.json.gz", {"status": "Completed"})
    return route


def straight(n: int, speed: float) -> tuple[list, list]:
    return [(10.0 + speed * PERIOD * k, 5.0, 0.0) for k in range(n)], [speed] * n


