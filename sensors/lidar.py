"""LiDAR: sensor -> ego frame, half-sweep merging, and the bird's-eye-view histogram."""

from __future__ import annotations

import numpy as np

from core.frames import rotation_matrix
from sensors.sensor_config import BevConfig, LidarSpec


def sensor_to_ego(points: np.ndarray, mount: LidarSpec) -> np.ndarray:
    """[N, 4] (x, y, z, intensity) in the LiDAR frame -> the same in the ego frame, float32.

    Points must be finite (decode_input_data drops the others). float32 throughout:
    the sensor delivers float32 and a mm of rounding is far below a BEV cell.
    """
    if points.ndim != 2 or points.shape[1] != 4:
        raise ValueError(f"LiDAR points must be [N, 4], got {points.shape}")
    rot = rotation_matrix(mount.roll, mount.pitch, mount.yaw).astype(np.float32)
    # The product into a contiguous temporary: with a strided `out=` slice numpy leaves BLAS for a
    # slow loop (1.4 ms for 36k points against 0.9 ms here; the same bits).
    rotated = points[:, :3].astype(np.float32, copy=False) @ rot.T
    rotated += np.array([mount.x, mount.y, mount.z], dtype=np.float32)
    out = np.empty((len(points), 4), dtype=np.float32)
    out[:, :3] = rotated
    out[:, 3] = points[:, 3]
    return out


class SweepMerger:
    """Joins the current half sweep with the previous one, moved into the current ego frame.

    The leaderboard's LiDAR rotates at 10 Hz and the world ticks at 20 Hz, so each
    tick delivers half a revolution; without the previous half the BEV is blind on
    one side. The previous half is moved by the ego motion between the two ticks.
    """

    def __init__(self) -> None:
        self._previous: np.ndarray | None = None  # [M, 4] ego frame of the previous tick
        self._previous_pose: tuple[np.ndarray, float] | None = None  # (world xy, yaw rad)

    def reset(self) -> None:
        self._previous = None
        self._previous_pose = None

    def merge(self, points_ego: np.ndarray, position: np.ndarray, yaw: float) -> np.ndarray:
        merged = points_ego
        if self._previous is not None and self._previous_pose is not None:
            prev_xy, prev_yaw = self._previous_pose
            # previous ego -> world -> current ego, in one 2-D rigid transform
            d_yaw = prev_yaw - yaw
            c, s = np.cos(d_yaw), np.sin(d_yaw)
            cy, sy = np.cos(yaw), np.sin(yaw)
            delta = np.asarray(prev_xy, dtype=np.float64) - np.asarray(position, dtype=np.float64)
            offset = np.array([cy * delta[0] + sy * delta[1], -sy * delta[0] + cy * delta[1]])
            moved = self._previous.copy()
            x, y = self._previous[:, 0].astype(np.float64), self._previous[:, 1].astype(np.float64)
            moved[:, 0] = c * x - s * y + offset[0]
            moved[:, 1] = s * x + c * y + offset[1]
            merged = np.concatenate([points_ego, moved], axis=0)
        self._previous = points_ego
        self._previous_pose = (np.asarray(position, dtype=np.float64).copy(), float(yaw))
        return merged


def lidar_to_bev(points_ego: np.ndarray, config: BevConfig) -> np.ndarray:
    """[N, >=3] ego-frame points -> [2, S, S] float32 BEV in [0, 1].

    Channel 0 counts points at or below `split_height_m`, channel 1 those above.
    Row 0 is the far front (x = +range), column 0 the far left (y = -range).
    One bincount over flattened cell indices instead of np.histogramdd: same
    numbers, a fraction of the cost (no per-dimension searchsorted, no edge arrays).
    """
    size = config.size_px
    if len(points_ego) == 0:
        return np.zeros((2, size, size), dtype=np.float32)
    # float64 so that cell boundaries land exactly where histogramdd's edges are. In-place
    # arithmetic throughout: at 36k points each temporary is a fresh mmap'd block whose page
    # faults cost more than the arithmetic on it.
    fx = points_ego[:, 0].astype(np.float64)
    fx += config.range_m
    fx *= config.pixels_per_meter
    fy = points_ego[:, 1].astype(np.float64)
    fy += config.range_m
    fy *= config.pixels_per_meter
    z = points_ego[:, 2] - config.ground_height_m
    # histogramdd's last bin is closed: a point exactly on the far edge counts (NaN fails every test)
    keep = fx >= 0
    keep &= fx <= size
    keep &= fy >= 0
    keep &= fy <= size
    keep &= z <= config.max_height_m
    # Cell indices for every point, the ones outside sent to one spare bin: no compaction of the
    # arrays by `keep` (boolean indexing costs more than all the arithmetic here).
    with np.errstate(invalid="ignore"):  # NaN / out-of-range casts: garbage, replaced just below
        ix = fx.astype(np.int64)  # truncation == floor for the kept (non-negative) values
        iy = fy.astype(np.int64)
    np.minimum(ix, size - 1, out=ix)
    np.minimum(iy, size - 1, out=iy)
    flat = np.subtract(size - 1, ix, out=ix)  # row: 0 is the far front
    flat *= size
    flat += iy
    flat += np.multiply(z > config.split_height_m, size * size, out=iy)  # channel 1 above the split
    spare = 2 * size * size
    np.putmask(flat, ~keep, spare)
    counts = np.bincount(flat, minlength=spare + 1)[:spare].reshape(2, size, size)
    np.minimum(counts, config.max_points_per_cell, out=counts)
    bev = counts.astype(np.float32)
    bev /= config.max_points_per_cell
    return bev


def lidar_to_bev_reference(points_ego: np.ndarray, config: BevConfig) -> np.ndarray:
    """Straightforward np.histogramdd version, kept as the test oracle for lidar_to_bev."""
    size = config.size_px
    edges = np.linspace(-config.range_m, config.range_m, size + 1)
    z = points_ego[:, 2] - config.ground_height_m
    valid = (z <= config.max_height_m) & np.isfinite(z)
    channels = []
    for mask in (valid & (z <= config.split_height_m), valid & (z > config.split_height_m)):
        hist, _ = np.histogramdd(points_ego[mask][:, :2], bins=(edges, edges))
        hist = np.minimum(hist, config.max_points_per_cell) / config.max_points_per_cell
        channels.append(hist[::-1, :])
    return np.stack(channels).astype(np.float32)


def points_in_box(points_ego: np.ndarray, x_min: float, x_max: float, half_width: float,
                  z_min: float, z_max: float) -> int:
    """Number of ego-frame points inside an axis-aligned box ahead of the car."""
    if len(points_ego) == 0:
        return 0
    x, y, z = points_ego[:, 0], points_ego[:, 1], points_ego[:, 2]
    inside = (x >= x_min) & (x <= x_max) & (np.abs(y) <= half_width) & (z >= z_min) & (z <= z_max)
    return int(inside.sum())
