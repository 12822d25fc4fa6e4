"""Monotone cubic (PCHIP) interpolation of a route, as the official agent resamples its predicted route.

The official agent puts the car's origin in front of the predicted route, parameterises the
points by cumulative distance (plus 1e-4 per point, so the parameter strictly increases
even where points repeat), fits scipy's PchipInterpolator and reads it every 0.1 m from
0.1 m on. This is the same piecewise cubic Hermite curve (Fritsch-Carlson slopes with
scipy's end conditions), written with numpy alone.
"""

from __future__ import annotations

import numpy as np


def _slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """[N, D] derivative estimates at the knots (scipy's PchipInterpolator rules)."""
    h = np.diff(x)[:, None]
    delta = np.diff(y, axis=0) / h
    n = len(x)
    d = np.zeros_like(y)
    if n == 2:
        d[:] = delta[0]
        return d
    w1 = 2 * h[1:] + h[:-1]
    w2 = h[1:] + 2 * h[:-1]
    same_sign = (np.sign(delta[:-1]) * np.sign(delta[1:])) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        harmonic = (w1 + w2) / (w1 / delta[:-1] + w2 / delta[1:])
    d[1:-1] = np.where(same_sign, harmonic, 0.0)
    d[0] = _edge(h[0], h[1], delta[0], delta[1])
    d[-1] = _edge(h[-1], h[-2], delta[-1], delta[-2])
    return d


def _edge(h0: np.ndarray, h1: np.ndarray, m0: np.ndarray, m1: np.ndarray) -> np.ndarray:
    """One-sided three-point slope at an end, kept shape-preserving."""
    d = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
    d = np.where(np.sign(d) != np.sign(m0), 0.0, d)
    too_steep = (np.sign(m0) != np.sign(m1)) & (np.abs(d) > 3 * np.abs(m0))
    return np.where(too_steep, 3 * m0, d)


def pchip(x: np.ndarray, y: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Evaluate the PCHIP curve through (x [N] strictly increasing, y [N, D]) at `at` [M] (inside [x0, xN])."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    d = _slopes(x, y)
    k = np.clip(np.searchsorted(x, at, side="right") - 1, 0, len(x) - 2)
    h = (x[k + 1] - x[k])[:, None]
    t = ((at - x[k]) / h[:, 0])[:, None]
    h00, h10 = 2 * t ** 3 - 3 * t ** 2 + 1, t ** 3 - 2 * t ** 2 + t
    h01, h11 = -2 * t ** 3 + 3 * t ** 2, t ** 3 - t ** 2
    return h00 * y[k] + h10 * h * d[k] + h01 * y[k + 1] + h11 * h * d[k + 1]


def pchip_route(route_ego: np.ndarray, step_m: float) -> np.ndarray:
    """[K, 2] route (ego frame) -> [M, 2] points every step_m from step_m on, the car's origin
    prepended; a route with no length gives its last point."""
    points = np.vstack([np.zeros((1, 2)), np.asarray(route_ego, dtype=np.float64)])
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    s = s + np.arange(len(s)) * 1e-4
    at = np.arange(step_m, s[-1], step_m)
    if len(at) == 0:
        return points[-1:]
    return pchip(s, points, at)
