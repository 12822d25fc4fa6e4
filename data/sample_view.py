"""Draw a sample for checking by eye: its four frames, its BEV, and its labels projected onto the image.

Top row: the history frames (oldest left). Bottom: the newest frame at twice the size with the
labels projected through the front camera's mount and field of view (sensors/camera_geometry.py):
waypoints red, route green, target points blue, the other actors' future box centres yellow; and
the LiDAR BEV with the same labels drawn from above. A text line gives the route, frame, speed,
command, speed targets and decision words.
"""

from __future__ import annotations

import cv2
import numpy as np

from data.dataset import DrivingSample
from sensors.camera_geometry import project_ego_points
from sensors.sensor_config import SensorConfig

WAYPOINT_RGB = (230, 40, 40)
ROUTE_RGB = (40, 200, 60)
TARGET_RGB = (40, 90, 255)
BOX_RGB = (250, 220, 30)


def project_ground(points_xy: np.ndarray, sensors: SensorConfig, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """[N, 2] ego-frame ground points -> ([N, 2] pixels of the front camera's image of width x height, [N] visible)."""
    pts = np.concatenate([np.asarray(points_xy, dtype=np.float64).reshape(-1, 2),
                          np.zeros((len(np.asarray(points_xy).reshape(-1, 2)), 1))], axis=1)
    camera = next(c for c in sensors.cameras if c.id == sensors.front_camera_id)
    uv, front = project_ego_points(pts, camera, sensors, width, height)
    inside = front & (uv[:, 0] >= 0) & (uv[:, 0] < width) & (uv[:, 1] >= 0) & (uv[:, 1] < height)
    return uv, inside


def _dots(image: np.ndarray, uv: np.ndarray, visible: np.ndarray, color: tuple[int, int, int], radius: int) -> None:
    for (u, v), ok in zip(uv, visible):
        if ok:
            cv2.circle(image, (round(u), round(v)), radius, color, -1, cv2.LINE_AA)


def draw_camera(sample: DrivingSample, sensors: SensorConfig) -> np.ndarray:
    """[H, W, 3] RGB: the newest frame with the labels projected onto it."""
    image = np.ascontiguousarray(sample.images[-1]).copy()
    h, w = image.shape[:2]
    boxes = sample.future_boxes[sample.future_box_mask]
    for points, color, radius in ((sample.route, ROUTE_RGB, 2), (sample.waypoints, WAYPOINT_RGB, 4),
                                  (sample.target_points, TARGET_RGB, 5), (boxes[:, :2], BOX_RGB, 3)):
        uv, visible = project_ground(points, sensors, w, h)
        _dots(image, uv, visible, color, radius)
    return image


def bev_pixels(points_xy: np.ndarray, sensors: SensorConfig) -> np.ndarray:
    """Ego x/y -> BEV (column, row): row 0 far ahead, column 0 far left (sensors/lidar.py's layout)."""
    bev = sensors.bev
    p = np.asarray(points_xy, dtype=np.float64).reshape(-1, 2)
    col = (p[:, 1] + bev.range_m) * bev.pixels_per_meter
    row = bev.size_px - 1 - (p[:, 0] + bev.range_m) * bev.pixels_per_meter
    return np.stack([col, row], axis=1)


def draw_bev(sample: DrivingSample, sensors: SensorConfig) -> np.ndarray:
    bev = sample.lidar_bev
    gray = np.clip(np.maximum(bev[0] * 0.5, bev[1]) * 255, 0, 255).astype(np.uint8)
    image = np.stack([gray] * 3, axis=2)
    size = image.shape[0]
    boxes = sample.future_boxes[sample.future_box_mask]
    for points, color, radius in ((sample.route, ROUTE_RGB, 1), (sample.waypoints, WAYPOINT_RGB, 2),
                                  (sample.target_points, TARGET_RGB, 3), (boxes[:, :2], BOX_RGB, 2)):
        px = bev_pixels(points, sensors)
        visible = (px[:, 0] >= 0) & (px[:, 0] < size) & (px[:, 1] >= 0) & (px[:, 1] < size)
        _dots(image, px, visible, color, radius)
    return image


def draw_sample(sample: DrivingSample, sensors: SensorConfig) -> np.ndarray:
    """One RGB picture of the sample (see the module doc)."""
    frames = [np.ascontiguousarray(f) for f in sample.images]
    h, w = frames[0].shape[:2]
    top = np.concatenate(frames, axis=1)
    camera = cv2.resize(draw_camera(sample, sensors), (2 * w, 2 * h), interpolation=cv2.INTER_LINEAR)
    bev = cv2.resize(draw_bev(sample, sensors), (2 * h, 2 * h), interpolation=cv2.INTER_NEAREST)
    bottom = np.concatenate([camera, bev], axis=1)
    width = max(top.shape[1], bottom.shape[1])
    pad = lambda img: np.pad(img, ((0, 0), (0, width - img.shape[1]), (0, 0)))  # noqa: E731
    text = np.zeros((28, width, 3), dtype=np.uint8)
    line = (f"{sample.route_name} frame {sample.frame:04d}  v={sample.speed:.1f} m/s  cmd={sample.command}  "
            f"speeds {' '.join(f'{v:.1f}' for v in sample.speed_targets)}  decisions {' '.join(sample.decisions)}")
    cv2.putText(text, line, (6, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1, cv2.LINE_AA)
    return np.concatenate([pad(top), pad(bottom), text], axis=0)
