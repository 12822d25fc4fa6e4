"""A loaded embedded map: lanes, junctions, lights, stop signs, and CARLA-like waypoint queries.

`get_waypoint(x, y)` returns the nearest lane centre point (as carla.Map.get_waypoint
does with project_to_road=True); `advance` walks a lane and its first successor
like `waypoint.next(d)[0]`. Angles are radians, CARLA world yaw.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import shapely.geometry as sg

from sensors.gnss import GeoReference

MAPS_DIR = Path(__file__).parent / "maps"
GRID_CELL_M = 16.0  # spatial hash cell for nearest-segment queries


@dataclass(frozen=True)
class Lane:
    id: int
    road_id: int
    lane_id: int  # CARLA sign convention: negative drives along the road's reference line
    junction_id: int  # -1 outside junctions
    points: np.ndarray  # [N, 2] float64 centre line, world m, in driving direction
    s: np.ndarray  # [N] arc length at each point, m
    yaw: np.ndarray  # [N] heading of the segment leaving each point (last repeats), rad
    width: float  # m
    speed_limit: float  # m/s
    successors: tuple[int, ...]
    predecessors: tuple[int, ...]
    left: int | None  # same-direction neighbour on the left
    right: int | None
    opposite: int | None  # the lane across the centre line, driving the other way
    turn: str  # 'straight' | 'left' | 'right' for junction connectors, else 'none'
    marking_left: str
    marking_right: str

    @property
    def length(self) -> float:
        return float(self.s[-1])

    @property
    def is_junction(self) -> bool:
        return self.junction_id >= 0

    def sample(self, s: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Positions [K, 2] and headings [K] at arc lengths `s` (clipped to the lane)."""
        s = np.clip(np.atleast_1d(np.asarray(s, dtype=np.float64)), 0.0, self.length)
        idx = np.clip(np.searchsorted(self.s, s, side="right") - 1, 0, len(self.s) - 2)
        seg = self.s[idx + 1] - self.s[idx]
        t = np.where(seg > 1e-9, (s - self.s[idx]) / np.maximum(seg, 1e-9), 0.0)
        xy = self.points[idx] + (self.points[idx + 1] - self.points[idx]) * t[:, None]
        return xy, self.yaw[idx]


@dataclass(frozen=True)
class Waypoint:
    """A point on a lane centre, as carla.Waypoint exposes it."""

    lane: Lane
    s: float  # m along the lane
    x: float
    y: float
    yaw: float  # rad

    @property
    def road_id(self) -> int:
        return self.lane.road_id

    @property
    def lane_id(self) -> int:
        return self.lane.lane_id

    @property
    def is_junction(self) -> bool:
        return self.lane.is_junction

    @property
    def lane_width(self) -> float:
        return self.lane.width

    @property
    def xy(self) -> np.ndarray:
        return np.array([self.x, self.y])


@dataclass(frozen=True)
class TrafficLightSpec:
    id: int
    junction_id: int
    lanes: tuple[int, ...]  # incoming lanes it controls; their ends are the stop line
    pole: tuple[float, float, float]  # x, y, yaw (rad) of the light head, facing the traffic
    trigger_center: tuple[float, float]  # the trigger volume location (RunningRedLightTest's distance check)


@dataclass(frozen=True)
class StopSignSpec:
    id: int
    lane: int
    pole: tuple[float, float, float]
    trigger_center: tuple[float, float]
    trigger_extent: tuple[float, float]  # world-axis-aligned half sizes, as CARLA's check treats them


@dataclass(frozen=True)
class LightPhase:
    green: tuple[int, ...]
    green_s: float


@dataclass(frozen=True)
class LightController:
    junction_id: int
    phases: tuple[LightPhase, ...]
    yellow_s: float
    all_red_s: float
    offset_s: float

    @property
    def cycle_s(self) -> float:
        return sum(p.green_s + self.yellow_s + self.all_red_s for p in self.phases)

    def states(self, t: float) -> dict[int, str]:
        """Light id -> 'green' | 'yellow' | 'red' at simulation time t."""
        out = {lid: "red" for p in self.phases for lid in p.green}
        tau = (t + self.offset_s) % self.cycle_s
        for phase in self.phases:
            span = phase.green_s + self.yellow_s + self.all_red_s
            if tau < span:
                state = "green" if tau < phase.green_s else ("yellow" if tau < phase.green_s + self.yellow_s else "red")
                for lid in phase.green:
                    out[lid] = state
                break
            tau -= span
        return out


@dataclass
class WorldMap:
    name: str
    geo: GeoReference
    bounds: tuple[float, float, float, float]  # xmin, ymin, xmax, ymax
    lanes: list[Lane]
    junction_polygons: dict[int, sg.Polygon]
    lights: list[TrafficLightSpec]
    controllers: list[LightController]
    stop_signs: list[StopSignSpec]
    crosswalks: list[np.ndarray]  # [4, 2] polygons
    crosswalk_yaws: list[float]
    sidewalks: list[np.ndarray]
    buildings: list[dict]
    _seg: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        a, b, lane_idx, s0 = [], [], [], []
        for lane in self.lanes:
            a.append(lane.points[:-1])
            b.append(lane.points[1:])
            lane_idx.append(np.full(len(lane.points) - 1, lane.id))
            s0.append(lane.s[:-1])
        seg_a, seg_b = np.concatenate(a), np.concatenate(b)
        d = seg_b - seg_a
        length = np.linalg.norm(d, axis=1)
        self._seg = {"a": seg_a, "d": d / np.maximum(length, 1e-9)[:, None], "len": length,
                     "lane": np.concatenate(lane_idx), "s0": np.concatenate(s0)}
        cells: dict[tuple[int, int], list[int]] = {}
        lo = np.minimum(seg_a, seg_b) // GRID_CELL_M
        hi = np.maximum(seg_a, seg_b) // GRID_CELL_M
        for k in range(len(seg_a)):
            for cx in range(int(lo[k, 0]) - 1, int(hi[k, 0]) + 2):
                for cy in range(int(lo[k, 1]) - 1, int(hi[k, 1]) + 2):
                    cells.setdefault((cx, cy), []).append(k)
        self._cells = {key: np.asarray(v) for key, v in cells.items()}

    # ----------------------------------------------------------------- loading
    @classmethod
    def from_json(cls, data: dict) -> WorldMap:
        lanes = []
        for raw in data["lanes"]:
            pts = np.asarray(raw["points"], dtype=np.float64)
            seg = np.diff(pts, axis=0)
            yaw = np.arctan2(seg[:, 1], seg[:, 0])
            lanes.append(Lane(
                id=raw["id"], road_id=raw["road_id"], lane_id=raw["lane_id"], junction_id=raw["junction_id"],
                points=pts, s=np.concatenate([[0.0], np.cumsum(np.linalg.norm(seg, axis=1))]),
                yaw=np.concatenate([yaw, yaw[-1:]]), width=float(raw["width"]),
                speed_limit=float(raw["speed_limit_kmh"]) / 3.6, successors=tuple(raw["successors"]),
                predecessors=tuple(raw["predecessors"]), left=raw["left"], right=raw["right"],
                opposite=raw["opposite"], turn=raw["turn"], marking_left=raw["marking_left"],
                marking_right=raw["marking_right"],
            ))
        geo = data.get("geo_reference", {})
        return cls(
            name=data["name"], geo=GeoReference(lat_0=geo.get("lat_0", 42.0), lon_0=geo.get("lon_0", 2.0)),
            bounds=tuple(data["bounds"]), lanes=lanes,
            junction_polygons={j["id"]: sg.Polygon(j["polygon"]) for j in data["junctions"]},
            lights=[TrafficLightSpec(t["id"], t["junction_id"], tuple(t["lanes"]),
                                     (t["pole"][0], t["pole"][1], math.radians(t["pole"][2])),
                                     tuple(t["trigger_center"])) for t in data["traffic_lights"]],
            controllers=[LightController(c["junction_id"],
                                         tuple(LightPhase(tuple(p["green"]), p["green_s"]) for p in c["phases"]),
                                         c["yellow_s"], c["all_red_s"], c["offset_s"])
                         for c in data["light_controllers"]],
            stop_signs=[StopSignSpec(s["id"], s["lane"], (s["pole"][0], s["pole"][1], math.radians(s["pole"][2])),
                                     tuple(s["trigger_center"]), tuple(s["trigger_extent"]))
                        for s in data["stop_signs"]],
            crosswalks=[np.asarray(c["polygon"]) for c in data["crosswalks"]],
            crosswalk_yaws=[math.radians(c["yaw_deg"]) for c in data["crosswalks"]],
            sidewalks=[np.asarray(s["polygon"]) for s in data["sidewalks"]],
            buildings=list(data["buildings"]),
        )

    @classmethod
    def load(cls, town: str) -> WorldMap:
        return _load_cached(town)

    # ----------------------------------------------------------------- queries
    def _candidates(self, x: float, y: float) -> np.ndarray | None:
        return self._cells.get((int(x // GRID_CELL_M), int(y // GRID_CELL_M)))

    def nearest(self, x: float, y: float, lane_filter: np.ndarray | None = None) -> tuple[int, float, float]:
        """(lane id, s on it, distance) of the closest lane centre point."""
        cand = self._candidates(x, y)
        if cand is None or (lane_filter is not None and not lane_filter[self._seg["lane"][cand]].any()):
            cand = np.arange(len(self._seg["a"]))
        if lane_filter is not None:
            cand = cand[lane_filter[self._seg["lane"][cand]]]
        a, d, length = self._seg["a"][cand], self._seg["d"][cand], self._seg["len"][cand]
        rel = np.array([x, y]) - a
        t = np.clip(np.sum(rel * d, axis=1), 0.0, length)
        dist2 = np.sum((rel - d * t[:, None]) ** 2, axis=1)
        k = int(np.argmin(dist2))
        seg = cand[k]
        return int(self._seg["lane"][seg]), float(self._seg["s0"][seg] + t[k]), float(math.sqrt(dist2[k]))

    def get_waypoint(self, x: float, y: float) -> Waypoint:
        lane_id, s, _ = self.nearest(x, y)
        return self.waypoint(lane_id, s)

    def waypoint(self, lane_id: int, s: float) -> Waypoint:
        lane = self.lanes[lane_id]
        xy, yaw = lane.sample(s)
        return Waypoint(lane, float(np.clip(s, 0.0, lane.length)), float(xy[0, 0]), float(xy[0, 1]), float(yaw[0]))

    def advance(self, lane_id: int, s: float, distance: float) -> tuple[int, float] | None:
        """Walk `distance` m forward (first successor at lane ends); None past a dead end."""
        lane = self.lanes[lane_id]
        s += distance
        while s > lane.length:
            if not lane.successors:
                return None
            s -= lane.length
            lane = self.lanes[lane.successors[0]]
        return lane.id, s

    def next_waypoints(self, wp: Waypoint, step: float, count: int) -> list[Waypoint]:
        out = []
        lane_id, s = wp.lane.id, wp.s
        for _ in range(count):
            nxt = self.advance(lane_id, s, step)
            if nxt is None:
                break
            lane_id, s = nxt
            out.append(self.waypoint(lane_id, s))
        return out

    def in_junction(self, x: float, y: float) -> int:
        """Junction id whose polygon contains (x, y), else -1."""
        point = sg.Point(x, y)
        for jid, poly in self.junction_polygons.items():
            if poly.contains(point):
                return jid
        return -1

    def light_states(self, t: float, overrides: dict[int, str] | None = None) -> dict[int, str]:
        states: dict[int, str] = {}
        for controller in self.controllers:
            states.update(controller.states(t))
        if overrides:
            states.update(overrides)
        return states

    def lights_for_lane(self) -> dict[int, int]:
        """Incoming lane id -> the light that controls its stop line."""
        return {lane: light.id for light in self.lights for lane in light.lanes}

    def stop_sign_for_lane(self) -> dict[int, int]:
        return {sign.lane: sign.id for sign in self.stop_signs}


@lru_cache(maxsize=4)
def _load_cached(town: str) -> WorldMap:
    path = Path(town) if town.endswith(".json") else MAPS_DIR / f"{town}.json"
    if not path.is_file():
        available = sorted(p.stem for p in MAPS_DIR.glob("*.json"))
        raise FileNotFoundError(f"no embedded map '{town}' (available: {', '.join(available)})")
    return WorldMap.from_json(json.loads(path.read_text()))


def available_towns() -> list[str]:
    return sorted(p.stem for p in MAPS_DIR.glob("*.json"))
