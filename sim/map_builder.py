"""Build the embedded maps as data: roads -> lanes, junctions -> connecting lanes.

A road is a reference polyline with `n_right` lanes driving along it (CARLA
lane ids -1, -2, ... counted outwards) and `n_left` lanes driving against it
(+1, +2, ...). World frame is CARLA's (left-handed, x east, y south): the right
of heading yaw is (-sin yaw, cos yaw), and a positive yaw change is a right turn.
Right-hand traffic, as in CARLA's towns. The builder writes plain JSON; the
simulator only ever reads that JSON (sim/world_map.py).
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SAMPLE_STEP_M = 1.0  # spacing of curved centre-line points


def _unit(yaw: float) -> np.ndarray:
    return np.array([math.cos(yaw), math.sin(yaw)])


def _right(yaw: float) -> np.ndarray:
    return np.array([-math.sin(yaw), math.cos(yaw)])


def _wrap(angle: float) -> float:
    return math.atan2(math.sin(angle), math.cos(angle))


def polyline_headings(points: np.ndarray) -> np.ndarray:
    """[N] heading of each vertex (segment direction, the last vertex repeats the last segment)."""
    d = np.diff(points, axis=0)
    seg = np.arctan2(d[:, 1], d[:, 0])
    return np.concatenate([seg, seg[-1:]])


def offset_polyline(points: np.ndarray, offset: float) -> np.ndarray:
    """Shift a polyline sideways by `offset` m to its right (vertex normals averaged)."""
    d = np.diff(points, axis=0)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    tangents = np.zeros_like(points)
    tangents[:-1] += d
    tangents[1:] += d
    tangents /= np.linalg.norm(tangents, axis=1, keepdims=True)
    normals = np.stack([-tangents[:, 1], tangents[:, 0]], axis=1)
    # Keep the lane width constant around bends: stretch the offset by 1/cos(half angle).
    cos_half = np.ones(len(points))
    if len(points) > 2:
        dots = np.clip(np.sum(d[:-1] * d[1:], axis=1), -1.0, 1.0)
        cos_half[1:-1] = np.sqrt((1.0 + dots) / 2.0)
    return points + normals * (offset / np.maximum(cos_half, 0.3))[:, None]


def arc(center: tuple[float, float], radius: float, start_deg: float, end_deg: float) -> np.ndarray:
    """Points on a circle from start to end angle (deg, CARLA yaw convention), ~1 m apart."""
    span = math.radians(end_deg - start_deg)
    n = max(2, int(abs(span) * radius / SAMPLE_STEP_M) + 1)
    angles = math.radians(start_deg) + np.linspace(0.0, span, n)
    return np.stack([center[0] + radius * np.cos(angles), center[1] + radius * np.sin(angles)], axis=1)


def bezier(p0: np.ndarray, yaw0: float, p3: np.ndarray, yaw3: float) -> np.ndarray:
    """Cubic Bezier from p0 (heading yaw0) to p3 (heading yaw3), ~1 m apart; a quarter circle for 90 deg."""
    chord = float(np.linalg.norm(p3 - p0))
    turn = abs(_wrap(yaw3 - yaw0))
    handle = chord / 3.0 if turn < math.radians(5) else chord * 0.39 * (turn / (math.pi / 2)) ** 0.5
    p1 = p0 + handle * _unit(yaw0)
    p2 = p3 - handle * _unit(yaw3)
    n = max(3, int(chord * 1.3 / SAMPLE_STEP_M) + 2)
    t = np.linspace(0.0, 1.0, n)[:, None]
    return (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t ** 2 * p2 + t ** 3 * p3


@dataclass
class RoadHandle:
    road_id: int
    ref: np.ndarray  # [N, 2] reference line, m
    right: list[int]  # lane ids (map-global) driving along ref, inner -> outer
    left: list[int]  # lane ids driving against ref, inner -> outer
    width: float


@dataclass
class MapBuilder:
    name: str
    lat_0: float = 42.0
    lon_0: float = 2.0
    lanes: list[dict] = field(default_factory=list)
    junctions: list[dict] = field(default_factory=list)
    lights: list[dict] = field(default_factory=list)
    controllers: list[dict] = field(default_factory=list)
    stop_signs: list[dict] = field(default_factory=list)
    crosswalks: list[dict] = field(default_factory=list)
    sidewalks: list[dict] = field(default_factory=list)
    buildings: list[dict] = field(default_factory=list)
    _next_road: int = 1

    # ------------------------------------------------------------------ lanes
    def _add_lane(self, points: np.ndarray, road_id: int, lane_id: int, width: float, speed_kmh: float,
                  junction_id: int = -1, turn: str = "none", markings: tuple[str, str] = ("none", "none")) -> int:
        lane = {
            "id": len(self.lanes), "road_id": road_id, "lane_id": lane_id, "junction_id": junction_id,
            "points": [[round(float(x), 3), round(float(y), 3)] for x, y in points],
            "width": width, "speed_limit_kmh": speed_kmh, "successors": [], "predecessors": [],
            "left": None, "right": None, "opposite": None, "turn": turn,
            "marking_left": markings[0], "marking_right": markings[1],
        }
        self.lanes.append(lane)
        return lane["id"]

    def link(self, a: int, b: int) -> None:
        if b not in self.lanes[a]["successors"]:
            self.lanes[a]["successors"].append(b)
            self.lanes[b]["predecessors"].append(a)

    def add_road(self, ref: np.ndarray, n_right: int, n_left: int, width: float = 3.5,
                 speed_kmh: float = 40.0, centre_marking: str = "double_solid",
                 lane_marking: str = "broken", edge_marking: str = "solid") -> RoadHandle:
        """Lanes of one road; markings are drawn on each lane's left boundary (and the outer edge)."""
        ref = np.asarray(ref, dtype=np.float64)
        road_id = self._next_road
        self._next_road += 1
        handle = RoadHandle(road_id, ref, [], [], width)
        for k in range(1, n_right + 1):
            pts = offset_polyline(ref, (k - 0.5) * width)
            left_mark = centre_marking if k == 1 else lane_marking
            right_mark = edge_marking if k == n_right else "none"
            if n_left == 0 and k == 1:
                left_mark = edge_marking
            handle.right.append(self._add_lane(pts, road_id, -k, width, speed_kmh, markings=(left_mark, right_mark)))
        for k in range(1, n_left + 1):
            pts = offset_polyline(ref, -(k - 0.5) * width)[::-1]
            left_mark = centre_marking if k == 1 else lane_marking
            right_mark = edge_marking if k == n_left else "none"
            handle.left.append(self._add_lane(pts, road_id, k, width, speed_kmh, markings=(left_mark, right_mark)))
        for group in (handle.right, handle.left):
            for inner, outer in itertools.pairwise(group):
                self.lanes[inner]["right"] = outer
                self.lanes[outer]["left"] = inner
        if handle.right and handle.left:
            self.lanes[handle.right[0]]["opposite"] = handle.left[0]
            self.lanes[handle.left[0]]["opposite"] = handle.right[0]
        return handle

    def chain(self, a: RoadHandle, b: RoadHandle) -> None:
        """b continues a (a's end meets b's start): link lane by lane."""
        for la, lb in zip(a.right, b.right):
            self.link(la, lb)
        for la, lb in zip(b.left, a.left):
            self.link(la, lb)

    # --------------------------------------------------------------- junctions
    def _arm_lanes(self, road: RoadHandle, at_end: bool) -> tuple[list[int], list[int]]:
        """(incoming, outgoing) lanes of a road arm touching a junction, inner -> outer."""
        return (road.right, road.left) if at_end else (road.left, road.right)

    def add_junction(self, arms: list[tuple[RoadHandle, bool]], polygon: np.ndarray, speed_kmh: float,
                     signalized: bool = False, phases: list[list[int]] | None = None,
                     green_s: float = 14.0, yellow_s: float = 3.0, all_red_s: float = 2.0,
                     offset_s: float = 0.0, stop_arms: tuple[int, ...] = ()) -> int:
        """Connect every incoming lane to the other arms (straight, left, right; no U-turns).

        `phases`: lists of arm indices that share a green; `stop_arms`: arms with a stop sign.
        """
        jid = len(self.junctions)
        self.junctions.append({"id": jid, "polygon": np.round(polygon, 3).tolist()})
        for ai, (road_a, end_a) in enumerate(arms):
            incoming, _ = self._arm_lanes(road_a, end_a)
            for bi, (road_b, end_b) in enumerate(arms):
                if ai == bi:
                    continue
                _, outgoing = self._arm_lanes(road_b, end_b)
                if not incoming or not outgoing:
                    continue
                yaw_in = polyline_headings(np.asarray(self.lanes[incoming[0]]["points"]))[-1]
                yaw_out = polyline_headings(np.asarray(self.lanes[outgoing[0]]["points"]))[0]
                delta = _wrap(yaw_out - yaw_in)
                if abs(delta) > math.radians(150):
                    continue
                if abs(delta) < math.radians(30):
                    turn, pairs = "straight", [(incoming[k], outgoing[min(k, len(outgoing) - 1)])
                                               for k in range(len(incoming))]
                elif delta > 0:
                    turn, pairs = "right", [(incoming[-1], outgoing[-1])]
                else:
                    turn, pairs = "left", [(incoming[0], outgoing[0])]
                for lin, lout in pairs:
                    p_in = np.asarray(self.lanes[lin]["points"])
                    p_out = np.asarray(self.lanes[lout]["points"])
                    pts = bezier(p_in[-1], polyline_headings(p_in)[-1], p_out[0], polyline_headings(p_out)[0])
                    cid = self._add_lane(pts, 10000 + len(self.lanes), -1, self.lanes[lin]["width"], speed_kmh, jid, turn)
                    self.link(lin, cid)
                    self.link(cid, lout)
        if signalized:
            self._add_lights(jid, arms, phases or [[i] for i in range(len(arms))], green_s, yellow_s,
                             all_red_s, offset_s)
        for ai in stop_arms:
            self._add_stop_sign(*self._arm_lanes(*arms[ai]))
        return jid

    def _stop_geometry(self, incoming: list[int]) -> tuple[np.ndarray, float, float]:
        """(stop point at the inner lane end, heading, total width of the incoming lanes)."""
        pts = np.asarray(self.lanes[incoming[0]]["points"])
        yaw = float(polyline_headings(pts)[-1])
        width = sum(self.lanes[i]["width"] for i in incoming)
        return pts[-1], yaw, width

    def _add_lights(self, jid: int, arms: list[tuple[RoadHandle, bool]], phases: list[list[int]],
                    green_s: float, yellow_s: float, all_red_s: float, offset_s: float) -> None:
        arm_light: dict[int, int] = {}
        for ai, (road, at_end) in enumerate(arms):
            incoming, _ = self._arm_lanes(road, at_end)
            if not incoming:
                continue
            stop, yaw, width = self._stop_geometry(incoming)
            inner_w = self.lanes[incoming[0]]["width"]
            fwd, right = _unit(yaw), _right(yaw)
            across = self._junction_depth(jid, stop, yaw)
            pole = stop + fwd * (across + 2.0) + right * (width - inner_w / 2 + 2.0)
            centre = stop - fwd * 2.0 + right * (width - inner_w) / 2.0
            lid = len(self.lights)
            self.lights.append({
                "id": lid, "junction_id": jid, "lanes": list(incoming),
                "pole": [round(float(pole[0]), 3), round(float(pole[1]), 3), round(math.degrees(yaw) + 180.0, 3)],
                "trigger_center": [round(float(centre[0]), 3), round(float(centre[1]), 3)],
            })
            arm_light[ai] = lid
        self.controllers.append({
            "junction_id": jid, "yellow_s": yellow_s, "all_red_s": all_red_s, "offset_s": offset_s,
            "phases": [{"green": [arm_light[a] for a in phase if a in arm_light], "green_s": green_s}
                       for phase in phases],
        })

    def _junction_depth(self, jid: int, stop: np.ndarray, yaw: float) -> float:
        """How far the junction polygon extends ahead of a stop point along `yaw`."""
        poly = np.asarray(self.junctions[jid]["polygon"])
        return float(max(0.0, np.max((poly - stop) @ _unit(yaw))))

    def _add_stop_sign(self, incoming: list[int], _outgoing: list[int]) -> None:
        for lane in incoming:
            pts = np.asarray(self.lanes[lane]["points"])
            yaw = float(polyline_headings(pts)[-1])
            width = self.lanes[lane]["width"]
            centre = pts[-1] - _unit(yaw) * 1.5
            pole = pts[-1] + _right(yaw) * (width / 2 + 1.0)
            # The criterion tests a world-axis-aligned box (as CARLA's RunningStopTest does).
            along, across = 1.5, width / 2
            c, s = abs(math.cos(yaw)), abs(math.sin(yaw))
            self.stop_signs.append({
                "id": len(self.stop_signs), "lane": lane,
                "pole": [round(float(pole[0]), 3), round(float(pole[1]), 3), round(math.degrees(yaw) + 180.0, 3)],
                "trigger_center": [round(float(centre[0]), 3), round(float(centre[1]), 3)],
                "trigger_extent": [round(along * c + across * s, 3), round(along * s + across * c, 3)],
            })

    # ----------------------------------------------------------- decorations
    def add_crosswalk(self, centre: np.ndarray, yaw: float, length: float, depth: float = 4.0) -> None:
        """Zebra across a road: `length` across the road, `depth` along it; yaw = road direction."""
        f, r = _unit(yaw) * depth / 2, _right(yaw) * length / 2
        poly = [centre - f - r, centre + f - r, centre + f + r, centre - f + r]
        self.crosswalks.append({"polygon": np.round(poly, 3).tolist(), "yaw_deg": round(math.degrees(yaw), 3)})

    def add_sidewalk(self, polygon: np.ndarray) -> None:
        self.sidewalks.append({"polygon": np.round(polygon, 3).tolist()})

    def add_building(self, centre: tuple[float, float], extent: tuple[float, float, float], yaw_deg: float = 0.0,
                     color: tuple[int, int, int] = (150, 150, 150)) -> None:
        self.buildings.append({"center": [round(centre[0], 3), round(centre[1], 3)],
                               "extent": [round(e, 3) for e in extent], "yaw_deg": yaw_deg, "color_bgr": list(color)})

    def to_json(self) -> dict:
        all_pts = np.concatenate([np.asarray(lane["points"]) for lane in self.lanes])
        margin = 40.0
        lo, hi = all_pts.min(axis=0) - margin, all_pts.max(axis=0) + margin
        return {
            "format": "automot-sim-map/1", "name": self.name,
            "geo_reference": {"lat_0": self.lat_0, "lon_0": self.lon_0},
            "bounds": [round(float(lo[0])), round(float(lo[1])), round(float(hi[0])), round(float(hi[1]))],
            "lanes": self.lanes, "junctions": self.junctions, "traffic_lights": self.lights,
            "light_controllers": self.controllers, "stop_signs": self.stop_signs,
            "crosswalks": self.crosswalks, "sidewalks": self.sidewalks, "buildings": self.buildings,
        }

    def write(self, folder: Path) -> Path:
        path = Path(folder) / f"{self.name}.json"
        path.write_text(json.dumps(self.to_json(), separators=(",", ":")))
        return path
