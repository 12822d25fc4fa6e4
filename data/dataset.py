"""The driving dataset: PDM-Lite route folders (embedded or real) -> the network's samples, streamed.

    ds = DrivingDataset(["/data/embedded_v1"], image_size=(512, 256))
    loader = DataLoader(ds, batch_size=8, num_workers=2, collate_fn=collate, shuffle=True)
    train, val = split_by_route(["/data/embedded_v1"], val_fraction=0.1, seed=0)

At construction only each route's measurements are read (poses and speeds, a few floats per
frame); a sample's images, LiDAR and boxes are read from disk when it is asked for, so memory does
not grow with the dataset and DataLoader workers each read their own files. The inputs go through
the agent's own code: the image through sensors.camera.prepare_model_image, the LiDAR BEV through
sensors.lidar.lidar_to_bev with the agent's BEV config. A missing frame file leaves its samples out
(counted in `skipped`); a corrupt one raises FrameFileError naming it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from data.data_config import DataConfig, frames_for
from data.labels import (
    Horizons,
    boxes_in_ego,
    boxes_to_world,
    decisions,
    route_label,
    speed_targets,
    waypoints,
)
from data.layout import FrameFileError, RouteFolder, find_route_folders
from data.route_index import RouteIndex, build_route_index, history_indices
from planner.interface import DECISION_WORDS
from sensors.camera import prepare_model_image
from sensors.lidar import lidar_to_bev
from sensors.sensor_config import SensorConfig


@dataclass(frozen=True)
class DrivingSample:
    """One training sample; ego frame = x forward, y right (CARLA), metres, origin at the vehicle."""

    images: np.ndarray  # [T, H, W, 3] uint8 RGB front frames, oldest -> newest, 0.25 s apart
    lidar_bev: np.ndarray  # [2, S, S] float32, the agent's BEV (sensors/lidar.py)
    target_points: np.ndarray  # [2, 2] float32 ego m: the next target point and the one after
    command: int  # RoadOption value
    speed: float  # m/s
    waypoints: np.ndarray  # [6, 2] float32 ego m at t = 0.5 .. 3.0 s
    route: np.ndarray  # [20, 2] float32 ego m, 1 m apart along the expert's path
    speed_targets: np.ndarray  # [3] float32 m/s at the configured horizons (+1, +2, +3 s)
    decisions: tuple[str, ...]  # 3 words of planner.interface.DECISION_WORDS (now, +1 s, +2 s)
    future_boxes: np.ndarray  # [6, N, 5] float32 other actors at t = 0.5 .. 3.0 s in the current ego frame:
    #                           (x, y, yaw rad, half_length, half_width)
    future_box_mask: np.ndarray  # [6, N] bool, True where a box is real (not padding)
    ego_extent: np.ndarray  # [3] float32 half length / width / height m
    route_name: str  # the route folder's name
    frame: int  # the saved frame index (NNNN)


def _ego_extent(boxes: list[dict], path: Path) -> np.ndarray:
    for box in boxes:
        if box.get("class") == "ego_car":
            return np.asarray(box["extent"][:3], dtype=np.float32)
    raise FrameFileError(f"{path}: no 'ego_car' box")


class DrivingDataset(torch.utils.data.Dataset):
    def __init__(self, roots: Sequence[str | Path], image_size: tuple[int, int] | None = None,
                 sensors: SensorConfig | None = None, config: DataConfig | None = None) -> None:
        """roots: dataset folders or route folders (searched for PDM-Lite route folders).
        image_size: (W, H) of the network image (crop + resize as the agent does), None = as stored."""
        self.config = config or DataConfig()
        self.sensors = sensors or SensorConfig()
        if image_size is not None:
            self.sensors = replace(self.sensors, model_image_width=int(image_size[0]),
                                   model_image_height=int(image_size[1]))
        self.image_size = image_size
        period = self.config.layout.frame_period_s
        self.horizons = Horizons.of(self.config.labels, period)
        self.history_stride = frames_for(self.sensors.history_spacing_s, period, "sensors.history_spacing_s")
        folders: list[RouteFolder] = []
        for root in roots:
            found = find_route_folders(root)
            if not found:
                raise FileNotFoundError(f"{root}: no PDM-Lite route folders (a folder with measurements/) found")
            folders += found
        self.routes: list[RouteIndex] = [
            build_route_index(f, self.horizons, self.sensors.history_frames, self.history_stride,
                              self.config.labels.route_start_speed_mps) for f in folders]
        self.skipped: dict[str, int] = {}
        for r in self.routes:
            for reason, count in r.skipped.items():
                self.skipped[reason] = self.skipped.get(reason, 0) + count
        counts = np.array([len(r.samples) for r in self.routes], dtype=np.int64)
        self._offsets = np.concatenate([[0], np.cumsum(counts)])

    def __len__(self) -> int:
        return int(self._offsets[-1])

    def sample_speeds(self, ahead_s: float | None = None) -> np.ndarray:
        """[len, 2] m/s: each sample's speed now and `ahead_s` later (default: the first speed
        horizon, +1 s), from the in-memory index (no file is read): what sample weighting needs."""
        period = self.config.layout.frame_period_s
        ahead = self.horizons.speed[0] if ahead_s is None else frames_for(ahead_s, period, "set_off_within_s")
        if ahead > self.horizons.future:
            raise ValueError(f"{ahead_s} s is past the label horizon ({self.horizons.future * period} s)")
        rows = [np.stack([r.speed[r.samples], r.speed[r.samples + ahead]], axis=1) for r in self.routes if len(r.samples)]
        return np.concatenate(rows).astype(np.float32) if rows else np.zeros((0, 2), np.float32)

    def locate(self, index: int) -> tuple[RouteIndex, int]:
        if not 0 <= index < len(self):
            raise IndexError(f"sample {index} out of range (dataset has {len(self)})")
        r = int(np.searchsorted(self._offsets, index, side="right") - 1)
        route = self.routes[r]
        return route, int(route.samples[index - self._offsets[r]])

    def _image(self, folder: RouteFolder, k: int) -> np.ndarray:
        rgb = folder.rgb(k)
        return rgb if self.image_size is None else prepare_model_image(rgb, self.sensors)

    def __getitem__(self, index: int) -> DrivingSample:
        route, i = self.locate(index)
        folder, h, labels = route.folder, self.horizons, self.config.labels
        m = folder.measurement(i)
        images = np.stack([self._image(folder, k) for k in history_indices(i, self.sensors.history_frames,
                                                                           self.history_stride)])
        bev = lidar_to_bev(folder.lidar(i), self.sensors.bev)
        boxes_now = folder.boxes(i)
        future = []
        masks = []
        pose_now = (float(route.xy[i, 0]), float(route.xy[i, 1]), float(route.yaw[i]))
        for k in range(1, h.waypoint_count + 1):
            j = i + k * h.waypoint_step
            pose_j = (float(route.xy[j, 0]), float(route.xy[j, 1]), float(route.yaw[j]))
            world = boxes_to_world(folder.boxes(j), pose_j, labels.box_classes)
            b, mask = boxes_in_ego(world, pose_now, labels.max_boxes)
            future.append(b)
            masks.append(mask)
        try:
            tp = np.array([m["target_point"][:2], m["target_point_next"][:2]], dtype=np.float32)
            command = int(m["command"])
            route_xy = m.get("route") or m.get("route_original") or []
        except (KeyError, TypeError) as exc:
            raise FrameFileError(f"{folder.file('measurements', i)}: missing field {exc}") from None
        return DrivingSample(
            images=images, lidar_bev=bev, target_points=tp, command=command, speed=float(route.speed[i]),
            waypoints=waypoints(route.xy, route.yaw, i, h), route=route_label(route_xy, labels),
            speed_targets=speed_targets(route.speed, i, h), decisions=decisions(route.speed, i, h, labels.decisions),
            future_boxes=np.stack(future), future_box_mask=np.stack(masks),
            ego_extent=_ego_extent(boxes_now, folder.file("boxes", i)), route_name=route.name, frame=i,
        )


@dataclass
class DrivingBatch:
    """collate() output: torch tensors with a leading batch dimension B."""

    images: torch.Tensor  # [B, T, H, W, 3] uint8
    lidar_bev: torch.Tensor  # [B, 2, S, S] float32
    target_points: torch.Tensor  # [B, 2, 2]
    command: torch.Tensor  # [B] long
    speed: torch.Tensor  # [B] float32
    waypoints: torch.Tensor  # [B, 6, 2]
    route: torch.Tensor  # [B, 20, 2]
    speed_targets: torch.Tensor  # [B, 3]
    decisions: list[tuple[str, ...]]  # B x 3 words
    decision_ids: torch.Tensor  # [B, 3] long, index into DECISION_WORDS
    future_boxes: torch.Tensor  # [B, 6, N, 5]
    future_box_mask: torch.Tensor  # [B, 6, N] bool
    ego_extent: torch.Tensor  # [B, 3]
    route_names: list[str]
    frames: torch.Tensor  # [B] long


def collate(samples: Sequence[DrivingSample]) -> DrivingBatch:
    def stack(name: str, dtype: torch.dtype | None = None) -> torch.Tensor:
        t = torch.from_numpy(np.stack([getattr(s, name) for s in samples]))
        return t if dtype is None else t.to(dtype)

    words = {w: k for k, w in enumerate(DECISION_WORDS)}
    return DrivingBatch(
        images=stack("images"), lidar_bev=stack("lidar_bev"), target_points=stack("target_points"),
        command=torch.tensor([s.command for s in samples], dtype=torch.long),
        speed=torch.tensor([s.speed for s in samples], dtype=torch.float32),
        waypoints=stack("waypoints"), route=stack("route"), speed_targets=stack("speed_targets"),
        decisions=[s.decisions for s in samples],
        decision_ids=torch.tensor([[words[w] for w in s.decisions] for s in samples], dtype=torch.long),
        future_boxes=stack("future_boxes"), future_box_mask=stack("future_box_mask"), ego_extent=stack("ego_extent"),
        route_names=[s.route_name for s in samples], frames=torch.tensor([s.frame for s in samples], dtype=torch.long),
    )


def split_by_route(roots: Sequence[str | Path], val_fraction: float, seed: int) -> tuple[list[Path], list[Path]]:
    """(train route folders, validation route folders): whole routes held out, reproducible in `seed`.
    Pass either list as DrivingDataset's roots.

    Each root is split on its own, so adding a dataset to a config leaves the earlier datasets'
    split as it was: a stage that continues from a network trained on one recording is validated
    on routes that network never trained on."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    train: list[Path] = []
    val: list[Path] = []
    seen: set[Path] = set()
    for root in roots:
        order = sorted({f.path.resolve() for f in find_route_folders(root)} - seen)
        seen.update(order)
        random.Random(seed).shuffle(order)
        n_val = round(len(order) * val_fraction)
        if val_fraction > 0 and n_val == 0 and len(order) > 1:
            n_val = 1
        val.extend(order[:n_val])
        train.extend(order[n_val:])
    if not seen:
        raise FileNotFoundError(f"no PDM-Lite route folders under {list(roots)}")
    return sorted(train), sorted(val)
