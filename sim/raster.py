"""The map's ground as a class raster (grass, sidewalk, road, markings, crosswalks, stop lines).

Both the camera (a per-pixel gather) and the top-down video read it, so the
ground is drawn once per map instead of once per frame. Row = y, column = x.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from sim.map_builder import offset_polyline
from sim.world_map import WorldMap

GRASS, SIDEWALK, ROAD, MARK_WHITE, MARK_YELLOW, CROSSWALK, STOP_LINE = range(7)
NUM_CLASSES = 8  # one spare slot keeps the palette a power of two
# BGR colours of the ground classes (CARLA-ish daylight).
GROUND_BGR = np.array([
    [72, 118, 86],     # grass
    [150, 152, 156],   # sidewalk
    [78, 78, 80],      # road asphalt
    [225, 225, 225],   # white marking
    [40, 185, 225],    # yellow marking
    [215, 215, 215],   # crosswalk stripe
    [235, 235, 235],   # stop line
    [0, 0, 0],
], dtype=np.uint8)

SHIFT = 3  # cv2 fixed-point bits: sub-cell precision for thin markings
DASH_ON_M, DASH_OFF_M = 3.0, 6.0
MARK_WIDTH_M = 0.15
STOP_LINE_WIDTH_M = 0.4
STRIPE_M = 0.6


@dataclass(frozen=True)
class GroundRaster:
    classes: np.ndarray  # [H, W] uint8 class ids
    x0: float  # world x of column 0's left edge, m
    y0: float  # world y of row 0's top edge, m
    resolution: float  # m per cell

    def to_cells(self, xy: np.ndarray) -> np.ndarray:
        """[N, 2] world -> [N, 2] float (col, row)."""
        return (np.asarray(xy) - np.array([self.x0, self.y0])) / self.resolution


class _Painter:
    def __init__(self, world_map: WorldMap, resolution: float) -> None:
        xmin, ymin, xmax, ymax = world_map.bounds
        self.x0, self.y0, self.res = float(xmin), float(ymin), resolution
        w = int(np.ceil((xmax - xmin) / resolution))
        h = int(np.ceil((ymax - ymin) / resolution))
        self.img = np.full((h, w), GRASS, dtype=np.uint8)

    def _pts(self, xy: np.ndarray) -> np.ndarray:
        cells = (np.asarray(xy, dtype=np.float64) - [self.x0, self.y0]) / self.res
        return np.round(cells * (1 << SHIFT)).astype(np.int32)

    def fill(self, polygon: np.ndarray, value: int) -> None:
        cv2.fillPoly(self.img, [self._pts(polygon)], int(value), lineType=cv2.LINE_8, shift=SHIFT)

    def line(self, polyline: np.ndarray, value: int, width_m: float) -> None:
        thickness = max(1, round(width_m / self.res))
        cv2.polylines(self.img, [self._pts(polyline)], False, int(value), thickness, cv2.LINE_8, SHIFT)


def _dashes(points: np.ndarray) -> list[np.ndarray]:
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    out = []
    start = 0.0
    while start < s[-1]:
        stop = min(start + DASH_ON_M, s[-1])
        ts = np.linspace(start, stop, 4)
        out.append(np.stack([np.interp(ts, s, points[:, 0]), np.interp(ts, s, points[:, 1])], axis=1))
        start += DASH_ON_M + DASH_OFF_M
    return out


def build_ground_raster(world_map: WorldMap, resolution: float) -> GroundRaster:
    p = _Painter(world_map, resolution)
    for poly in world_map.sidewalks:
        p.fill(poly, SIDEWALK)
    for lane in world_map.lanes:
        left = offset_polyline(lane.points, -lane.width / 2)
        right = offset_polyline(lane.points, lane.width / 2)
        p.fill(np.concatenate([left, right[::-1]]), ROAD)
    for poly in world_map.junction_polygons.values():
        p.fill(np.asarray(poly.exterior.coords), ROAD)
    for lane in world_map.lanes:
        if lane.is_junction:
            continue
        for side, kind in ((-1.0, lane.marking_left), (1.0, lane.marking_right)):
            if kind == "none":
                continue
            edge = offset_polyline(lane.points, side * lane.width / 2)
            colour = MARK_YELLOW if (side < 0 and lane.opposite is not None) else MARK_WHITE
            if kind == "broken":
                for dash in _dashes(edge):
                    p.line(dash, colour, MARK_WIDTH_M)
            elif kind == "double_solid":
                p.line(offset_polyline(edge, -0.12 * side), colour, MARK_WIDTH_M)
                p.line(offset_polyline(edge, 0.12 * side), colour, MARK_WIDTH_M)
            else:
                p.line(edge, colour, MARK_WIDTH_M)
    for poly, yaw in zip(world_map.crosswalks, world_map.crosswalk_yaws):
        _stripes(p, poly, yaw)
    stop_lanes = set(world_map.lights_for_lane()) | set(world_map.stop_sign_for_lane())
    for lane_id in stop_lanes:
        lane = world_map.lanes[lane_id]
        end, yaw = lane.points[-1], lane.yaw[-1]
        right = np.array([-np.sin(yaw), np.cos(yaw)]) * lane.width / 2
        back = np.array([np.cos(yaw), np.sin(yaw)]) * STOP_LINE_WIDTH_M / 2
        p.line(np.array([end - back - right, end - back + right]), STOP_LINE, STOP_LINE_WIDTH_M)
    return GroundRaster(p.img, p.x0, p.y0, resolution)


def _stripes(p: _Painter, poly: np.ndarray, yaw: float) -> None:
    """Zebra stripes parallel to the road (`yaw`), spaced across it."""
    fwd = np.array([np.cos(yaw), np.sin(yaw)])
    right = np.array([-np.sin(yaw), np.cos(yaw)])
    centre = poly.mean(axis=0)
    depth = float(np.ptp(poly @ fwd))
    length = float(np.ptp(poly @ right))
    n = int(length // (2 * STRIPE_M))
    for k in range(n):
        off = -length / 2 + (2 * k + 0.5) * STRIPE_M
        a = centre + right * off - fwd * depth / 2
        b = centre + right * (off + STRIPE_M) + fwd * depth / 2
        p.fill(np.array([a, a + fwd * depth, b, b - fwd * depth]), CROSSWALK)


@lru_cache(maxsize=2)
def ground_raster(town: str, resolution: float) -> GroundRaster:
    """Cached per (town, resolution): building one costs ~0.2 s and tens of MB."""
    return build_ground_raster(WorldMap.load(town), resolution)
