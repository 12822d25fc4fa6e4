"""Whatever agent.sensors() asks for, validated by the leaderboard's rules, produced each tick as
input_data = {id: (frame, data)} in the leaderboard's formats (sensor_interface.CallBack)."""

from __future__ import annotations

import math

import numpy as np

from sensors.gnss import world_to_gnss, yaw_to_compass
from sensors.rig import validate_sensor_dicts
from sim.camera import CameraRenderer
from sim.config import SimConfig
from sim.lidar import LidarSimulator
from sim.raster import ground_raster
from sim.statistics import SENSOR_ICONS
from sim.world import BoxArrays, World

GRAVITY = 9.81


class SensorSuite:
    def __init__(self, sensor_dicts: list[dict], world: World, cfg: SimConfig, rng: np.random.Generator) -> None:
        """Raises core.typed_config.ConfigError for a rig the leaderboard would reject."""
        validate_sensor_dicts(sensor_dicts, max_distance_m=cfg.max_sensor_distance_m)
        self.specs = [dict(s) for s in sensor_dicts]
        self.cfg, self.rng = cfg, rng
        self.cameras: dict[str, CameraRenderer] = {}  # built at their first render (nobody may read them)
        self.lidars: dict[str, LidarSimulator] = {}
        self._map_name = world.map.name
        for spec in self.specs:
            if spec["type"] == "sensor.lidar.ray_cast":
                self.lidars[spec["id"]] = LidarSimulator(spec, cfg.lidar, cfg.dt, rng)
        self._last_velocity = (world.ego.vx, world.ego.vy)
        self._black: dict[str, np.ndarray] = {}  # per camera id: the frame of a camera nobody reads

    @property
    def icons(self) -> list[str]:
        return [SENSOR_ICONS[s["type"]] for s in self.specs]

    def capture(self, world: World, read_ids: frozenset[str] | None = None) -> dict[str, tuple[int, object]]:
        """input_data for this tick. `read_ids`: the ids the agent reads (None: all); a camera outside
        it delivers a black frame of its size instead of being rendered (rendering has no side
        effects, so the rest of the world and every other sensor is unchanged)."""
        ego = world.ego
        boxes = world.boxes()
        out: dict[str, tuple[int, object]] = {}
        for spec in self.specs:
            sid, kind = spec["id"], spec["type"]
            if kind == "sensor.camera.rgb" and (not self.cfg.render.enabled or (read_ids is not None
                                                                                and sid not in read_ids)):
                data = self._black_frame(spec)
            elif kind == "sensor.lidar.ray_cast" and not self.cfg.render.enabled:
                data = np.zeros((0, 4), np.float32)
            elif kind == "sensor.camera.rgb":
                data = self._camera(spec).render(ego.x, ego.y, ego.yaw, boxes if self.cfg.render.render_ego
                                                 else _without(boxes, ego.id))
            elif kind == "sensor.lidar.ray_cast":
                exclude = () if self.cfg.render.lidar_sees_ego else (ego.id,)
                data = self.lidars[sid].scan(ego.x, ego.y, ego.yaw, boxes, exclude, self_ids=(ego.id,))
            elif kind == "sensor.other.gnss":
                data = self._gnss(world, spec)
            elif kind == "sensor.other.imu":
                data = self._imu(world)
            elif kind == "sensor.speedometer":
                data = {"speed": ego.vx * math.cos(ego.yaw) + ego.vy * math.sin(ego.yaw)}
            else:  # radar / opendrive map: not simulated, as no agent here asks for them
                data = None
            out[sid] = (world.frame, data)
        return out

    def _camera(self, spec: dict) -> CameraRenderer:
        camera = self.cameras.get(spec["id"])
        if camera is None:  # the ground raster and per-pixel rays cost ~0.3 s: only for a camera in use
            raster = ground_raster(self._map_name, self.cfg.render.raster_resolution_m)
            camera = self.cameras[spec["id"]] = CameraRenderer(spec, raster, self.cfg.render)
        return camera

    def _black_frame(self, spec: dict) -> np.ndarray:
        frame = self._black.get(spec["id"])
        if frame is None:
            frame = np.zeros((int(spec["height"]), int(spec["width"]), 4), np.uint8)
            frame.setflags(write=False)  # shared across ticks: nobody may draw into it
            self._black[spec["id"]] = frame
        return frame

    def _gnss(self, world: World, spec: dict) -> np.ndarray:
        ego, noise = world.ego, self.cfg.noise
        c, s = math.cos(ego.yaw), math.sin(ego.yaw)
        x = ego.x + c * spec["x"] - s * spec["y"]
        y = ego.y + s * spec["x"] + c * spec["y"]
        lat, lon, alt = world_to_gnss(x, y, ego.z + spec["z"], world.map.geo)
        n = self.rng.normal(0.0, 1.0, 3)
        return np.array([lat + n[0] * noise.gnss_lat_std_deg, lon + n[1] * noise.gnss_lon_std_deg,
                         alt + n[2] * noise.gnss_alt_std_m], dtype=np.float64)

    def _imu(self, world: World) -> np.ndarray:
        """[acc x, y, z (m/s^2, with gravity), gyro x, y, z (rad/s), compass (rad)] in the vehicle frame."""
        ego, noise = world.ego, self.cfg.noise
        c, s = math.cos(ego.yaw), math.sin(ego.yaw)
        ax_body = c * ego.ax + s * ego.ay
        ay_body = -s * ego.ax + c * ego.ay
        acc = np.array([ax_body, ay_body, GRAVITY]) + self.rng.normal(0.0, 1.0, 3) * np.asarray(noise.imu_accel_std)
        gyro = np.array([0.0, 0.0, ego.yaw_rate]) + self.rng.normal(0.0, noise.imu_gyro_std, 3)
        return np.array([*acc, *gyro, yaw_to_compass(ego.yaw)], dtype=np.float64)


def _without(boxes: BoxArrays, actor_id: int) -> BoxArrays:
    keep = boxes.ids != actor_id
    return BoxArrays(boxes.ids[keep], boxes.center[keep], boxes.yaw[keep], boxes.extent[keep], boxes.color[keep])
