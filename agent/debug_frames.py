"""Debug frames: what the agent saw and what it planned, one image per tick, an mp4 per route.

    recorder = DebugFrameRecorder(save_dir / "debug", agent_config)
    recorder.record(tick, observation, plan, command, plan.decisions)   # every tick
    recorder.close()                                                      # end of route

A frame: the front camera (the network's image) with the predicted waypoints, the
planned route, the target points and the global route projected through the camera's
pose and field of view from config.sensors; beside it the LiDAR BEV with the same plan
drawn from above; under both a text bar with the decision words, speed and controls.
Frames are JPEG files 000000.jpg, ... in save_dir; with config.logging.debug_video the
same frames stream into save_dir/debug.mp4 (imageio-ffmpeg). Used both under CARLA and
in the embedded simulator, so their frames look the same. numpy + cv2 only.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from agent.debug_view_config import DebugViewConfig, debug_view_of
from controllers.command import VehicleCommand
from planner.interface import Observation, Plan
from sensors.camera_geometry import camera_intrinsics, project_ego_points  # noqa: F401  (re-exported)
from sensors.sensor_config import SensorConfig

ROAD_OPTION_NAMES = {-1: "VOID", 1: "LEFT", 2: "RIGHT", 3: "STRAIGHT", 4: "LANEFOLLOW", 5: "CHANGELANELEFT",
                     6: "CHANGELANERIGHT"}


def _on_ground(points_xy: np.ndarray) -> np.ndarray:
    points_xy = np.asarray(points_xy, dtype=np.float64).reshape(-1, 2)
    return np.concatenate([points_xy, np.zeros((len(points_xy), 1))], axis=1)


def _bgr(color: tuple[int, int, int]) -> tuple[int, int, int]:
    return (int(color[2]), int(color[1]), int(color[0]))


class DebugFrameRecorder:
    def __init__(self, save_dir: Path, config: object, view: DebugViewConfig | None = None) -> None:
        self.save_dir = Path(save_dir)
        self.save_dir.mkdir(parents=True, exist_ok=True)
        self.config = config
        self.sensors: SensorConfig = config.sensors
        self.view = view or debug_view_of(config)
        self.camera = next(c for c in self.sensors.cameras if c.id == self.sensors.front_camera_id)
        self.write_video = bool(getattr(getattr(config, "logging", None), "debug_video", False))
        self.frames_written = 0
        self._writer = None
        self.video_path = self.save_dir / "debug.mp4"

    # ---- panels ------------------------------------------------------------------------
    def camera_panel(self, observation: Observation, plan: Plan | None) -> np.ndarray:
        rgb = observation.current_image
        h, w = rgb.shape[:2]
        scale = self.view.camera_scale
        out_w, out_h = _even16(w * scale), _even16(h * scale)
        image = cv2.resize(np.ascontiguousarray(rgb[:, :, ::-1]), (out_w, out_h), interpolation=cv2.INTER_LINEAR)
        sx, sy = out_w / w, out_h / h

        def draw(points_xy, color, radius, line):
            if points_xy is None or len(points_xy) == 0:
                return
            uv, front = project_ego_points(_on_ground(points_xy), self.camera, self.sensors, w, h,
                                           self.view.min_depth_m)
            pixels = [(int(np.rint(p[0] * sx)), int(np.rint(p[1] * sy))) for p, ok in zip(uv, front) if ok]
            if line and len(pixels) > 1:
                cv2.polylines(image, [np.array(pixels, dtype=np.int32)], False, _bgr(color), 2, cv2.LINE_AA)
            for p in pixels:
                if abs(p[0]) < 10 * out_w and abs(p[1]) < 10 * out_h:
                    cv2.circle(image, p, radius, _bgr(color), -1, cv2.LINE_AA)

        self._draw_layers(draw, observation, plan, radii=(2, 3, 5, 7))
        return image

    def bev_panel(self, observation: Observation, plan: Plan | None) -> np.ndarray:
        size = self.view.bev_panel_px
        bev = np.asarray(observation.lidar_bev, dtype=np.float32)
        panel = np.zeros((bev.shape[1], bev.shape[2], 3), dtype=np.float32)
        panel[..., 0] = bev[0] * 200  # B: at or below the split height (ground)
        panel[..., 1] = bev[0] * 80 + bev[1] * 230
        panel[..., 2] = bev[1] * 230  # R: above (obstacles)
        panel = cv2.resize(np.clip(panel, 0, 255).astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST)
        cfg = self.sensors.bev
        ppm = size / (2.0 * cfg.range_m)

        def to_px(points_xy):
            p = np.asarray(points_xy, dtype=np.float64).reshape(-1, 2)
            # row 0 = far front (x = +range), column 0 = far left (y = -range), like lidar_to_bev
            return np.stack([(p[:, 1] + cfg.range_m) * ppm, (cfg.range_m - p[:, 0]) * ppm], axis=1).astype(np.int32)

        def draw(points_xy, color, radius, line):
            if points_xy is None or len(points_xy) == 0:
                return
            px = to_px(points_xy)
            if line and len(px) > 1:
                cv2.polylines(panel, [px], False, _bgr(color), 1, cv2.LINE_AA)
            for p in px:
                cv2.circle(panel, (int(p[0]), int(p[1])), radius, _bgr(color), -1, cv2.LINE_AA)

        half_l, half_w = self.view.ego_length_m / 2, self.view.ego_width_m / 2
        box = to_px([(half_l, -half_w), (half_l, half_w), (-half_l, half_w), (-half_l, -half_w)])
        cv2.polylines(panel, [box], True, _bgr(self.view.ego_color), 1, cv2.LINE_AA)
        self._draw_layers(draw, observation, plan, radii=(1, 2, 3, 5))
        return panel

    def _draw_layers(self, draw, observation: Observation, plan: Plan | None,
                     radii: tuple[int, int, int, int]) -> None:
        """Global route, planned route, waypoints, targets (back to front) with one `draw(points, colour, radius, line)`."""
        draw(observation.route, self.view.global_route_color, radii[0], True)
        if plan is not None:
            draw(plan.route, self.view.route_color, radii[1], True)
            draw(plan.waypoints, self.view.waypoint_color, radii[2], False)
        draw(observation.target_points, self.view.target_color, radii[3], False)

    def text_bar(self, width: int, tick: int, observation: Observation, plan: Plan | None,
                 command: VehicleCommand, decisions: tuple[str, ...]) -> np.ndarray:
        bar = np.zeros((self.view.text_bar_px, width, 3), dtype=np.uint8)
        target = "-" if plan is None or plan.target_speed is None else f"{plan.target_speed * 3.6:.1f}"
        lines = [
            f"tick {tick}  t={observation.timestamp:.2f}s  command {ROAD_OPTION_NAMES.get(observation.command, observation.command)}"
            + ("  EMERGENCY STOP" if plan is not None and plan.emergency_stop else "")
            + ("  (no plan yet)" if plan is None else ""),
            f"speed {observation.speed * 3.6:.1f} km/h ({observation.speed:.2f} m/s)  target {target} km/h",
            "decisions: " + (" | ".join(decisions) if decisions else "-"),
        ]
        for i, text in enumerate(lines):
            cv2.putText(bar, text, (10, 28 + 30 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 1, cv2.LINE_AA)
        x0, bar_w = width - 330, 220
        for i, (name, value, lo) in enumerate((("steer", command.steer, -1.0), ("throttle", command.throttle, 0.0),
                                                ("brake", command.brake, 0.0))):
            y = 20 + 34 * i
            cv2.putText(bar, f"{name} {value:+.2f}", (x0 - 150, y + 15), cv2.FONT_HERSHEY_SIMPLEX, 0.6,
                        (255, 255, 255), 1, cv2.LINE_AA)
            cv2.rectangle(bar, (x0, y), (x0 + bar_w, y + 18), (90, 90, 90), 1)
            zero = x0 + int(bar_w * (0.0 - lo) / (1.0 - lo))
            end = x0 + int(bar_w * (float(np.clip(value, lo, 1.0)) - lo) / (1.0 - lo))
            cv2.rectangle(bar, (min(zero, end), y + 2), (max(zero, end), y + 16), (0, 200, 255), -1)
        return bar

    def compose(self, tick: int, observation: Observation, plan: Plan | None, command: VehicleCommand,
                decisions: tuple[str, ...]) -> np.ndarray:
        """[H, W, 3] uint8 BGR frame; sides are multiples of 16 (what H.264 encoders want)."""
        camera = self.camera_panel(observation, plan)
        bev = self.bev_panel(observation, plan)
        height = max(camera.shape[0], bev.shape[0])
        camera = _pad_to(camera, height)
        bev = _pad_to(bev, height)
        top = np.concatenate([camera, bev], axis=1)
        width = top.shape[1]
        frame = np.concatenate([top, self.text_bar(width, tick, observation, plan, command, decisions)], axis=0)
        return _pad_to_multiple(frame, 16)

    # ---- recording ---------------------------------------------------------------------
    def record(self, tick: int, observation: Observation, plan: Plan | None, command: VehicleCommand,
               decisions: tuple[str, ...]) -> Path | None:
        """Write the frame of this tick (every `frame_stride`-th tick); returns its path."""
        if tick % self.view.frame_stride:
            return None
        frame = self.compose(tick, observation, plan, command, tuple(decisions))
        path = self.save_dir / f"{tick:06d}.jpg"
        cv2.imwrite(str(path), frame, [cv2.IMWRITE_JPEG_QUALITY, self.view.jpeg_quality])
        if self.write_video:
            self._append_video(frame)
        self.frames_written += 1
        return path

    def _append_video(self, frame_bgr: np.ndarray) -> None:
        if self._writer is None:
            import imageio.v2 as imageio

            self._writer = imageio.get_writer(str(self.video_path), fps=self.view.video_fps, codec="libx264",
                                              quality=self.view.video_quality, macro_block_size=16)
        self._writer.append_data(np.ascontiguousarray(frame_bgr[:, :, ::-1]))

    def close(self) -> Path | None:
        """Finish the route's mp4 (when debug_video is on); returns its path."""
        if self._writer is None:
            return None
        self._writer.close()
        self._writer = None
        return self.video_path


def frames_to_video(frame_dir: Path, out_path: Path, fps: float, quality: int = 7) -> int:
    """Assemble saved debug frames (*.jpg in name order) into an mp4; returns the frame count."""
    import imageio.v2 as imageio

    frames = sorted(Path(frame_dir).glob("*.jpg"))
    if not frames:
        return 0
    with imageio.get_writer(str(out_path), fps=fps, codec="libx264", quality=quality, macro_block_size=16) as writer:
        for path in frames:
            image = cv2.imread(str(path))
            writer.append_data(np.ascontiguousarray(_pad_to_multiple(image, 16)[:, :, ::-1]))
    return len(frames)


def _even16(value: float) -> int:
    return max(16, 16 * int(np.rint(value / 16.0)))


def _pad_to(image: np.ndarray, height: int) -> np.ndarray:
    if image.shape[0] >= height:
        return image
    pad = np.zeros((height - image.shape[0], image.shape[1], 3), dtype=image.dtype)
    return np.concatenate([image, pad], axis=0)


def _pad_to_multiple(image: np.ndarray, multiple: int) -> np.ndarray:
    h, w = image.shape[:2]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return image
    return cv2.copyMakeBorder(image, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=(0, 0, 0))
