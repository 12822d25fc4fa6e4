"""A drivable path through a sequence of lanes: arc length <-> pose, projection, stop lines ahead."""

from __future__ import annotations

import math

import numpy as np

from sim.world_map import WorldMap


class LanePath:
    def __init__(self, world_map: WorldMap, lane_ids: list[int]) -> None:
        if not lane_ids:
            raise ValueError("a lane path needs at least one lane")
        self.map = world_map
        self.lanes: list[int] = []
        self.lane_start: list[float] = []
        self._pts: list[np.ndarray] = []
        self.length = 0.0
        for lane_id in lane_ids:
            self.extend(lane_id)

    def extend(self, lane_id: int) -> None:
        lane = self.map.lanes[lane_id]
        self.lanes.append(lane_id)
        self.lane_start.append(self.length)
        pts = lane.points if not self._pts else lane.points[1:]
        self._pts.append(pts)
        self.length += lane.length
        self.points = np.concatenate(self._pts)
        seg = np.linalg.norm(np.diff(self.points, axis=0), axis=1)
        self.s = np.concatenate([[0.0], np.cumsum(seg)])
        d = np.diff(self.points, axis=0)
        yaw = np.arctan2(d[:, 1], d[:, 0])
        self.yaw = np.concatenate([yaw, yaw[-1:]])
        self.length = float(self.s[-1])

    @property
    def last_lane(self) -> int:
        return self.lanes[-1]

    def pose(self, s: float, offset: float = 0.0) -> tuple[float, float, float]:
        """(x, y, yaw) at arc length s, shifted `offset` m to the right of the centre line."""
        s = min(max(s, 0.0), self.length)
        k = int(np.clip(np.searchsorted(self.s, s, side="right") - 1, 0, len(self.s) - 2))
        seg = self.s[k + 1] - self.s[k]
        t = (s - self.s[k]) / seg if seg > 1e-9 else 0.0
        x, y = self.points[k] + (self.points[k + 1] - self.points[k]) * t
        yaw = float(self.yaw[k])
        if k + 1 < len(self.yaw) - 1 and t > 0.5:  # smooth the heading across vertices
            dyaw = math.atan2(math.sin(self.yaw[k + 1] - yaw), math.cos(self.yaw[k + 1] - yaw))
            yaw += dyaw * (t - 0.5)
        if offset:
            x -= math.sin(yaw) * offset
            y += math.cos(yaw) * offset
        return float(x), float(y), yaw

    def sample(self, s_from: float, s_to: float, step: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Points [K, 2] and their arc lengths [K] between s_from and s_to."""
        s = np.arange(max(s_from, 0.0), min(s_to, self.length) + 1e-9, step)
        if len(s) == 0:
            s = np.array([min(max(s_from, 0.0), self.length)])
        xy = np.stack([np.interp(s, self.s, self.points[:, 0]), np.interp(s, self.s, self.points[:, 1])], axis=1)
        return xy, s

    def lane_at(self, s: float) -> tuple[int, float]:
        k = int(np.searchsorted(self.lane_start, s, side="right") - 1)
        k = max(0, min(k, len(self.lanes) - 1))
        return self.lanes[k], s - self.lane_start[k]

    def project(self, xy: np.ndarray, s_hint: float | None = None, window: float = 40.0) -> tuple[float, float]:
        """(s, signed lateral offset, right positive) of the closest point of the path to xy."""
        if s_hint is None:
            lo, hi = 0, len(self.points) - 1
        else:
            lo = max(0, int(np.searchsorted(self.s, s_hint - window)) - 1)
            hi = min(len(self.points) - 1, int(np.searchsorted(self.s, s_hint + window)) + 1)
        a, b = self.points[lo:hi], self.points[lo + 1:hi + 1]
        if len(a) == 0:
            a, b = self.points[:-1], self.points[1:]
            lo = 0
        d = b - a
        length = np.maximum(np.linalg.norm(d, axis=1), 1e-9)
        u = d / length[:, None]
        rel = np.asarray(xy)[:2] - a
        t = np.clip(np.sum(rel * u, axis=1), 0.0, length)
        perp = rel - u * t[:, None]
        k = int(np.argmin(np.sum(perp ** 2, axis=1)))
        lateral = float(-u[k, 1] * rel[k, 0] + u[k, 0] * rel[k, 1])
        lateral = math.copysign(float(np.linalg.norm(perp[k])), lateral) if abs(lateral) > 1e-12 else 0.0
        return float(self.s[lo + k] + t[k]), lateral

    def lane_ends_ahead(self, s_from: float, s_to: float) -> list[tuple[int, float]]:
        """(lane id, path s of its end) for lanes of this path ending in (s_from, s_to]."""
        out = []
        for lane_id, start in zip(self.lanes, self.lane_start):
            end = start + self.map.lanes[lane_id].length
            if s_from < end <= s_to:
                out.append((lane_id, end))
        return out
