"""Which LiDAR rays can hit the boxes that ride with the sensor (the ego's body and cabin).

The ego's boxes are as close to the LiDAR as anything gets: every ray's azimuth passes
them, so the ray cast tested all ~32k rays of a tick against each (the largest single cost
of a scan). Relative to the sensor they never move, and the ray pattern repeats with the
rotation phase, so the rays that may hit them are a fixed set per (phase, box pose relative
to the ego): computed once, with the boxes inflated by `MARGIN_M` so that the set is a
superset whatever the rounding. The scan then runs its own, unchanged, world-frame test on
that set only: the same hits, bit for bit, as testing every ray.
"""

from __future__ import annotations

import math

import numpy as np

MARGIN_M = 0.01  # inflation of the boxes for the candidate test (float error is ~1e-12 m)
KEY_DECIMALS = 6  # a box pose relative to the ego, rounded to um / urad, names a cached set
MAX_ENTRIES = 16  # phases x box poses kept (2 phases x 2 boxes with the default rig)


def slab_hits(origin: np.ndarray, dirs: np.ndarray, center: np.ndarray, yaw: float,
              extent: np.ndarray) -> np.ndarray:
    """[N] bool: rays origin + t * dirs (t > 0) that hit the box (centre, yaw about z, half extents)."""
    c, s = math.cos(yaw), math.sin(yaw)
    rel = origin - center
    local_o = np.array([c * rel[0] + s * rel[1], -s * rel[0] + c * rel[1], rel[2]])
    local_d = np.stack([c * dirs[:, 0] + s * dirs[:, 1], -s * dirs[:, 0] + c * dirs[:, 1], dirs[:, 2]], axis=1)
    tmin = np.zeros(len(dirs))
    tmax = np.full(len(dirs), np.inf)
    for axis in range(3):
        u = local_d[:, axis]
        u = np.where(np.abs(u) < 1e-12, 1e-12, u)
        t1 = (-extent[axis] - local_o[axis]) / u
        t2 = (extent[axis] - local_o[axis]) / u
        np.maximum(tmin, np.minimum(t1, t2), out=tmin)
        np.minimum(tmax, np.maximum(t1, t2), out=tmax)
    return (tmax >= tmin) & (tmax > 0)


class SelfHitCache:
    """Per (rotation phase, ego-frame box) the rays of the full tick pattern that may hit the box."""

    def __init__(self, mount_pos: np.ndarray, mount_rot: np.ndarray) -> None:
        self.mount_pos, self.mount_rot = mount_pos, mount_rot
        self._sets: dict[tuple, np.ndarray] = {}

    def candidates(self, phase: float, dirs_sensor: np.ndarray, ego_x: float, ego_y: float, ego_yaw: float,
                   center: np.ndarray, yaw: float, extent: np.ndarray) -> np.ndarray:
        """[N] bool over `dirs_sensor` (the full pattern of this phase) for the world-frame box."""
        c, s = math.cos(ego_yaw), math.sin(ego_yaw)
        dx, dy = center[0] - ego_x, center[1] - ego_y
        box = (c * dx + s * dy, -s * dx + c * dy, center[2], math.remainder(yaw - ego_yaw, 2 * math.pi),
               *extent)
        key = (phase, *np.round(box, KEY_DECIMALS).tolist())
        found = self._sets.get(key)
        if found is None:
            if len(self._sets) >= MAX_ENTRIES:
                self._sets.clear()
            dirs_ego = dirs_sensor @ self.mount_rot.T
            found = slab_hits(self.mount_pos, dirs_ego, np.asarray(box[:3]), box[3],
                              np.asarray(extent, dtype=np.float64) + MARGIN_M)
            found.setflags(write=False)
            self._sets[key] = found
        return found
