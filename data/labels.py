"""Labels from a route's recorded future: waypoints, route, speed targets, decision words, future boxes.

All in the current ego frame (x forward, y right, metres, origin at the vehicle), as the official
AutoMoT / TF++ datasets build them: waypoints are the ego's own future positions (ego_matrix of
the future frames, moved into the current frame), speeds are the future recorded speeds, the route
is the expert's recorded path ('route') resampled at equal spacing from its first point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.frames import resample_polyline, world_to_ego
from data.data_config import DecisionRuleConfig, LabelConfig, frames_for
from planner.interface import DECISION_WORDS

ACCELERATE, KEEP, CONSTANT, SLOW, STOP = DECISION_WORDS  # the order is the planner's vocabulary


def pose_from_measurement(m: dict) -> tuple[float, float, float]:
    """(x, y, yaw rad) in the world: from ego_matrix when present (PDM-Lite's ground truth), else
    pos_global / theta."""
    matrix = m.get("ego_matrix")
    if matrix is not None:
        return float(matrix[0][3]), float(matrix[1][3]), math.atan2(float(matrix[1][0]), float(matrix[0][0]))
    x, y = m["pos_global"][:2]
    return float(x), float(y), float(m["theta"])


@dataclass(frozen=True)
class Horizons:
    """Label horizons in saved frames (from seconds and the frame period)."""

    waypoint_step: int  # frames between waypoints (2)
    waypoint_count: int  # 6
    speed: tuple[int, ...]  # (4, 8, 12)
    decision_times: tuple[int, ...]  # (0, 4, 8)
    decision_window: int  # 4
    future: int  # frames of future every label needs (12)

    @classmethod
    def of(cls, labels: LabelConfig, frame_period_s: float) -> Horizons:
        step = frames_for(labels.waypoint_spacing_s, frame_period_s, "labels.waypoint_spacing_s")
        speed = tuple(frames_for(t, frame_period_s, "labels.speed_horizons_s") for t in labels.speed_horizons_s)
        times = tuple(frames_for(t, frame_period_s, "labels.decision_times_s") for t in labels.decision_times_s)
        window = frames_for(labels.decisions.window_s, frame_period_s, "labels.decisions.window_s")
        future = max([step * labels.waypoint_count, *speed, *(t + window for t in times)])
        return cls(step, labels.waypoint_count, speed, times, window, future)


def waypoints(xy: np.ndarray, yaw: np.ndarray, i: int, h: Horizons) -> np.ndarray:
    """[count, 2] float32: the ego's positions at frames i + step, ..., i + count * step, in ego frame i."""
    future = xy[i + h.waypoint_step: i + h.waypoint_step * h.waypoint_count + 1: h.waypoint_step]
    return world_to_ego(future, xy[i], float(yaw[i])).astype(np.float32)


def speed_targets(speed: np.ndarray, i: int, h: Horizons) -> np.ndarray:
    return np.array([speed[i + k] for k in h.speed], dtype=np.float32)


def decision_word(v_now: float, v_later: float, rule: DecisionRuleConfig) -> str:
    if v_later < rule.stop_speed_mps:
        return STOP
    if v_later - v_now > rule.change_mps:
        return ACCELERATE
    if v_now - v_later > rule.change_mps:
        return SLOW
    return KEEP


def decisions(speed: np.ndarray, i: int, h: Horizons, rule: DecisionRuleConfig) -> tuple[str, ...]:
    """One word per decision time (now, +1 s, +2 s), each from the speed change over the next window."""
    return tuple(decision_word(float(speed[i + t]), float(speed[i + t + h.decision_window]), rule)
                 for t in h.decision_times)


def route_label(route_ego: np.ndarray, labels: LabelConfig) -> np.ndarray:
    """[route_points, 2] float32: the recorded path resampled every route_spacing_m from its first point
    (extended straight past its end, as the agent's route is)."""
    route_ego = np.asarray(route_ego, dtype=np.float64).reshape(-1, 2)
    if len(route_ego) == 0:
        route_ego = np.array([[0.0, 0.0], [1.0, 0.0]])
    return resample_polyline(route_ego, labels.route_spacing_m, labels.route_points).astype(np.float32)


def boxes_to_world(boxes: list[dict], pose: tuple[float, float, float], classes: tuple[str, ...]) -> np.ndarray:
    """[K, 5] (x, y, yaw, half_length, half_width) world frame of the boxes of `classes`."""
    x0, y0, yaw0 = pose
    c, s = math.cos(yaw0), math.sin(yaw0)
    rows = []
    for box in boxes:
        if box.get("class") not in classes:
            continue
        px, py = float(box["position"][0]), float(box["position"][1])
        rows.append((x0 + c * px - s * py, y0 + s * px + c * py, yaw0 + float(box["yaw"]),
                     float(box["extent"][0]), float(box["extent"][1])))
    return np.asarray(rows, dtype=np.float64).reshape(-1, 5)


def boxes_in_ego(world_boxes: np.ndarray, pose: tuple[float, float, float], max_boxes: int) -> tuple[np.ndarray, np.ndarray]:
    """World boxes -> ([max_boxes, 5] float32 ego frame of `pose`, nearest first, [max_boxes] bool mask)."""
    out = np.zeros((max_boxes, 5), dtype=np.float32)
    mask = np.zeros(max_boxes, dtype=bool)
    if len(world_boxes) == 0:
        return out, mask
    xy = world_to_ego(world_boxes[:, :2], np.array(pose[:2]), pose[2])
    yaw = np.arctan2(np.sin(world_boxes[:, 2] - pose[2]), np.cos(world_boxes[:, 2] - pose[2]))
    order = np.argsort(np.hypot(xy[:, 0], xy[:, 1]))[:max_boxes]
    n = len(order)
    out[:n, :2], out[:n, 2], out[:n, 3:] = xy[order], yaw[order], world_boxes[order, 3:]
    mask[:n] = True
    return out, mask
