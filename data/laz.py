"""LiDAR point clouds as LAZ files (laspy + the lazrs backend), as PDM-Lite stores them.

PDM-Lite writes point format 0 with offsets at the cloud's minimum and a 1 mm scale, x/y/z in
the ego frame (x forward, y right, z up). Intensity is kept here as uint16 (value x 65535);
PDM-Lite's own files leave it 0, and the BEV reads only x/y/z.
"""

from __future__ import annotations

import io
from pathlib import Path

import laspy
import numpy as np

POINT_FORMAT = 0
INTENSITY_SCALE = 65535.0
# The single-threaded lazrs backend: laspy's default (LazrsParallel) starts a rayon thread pool on first
# use, and a DataLoader worker forked after that hangs on the pool's threads, which fork() did not copy.
LAZ_BACKEND = laspy.LazBackend.Lazrs


class LidarFileError(ValueError):
    """A .laz file that cannot be read as a point cloud."""


def encode_laz(points: np.ndarray, precision_m: float) -> bytes:
    """[N, 3 or 4] float points -> LAZ bytes."""
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] not in (3, 4):
        raise ValueError(f"LiDAR points must be [N, 3] or [N, 4], got {points.shape}")
    header = laspy.LasHeader(point_format=POINT_FORMAT, version="1.2")
    header.offsets = np.min(points[:, :3], axis=0) if len(points) else np.zeros(3)
    header.scales = np.full(3, precision_m)
    record = laspy.ScaleAwarePointRecord.zeros(len(points), header=header)
    record.x, record.y, record.z = points[:, 0], points[:, 1], points[:, 2]
    if points.shape[1] == 4 and len(points):
        record.intensity = np.clip(np.round(points[:, 3] * INTENSITY_SCALE), 0, INTENSITY_SCALE).astype(np.uint16)
    buffer = io.BytesIO()
    with laspy.open(buffer, mode="w", header=header, do_compress=True, closefd=False, laz_backend=LAZ_BACKEND) as writer:
        writer.write_points(record)
    return buffer.getvalue()


def write_laz(path: str | Path, points: np.ndarray, precision_m: float) -> None:
    Path(path).write_bytes(encode_laz(points, precision_m))


def read_laz(path: str | Path) -> np.ndarray:
    """[N, 4] float32 (x, y, z, intensity in [0, 1]); raises LidarFileError naming the file."""
    try:
        las = laspy.read(str(path), laz_backend=LAZ_BACKEND)
        out = np.empty((len(las.points), 4), dtype=np.float32)
        out[:, 0], out[:, 1], out[:, 2] = las.x, las.y, las.z
        out[:, 3] = np.asarray(las.intensity, dtype=np.float32) / INTENSITY_SCALE
    except FileNotFoundError:
        raise LidarFileError(f"{path}: LiDAR file missing") from None
    except Exception as exc:  # laspy raises its own and lazrs' errors for truncated / foreign files
        raise LidarFileError(f"{path}: not a readable LAZ point cloud ({type(exc).__name__}: {exc})") from None
    return out
