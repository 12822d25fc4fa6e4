"""Leaderboard input_data -> a typed SensorFrame, with errors that name the problem.

input_data maps sensor id -> (frame, data): cameras [H, W, 4] uint8 BGRA,
LiDAR [N, 4] float32 in the sensor frame, GNSS [lat, lon, alt], IMU
[acc xyz, gyro xyz, compass], speedometer {'speed': m/s}.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sensors.camera import bgra_to_rgb
from sensors.gnss import DEFAULT_GEO_REFERENCE, GeoReference, gnss_to_world
from sensors.rig import GNSS_ID, IMU_ID, SPEED_ID
from sensors.sensor_config import SensorConfig


class SensorDataError(ValueError):
    """input_data is missing a sensor or holds data of the wrong shape; the agent brakes."""


@dataclass(frozen=True)
class SensorFrame:
    frame: int  # simulator frame number of the front camera reading
    images: dict[str, np.ndarray]  # camera id -> [H, W, 3] uint8 RGB
    lidar: np.ndarray  # [N, 4] float32 LiDAR frame, finite points only (may be empty)
    gnss_world: np.ndarray | None  # [3] float64 world m, None when the fix is unusable
    compass: float  # rad, NaN when the IMU gave none
    speed: float  # m/s
    imu: np.ndarray  # [7] float64 acc xyz (m/s^2), gyro xyz (rad/s), compass (rad)
    warnings: list[str] = field(default_factory=list)


def _reading(input_data: dict[str, Any], sensor_id: str) -> tuple[int, Any]:
    if sensor_id not in input_data:
        raise SensorDataError(f"sensor '{sensor_id}' is missing from input_data (have {sorted(input_data)})")
    item = input_data[sensor_id]
    if not isinstance(item, (tuple, list)) or len(item) != 2:
        raise SensorDataError(f"sensor '{sensor_id}': expected a (frame, data) pair")
    return item[0], item[1]


def decode_input_data(input_data: dict[str, Any], config: SensorConfig,
                      geo: GeoReference = DEFAULT_GEO_REFERENCE) -> SensorFrame:
    warnings: list[str] = []
    images = {}
    frame = -1
    for cam in config.cameras:
        cam_frame, data = _reading(input_data, cam.id)
        data = np.asarray(data)
        if data.shape != (cam.height, cam.width, 4) or data.dtype != np.uint8:
            raise SensorDataError(
                f"camera '{cam.id}': expected uint8 [{cam.height}, {cam.width}, 4] BGRA, got {data.dtype} {list(data.shape)}"
            )
        images[cam.id] = bgra_to_rgb(data)
        if cam.id == config.front_camera_id:
            frame = int(cam_frame)

    lidar = np.zeros((0, 4), dtype=np.float32)
    if config.lidar is not None:
        _, data = _reading(input_data, config.lidar.id)
        data = np.asarray(data, dtype=np.float32)
        if data.size == 0:
            warnings.append("LiDAR sweep is empty")
        elif data.ndim != 2 or data.shape[1] != 4:
            raise SensorDataError(f"LiDAR '{config.lidar.id}': expected [N, 4], got {list(data.shape)}")
        else:
            finite = np.isfinite(data).all(axis=1)
            lidar = data
            if not finite.all():
                warnings.append(f"LiDAR: dropped {int((~finite).sum())} non-finite points")
                lidar = data[finite]

    gnss_world = None
    if config.use_gnss:
        _, data = _reading(input_data, GNSS_ID)
        data = np.asarray(data, dtype=np.float64).ravel()
        if data.size < 2 or not np.isfinite(data[:2]).all():
            warnings.append("GNSS fix is missing or NaN: dead reckoning this tick")
        else:
            gnss_world = gnss_to_world(data[0], data[1], data[2] if data.size > 2 else 0.0, geo)

    imu = np.full(7, np.nan)
    compass = math.nan
    if config.use_imu:
        _, data = _reading(input_data, IMU_ID)
        data = np.asarray(data, dtype=np.float64).ravel()
        if data.size != 7:
            raise SensorDataError(f"IMU: expected 7 values, got {data.size}")
        imu = data
        compass = float(data[6])
        if not math.isfinite(compass):
            warnings.append("IMU compass is NaN: keeping the last heading")

    speed = 0.0
    if config.use_speedometer:
        _, data = _reading(input_data, SPEED_ID)
        value = data.get("speed") if isinstance(data, dict) else None
        if value is None or not math.isfinite(float(value)):
            warnings.append("speedometer reading missing or NaN: assuming 0 m/s")
        else:
            speed = max(0.0, float(value))

    return SensorFrame(frame=frame, images=images, lidar=lidar, gnss_world=gnss_world, compass=compass,
                       speed=speed, imu=imu, warnings=warnings)
