"""A route's compact index: one pose, speed and flag per saved frame, and which frames can be samples.

Built once per route from its measurements (a few floats per frame, kept in memory; images,
LiDAR and boxes stay on disk). A frame is a sample when every file it reads exists and its label
horizon lies inside the route and touches no recovery perturbation: the labels come from the
ego's future motion, so a frame whose next `future` frames were reached through a perturbed
control would teach the perturbation. Frames during and right after a pulse stay usable as the
*history* of later samples, and the first clean frames after a pulse are the recovery samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from data.labels import Horizons, pose_from_measurement
from data.layout import BOXES, LIDAR, RGB, FrameFileError, RouteFolder


@dataclass
class RouteIndex:
    folder: RouteFolder
    xy: np.ndarray  # [N, 2] float64 world m
    yaw: np.ndarray  # [N] rad
    speed: np.ndarray  # [N] m/s
    perturbed: np.ndarray  # [N] bool: the motion into frame k carried a recovery pulse
    command: np.ndarray  # [N] int RoadOption value
    samples: np.ndarray  # [M] int frame indices usable as samples
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> frames left out

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def frames(self) -> int:
        return len(self.xy)


def build_route_index(folder: RouteFolder, horizons: Horizons, history_frames: int, history_stride: int,
                      route_start_speed_mps: float = 0.0) -> RouteIndex:
    indices = folder.frame_indices()
    n = len(indices)
    if indices != list(range(n)):
        missing = sorted(set(range(indices[-1] + 1)) - set(indices)) if indices else []
        raise FrameFileError(f"{folder.path / 'measurements'}: frames must be numbered 0000.. without gaps; "
                             f"missing {[f'{k:04d}' for k in missing[:5]]}")
    xy = np.zeros((n, 2))
    yaw = np.zeros(n)
    speed = np.zeros(n)
    perturbed = np.zeros(n, dtype=bool)
    command = np.zeros(n, dtype=np.int64)
    for k in range(n):
        m = folder.measurement(k)
        try:
            x, y, yaw[k] = pose_from_measurement(m)
            speed[k] = float(m["speed"])
            command[k] = int(m.get("command", 4))
        except (KeyError, TypeError, IndexError, ValueError) as exc:
            raise FrameFileError(f"{folder.file('measurements', k)}: missing or bad pose / speed field ({exc})") from None
        xy[k] = (x, y)
        perturbed[k] = bool(m.get("perturbed", False))
    present = {kind: _present(folder, kind) for kind in (RGB, LIDAR, BOXES)}
    skipped: dict[str, int] = {}
    samples = []
    first_move = first_moving_frame(speed, route_start_speed_mps)
    for i in range(n):
        reason = _reason(i, n, horizons, history_frames, history_stride, present, perturbed, first_move)
        if reason is None:
            samples.append(i)
        else:
            skipped[reason] = skipped.get(reason, 0) + 1
    return RouteIndex(folder, xy, yaw, speed, perturbed, command, np.asarray(samples, dtype=np.int64), skipped)


def _present(folder: RouteFolder, kind: str) -> set[int]:
    path = folder.path / kind
    if not path.is_dir():
        return set()
    return {int(p.name.split(".", 1)[0]) for p in path.iterdir() if p.name.split(".", 1)[0].isdigit()}


def history_indices(i: int, frames: int, stride: int) -> list[int]:
    """Oldest -> newest; before the route start the first frame repeats (as the agent's FrameHistory)."""
    return [max(0, i - k * stride) for k in range(frames - 1, -1, -1)]


def first_moving_frame(speed: np.ndarray, start_speed_mps: float) -> int:
    """Index of the first frame faster than start_speed_mps (0 when the rule is off or it never moves)."""
    if start_speed_mps <= 0:
        return 0
    moving = np.flatnonzero(speed > start_speed_mps)
    return int(moving[0]) if len(moving) else 0


def _reason(i: int, n: int, h: Horizons, history_frames: int, stride: int, present: dict[str, set[int]],
            perturbed: np.ndarray, first_move: int) -> str | None:
    if i < first_move:
        return "car at rest since the route start"
    if i + h.future >= n:
        return "label horizon past the route's end"
    if perturbed[i + 1: i + h.future + 1].any():
        return "label horizon overlaps a recovery perturbation"
    if any(k not in present[RGB] for k in history_indices(i, history_frames, stride)):
        return "rgb file missing"
    if i not in present[LIDAR]:
        return "lidar file missing"
    if any(k not in present[BOXES] for k in range(i, i + h.future + 1, h.waypoint_step)):
        return "boxes file missing"
    return None
