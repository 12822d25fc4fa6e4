"""Look of the debug views: the saved debug frames and CARLA's spectator / world.debug drawing.

Colours are RGB 0-255; sizes in pixels for frames, metres / seconds for CARLA drawing.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.typed_config import require


@dataclass(frozen=True)
class DebugViewConfig:
    # --- debug frames (agent/debug_frames.py) ---
    frame_stride: int = 1  # keep every n-th tick
    camera_scale: float = 2.0  # the network image (e.g. 512x256) is shown this much larger
    bev_panel_px: int = 512  # side of the LiDAR BEV panel
    text_bar_px: int = 128  # height of the text bar under the panels
    jpeg_quality: int = 90
    video_fps: float = 20.0  # mp4 frame rate (20 = real time at the leaderboard's 20 Hz, stride 1)
    video_quality: int = 7  # imageio-ffmpeg quality 0-10
    min_depth_m: float = 0.5  # points closer than this in front of the camera are not projected
    waypoint_color: tuple[int, int, int] = (255, 60, 60)
    route_color: tuple[int, int, int] = (60, 160, 255)
    target_color: tuple[int, int, int] = (255, 210, 0)
    global_route_color: tuple[int, int, int] = (120, 255, 120)
    ego_color: tuple[int, int, int] = (255, 255, 255)
    ego_length_m: float = 4.9  # drawn ego box (a Lincoln MKZ, the leaderboard's hero)
    ego_width_m: float = 2.1
    # --- CARLA spectator and world.debug (agent/carla_debug_draw.py) ---
    chase_distance_m: float = 8.0  # spectator behind the ego
    chase_height_m: float = 4.0  # ... and above it
    chase_pitch_deg: float = -15.0
    top_down_height_m: float = 45.0
    draw_height_m: float = 0.4  # drawn points float this far above the ego's ground level
    draw_life_time_s: float = 0.06  # a bit longer than one 20 Hz tick, so nothing flickers
    draw_point_size_m: float = 0.12
    draw_line_thickness_m: float = 0.05

    def __post_init__(self) -> None:
        require(self.frame_stride >= 1, "debug_view.frame_stride must be >= 1")
        require(self.camera_scale > 0, "debug_view.camera_scale must be positive")
        require(self.bev_panel_px >= 32 and self.text_bar_px >= 32, "debug_view panels must be >= 32 px")
        require(0 < self.video_fps <= 120, "debug_view.video_fps must be in (0, 120]")
        require(0 <= self.video_quality <= 10, "debug_view.video_quality must be in 0..10")
        require(1 <= self.jpeg_quality <= 100, "debug_view.jpeg_quality must be in 1..100")


def debug_view_of(config: object) -> DebugViewConfig:
    """config.logging.debug_view when the agent config has it, else the defaults."""
    view = getattr(getattr(config, "logging", None), "debug_view", None)
    return view if isinstance(view, DebugViewConfig) else DebugViewConfig()
