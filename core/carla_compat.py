"""CARLA types when the client is installed, small stand-ins with the same fields when not.

Only this module (plus the leaderboard agent and launch code) touches `carla`, so
the rest of the project and its tests run without the client. The embedded
simulator builds its global plans and controls through here too, so the agent
sees the very same types it would see under the leaderboard when carla exists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum

try:  # pragma: no cover - depends on the environment
    import carla as _carla
except ImportError:  # pragma: no cover
    _carla = None

HAVE_CARLA = _carla is not None


class RoadOption(IntEnum):
    """Same values as CARLA's agents.navigation.local_planner.RoadOption."""

    VOID = -1
    LEFT = 1
    RIGHT = 2
    STRAIGHT = 3
    LANEFOLLOW = 4
    CHANGELANELEFT = 5
    CHANGELANERIGHT = 6


def road_option_value(option: object) -> int:
    """Int value of a RoadOption from CARLA's enum, ours, an int or a name like 'LANEFOLLOW'."""
    if isinstance(option, str):
        name = option.split(".")[-1].upper()
        if name not in RoadOption.__members__:
            raise ValueError(f"unknown RoadOption {option!r}")
        return int(RoadOption[name])
    value = getattr(option, "value", option)
    value = int(value)
    if value not in {o.value for o in RoadOption}:
        raise ValueError(f"unknown RoadOption value {value}")
    return value


@dataclass
class FallbackLocation:
    x: float = 0.0
    y: float = 0.0
    z: float = 0.0


@dataclass
class FallbackRotation:
    pitch: float = 0.0  # deg
    yaw: float = 0.0  # deg
    roll: float = 0.0  # deg


@dataclass
class FallbackTransform:
    location: FallbackLocation = field(default_factory=FallbackLocation)
    rotation: FallbackRotation = field(default_factory=FallbackRotation)

    def get_forward_vector(self) -> FallbackLocation:
        yaw, pitch = math.radians(self.rotation.yaw), math.radians(self.rotation.pitch)
        return FallbackLocation(math.cos(pitch) * math.cos(yaw), math.cos(pitch) * math.sin(yaw), math.sin(pitch))

    def get_right_vector(self) -> FallbackLocation:
        yaw = math.radians(self.rotation.yaw)
        return FallbackLocation(-math.sin(yaw), math.cos(yaw), 0.0)


@dataclass
class FallbackVehicleControl:
    throttle: float = 0.0
    steer: float = 0.0
    brake: float = 0.0
    hand_brake: bool = False
    reverse: bool = False
    manual_gear_shift: bool = False
    gear: int = 0


if HAVE_CARLA:
    Location = _carla.Location
    Rotation = _carla.Rotation
    Transform = _carla.Transform
    VehicleControl = _carla.VehicleControl
    Vector3D = _carla.Vector3D
else:
    Location = FallbackLocation
    Rotation = FallbackRotation
    Transform = FallbackTransform
    VehicleControl = FallbackVehicleControl
    Vector3D = FallbackLocation


def make_transform(x: float, y: float, z: float, yaw_deg: float = 0.0, pitch_deg: float = 0.0,
                   roll_deg: float = 0.0) -> object:
    """A carla.Transform (or stand-in). Note carla.Rotation's argument order: pitch, yaw, roll."""
    return Transform(Location(x=x, y=y, z=z), Rotation(pitch=pitch_deg, yaw=yaw_deg, roll=roll_deg))


def make_vehicle_control(steer: float, throttle: float, brake: float) -> object:
    return VehicleControl(throttle=float(throttle), steer=float(steer), brake=float(brake))
