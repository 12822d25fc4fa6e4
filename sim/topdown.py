"""Top-down view per tick (map, route, actors, light states, the agent's plan) and the route's mp4."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from core.frames import ego_to_world
from sim.config import VideoConfig
from sim.raster import GROUND_BGR, ground_raster

if TYPE_CHECKING:
    from sim.route_runner import RouteRunner

ROUTE_BGR = (255, 160, 60)
PLAN_ROUTE_BGR = (0, 255, 255)
PLAN_WAYPOINT_BGR = (255, 0, 255)
EGO_BGR = (0, 0, 255)
ROLE_BGR = {"background": (200, 200, 200), "scenario": (0, 165, 255), "static": (120, 120, 120)}
LIGHT_BGR = {"red": (0, 0, 255), "yellow": (0, 220, 255), "green": (0, 200, 0)}
EMERGENCY_BGR = (255, 0, 0)
WALKER_BGR = (255, 255, 0)


class TopDownRenderer:
    """North-up crop of the ground raster around the ego, drawn over with cv2."""

    def __init__(self, runner: RouteRunner, cfg: VideoConfig, resolution: float) -> None:
        self.runner, self.cfg = runner, cfg
        self.raster = ground_raster(runner.map.name, resolution)
        self.colour = GROUND_BGR  # per class

    def _to_px(self, xy: np.ndarray, centre: np.ndarray) -> np.ndarray:
        half = self.cfg.size_px / 2
        return ((np.asarray(xy) - centre) * self.cfg.pixels_per_meter + half).astype(np.int32)

    def render(self, agent: Any = None) -> np.ndarray:
        cfg, world, r = self.cfg, self.runner.world, self.raster
        ego = world.ego
        centre = np.array([ego.x, ego.y])
        half_m = cfg.size_px / 2 / cfg.pixels_per_meter
        ys = centre[1] + (np.arange(cfg.size_px) + 0.5 - cfg.size_px / 2) / cfg.pixels_per_meter
        xs = centre[0] + (np.arange(cfg.size_px) + 0.5 - cfg.size_px / 2) / cfg.pixels_per_meter
        rows = np.clip(((ys - r.y0) / r.resolution).astype(np.int32), 0, r.classes.shape[0] - 1)
        cols = np.clip(((xs - r.x0) / r.resolution).astype(np.int32), 0, r.classes.shape[1] - 1)
        img = np.ascontiguousarray(self.colour[r.classes[np.ix_(rows, cols)]])
        route = self.runner.route.xy
        near = np.all(np.abs(route - centre) < half_m * 1.5, axis=1)
        if near.any():
            cv2.polylines(img, [self._to_px(route[near], centre)], False, ROUTE_BGR, 2, cv2.LINE_AA)
        states = world.light_states
        for light in world.map.lights:
            for lane_id in light.lanes:
                end = world.map.lanes[lane_id].points[-1]
                if np.all(np.abs(end - centre) < half_m):
                    cv2.circle(img, tuple(self._to_px(end, centre)), 4, LIGHT_BGR[states.get(light.id, "green")], -1)
        for a in world.actors.values():
            if a.role == "infrastructure" or abs(a.x - ego.x) > half_m + 10 or abs(a.y - ego.y) > half_m + 10:
                continue
            if a.id == ego.id:
                colour = EGO_BGR
            elif a.emergency:
                colour = EMERGENCY_BGR
            elif a.is_walker:
                colour = WALKER_BGR
            elif a.type_id == "static.building":
                colour = (90, 90, 90)
            else:
                colour = ROLE_BGR.get(a.role, (200, 200, 200))
            if a.is_walker:
                cv2.circle(img, tuple(self._to_px(a.xy, centre)), 3, colour, -1, cv2.LINE_AA)
                continue
            cv2.fillConvexPoly(img, self._to_px(a.corners(), centre), colour, cv2.LINE_AA)
        plan = getattr(agent, "last_plan", None)
        if plan is not None:
            pose = (ego.xy, ego.yaw)
            pts = ego_to_world(np.asarray(plan.route, dtype=np.float64), *pose)
            cv2.polylines(img, [self._to_px(pts, centre)], False, PLAN_ROUTE_BGR, 1, cv2.LINE_AA)
            for p in ego_to_world(np.asarray(plan.waypoints, dtype=np.float64), *pose):
                cv2.circle(img, tuple(self._to_px(p, centre)), 3, PLAN_WAYPOINT_BGR, -1)
        text = (f"t={world.time:5.1f}s v={ego.speed * 3.6:5.1f}km/h RC={self.runner.completion.actual_value:5.1f}%"
                f" steer={world.control[0]:+.2f} thr={world.control[1]:.2f} brk={world.control[2]:.2f}")
        cv2.rectangle(img, (0, 0), (cfg.size_px, 22), (0, 0, 0), -1)
        cv2.putText(img, text, (6, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
        return img


class RouteVideo:
    """mp4 of the top-down view, one frame every `every_ticks` ticks."""

    def __init__(self, path: Path, runner: RouteRunner) -> None:
        import imageio.v2 as imageio

        cfg = runner.cfg.video
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.renderer = TopDownRenderer(runner, cfg, runner.cfg.render.raster_resolution_m)
        self.every = max(1, cfg.every_ticks)
        self.writer = imageio.get_writer(str(self.path), fps=cfg.fps, codec="libx264", quality=7,
                                         macro_block_size=16, ffmpeg_log_level="error")

    def add(self, runner: RouteRunner, agent: Any) -> None:
        if runner.world.tick_count % self.every == 0:
            self.writer.append_data(cv2.cvtColor(self.renderer.render(agent), cv2.COLOR_BGR2RGB))

    def close(self) -> None:
        self.writer.close()

