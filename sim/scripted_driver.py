"""A scripted leaderboard-protocol agent for tests and debugging: it follows the route with ground truth
at a set speed and lateral offset, blind to traffic and rules, so each criterion can be provoked on purpose.

    Driver = scripted_driver(speed=6.0, offset=lambda s: -3.5 if 40 < s < 80 else 0.0)
    evaluate(routes, ClassAgentFactory(Driver), cfg, options)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from core.carla_compat import make_vehicle_control

WHEELBASE_M = 2.87
MAX_STEER_RAD = math.radians(70.0)
SPEED_GAIN = 0.6


class ScriptedDriver:
    speed: float = 6.0  # m/s target
    offset: Callable[[float], float] = staticmethod(lambda s: 0.0)  # lateral offset (right +) at route metre s
    speed_at: Callable[[float, float], float] | None = None  # (route metre, time) -> target, overrides speed
    on_bind: Callable[[Any], None] | None = None  # called with the RouteRunner before the first tick

    def __init__(self, host: str = "localhost", port: int = 2000, debug: bool = False) -> None:
        self.runner: Any = None
        self.hero_actor: Any = None
        self.steps = 0

    def bind(self, runner: Any) -> None:
        self.runner = runner
        if self.on_bind is not None:
            type(self).on_bind(runner)

    def set_global_plan(self, global_plan_gps: list, global_plan_world_coord: list) -> None:
        self.plan_length = len(global_plan_world_coord)

    def setup(self, path_to_conf_file: str) -> None:
        self.conf = path_to_conf_file

    def sensors(self) -> list[dict[str, Any]]:
        return [{"type": "sensor.speedometer", "id": "speed", "reading_frequency": 20}]

    def destroy(self) -> None:
        pass

    def run_step(self, input_data: dict[str, Any], timestamp: float) -> Any:
        self.steps += 1
        world, route = self.runner.world, self.runner.route
        ego = world.ego
        k = self.runner.ego_index
        s_now = float(route.cum[k])
        look = max(4.0, 0.9 * abs(ego.speed))
        s_target = s_now + look
        i = int(min(np.searchsorted(route.cum, s_target), len(route) - 1))
        yaw = float(route.yaw[i])
        off = float(type(self).offset(s_target))
        tx = route.xy[i, 0] - math.sin(yaw) * off
        ty = route.xy[i, 1] + math.cos(yaw) * off
        dx, dy = tx - ego.x, ty - ego.y
        alpha = math.atan2(dy, dx) - ego.yaw
        alpha = math.atan2(math.sin(alpha), math.cos(alpha))
        dist = max(math.hypot(dx, dy), 1.0)
        steer = math.atan(2.0 * WHEELBASE_M * math.sin(alpha) / dist) / MAX_STEER_RAD
        target = type(self).speed_at(s_now, timestamp) if type(self).speed_at is not None else self.speed
        error = target - ego.speed
        throttle = float(np.clip(SPEED_GAIN * error, 0.0, 1.0)) if target > 0 else 0.0
        brake = float(np.clip(-SPEED_GAIN * error, 0.0, 1.0)) if error < -0.3 or target <= 0 else 0.0
        return make_vehicle_control(float(np.clip(steer, -1.0, 1.0)), throttle, brake)


def scripted_driver(**attributes: Any) -> type[ScriptedDriver]:
    """A ScriptedDriver subclass with these class attributes (callables become static methods)."""
    body = {k: (staticmethod(v) if callable(v) else v) for k, v in attributes.items()}
    return type("ScriptedDriverVariant", (ScriptedDriver,), body)
