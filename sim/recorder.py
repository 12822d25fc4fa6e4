"""The recording hook: the expert-driven agent, wrapped so every saved tick becomes a PDM-Lite frame.

RecordingAgent stands between the evaluator and the agent (the leaderboard protocol, forwarded):
each run_step it lets the expert drive, adds the recovery pulse to the control it hands back
(the expert never learns of it), and every `save_every_ticks` ticks writes rgb / lidar /
measurements / boxes. Measurements hold the expert's clean commands and plan; the executed
(perturbed) control is stored beside them under `executed_*`, and `perturbed` says whether the
motion that led to this frame carried a pulse.

Camera: the recorder reads the front camera from input_data, so a sensor suite that skips
cameras nobody reads must still render the ids in `RecordingAgent.recorded_sensor_ids`.
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np

from core.carla_compat import make_vehicle_control
from core.frames import world_to_ego, wrap_angle
from data.data_config import LayoutConfig
from data.layout import RouteFolder
from sim.actors import Actor
from sim.recovery import SteeringPerturber
from sim.route_runner import RouteRunner

LIGHT_STATE_NAMES = {"red": "Red", "yellow": "Yellow", "green": "Green"}  # carla.TrafficLightState names


def ego_matrix(x: float, y: float, yaw: float, z: float = 0.0) -> list[list[float]]:
    """carla.Transform.get_matrix() of a pose with pitch = roll = 0."""
    c, s = math.cos(yaw), math.sin(yaw)
    return [[c, -s, 0.0, x], [s, c, 0.0, y], [0.0, 0.0, 1.0, z], [0.0, 0.0, 0.0, 1.0]]


def _box_class(actor: Actor) -> str:
    if actor.is_vehicle:
        return "car"
    if actor.is_walker:
        return "walker"
    return "static"


def points_in_box(points: np.ndarray, center_xy: np.ndarray, yaw: float, extent: tuple[float, float, float]) -> int:
    """LiDAR hits inside an ego-frame box (PDM-Lite's num_points: filters boxes nobody can see)."""
    if len(points) == 0:
        return 0
    c, s = math.cos(yaw), math.sin(yaw)
    dx, dy = points[:, 0] - center_xy[0], points[:, 1] - center_xy[1]
    lx, ly = c * dx + s * dy, -s * dx + c * dy
    inside = (np.abs(lx) < extent[0]) & (np.abs(ly) < extent[1]) & (points[:, 2] > 0.0) & (points[:, 2] < 2 * extent[2])
    return int(inside.sum())


class FrameWriter:
    """Builds one frame's measurement and boxes from the world, the agent and its last plan."""

    def __init__(self, runner: RouteRunner, layout: LayoutConfig) -> None:
        self.runner, self.layout = runner, layout

    def boxes(self, lidar: np.ndarray, route_index: int) -> list[dict]:
        world = self.runner.world
        ego = world.ego
        matrix = ego_matrix(ego.x, ego.y, ego.yaw)
        out: list[dict] = [{"class": "ego_car", "extent": list(ego.extent), "position": [0.0, 0.0, 0.0], "yaw": 0.0,
                            "num_points": -1, "distance": -1, "speed": float(ego.speed),
                            "brake": float(world.control[2]), "id": int(ego.id), "matrix": matrix,
                            "type_id": ego.type_id}]
        radius = self.layout.box_radius_m
        for actor in sorted(world.nearby(ego.xy, radius, exclude={ego.id}), key=lambda a: a.id):
            rel = world_to_ego(actor.xy[None, :], ego.xy, ego.yaw)[0]
            yaw = wrap_angle(actor.yaw - ego.yaw)
            box = {"class": _box_class(actor), "extent": list(actor.extent), "position": [float(rel[0]), float(rel[1]),
                   float(actor.z)], "yaw": yaw, "num_points": points_in_box(lidar, rel, yaw, actor.extent),
                   "distance": float(np.hypot(*rel)), "speed": float(actor.speed),
                   "id": int(actor.id), "matrix": ego_matrix(actor.x, actor.y, actor.yaw, actor.z),
                   "type_id": actor.type_id, "role_name": actor.role}
            if actor.is_vehicle:
                box["brake"] = 0.0
            out.append(box)
        affecting = self._light_ahead(route_index)
        for light in world.map.lights:
            rel = world_to_ego(np.array([light.pole[:2]]), ego.xy, ego.yaw)[0]
            if np.hypot(*rel) > radius:
                continue
            out.append({"class": "traffic_light", "extent": [0.15, 0.15, 2.9], "position": [float(rel[0]),
                        float(rel[1]), 0.0], "yaw": wrap_angle(light.pole[2] - ego.yaw), "distance": float(np.hypot(*rel)),
                        "state": LIGHT_STATE_NAMES[world.light_state(light.id)], "id": int(light.id),
                        "affects_ego": light.id == affecting})
        for sign in world.map.stop_signs:
            rel = world_to_ego(np.array([sign.pole[:2]]), ego.xy, ego.yaw)[0]
            if np.hypot(*rel) > radius:
                continue
            out.append({"class": "stop_sign", "extent": [0.08, 0.08, 1.2], "position": [float(rel[0]), float(rel[1]),
                        0.0], "yaw": wrap_angle(sign.pole[2] - ego.yaw), "distance": float(np.hypot(*rel)),
                        "id": int(sign.id), "affects_ego": world.lane_stop_signs.get(self._route_lane(route_index))
                        == sign.id})
        return out

    def _route_lane(self, route_index: int) -> int:
        return int(self.runner.route.lane_ids[min(route_index, len(self.runner.route) - 1)])

    def _light_ahead(self, route_index: int) -> int | None:
        """The light guarding the route's next junction entry within the box radius."""
        route = self.runner.route
        s0 = route.cum[route_index]
        for k in range(route_index, len(route)):
            if route.cum[k] - s0 > self.layout.box_radius_m:
                break
            light = self.runner.world.lane_lights.get(int(route.lane_ids[k]))
            if light is not None:
                return light
        return None

    def measurement(self, agent: Any, tick: int, executed: tuple[float, float, float], perturbed: bool,
                    pulse_steer: float) -> dict:
        world = self.runner.world
        ego = world.ego
        obs, plan, command = agent.last_observation, agent.last_plan, agent.last_command
        planner = getattr(agent, "_planner", None)
        reasons = list(getattr(planner, "reasons", []))
        lateral = getattr(planner, "lateral", None)
        lane_id, _, _ = world.map.nearest(ego.x, ego.y)
        route = np.asarray(plan.route, dtype=np.float64) if plan is not None else np.zeros((0, 2))
        steer, throttle, brake = (command.steer, command.throttle, command.brake) if command else (0.0, 0.0, 1.0)
        tp = obs.target_points.tolist() if obs is not None else [[0.0, 0.0], [0.0, 0.0]]
        return {
            "pos_global": [float(ego.x), float(ego.y)],
            "theta": float(ego.yaw),
            "speed": float(ego.speed),
            "target_speed": float(plan.target_speed) if plan is not None and plan.target_speed is not None else 0.0,
            "speed_limit": float(world.map.lanes[lane_id].speed_limit),  # m/s
            "target_point": tp[0],
            "target_point_next": tp[1],
            "command": int(obs.command) if obs is not None else 4,
            "next_command": int(obs.command) if obs is not None else 4,  # our route planner has no look-ahead command
            "aim_wp": _aim_point(route, ego.speed),
            "route": route[: self.layout.route_points_saved].tolist(),
            "route_original": obs.route.tolist() if obs is not None else [],
            "changed_route": bool(lateral is not None and abs(float(lateral.profile.target)) > 0.05),
            "speed_reduced_by_obj_type": None,
            "speed_reduced_by_obj_id": None,
            "speed_reduced_by_obj_distance": None,
            "steer": float(steer),
            "throttle": float(throttle),
            "brake": bool(brake > 0.05),
            "control_brake": float(brake),
            "junction": bool(world.map.lanes[lane_id].is_junction),
            "vehicle_hazard": any(r.startswith(("leader", "give way")) for r in reasons),
            "vehicle_affecting_id": None,
            "light_hazard": any(r.startswith("light") for r in reasons),
            "walker_hazard": "walker" in reasons,
            "walker_affecting_id": None,
            "stop_sign_hazard": "stop sign" in reasons,
            "stop_sign_close": "stop sign" in reasons,
            "walker_close": "walker" in reasons,
            "walker_close_id": None,
            "angle": float(math.atan2(tp[0][1], tp[0][0])),
            "augmentation_translation": 0.0,
            "augmentation_rotation": 0.0,
            "ego_matrix": ego_matrix(ego.x, ego.y, ego.yaw),
            # automot additions
            "tick": int(tick),
            "timestamp": float(world.time),
            "expert_waypoints": plan.waypoints.tolist() if plan is not None else [],
            "expert_reasons": reasons,
            "executed_steer": float(executed[0]),
            "executed_throttle": float(executed[1]),
            "executed_brake": float(executed[2]),
            "perturbed": bool(perturbed),
            "perturbation_steer": float(pulse_steer),
        }


def _aim_point(route: np.ndarray, speed: float) -> list[float]:
    """The route point the lateral controller aims at (look-ahead clip(0.9755 v_kmh + 1.9153, 24, 105) dm)."""
    if len(route) == 0:
        return [0.0, 0.0]
    ahead = float(np.clip(0.9755 * speed * 3.6 + 1.9153, 24, 105)) / 10.0
    pts = np.vstack([[0.0, 0.0], route])
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    return [float(np.interp(ahead, s, pts[:, 0])), float(np.interp(ahead, s, pts[:, 1]))]


class RecordingAgent:
    """Leaderboard-protocol proxy around the expert agent: records frames, injects recovery pulses."""

    def __init__(self, inner: Any, runner: RouteRunner, folder: RouteFolder, layout: LayoutConfig,
                 perturber: SteeringPerturber, camera_id: str) -> None:
        self.inner, self.runner, self.folder, self.layout = inner, runner, folder, layout
        self.perturber = perturber
        self.camera_id = camera_id
        self.recorded_sensor_ids = frozenset({camera_id})  # rendered for the recorder even if no planner reads it
        self.writer = FrameWriter(runner, layout)
        self.tick = 0
        self.frames = 0
        folder.create()

    def __getattr__(self, name: str) -> Any:  # everything else is the agent's (hero_actor, last_plan, ...)
        return getattr(self.inner, name)

    def sensor_ids_read(self) -> frozenset[str] | None:
        """What the agent reads plus the recorded camera (the expert alone reads no camera)."""
        inner = getattr(self.inner, "sensor_ids_read", None)
        read = inner() if inner is not None else None
        return None if read is None else read | self.recorded_sensor_ids

    def set_global_plan(self, gps: list, world: list) -> None:
        self.inner.set_global_plan(gps, world)

    def setup(self, argument: str) -> None:
        self.inner.setup(argument)

    def sensors(self) -> list[dict]:
        return self.inner.sensors()

    def destroy(self) -> None:
        self.inner.destroy()

    def run_step(self, input_data: dict, timestamp: float) -> Any:
        control = self.inner.run_step(input_data, timestamp)
        tick = self.tick
        self.tick += 1
        steer, offset = self.perturber.executed_steer(tick, self.runner.world, float(control.steer))
        executed = (steer, float(control.throttle), float(control.brake))
        every = self.layout.save_every_ticks
        if tick % every == 0:
            self._save(tick, input_data, executed, offset)
        return make_vehicle_control(*executed)

    def _save(self, tick: int, input_data: dict, executed: tuple[float, float, float], offset: float) -> None:
        index = tick // self.layout.save_every_ticks
        # the motion into this frame came from the controls of the previous save_every ticks
        perturbed = tick > 0 and self.perturber.touched(tick - self.layout.save_every_ticks, tick - 1)
        frame = input_data.get(self.camera_id)
        image = None if frame is None or frame[1] is None else np.ascontiguousarray(frame[1][:, :, :3])
        obs = self.inner.last_observation
        lidar = obs.lidar_points if obs is not None else np.zeros((0, 4), np.float32)
        measurement = self.writer.measurement(self.inner, tick, executed, perturbed, offset)
        boxes = self.writer.boxes(lidar, self.runner.ego_index)
        self.folder.write_frame(index, image, lidar, measurement, boxes, self.layout.jpeg_quality,
                                self.layout.lidar_precision_m)
        self.frames = index + 1


def perturber_for(seed: int, cfg: Any, dt: float) -> SteeringPerturber:
    """The route's perturber, seeded apart from the world's own generator."""
    return SteeringPerturber(cfg, random.Random(seed * 7919 + 17), dt)
