"""Ray-cast LiDAR with CARLA's pattern: float32 N x 4 (x, y, z, intensity) in the sensor frame.

As CARLA's RayCastLidar: channels spread linearly from upper to lower FOV;
per tick each channel fires round(pps * dt / channels) rays sweeping
360 * rotation_hz * dt degrees onward from where the last tick stopped (half a
turn at 20 Hz / 10 Hz); a share `dropoff_general_rate` of rays is dropped at
random before casting; intensity = exp(-attenuation * distance) with the
intensity-based drop-off. Rays hit the flat ground (z = 0) and oriented boxes.
A tick's ray pattern depends only on the rotation phase: it is computed once per phase.
The ego's own boxes are tested only against the rays that can hit them (sim/lidar_self_hits.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from core.frames import rotation_matrix
from sim.config import LidarModelConfig
from sim.lidar_self_hits import SelfHitCache
from sim.world import BoxArrays

MAX_CACHED_PHASES = 8  # 20 Hz at 10 Hz rotation: 2 phases; a pattern that never repeats is not kept


class LidarSimulator:
    def __init__(self, spec: dict, cfg: LidarModelConfig, dt: float, rng: np.random.Generator) -> None:
        self.cfg, self.rng = cfg, rng
        self.mount_pos = np.array([spec["x"], spec["y"], spec["z"]], dtype=np.float64)
        self.mount_rot = rotation_matrix(spec.get("roll", 0.0), spec.get("pitch", 0.0), spec.get("yaw", 0.0))
        self.points_per_laser = math.floor(cfg.points_per_second * dt / cfg.channels + 0.5)
        self.angle_per_tick = 360.0 * cfg.rotation_hz * dt
        self.step_deg = self.angle_per_tick / self.points_per_laser
        delta = (cfg.upper_fov_deg - cfg.lower_fov_deg) / max(cfg.channels - 1, 1)
        self.vertical = np.radians(cfg.upper_fov_deg - delta * np.arange(cfg.channels))
        self.current_angle = 0.0
        self.alpha = cfg.dropoff_zero_intensity / cfg.dropoff_intensity_limit
        self.beta = 1.0 - cfg.dropoff_zero_intensity
        self._patterns: dict[float, np.ndarray] = {}
        self._azimuths: dict[float, tuple[np.ndarray, np.ndarray]] = {}  # phase -> (sensor azimuth, its order)
        self._self_hits = SelfHitCache(self.mount_pos, self.mount_rot)
        # A level mount turns every ray's azimuth by the same angle: sort the pattern's azimuths
        # once per phase and rotate them, instead of arctan2 + argsort over every ray each tick.
        self._level = abs(self.mount_rot[2, 0]) < 1e-12 and abs(self.mount_rot[2, 1]) < 1e-12
        self._mount_yaw = math.atan2(self.mount_rot[1, 0], self.mount_rot[0, 0])

    def rays(self) -> np.ndarray:
        """[C, P, 3] unit directions of this tick's rays in the sensor frame (read-only); advances the rotation."""
        phase = self.current_angle
        pattern = self._patterns.get(phase)
        if pattern is None:
            k = np.arange(self.points_per_laser)
            horiz = np.radians(np.fmod(phase + self.step_deg * k, 360.0) - 180.0)
            v = self.vertical[:, None]
            pattern = np.stack(np.broadcast_arrays(np.cos(v) * np.cos(horiz), np.cos(v) * np.sin(horiz), np.sin(v)),
                               axis=-1)
            pattern.setflags(write=False)
            if len(self._patterns) < MAX_CACHED_PHASES:
                self._patterns[phase] = pattern
        self.current_angle = math.fmod(self.current_angle + self.angle_per_tick, 360.0)
        return pattern

    def scan(self, ego_x: float, ego_y: float, ego_yaw: float, boxes: BoxArrays | None,
             exclude_ids: tuple[int, ...] = (), self_ids: tuple[int, ...] = ()) -> np.ndarray:
        """This tick's points. `self_ids`: boxes that ride with the sensor (the ego), tested only
        against the rays that can reach them."""
        cfg = self.cfg
        phase = self.current_angle
        pattern = self.rays().reshape(-1, 3)
        dirs, kept = pattern, None
        if cfg.dropoff_general_rate > 0:
            kept = self.rng.random(len(dirs)) >= cfg.dropoff_general_rate
            dirs = _rows(dirs, kept)
        c, s = math.cos(ego_yaw), math.sin(ego_yaw)
        r_ego = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        rot = r_ego @ self.mount_rot
        origin = np.array([ego_x, ego_y, 0.0]) + r_ego @ self.mount_pos
        d_world = dirs @ rot.T
        t = np.full(len(dirs), np.inf)
        down = d_world[:, 2] < -1e-9
        t[down] = -origin[2] / d_world[down, 2]
        if boxes is not None and len(boxes.ids):
            own: dict[int, np.ndarray] = {}
            for k in np.flatnonzero(np.isin(boxes.ids, self_ids)) if self_ids else ():
                may_hit = self._self_hits.candidates(phase, pattern, ego_x, ego_y, ego_yaw, boxes.center[k],
                                                     float(boxes.yaw[k]), boxes.extent[k])
                own[int(k)] = np.flatnonzero(may_hit if kept is None else may_hit[kept])
            def azimuths() -> tuple[np.ndarray, np.ndarray]:
                return self._sorted_azimuths(phase, pattern, kept, ego_yaw, d_world)

            self._hit_boxes(origin, d_world, t, boxes, exclude_ids, own, azimuths)
        hit = t <= cfg.range_m
        t, dirs = t[hit], _rows(dirs, hit)
        intensity = np.exp(-cfg.atmosphere_attenuation_rate * t)
        keep = (intensity > cfg.dropoff_intensity_limit) | (self.rng.random(len(t)) < self.alpha * intensity + self.beta)
        points = _rows(dirs, keep) * t[keep, None]
        return np.concatenate([points, intensity[keep, None]], axis=1).astype(np.float32)

    def _sorted_azimuths(self, phase: float, pattern: np.ndarray, kept: np.ndarray | None, ego_yaw: float,
                         d_world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(order, azimuths in that order, ascending in [-pi, pi)) of this tick's world-frame rays."""
        if not self._level:
            return _argsorted_azimuths(d_world[:, 0], d_world[:, 1])
        entry = self._azimuths.get(phase)
        if entry is None:
            az_s = np.arctan2(pattern[:, 1], pattern[:, 0])
            entry = (az_s, np.argsort(az_s, kind="stable"))
            if len(self._azimuths) < MAX_CACHED_PHASES:
                self._azimuths[phase] = entry
        az_s, order_s = entry
        if kept is None:
            order = order_s
        else:  # the kept rays, in azimuth order, numbered as in the kept subset
            order_s = order_s[kept[order_s]]
            order = (np.cumsum(kept) - 1)[order_s]
        w = az_s[order_s] + math.remainder(ego_yaw + self._mount_yaw, 2 * math.pi)
        # w is ascending within (-2 pi, 2 pi): wrap the part outside [-pi, pi) round to the other end
        hi = int(np.searchsorted(w, math.pi, side="left"))
        lo = int(np.searchsorted(w, -math.pi, side="left"))
        if hi < len(w):
            return np.concatenate([order[hi:], order[:hi]]), np.concatenate([w[hi:] - 2 * math.pi, w[:hi]])
        if lo > 0:
            return np.concatenate([order[lo:], order[:lo]]), np.concatenate([w[lo:], w[:lo] + 2 * math.pi])
        return order, w

    def _hit_boxes(self, origin: np.ndarray, d: np.ndarray, t: np.ndarray, boxes: BoxArrays,
                   exclude_ids: tuple[int, ...], own: dict[int, np.ndarray] | None = None,
                   azimuths: Callable[[], tuple[np.ndarray, np.ndarray]] | None = None) -> None:
        """Nearest hit of each ray with the oriented boxes (slab test), rays pre-selected by azimuth
        (or, for the boxes in `own`, by their precomputed candidate rays). `azimuths()`: (order,
        sorted azimuths) of the rays, asked for only when a box needs a window."""
        rel = boxes.center - origin
        radius = np.linalg.norm(boxes.extent, axis=1)
        dist = np.linalg.norm(rel[:, :2], axis=1)
        near = np.linalg.norm(rel, axis=1) - radius < self.cfg.range_m
        if exclude_ids:
            near &= ~np.isin(boxes.ids, exclude_ids)
        dx, dy, dz = (np.ascontiguousarray(d[:, i]) for i in range(3))
        own = own or {}
        order = az_sorted = None
        for k in np.flatnonzero(near):
            if k in own:
                idx = own[k]
            elif dist[k] <= radius[k]:
                idx = np.arange(len(d))
            else:
                if order is None:
                    order, az_sorted = azimuths() if azimuths is not None else _argsorted_azimuths(dx, dy)
                centre = math.atan2(rel[k, 1], rel[k, 0])
                half = math.asin(min(1.0, radius[k] / dist[k])) + 1e-3
                idx = self._azimuth_window(order, az_sorted, centre - half, centre + half)
            if len(idx) == 0:
                continue
            cy, sy = math.cos(boxes.yaw[k]), math.sin(boxes.yaw[k])
            ox, oy, oz = -rel[k]  # ray origin relative to the box centre
            lx, ly = cy * ox + sy * oy, -sy * ox + cy * oy
            ax, ay, az_ = dx[idx], dy[idx], dz[idx]
            ux, uy = cy * ax + sy * ay, -sy * ax + cy * ay
            ex, ey, ez = boxes.extent[k]
            tmin = np.zeros(len(idx))
            tmax = np.full(len(idx), np.inf)
            for o, u, e in ((lx, ux, ex), (ly, uy, ey), (oz, az_, ez)):
                u = np.where(np.abs(u) < 1e-12, 1e-12, u)
                inv = 1.0 / u
                t1 = (-e - o) * inv
                t2 = (e - o) * inv
                np.maximum(tmin, np.minimum(t1, t2), out=tmin)
                np.minimum(tmax, np.maximum(t1, t2), out=tmax)
            ok = (tmax >= tmin) & (tmin > 0)
            sel = idx[ok]
            t[sel] = np.minimum(t[sel], tmin[ok])

    @staticmethod
    def _azimuth_window(order: np.ndarray, az_sorted: np.ndarray, lo: float, hi: float) -> np.ndarray:
        """Indices of rays with azimuth in [lo, hi] (radians, the interval may wrap around +/- pi)."""
        parts = []
        for a, b in ((lo, hi), (lo + 2 * math.pi, hi + 2 * math.pi), (lo - 2 * math.pi, hi - 2 * math.pi)):
            i0, i1 = np.searchsorted(az_sorted, [a, b])
            if i1 > i0:
                parts.append(order[i0:i1])
        return np.concatenate(parts) if parts else order[:0]


def _rows(array: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """array[mask] for a [N, k] array: the same rows, by index (numpy's 2-D boolean indexing is ~6x slower)."""
    return array.take(np.flatnonzero(mask), axis=0)


def _argsorted_azimuths(dx: np.ndarray, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    az = np.arctan2(dy, dx)
    order = np.argsort(az, kind="stable")
    return order, az[order]
