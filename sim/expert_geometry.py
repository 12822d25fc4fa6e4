"""Geometry for the expert: the planned path (route + lateral offset), corridor hits, safe speeds."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sim.privileged import ActorInfo


@dataclass
class OffsetProfile:
    """Lateral offset from the route (right positive) along route arc length S: a base value plus
    cosine ramps, so a manoeuvre can be planned out and back (overtaking) in one profile."""

    base: float = 0.0
    ramps: list[tuple[float, float, float]] = field(default_factory=list)  # (S start, length, change)

    def value(self, s: np.ndarray | float) -> np.ndarray:
        s = np.asarray(s, dtype=np.float64)
        out = np.full(s.shape, self.base)
        for s0, length, delta in self.ramps:
            u = np.clip((s - s0) / max(length, 1e-6), 0.0, 1.0)
            out = out + delta * (0.5 - 0.5 * np.cos(np.pi * u))
        return out

    @property
    def target(self) -> float:
        return self.base + sum(d for _, _, d in self.ramps)

    def retarget(self, s_now: float, target: float, length: float) -> None:
        """From the offset at s_now, ramp to `target` over `length` m (drops any planned return)."""
        current = float(self.value(s_now))
        self.base, self.ramps = current, []
        if abs(target - current) > 1e-6:
            self.ramps.append((s_now, length, target - current))

    def plan_return(self, s_start: float, length: float, to: float = 0.0) -> None:
        self.ramps.append((s_start, length, to - self.target))


@dataclass(frozen=True)
class PlannedPath:
    xy: np.ndarray  # [N, 2] world m, 1 m apart along the route
    yaw: np.ndarray  # [N] rad, route heading
    s: np.ndarray  # [N] m along the route (absolute route arc length)
    offset: np.ndarray  # [N] m lateral offset applied
    lane_ids: np.ndarray  # [N] route lane of each point (-1 beyond the route's end)


def build_path(route_xy: np.ndarray, route_yaw: np.ndarray, route_cum: np.ndarray, route_lanes: np.ndarray,
               s_from: float, s_to: float, ramp: OffsetProfile) -> PlannedPath:
    """Route resampled every metre in [s_from, s_to] (extrapolated past its end), shifted by the ramp."""
    s = np.arange(s_from, s_to + 1e-9, 1.0)
    end = route_cum[-1]
    inside = np.clip(s, 0.0, end)
    x = np.interp(inside, route_cum, route_xy[:, 0])
    y = np.interp(inside, route_cum, route_xy[:, 1])
    k = np.clip(np.searchsorted(route_cum, inside, side="right") - 1, 0, len(route_cum) - 1)
    yaw = route_yaw[k].astype(np.float64)
    beyond = s - inside
    x = x + beyond * np.cos(route_yaw[-1])
    y = y + beyond * np.sin(route_yaw[-1])
    lanes = np.where(s > end, -1, route_lanes[k])
    off = ramp.value(s)
    xy = np.stack([x - np.sin(yaw) * off, y + np.cos(yaw) * off], axis=1)
    return PlannedPath(xy, yaw, s, off, lanes)


@dataclass(frozen=True)
class Hit:
    actor: ActorInfo
    s_near: float  # m along the path where the actor's nearest corner projects
    gap: float  # m from the ego's front bumper to that point
    speed_along: float  # actor velocity along the path there (negative = towards us)
    lateral: float  # m, smallest |lateral distance| of its corners to the path centre line


def project_points(path: PlannedPath, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(s along the path, signed lateral (right +), index) of each point's nearest path sample."""
    d = np.linalg.norm(points[:, None, :] - path.xy[None, :, :], axis=2)
    k = np.argmin(d, axis=1)
    kk = np.clip(k, 0, len(path.xy) - 2)
    t = path.xy[kk + 1] - path.xy[kk]
    t /= np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-9)
    rel = points - path.xy[k]
    along = np.sum(rel * t, axis=1)
    lateral = -t[:, 1] * rel[:, 0] + t[:, 0] * rel[:, 1]
    return path.s[k] + along, lateral, k


def corridor_hits(path: PlannedPath, s_ego: float, ego_front: float, actors: list[ActorInfo],
                  half_width_of: dict[int, float]) -> list[Hit]:
    """Actors whose footprint enters the corridor (half width per actor) ahead of the ego."""
    if not actors:
        return []
    corners = np.concatenate([a.corners() for a in actors])
    s_c, lat_c, k = project_points(path, corners)
    s_c, lat_c, k = s_c.reshape(-1, 4), lat_c.reshape(-1, 4), k.reshape(-1, 4)
    # Which actors count, for all at once: footprint in the corridor, not only past the path's
    # end, not entirely behind us. Then a Hit for each of those.
    half = np.array([half_width_of[a.id] for a in actors])
    inside = (np.abs(lat_c) < half[:, None]).any(axis=1) | ((lat_c.min(axis=1) < 0) & (lat_c.max(axis=1) > 0))
    far_end = (k >= len(path.xy) - 1).all(axis=1)
    behind = s_c.max(axis=1) < s_ego - ego_front
    hits = []
    for i in np.flatnonzero(inside & ~far_end & ~behind):
        actor = actors[i]
        s_near = float(s_c[i].min())
        j = int(np.clip(np.searchsorted(path.s, s_near), 0, len(path.s) - 1))
        speed_along = actor.vx * math.cos(path.yaw[j]) + actor.vy * math.sin(path.yaw[j])
        gap = s_near - s_ego - ego_front
        hits.append(Hit(actor, s_near, gap, float(speed_along), float(np.min(np.abs(lat_c[i])))))
    return hits


def safe_speed(gap: float, lead_speed: float, standstill: float, decel: float, lead_decel: float,
               reaction: float) -> float:
    """Gipps' safe speed: stop `standstill` m behind a leader that may brake at `lead_decel`."""
    room = max(gap - standstill, 0.0)
    v_l = max(lead_speed, 0.0)
    bt = decel * reaction
    return max(0.0, -bt + math.sqrt(bt * bt + 2.0 * decel * room + v_l * v_l * decel / lead_decel))


def curvature_speeds(path: PlannedPath, max_lat_accel: float, cap: float) -> np.ndarray:
    """[N] speed allowed by the path's curvature at each sample."""
    yaw = np.unwrap(np.arctan2(np.gradient(path.xy[:, 1]), np.gradient(path.xy[:, 0])))
    kappa = np.abs(np.gradient(yaw)) / 1.0
    kappa = np.convolve(kappa, np.ones(5) / 5, mode="same")
    return np.minimum(cap, np.sqrt(max_lat_accel / np.maximum(kappa, 1e-6)))


def profile_limit(path: PlannedPath, s_ego: float, limits: np.ndarray, decel: float) -> float:
    """Speed now so that every point ahead's limit is reachable by braking at `decel`."""
    ahead = path.s >= s_ego
    if not ahead.any():
        return float(limits[-1])
    dist = np.maximum(path.s[ahead] - s_ego, 0.0)
    return float(np.min(np.sqrt(limits[ahead] ** 2 + 2.0 * decel * dist)))
