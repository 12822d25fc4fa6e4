"""Actors of the embedded world: oriented boxes with CARLA type ids, roles and (optional) behaviours.

Type ids follow CARLA's blueprint names because the criteria classify
collisions by them (vehicle.* / walker.* / static.* and traffic.*), exactly as
srunner's CollisionTest does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.frames import footprint_corners

# type id -> (half extents x, y, z in m, BGR colour)
CATALOG: dict[str, tuple[tuple[float, float, float], tuple[int, int, int]]] = {
    "vehicle.lincoln.mkz_2020": ((2.4508, 1.0641, 0.7553), (60, 60, 60)),
    "vehicle.tesla.model3": ((2.3958, 1.0816, 0.7444), (200, 200, 205)),
    "vehicle.audi.a2": ((1.8527, 0.9009, 0.7754), (40, 40, 170)),
    "vehicle.nissan.patrol": ((2.3022, 0.9553, 0.9279), (140, 90, 30)),
    "vehicle.mercedes.coupe_2020": ((2.3368, 1.0011, 0.7209), (30, 30, 30)),
    "vehicle.toyota.prius": ((2.2568, 1.0034, 0.7625), (170, 130, 80)),
    "vehicle.ford.crown": ((2.6829, 0.9009, 0.8004), (230, 230, 230)),
    "vehicle.ford.ambulance": ((3.1805, 1.1847, 1.2730), (235, 235, 240)),
    "vehicle.dodge.charger_police_2020": ((2.5030, 1.0485, 0.7673), (20, 20, 20)),
    "walker.pedestrian.0001": ((0.19, 0.19, 0.93), (60, 90, 160)),
    "walker.pedestrian.0002": ((0.19, 0.19, 0.87), (150, 70, 60)),
    "walker.pedestrian.0003": ((0.19, 0.19, 0.90), (50, 140, 70)),
    "static.prop.constructioncone": ((0.17, 0.17, 0.36), (0, 110, 245)),
    "static.prop.warningaccident": ((0.1, 0.65, 0.9), (0, 200, 250)),
    "static.prop.trafficwarning": ((0.5, 1.4, 1.2), (20, 140, 240)),
    "static.building": ((5.0, 5.0, 5.0), (150, 150, 150)),
    "traffic.traffic_light": ((0.15, 0.15, 2.9), (50, 50, 50)),
    "traffic.stop": ((0.08, 0.08, 1.2), (90, 90, 90)),
}
BACKGROUND_VEHICLES = ("vehicle.tesla.model3", "vehicle.audi.a2", "vehicle.nissan.patrol",
                       "vehicle.mercedes.coupe_2020", "vehicle.toyota.prius", "vehicle.ford.crown")
WALKERS = ("walker.pedestrian.0001", "walker.pedestrian.0002", "walker.pedestrian.0003")


@dataclass
class Actor:
    id: int
    type_id: str
    role: str  # 'hero' | 'background' | 'scenario' | 'static' | 'infrastructure'
    x: float  # m, box centre, world
    y: float
    yaw: float  # rad
    extent: tuple[float, float, float]  # half sizes, m
    color: tuple[int, int, int]  # BGR
    z: float = 0.0  # height of the box bottom above the ground, m
    speed: float = 0.0  # m/s along the heading
    vx: float = 0.0  # world velocity, m/s (finite difference of the last step)
    vy: float = 0.0
    ax: float = 0.0
    ay: float = 0.0
    yaw_rate: float = 0.0
    collidable: bool = True
    blocking: bool = True  # a collision stops the ego (vehicles, props); walkers are knocked aside
    emergency: bool = False
    behavior: Any = None  # an object with step(world, actor, dt); None = static
    tags: dict = field(default_factory=dict)
    # corners() memo: the pose it was computed for, and the read-only corners
    _corners_key: tuple | None = field(default=None, init=False, repr=False, compare=False)
    _corners: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def is_vehicle(self) -> bool:
        return self.type_id.startswith("vehicle.")

    @property
    def is_walker(self) -> bool:
        return self.type_id.startswith("walker.")

    @property
    def xy(self) -> np.ndarray:
        return np.array([self.x, self.y])

    def corners(self) -> np.ndarray:
        """[4, 2] footprint corners (front-left, front-right, rear-right, rear-left), read-only.

        Computed once per pose: every NPC's leader search, the expert and the contact test ask
        for the same actor's corners many times a tick, while it moves at most once."""
        key = (self.x, self.y, self.yaw, self.extent[0], self.extent[1])
        if key != self._corners_key:
            corners = footprint_corners(self.x, self.y, self.yaw, self.extent[0], self.extent[1])
            corners.setflags(write=False)
            self._corners_key, self._corners = key, corners
        return self._corners

    def set_pose(self, x: float, y: float, yaw: float, dt: float) -> None:
        """Move and derive velocity / acceleration / yaw rate from the step, as a kinematic actor."""
        vx, vy = (x - self.x) / dt, (y - self.y) / dt
        self.ax, self.ay = (vx - self.vx) / dt, (vy - self.vy) / dt
        self.yaw_rate = math.atan2(math.sin(yaw - self.yaw), math.cos(yaw - self.yaw)) / dt
        self.vx, self.vy = vx, vy
        self.x, self.y, self.yaw = x, y, yaw


def make_actor(actor_id: int, type_id: str, role: str, x: float, y: float, yaw: float, **kwargs: Any) -> Actor:
    extent, color = CATALOG.get(type_id, ((2.3, 1.0, 0.75), (128, 128, 128)))
    kwargs.setdefault("extent", extent)
    kwargs.setdefault("color", color)
    if type_id.startswith("walker."):
        kwargs.setdefault("blocking", False)
    return Actor(actor_id, type_id, role, x, y, yaw, **kwargs)


def obb_overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Separating-axis test of two convex [4, 2] footprints."""
    for poly in (a, b):
        for k in range(4):
            edge = poly[(k + 1) % 4] - poly[k]
            axis = np.array([-edge[1], edge[0]])
            pa, pb = a @ axis, b @ axis
            if pa.max() < pb.min() or pb.max() < pa.min():
                return False
    return True
