"""The four embedded towns, as builder code. Run `python -m sim.map_designs` to rewrite sim/maps/*.json.

EmbeddedGrid       urban 4 x 4 grid, two lanes per direction, signalised junctions, crosswalks, buildings
EmbeddedTJunction  two-way main road with a side road joining under a stop sign
EmbeddedHighway    two-lane carriageways with an on-ramp feeding an acceleration lane
EmbeddedRural      two-way rural road with S-bends
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np

from sim.map_builder import MapBuilder, RoadHandle, arc, offset_polyline

MAPS_DIR = Path(__file__).parent / "maps"

GRID_SPACING = 150.0
GRID_N = 4
GRID_JUNCTION_HALF = 12.0  # junction square half-size: road half-width 7 + a 5 m crosswalk band
GRID_LANE_W = 3.5
GRID_SPEED_KMH = 40.0


def _line(a: tuple[float, float], b: tuple[float, float], step: float = 10.0) -> np.ndarray:
    n = max(2, int(math.dist(a, b) / step) + 1)
    return np.linspace(np.asarray(a, float), np.asarray(b, float), n)


def _square(cx: float, cy: float, half: float) -> np.ndarray:
    return np.array([[cx - half, cy - half], [cx + half, cy - half], [cx + half, cy + half], [cx - half, cy + half]])


def build_grid() -> MapBuilder:
    b = MapBuilder("EmbeddedGrid")
    xs = [i * GRID_SPACING for i in range(GRID_N)]
    half_road = 2 * GRID_LANE_W
    jh = GRID_JUNCTION_HALF
    horiz: dict[tuple[int, int], RoadHandle] = {}
    vert: dict[tuple[int, int], RoadHandle] = {}
    for j in range(GRID_N):
        for i in range(GRID_N - 1):
            horiz[(i, j)] = b.add_road(_line((xs[i] + jh, xs[j]), (xs[i + 1] - jh, xs[j])), 2, 2, GRID_LANE_W,
                                       GRID_SPEED_KMH)
    for i in range(GRID_N):
        for j in range(GRID_N - 1):
            vert[(i, j)] = b.add_road(_line((xs[i], xs[j] + jh), (xs[i], xs[j + 1] - jh)), 2, 2, GRID_LANE_W,
                                      GRID_SPEED_KMH)
    for j in range(GRID_N):
        for i in range(GRID_N):
            arms: list[tuple[RoadHandle, bool]] = []
            axis: list[str] = []
            if i > 0:
                arms.append((horiz[(i - 1, j)], True))
                axis.append("x")
            if i < GRID_N - 1:
                arms.append((horiz[(i, j)], False))
                axis.append("x")
            if j > 0:
                arms.append((vert[(i, j - 1)], True))
                axis.append("y")
            if j < GRID_N - 1:
                arms.append((vert[(i, j)], False))
                axis.append("y")
            signalized = len(arms) >= 3
            phases = [[k for k, a in enumerate(axis) if a == "x"], [k for k, a in enumerate(axis) if a == "y"]]
            b.add_junction(arms, _square(xs[i], xs[j], jh), GRID_SPEED_KMH, signalized=signalized,
                           phases=phases, offset_s=float((7 * (i + 2 * j)) % 38))
            if signalized:
                for k, (_road, at_end) in enumerate(arms):
                    yaw = 0.0 if axis[k] == "x" else math.pi / 2
                    sign = 1.0 if at_end else -1.0  # crosswalk sits before the junction along the road
                    d = (jh + half_road) / 2.0
                    centre = np.array([xs[i], xs[j]]) - sign * d * np.array([math.cos(yaw), math.sin(yaw)])
                    b.add_crosswalk(centre, yaw, 2 * half_road, depth=3.5)
    rng = random.Random(7)
    for j in range(GRID_N - 1):
        for i in range(GRID_N - 1):
            lo_x, hi_x = xs[i] + half_road, xs[i + 1] - half_road
            lo_y, hi_y = xs[j] + half_road, xs[j + 1] - half_road
            b.add_sidewalk(np.array([[lo_x, lo_y], [hi_x, lo_y], [hi_x, hi_y], [lo_x, hi_y]]))
            inner = 8.0  # sidewalk + setback
            cells = 3
            span_x = (hi_x - lo_x - 2 * inner) / cells
            span_y = (hi_y - lo_y - 2 * inner) / cells
            for cx in range(cells):
                for cy in range(cells):
                    if cx == 1 and cy == 1:
                        continue  # a courtyard, so streets are not canyons everywhere
                    centre = (lo_x + inner + (cx + 0.5) * span_x, lo_y + inner + (cy + 0.5) * span_y)
                    height = rng.uniform(6.0, 18.0)
                    shade = rng.randint(110, 200)
                    b.add_building(centre, (span_x / 2 - 3.0, span_y / 2 - 3.0, height),
                                   color=(shade, shade - 10, shade - 25))
    # The grass outside the grid keeps its perimeter sidewalks narrow.
    outer = xs[-1]
    for poly in (
        [[-half_road - 4, -half_road - 4], [outer + half_road + 4, -half_road - 4],
         [outer + half_road + 4, -half_road], [-half_road - 4, -half_road]],
        [[-half_road - 4, outer + half_road], [outer + half_road + 4, outer + half_road],
         [outer + half_road + 4, outer + half_road + 4], [-half_road - 4, outer + half_road + 4]],
        [[-half_road - 4, -half_road], [-half_road, -half_road], [-half_road, outer + half_road],
         [-half_road - 4, outer + half_road]],
        [[outer + half_road, -half_road], [outer + half_road + 4, -half_road],
         [outer + half_road + 4, outer + half_road], [outer + half_road, outer + half_road]],
    ):
        b.add_sidewalk(np.array(poly))
    return b


def build_t_junction() -> MapBuilder:
    b = MapBuilder("EmbeddedTJunction")
    w, jh, speed = 3.5, 9.0, 50.0
    west = b.add_road(_line((-320.0, 0.0), (-jh, 0.0)), 1, 1, w, speed)
    east = b.add_road(_line((jh, 0.0), (320.0, 0.0)), 1, 1, w, speed)
    side = b.add_road(_line((0.0, 260.0), (0.0, jh)), 1, 1, w, 40.0)  # from the south, heading north
    polygon = np.array([[-jh, -w], [jh, -w], [jh, jh], [-jh, jh]])  # main road's far edge to the side road
    b.add_junction([(west, True), (east, False), (side, True)], polygon, 30.0, stop_arms=(2,))
    rng = random.Random(11)
    for k in range(10):
        x = -280.0 + 60.0 * k + rng.uniform(-10, 10)
        y = -30.0 if k % 2 else 30.0
        if abs(x) < 40 and y > 0:
            continue
        shade = rng.randint(120, 190)
        b.add_building((x, y), (8.0, 6.0, rng.uniform(4.0, 9.0)), color=(shade - 20, shade, shade))
    return b


def build_highway() -> MapBuilder:
    b = MapBuilder("EmbeddedHighway")
    w, speed, median = 3.6, 80.0, 2.0
    seg_a = b.add_road(_line((-500.0, median), (0.0, median), 20.0), 2, 0, w, speed, lane_marking="broken")
    seg_b = b.add_road(_line((0.0, median), (220.0, median), 20.0), 3, 0, w, speed, lane_marking="broken")
    seg_c = b.add_road(_line((220.0, median), (900.0, median), 20.0), 2, 0, w, speed, lane_marking="broken")
    b.chain(seg_a, seg_b)
    b.chain(seg_b, seg_c)
    b.add_road(_line((900.0, -median), (-500.0, -median), 20.0), 2, 0, w, speed, lane_marking="broken")
    # On-ramp from the south-west: an arc that ends tangent to the acceleration lane (lane -3 of seg_b).
    lane3_y = median + 2.5 * w
    radius = 160.0
    bend = arc((-140.0, lane3_y + radius), radius, -140.0, -90.0)
    heading0 = math.radians(-50.0)  # the arc's start heading (north-east)
    lead_in = bend[0] - np.array([math.cos(heading0), math.sin(heading0)]) * 60.0
    ramp_centre = np.concatenate([
        _line(tuple(lead_in), tuple(bend[0]), 10.0)[:-1], bend, _line((-140.0, lane3_y), (0.0, lane3_y), 10.0)[1:],
    ])
    ramp_centre = _dedupe(ramp_centre)
    ramp = b.add_road(offset_polyline(ramp_centre, -w / 2), 1, 0, w, 60.0)
    b.link(ramp.right[0], seg_b.right[2])
    return b


def _dedupe(points: np.ndarray) -> np.ndarray:
    keep = np.concatenate([[True], np.linalg.norm(np.diff(points, axis=0), axis=1) > 0.2])
    return points[keep]


def build_rural() -> MapBuilder:
    b = MapBuilder("EmbeddedRural")
    w, speed, r = 3.5, 60.0, 120.0
    straight1 = _line((-320.0, 0.0), (0.0, 0.0))
    bend1 = arc((0.0, r), r, -90.0, -30.0)  # right-hand bend: heading 0 -> 60 deg
    h = math.radians(60.0)
    p = bend1[-1]
    straight2 = _line(tuple(p), (p[0] + 120.0 * math.cos(h), p[1] + 120.0 * math.sin(h)))
    q = straight2[-1]
    centre2 = q + r * np.array([math.cos(h - math.pi / 2), math.sin(h - math.pi / 2)])
    bend2 = arc(tuple(centre2), r, 150.0, 90.0)  # left-hand bend: heading 60 -> 0 deg
    t = bend2[-1]
    straight3 = _line(tuple(t), (t[0] + 260.0, t[1]))
    ref = _dedupe(np.concatenate([straight1, bend1[1:], straight2[1:], bend2[1:], straight3[1:]]))
    b.add_road(ref, 1, 1, w, speed, centre_marking="broken")
    rng = random.Random(5)
    for k in range(8):
        idx = rng.randrange(10, len(ref) - 10)
        side = 1 if k % 2 else -1
        yaw = math.atan2(*(ref[idx + 1] - ref[idx])[::-1])
        pos = ref[idx] + side * 28.0 * np.array([-math.sin(yaw), math.cos(yaw)])
        shade = rng.randint(100, 170)
        b.add_building((float(pos[0]), float(pos[1])), (7.0, 5.0, rng.uniform(4.0, 7.0)), math.degrees(yaw),
                       color=(shade - 30, shade - 10, shade + 20))
    return b


BUILDERS = {"EmbeddedGrid": build_grid, "EmbeddedTJunction": build_t_junction,
            "EmbeddedHighway": build_highway, "EmbeddedRural": build_rural}


def main() -> None:
    MAPS_DIR.mkdir(exist_ok=True)
    for name, build in BUILDERS.items():
        path = build().write(MAPS_DIR)
        print(f"{name}: {path} ({path.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
