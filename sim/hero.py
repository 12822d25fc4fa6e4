"""`agent.hero_actor` for the embedded world: the carla.Actor methods Bench2Drive's agents call.

get_metric_info() (the comfort metric's input) reads get_acceleration(),
get_angular_velocity(), get_transform() (+ forward / right vectors, location,
rotation) and get_velocity(); all return carla_compat types, with CARLA's
units (m/s, m/s^2, deg, and deg/s for the angular velocity).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from core.carla_compat import Location, Vector3D, make_transform, make_vehicle_control

if TYPE_CHECKING:
    from sim.world import World


class HeroActor:
    def __init__(self, world: World) -> None:
        self._world = world
        self.type_id = world.ego.type_id
        self.attributes = {"role_name": "hero"}

    @property
    def id(self) -> int:
        return self._world.ego.id

    def get_transform(self) -> object:
        e = self._world.ego
        return make_transform(e.x, e.y, e.z, math.degrees(e.yaw))

    def get_location(self) -> object:
        e = self._world.ego
        return Location(x=e.x, y=e.y, z=e.z)

    def get_velocity(self) -> object:
        e = self._world.ego
        return Vector3D(x=e.vx, y=e.vy, z=0.0)

    def get_acceleration(self) -> object:
        e = self._world.ego
        return Vector3D(x=e.ax, y=e.ay, z=0.0)

    def get_angular_velocity(self) -> object:
        """deg/s, as carla.Actor.get_angular_velocity; z > 0 turns towards +y (right)."""
        return Vector3D(x=0.0, y=0.0, z=math.degrees(self._world.ego.yaw_rate))

    def get_speed_limit(self) -> float:
        """km/h of the lane under the ego, as carla.Vehicle.get_speed_limit."""
        e = self._world.ego
        lane_id, _, _ = self._world.map.nearest(e.x, e.y)
        return self._world.map.lanes[lane_id].speed_limit * 3.6

    def get_control(self) -> object:
        steer, throttle, brake, _, _ = self._world.control
        return make_vehicle_control(steer, throttle, brake)
