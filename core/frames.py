"""Coordinate-frame helpers, defined once for the whole project.

CARLA is left-handed: x forward, y right, z up; yaw positive turns from +x
towards +y (clockwise seen from above). "ego" = the vehicle frame now.
"""

from __future__ import annotations

import math

import numpy as np


def rotation_matrix(roll_deg: float, pitch_deg: float, yaw_deg: float) -> np.ndarray:
    """[3, 3] rotation sensor -> parent for CARLA's Rotation(pitch, yaw, roll), as UE applies it."""
    cr, sr = math.cos(math.radians(roll_deg)), math.sin(math.radians(roll_deg))
    cp, sp = math.cos(math.radians(pitch_deg)), math.sin(math.radians(pitch_deg))
    cy, sy = math.cos(math.radians(yaw_deg)), math.sin(math.radians(yaw_deg))
    # Same matrix as carla.Transform.get_matrix() (rotation part).
    return np.array(
        [
            [cp * cy, cy * sp * sr - sy * cr, -cy * sp * cr - sy * sr],
            [cp * sy, sy * sp * sr + cy * cr, -sy * sp * cr + cy * sr],
            [sp, -cp * sr, cp * cr],
        ],
        dtype=np.float64,
    )


def world_to_ego(points_xy: np.ndarray, ego_xy: np.ndarray, ego_yaw: float) -> np.ndarray:
    """[N, 2] world x/y -> [N, 2] ego x (forward) / y (right)."""
    c, s = math.cos(ego_yaw), math.sin(ego_yaw)
    d = np.asarray(points_xy, dtype=np.float64) - np.asarray(ego_xy, dtype=np.float64)[:2]
    return np.stack([c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1]], axis=1)


def ego_to_world(points_xy: np.ndarray, ego_xy: np.ndarray, ego_yaw: float) -> np.ndarray:
    """[N, 2] ego -> [N, 2] world; inverse of world_to_ego."""
    c, s = math.cos(ego_yaw), math.sin(ego_yaw)
    p = np.asarray(points_xy, dtype=np.float64)
    return np.stack([c * p[:, 0] - s * p[:, 1], s * p[:, 0] + c * p[:, 1]], axis=1) + np.asarray(ego_xy)[:2]


def wrap_angle(angle: float) -> float:
    """Wrap radians to (-pi, pi]."""
    return math.atan2(math.sin(angle), math.cos(angle))


def polyline_lengths(points: np.ndarray) -> np.ndarray:
    """[N, D] polyline -> [N] cumulative arc length, starting at 0."""
    if len(points) == 0:
        return np.zeros(0)
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    return np.concatenate([[0.0], np.cumsum(seg)])


def resample_polyline(points: np.ndarray, spacing: float, count: int | None = None) -> np.ndarray:
    """Resample [N, 2] at a fixed arc-length spacing from its first point.

    With `count`, exactly `count` points are returned; past the end the last
    segment's direction is extended (so a route never shrinks to nothing).
    """
    points = np.asarray(points, dtype=np.float64)
    if len(points) == 0:
        raise ValueError("cannot resample an empty polyline")
    if len(points) == 1:
        n = count if count is not None else 1
        return np.repeat(points[:1], n, axis=0)
    s = polyline_lengths(points)
    keep = np.concatenate([[True], np.diff(s) > 1e-9])
    points, s = points[keep], s[keep]
    if len(points) == 1:
        n = count if count is not None else 1
        return np.repeat(points[:1], n, axis=0)
    n = count if count is not None else int(s[-1] // spacing) + 1
    targets = np.arange(n) * spacing
    out = np.stack([np.interp(targets, s, points[:, i]) for i in range(points.shape[1])], axis=1)
    beyond = targets > s[-1]
    if beyond.any():
        direction = points[-1] - points[-2]
        direction = direction / np.linalg.norm(direction)
        out[beyond] = points[-1] + (targets[beyond] - s[-1])[:, None] * direction
    return out


def footprint_corners(x: float, y: float, yaw: float, half_length: float, half_width: float) -> np.ndarray:
    """[4, 2] corners of an oriented box (front-left, front-right, rear-right, rear-left), world m.

    "Left" is -y in the box frame (CARLA is left-handed).
    """
    c, s = math.cos(yaw), math.sin(yaw)
    forward = np.array([c, s]) * half_length
    right = np.array([-s, c]) * half_width
    p = np.array([x, y])
    return np.array([p + forward - right, p + forward + right, p - forward + right, p - forward - right])
