"""Camera geometry: CARLA's pinhole camera on its mount, ego-frame points -> network-image pixels.

One definition, read by the agent's debug frames and by the dataset's sample drawing.
"""

from __future__ import annotations

import math

import numpy as np

from core.frames import rotation_matrix
from sensors.sensor_config import CameraSpec, SensorConfig


def camera_intrinsics(camera: CameraSpec, sensors: SensorConfig, image_w: int, image_h: int) -> np.ndarray:
    """[3, 3] pinhole matrix of the network image: CARLA's camera (width, height, horizontal fov),
    centre-cropped to crop_width x crop_height (0 = none), resized to image_w x image_h."""
    focal = camera.width / (2.0 * math.tan(math.radians(camera.fov) / 2.0))
    crop_w = sensors.crop_width or camera.width
    crop_h = sensors.crop_height or camera.height
    left, top = (camera.width - crop_w) // 2, (camera.height - crop_h) // 2
    sx, sy = image_w / crop_w, image_h / crop_h
    return np.array([[focal * sx, 0.0, (camera.width / 2.0 - left) * sx],
                     [0.0, focal * sy, (camera.height / 2.0 - top) * sy],
                     [0.0, 0.0, 1.0]])


def project_ego_points(points_ego: np.ndarray, camera: CameraSpec, sensors: SensorConfig, image_w: int,
                       image_h: int, min_depth_m: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """[N, 3] ego-frame points (x fwd, y right, z up, m) -> ([N, 2] pixel (u right, v down), [N] in front).

    The camera's pose is its mount (x, y, z, roll, pitch, yaw) in the ego frame; it looks along
    its own +x with +y to the right and +z up (UE), so u grows with y / x and v with -z / x.
    """
    points = np.asarray(points_ego, dtype=np.float64).reshape(-1, 3)
    rot = rotation_matrix(camera.roll, camera.pitch, camera.yaw)  # camera -> ego
    cam = (points - np.array([camera.x, camera.y, camera.z])) @ rot  # ego -> camera: R^T p
    depth = cam[:, 0]
    front = depth > min_depth_m
    safe = np.where(front, depth, 1.0)
    k = camera_intrinsics(camera, sensors, image_w, image_h)
    u = k[0, 2] + k[0, 0] * cam[:, 1] / safe
    v = k[1, 2] - k[1, 1] * cam[:, 2] / safe
    return np.stack([u, v], axis=1), front
