"""A minimal closed loop without any simulator: a kinematic car on a curved road.

It produces leaderboard-format input_data (BGRA camera, LiDAR in the sensor
frame, GNSS, IMU with compass, speedometer) for whatever rig the agent asks,
so the agent's whole tick runs end to end. Used by the smoke command, the
agent tests and benchmarks/agent_tick.py. The embedded simulator (sim/) is the
real harness; this is its smallest possible stand-in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.carla_compat import RoadOption, make_transform
from sensors.gnss import world_to_gnss, yaw_to_compass

# Car geometry and response of this toy loop (not CARLA's dynamics).
_WHEELBASE_M = 2.9
_MAX_STEER_RAD = math.radians(35.0)
_ACCEL_MPS2 = 3.0  # at full throttle
_BRAKE_MPS2 = 8.0  # at full brake
_DRAG_MPS2 = 0.3


def curved_route(length_m: float = 300.0, radius_m: float = 60.0, straight_m: float = 40.0,
                 spacing_m: float = 1.0) -> np.ndarray:
    """[N, 2] world points: a straight, a left arc of `radius_m`, then straight again."""
    points = [np.array([s, 0.0]) for s in np.arange(0.0, straight_m, spacing_m)]
    arc_len = min(length_m - 2 * straight_m, 0.5 * math.pi * radius_m)
    for s in np.arange(0.0, arc_len, spacing_m):
        angle = s / radius_m  # turning left = towards -y in CARLA's left-handed frame
        points.append(np.array([straight_m + radius_m * math.sin(angle), -radius_m * (1 - math.cos(angle))]))
    end, heading = points[-1], -arc_len / radius_m
    for s in np.arange(spacing_m, straight_m, spacing_m):
        points.append(end + s * np.array([math.cos(heading), math.sin(heading)]))
    return np.asarray(points)


@dataclass
class CarState:
    x: float
    y: float
    yaw: float  # rad
    speed: float  # m/s


class SyntheticDrive:
    def __init__(self, sensors: list[dict], route: np.ndarray, seed: int = 0, dt: float = 0.05,
                 lateral_offset_m: float = 0.0) -> None:
        self.sensors = sensors
        self.route = route
        self.dt = dt
        self.frame = 0
        self.rng = np.random.default_rng(seed)
        heading = math.atan2(route[1, 1] - route[0, 1], route[1, 0] - route[0, 0])
        # start offset to the right of the route so the controller must steer back
        self.car = CarState(route[0, 0] - math.sin(heading) * lateral_offset_m,
                            route[0, 1] + math.cos(heading) * lateral_offset_m, heading, 0.0)

    def global_plan(self) -> tuple[list, list]:
        """Dense plan in both leaderboard forms (the agent's base class downsamples it)."""
        world, gps = [], []
        for x, y in self.route:
            world.append((make_transform(float(x), float(y), 0.0), RoadOption.LANEFOLLOW))
            lat, lon, z = world_to_gnss(float(x), float(y), 0.0)
            gps.append(({"lat": lat, "lon": lon, "z": z}, RoadOption.LANEFOLLOW))
        return gps, world

    def input_data(self) -> dict:
        data: dict = {}
        for spec in self.sensors:
            kind, sid = spec["type"], spec["id"]
            if kind == "sensor.camera.rgb":
                image = np.empty((spec["height"], spec["width"], 4), dtype=np.uint8)
                image[: spec["height"] // 2] = (200, 160, 120, 255)  # sky (BGRA)
                image[spec["height"] // 2:] = (90, 90, 90, 255)  # road
                data[sid] = (self.frame, image)
            elif kind == "sensor.lidar.ray_cast":
                n = 15000
                points = np.empty((n, 4), dtype=np.float32)
                points[:, 0] = self.rng.uniform(-40, 40, n)
                points[:, 1] = self.rng.uniform(-40, 40, n)
                points[:, 2] = -spec["z"]  # the ground, in the sensor frame
                points[:, 3] = 1.0
                data[sid] = (self.frame, points)
            elif kind == "sensor.other.gnss":
                lat, lon, alt = world_to_gnss(self.car.x, self.car.y, 0.0)
                data[sid] = (self.frame, np.array([lat, lon, alt]))
            elif kind == "sensor.other.imu":
                data[sid] = (self.frame, np.array([0, 0, 9.81, 0, 0, 0, yaw_to_compass(self.car.yaw)]))
            elif kind == "sensor.speedometer":
                data[sid] = (self.frame, {"speed": self.car.speed})
        return data

    def apply(self, control: object) -> None:
        steer = float(np.clip(control.steer, -1, 1)) * _MAX_STEER_RAD
        accel = _ACCEL_MPS2 * control.throttle - _BRAKE_MPS2 * control.brake - _DRAG_MPS2
        car = self.car
        car.speed = max(0.0, car.speed + accel * self.dt)
        car.x += car.speed * math.cos(car.yaw) * self.dt
        car.y += car.speed * math.sin(car.yaw) * self.dt
        car.yaw += car.speed / _WHEELBASE_M * math.tan(steer) * self.dt
        self.frame += 1

    def distance_to_route(self) -> float:
        return float(np.min(np.linalg.norm(self.route - [self.car.x, self.car.y], axis=1)))


def run_synthetic_loop(agent: object, setup_argument: str, ticks: int, seed: int = 0,
                       lateral_offset_m: float = 1.0) -> dict:
    """The leaderboard sequence on a fresh agent: set_global_plan, setup, sensors, run_step x N, destroy."""
    drive = SyntheticDrive([], curved_route(), seed=seed, lateral_offset_m=lateral_offset_m)
    agent.set_global_plan(*drive.global_plan())
    agent.setup(setup_argument)
    drive.sensors = agent.sensors()
    controls, distances, positions = [], [], []
    try:
        for tick in range(ticks):
            control = agent.run_step(drive.input_data(), tick * drive.dt)
            drive.apply(control)
            controls.append((control.steer, control.throttle, control.brake))
            distances.append(drive.distance_to_route())
            positions.append((drive.car.x, drive.car.y))
    finally:
        agent.destroy()
    return {"controls": np.asarray(controls), "distances": np.asarray(distances),
            "positions": np.asarray(positions), "drive": drive}
