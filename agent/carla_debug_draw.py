"""CARLA spectator and world.debug drawing of the plan, every tick.

    drawer = CarlaDebugDrawer(world, agent_config)
    drawer.update(hero_actor.get_transform(), plan, observation)

config.logging.spectator: 'chase' puts the spectator behind and above the ego looking
along its heading, 'top_down' straight above it (the image's up = the ego's heading),
'off' leaves it alone. config.logging.draw_plan draws the predicted waypoints, the
planned route, the target points and the global route ahead with world.debug; the
drawings live one tick (plus a margin) so the picture follows the car.

Plan and observation points are in the ego frame (x forward, y right, metres); they go
to the world frame with the hero's location and yaw (core.frames.ego_to_world).
No module-level `import carla`: the carla module is imported when a drawer is built
(it only is under CARLA) or handed in, so this file imports cleanly everywhere.

Note: Bench2Drive's ScenarioManager also moves the spectator (top-down, 70 m) after
every run_step; there the last placement of the tick wins and 'chase' is overridden.
"""

from __future__ import annotations

import importlib
import itertools
import math
from typing import Any

import numpy as np

from agent.debug_view_config import DebugViewConfig, debug_view_of
from core.frames import ego_to_world
from planner.interface import Observation, Plan


class CarlaDebugDrawer:
    def __init__(self, world: Any, config: object, view: DebugViewConfig | None = None,
                 carla_module: Any = None) -> None:
        self.world = world
        self.config = config
        self.view = view or debug_view_of(config)
        self.carla = carla_module if carla_module is not None else importlib.import_module("carla")
        logging_config = getattr(config, "logging", None)
        self.spectator_mode = getattr(logging_config, "spectator", "off")
        self.draw_plan = bool(getattr(logging_config, "draw_plan", False))

    # ---- geometry ------------------------------------------------------------------------
    def spectator_transform(self, hero_transform: Any) -> Any:
        """Where the spectator goes for the current mode (None for 'off')."""
        c = self.carla
        loc, yaw = hero_transform.location, hero_transform.rotation.yaw
        if self.spectator_mode == "chase":
            rad = math.radians(yaw)
            back = self.view.chase_distance_m
            location = c.Location(x=loc.x - back * math.cos(rad), y=loc.y - back * math.sin(rad),
                                  z=loc.z + self.view.chase_height_m)
            return c.Transform(location, c.Rotation(pitch=self.view.chase_pitch_deg, yaw=yaw, roll=0.0))
        if self.spectator_mode == "top_down":
            location = c.Location(x=loc.x, y=loc.y, z=loc.z + self.view.top_down_height_m)
            return c.Transform(location, c.Rotation(pitch=-90.0, yaw=yaw, roll=0.0))
        return None

    def to_world(self, hero_transform: Any, points_ego: np.ndarray) -> list[Any]:
        """[N, 2] ego-frame points -> carla.Location list at the hero's height + draw_height_m."""
        points = np.asarray(points_ego, dtype=np.float64).reshape(-1, 2)
        if len(points) == 0:
            return []
        loc = hero_transform.location
        world_xy = ego_to_world(points, np.array([loc.x, loc.y]), math.radians(hero_transform.rotation.yaw))
        z = loc.z + self.view.draw_height_m
        return [self.carla.Location(x=float(x), y=float(y), z=float(z)) for x, y in world_xy]

    # ---- per tick ------------------------------------------------------------------------
    def update(self, hero_transform: Any, plan: Plan | None, observation: Observation | None) -> None:
        spectator = self.spectator_transform(hero_transform)
        if spectator is not None:
            self.world.get_spectator().set_transform(spectator)
        if not self.draw_plan:
            return
        if observation is not None:
            self._polyline(hero_transform, observation.route, self.view.global_route_color)
            self._points(hero_transform, observation.target_points, self.view.target_color,
                         self.view.draw_point_size_m * 2)
        if plan is not None:
            self._polyline(hero_transform, plan.route, self.view.route_color)
            self._points(hero_transform, plan.waypoints, self.view.waypoint_color, self.view.draw_point_size_m)
            if plan.decisions:
                above = self.carla.Location(x=hero_transform.location.x, y=hero_transform.location.y,
                                            z=hero_transform.location.z + 2.5)
                self.world.debug.draw_string(above, " ".join(plan.decisions), False, self._color((255, 255, 255)),
                                             self.view.draw_life_time_s)

    def _color(self, rgb: tuple[int, int, int]) -> Any:
        return self.carla.Color(int(rgb[0]), int(rgb[1]), int(rgb[2]))

    def _points(self, hero_transform: Any, points_ego: np.ndarray, rgb: tuple[int, int, int], size: float) -> None:
        color = self._color(rgb)
        for location in self.to_world(hero_transform, points_ego):
            self.world.debug.draw_point(location, size, color, self.view.draw_life_time_s)

    def _polyline(self, hero_transform: Any, points_ego: np.ndarray, rgb: tuple[int, int, int]) -> None:
        color = self._color(rgb)
        locations = self.to_world(hero_transform, points_ego)
        for begin, end in itertools.pairwise(locations):
            self.world.debug.draw_line(begin, end, self.view.draw_line_thickness_m, color,
                                       self.view.draw_life_time_s)
