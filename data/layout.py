"""The PDM-Lite route folder: file names, readers and writers.

    <route>/rgb/NNNN.jpg               front camera, BGR JPEG (CARLA images are BGR already)
    <route>/lidar/NNNN.laz             merged 360° sweep, ego frame (x fwd, y right, z up), m
    <route>/measurements/NNNN.json.gz  ego pose, speed, target points, command, expert controls, route, ...
    <route>/boxes/NNNN.json.gz         actors around the ego, ego frame (the ego itself first: 'ego_car')
    <route>/results.json.gz            the route's leaderboard record, written last

NNNN counts saved frames from 0000 (one every LayoutConfig.save_every_ticks ticks). Field names
follow carla_garage's autopilot / data_agent (leaderboard 2). Readers raise FrameFileError naming
the file; a route without results.json.gz was not finished.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from data.laz import LidarFileError, read_laz, write_laz

RGB, LIDAR, MEASUREMENTS, BOXES = "rgb", "lidar", "measurements", "boxes"
RESULTS_FILE = "results.json.gz"
FOLDERS = (RGB, LIDAR, MEASUREMENTS, BOXES)


class FrameFileError(ValueError):
    """A frame file is missing or unreadable; the message names it."""


def frame_name(index: int) -> str:
    return f"{index:04d}"


def write_json_gz(path: Path, data: Any) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        json.dump(data, handle)


def read_json_gz(path: Path) -> Any:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise FrameFileError(f"{path}: file missing") from None
    except (OSError, EOFError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FrameFileError(f"{path}: not readable gzip JSON ({type(exc).__name__}: {exc})") from None


class RouteFolder:
    """One route's folder in the PDM-Lite layout."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def name(self) -> str:
        return self.path.name

    def file(self, kind: str, index: int) -> Path:
        suffix = {RGB: ".jpg", LIDAR: ".laz", MEASUREMENTS: ".json.gz", BOXES: ".json.gz"}[kind]
        return self.path / kind / f"{frame_name(index)}{suffix}"

    @property
    def finished(self) -> bool:
        return (self.path / RESULTS_FILE).is_file()

    def frame_indices(self) -> list[int]:
        """Saved frames, from the measurements folder (the one file every frame has)."""
        folder = self.path / MEASUREMENTS
        if not folder.is_dir():
            raise FrameFileError(f"{folder}: no measurements folder (not a PDM-Lite route folder)")
        out = []
        for entry in folder.iterdir():
            stem = entry.name.split(".", 1)[0]
            if entry.name.endswith(".json.gz") and stem.isdigit():
                out.append(int(stem))
        return sorted(out)

    # ------------------------------------------------------------------ readers
    def measurement(self, index: int) -> dict:
        data = read_json_gz(self.file(MEASUREMENTS, index))
        if not isinstance(data, dict):
            raise FrameFileError(f"{self.file(MEASUREMENTS, index)}: expected a JSON object")
        return data

    def boxes(self, index: int) -> list[dict]:
        data = read_json_gz(self.file(BOXES, index))
        if not isinstance(data, list):
            raise FrameFileError(f"{self.file(BOXES, index)}: expected a JSON list of boxes")
        return data

    def rgb(self, index: int) -> np.ndarray:
        """[H, W, 3] uint8 RGB."""
        path = self.file(RGB, index)
        if not path.is_file():
            raise FrameFileError(f"{path}: file missing")
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise FrameFileError(f"{path}: not a readable image")
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)

    def lidar(self, index: int) -> np.ndarray:
        """[N, 4] float32 ego frame."""
        try:
            return read_laz(self.file(LIDAR, index))
        except LidarFileError as exc:
            raise FrameFileError(str(exc)) from None

    def results(self) -> dict:
        return read_json_gz(self.path / RESULTS_FILE)

    # ------------------------------------------------------------------ writers
    def create(self) -> None:
        for folder in FOLDERS:
            (self.path / folder).mkdir(parents=True, exist_ok=True)

    def write_frame(self, index: int, rgb_bgr: np.ndarray | None, lidar_ego: np.ndarray, measurement: dict,
                    boxes: list[dict], jpeg_quality: int, lidar_precision_m: float) -> None:
        if rgb_bgr is not None:
            ok = cv2.imwrite(str(self.file(RGB, index)), rgb_bgr, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
            if not ok:
                raise OSError(f"could not write {self.file(RGB, index)}")
        write_laz(self.file(LIDAR, index), lidar_ego, lidar_precision_m)
        write_json_gz(self.file(BOXES, index), boxes)
        # measurements last: a frame counts once its measurement exists (frame_indices reads them)
        write_json_gz(self.file(MEASUREMENTS, index), measurement)

    def write_results(self, record: dict) -> None:
        write_json_gz(self.path / RESULTS_FILE, record)


def find_route_folders(root: str | Path) -> list[RouteFolder]:
    """Every folder under `root` (itself included) that holds a measurements/ folder, sorted."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: dataset folder not found")
    found = sorted({p.parent for p in root.rglob(MEASUREMENTS) if p.is_dir()})
    return [RouteFolder(p) for p in found if not any(part.startswith(".") for part in p.relative_to(root).parts)]
