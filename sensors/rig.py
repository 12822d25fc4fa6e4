"""Sensor rig: config -> the leaderboard's sensor dicts, validated by the leaderboard's rules."""

from __future__ import annotations

import math
from typing import Any

from core.typed_config import ConfigError
from sensors.sensor_config import SensorConfig

# Leaderboard 2.0 limits per sensor type (AgentWrapper / validate_sensor_configuration).
SENSOR_LIMITS: dict[str, int] = {
    "sensor.camera.rgb": 8,
    "sensor.lidar.ray_cast": 2,
    "sensor.other.radar": 4,
    "sensor.other.gnss": 1,
    "sensor.other.imu": 1,
    "sensor.speedometer": 1,
}
POSE_KEYS = ("x", "y", "z", "roll", "pitch", "yaw")

GNSS_ID = "gps"
IMU_ID = "imu"
SPEED_ID = "speed"


def build_sensor_dicts(config: SensorConfig) -> list[dict[str, Any]]:
    """The list `AutonomousAgent.sensors()` returns for this rig."""
    sensors: list[dict[str, Any]] = []
    for cam in config.cameras:
        sensors.append({
            "type": "sensor.camera.rgb", "id": cam.id,
            "x": cam.x, "y": cam.y, "z": cam.z, "roll": cam.roll, "pitch": cam.pitch, "yaw": cam.yaw,
            "width": cam.width, "height": cam.height, "fov": cam.fov,
        })
    if config.lidar is not None:
        lid = config.lidar
        sensors.append({
            "type": "sensor.lidar.ray_cast", "id": lid.id,
            "x": lid.x, "y": lid.y, "z": lid.z, "roll": lid.roll, "pitch": lid.pitch, "yaw": lid.yaw,
        })
    zero_pose = dict.fromkeys(POSE_KEYS, 0.0)
    if config.use_imu:
        sensors.append({"type": "sensor.other.imu", "id": IMU_ID, **zero_pose, "sensor_tick": 1.0 / config.sim_frequency_hz})
    if config.use_gnss:
        sensors.append({"type": "sensor.other.gnss", "id": GNSS_ID, **zero_pose, "sensor_tick": 1.0 / config.sim_frequency_hz})
    if config.use_speedometer:
        sensors.append({"type": "sensor.speedometer", "id": SPEED_ID, "reading_frequency": config.sim_frequency_hz})
    validate_sensor_dicts(sensors, max_distance_m=config.max_mount_distance_m)
    return sensors


def validate_sensor_dicts(sensors: list[dict[str, Any]], max_distance_m: float = 3.0) -> None:
    """Raise ConfigError for anything the leaderboard would reject (types, keys, counts, ids, distance)."""
    seen_ids: set[str] = set()
    counts: dict[str, int] = {}
    for index, sensor in enumerate(sensors):
        kind = sensor.get("type")
        sid = sensor.get("id")
        where = f"sensor #{index} ({sid or 'no id'})"
        if kind not in SENSOR_LIMITS:
            raise ConfigError(f"{where}: type {kind!r} is not allowed; allowed: {sorted(SENSOR_LIMITS)}")
        if not sid:
            raise ConfigError(f"{where}: every sensor needs a non-empty 'id'")
        if sid in seen_ids:
            raise ConfigError(f"{where}: duplicate sensor id {sid!r}")
        seen_ids.add(sid)
        counts[kind] = counts.get(kind, 0) + 1
        if counts[kind] > SENSOR_LIMITS[kind]:
            raise ConfigError(f"{where}: more than {SENSOR_LIMITS[kind]} sensors of type {kind}")
        if kind != "sensor.speedometer":
            missing = [k for k in POSE_KEYS if k not in sensor]
            if missing:
                raise ConfigError(f"{where}: missing pose keys {missing}")
            distance = math.sqrt(sensor["x"] ** 2 + sensor["y"] ** 2 + sensor["z"] ** 2)
            if distance > max_distance_m:
                raise ConfigError(f"{where}: mounted {distance:.2f} m from the car, the limit is {max_distance_m} m")
        if kind == "sensor.camera.rgb":
            missing = [k for k in ("width", "height", "fov") if k not in sensor]
            if missing:
                raise ConfigError(f"{where}: camera missing {missing}")
