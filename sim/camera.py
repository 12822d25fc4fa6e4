"""RGB camera: perspective projection of the flat world, uint8 H x W x 4 BGRA as CARLA delivers it.

Because the ground is flat and the camera is rigidly mounted, every ground
pixel's ego-frame hit point is fixed: it is computed once, and a frame is a
rotation + gather from the map's class raster through a palette that already
holds the distance haze. Actors (and light heads, buildings) are shaded boxes
drawn far-to-near over it. CARLA camera axes: x forward, y right, z up;
u = cx + f y / x, v = cy - f z / x, f = W / (2 tan(fov / 2)).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from core.frames import rotation_matrix
from sim.config import RenderConfig
from sim.raster import GROUND_BGR, NUM_CLASSES, GroundRaster
from sim.world import BoxArrays

SKY_HORIZON_BGR = np.array([215, 200, 185], dtype=np.float32)
SKY_ZENITH_BGR = np.array([200, 140, 80], dtype=np.float32)
SUN_DIR = np.array([-0.35, 0.45, 0.82])  # world, unit-ish: shading of box faces
# Box faces as corner indices (corners: x +/-, y +/-, z +/- in binary order) and their outward normals.
CORNER_SIGNS = np.array([[sx, sy, sz] for sx in (1, -1) for sy in (1, -1) for sz in (1, -1)], dtype=np.float64)
FACES = ((0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3))
REMAP_WIDTH = 4096
FACE_NORMALS = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], dtype=np.float64)


def intrinsics(width: int, height: int, fov_deg: float) -> tuple[float, float, float]:
    """(focal px, cx, cy) of a CARLA camera."""
    return width / (2.0 * math.tan(math.radians(fov_deg) / 2.0)), width / 2.0, height / 2.0


class CameraRenderer:
    def __init__(self, spec: dict, raster: GroundRaster, cfg: RenderConfig) -> None:
        self.w, self.h = int(spec["width"]), int(spec["height"])
        self.f, self.cx, self.cy = intrinsics(self.w, self.h, float(spec["fov"]))
        self.mount_pos = np.array([spec["x"], spec["y"], spec["z"]], dtype=np.float64)
        self.mount_rot = rotation_matrix(spec.get("roll", 0.0), spec.get("pitch", 0.0), spec.get("yaw", 0.0))
        self.raster, self.cfg = raster, cfg
        self._precompute()

    def _precompute(self) -> None:
        cfg, r = self.cfg, self.raster
        u, v = np.meshgrid(np.arange(self.w) + 0.5, np.arange(self.h) + 0.5)
        rays = np.stack([np.ones_like(u), (u - self.cx) / self.f, -(v - self.cy) / self.f], axis=-1)
        d = rays.reshape(-1, 3) @ self.mount_rot.T  # ego-frame directions
        norm = np.linalg.norm(d, axis=1)
        elev = np.arcsin(np.clip(d[:, 2] / norm, -1, 1))
        sky_t = np.clip(elev / 0.6, 0.0, 1.0)[:, None]
        base = (SKY_HORIZON_BGR * (1 - sky_t) + SKY_ZENITH_BGR * sky_t).astype(np.uint8)
        down = d[:, 2] < -1e-6
        t = np.where(down, -self.mount_pos[2] / np.where(down, d[:, 2], -1.0), np.inf)
        gx = self.mount_pos[0] + t * d[:, 0]
        gy = self.mount_pos[1] + t * d[:, 1]
        dist = np.hypot(gx - self.mount_pos[0], gy - self.mount_pos[1])
        ground = down & (dist < cfg.max_ground_distance_m)
        base[down & ~ground] = self._haze(SKY_HORIZON_BGR, cfg.max_ground_distance_m).astype(np.uint8)
        self.base = np.concatenate([base, np.full((len(base), 1), 255, np.uint8)], axis=1).reshape(self.h, self.w, 4)
        self.ground_idx = np.flatnonzero(ground)
        n, width = int(ground.sum()), REMAP_WIDTH
        rows = -(-n // width)
        # Padded to a [rows, REMAP_WIDTH] block: cv2.remap needs sides under 32767.
        self.gx = np.zeros(rows * width, np.float32)
        self.gy = np.zeros(rows * width, np.float32)
        self.gx[:n] = gx[ground] / r.resolution
        self.gy[:n] = gy[ground] / r.resolution
        self.gx, self.gy = self.gx.reshape(rows, width), self.gy.reshape(rows, width)
        self.n_ground = n
        bands = cfg.fog_bands
        edges = np.linspace(cfg.fog_start_m, cfg.max_ground_distance_m, bands)
        band = np.clip(np.searchsorted(edges, dist[ground]), 0, bands - 1).astype(np.int32)
        self.band_offset = band * NUM_CLASSES
        centres = np.concatenate([[0.0], (edges[:-1] + edges[1:]) / 2])[:bands]
        palette = np.zeros((bands * NUM_CLASSES, 4), np.uint8)
        for b in range(bands):
            palette[b * NUM_CLASSES:(b + 1) * NUM_CLASSES, :3] = self._haze(GROUND_BGR.astype(np.float32), centres[b])
        palette[:, 3] = 255
        self.palette = palette
        self.palette32 = palette.view(np.uint32).ravel()  # one BGRA pixel per element: 4x fewer gathers

    def _haze(self, colour: np.ndarray, distance: float) -> np.ndarray:
        cfg = self.cfg
        f = cfg.fog_max_blend * np.clip((distance - cfg.fog_start_m) / (cfg.max_ground_distance_m - cfg.fog_start_m), 0, 1)
        return np.clip(colour * (1 - f) + SKY_HORIZON_BGR * f, 0, 255)

    def camera_pose(self, ego_x: float, ego_y: float, ego_yaw: float) -> tuple[np.ndarray, np.ndarray]:
        """(world position [3], rotation camera -> world [3, 3])."""
        c, s = math.cos(ego_yaw), math.sin(ego_yaw)
        r_ego = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        return np.array([ego_x, ego_y, 0.0]) + r_ego @ self.mount_pos, r_ego @ self.mount_rot

    def render(self, ego_x: float, ego_y: float, ego_yaw: float, boxes: BoxArrays | None) -> np.ndarray:
        img = self.base.copy()
        r = self.raster
        c, s = np.float32(math.cos(ego_yaw)), np.float32(math.sin(ego_yaw))
        col = c * self.gx
        col -= s * self.gy
        col += np.float32((ego_x - r.x0) / r.resolution)
        row = s * self.gx
        row += c * self.gy
        row += np.float32((ego_y - r.y0) / r.resolution)
        # Nearest-cell lookup of the class raster (cv2.remap clamps at the border like the grass margin).
        cls = cv2.remap(r.classes, col, row, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)
        idx = self.band_offset + cls.ravel()[: self.n_ground]
        img.view(np.uint32).ravel()[self.ground_idx] = self.palette32[idx]
        if boxes is not None and len(boxes.ids):
            self._draw_boxes(img, ego_x, ego_y, ego_yaw, boxes)
        return img

    def _draw_boxes(self, img: np.ndarray, ego_x: float, ego_y: float, ego_yaw: float, boxes: BoxArrays) -> None:
        cam_pos, cam_rot = self.camera_pose(ego_x, ego_y, ego_yaw)
        rel = boxes.center - cam_pos
        dist = np.linalg.norm(rel[:, :2], axis=1)
        radius = np.linalg.norm(boxes.extent, axis=1)
        in_cam = rel @ cam_rot  # box centres in camera axes
        keep = (dist - radius < self.cfg.max_box_distance_m) & (in_cam[:, 0] + radius > self.cfg.near_clip_m)
        # Lateral frustum cull with the box's radius as slack.
        half_fov = math.atan2(self.w / 2, self.f)
        lateral_ok = np.abs(in_cam[:, 1]) - radius < np.maximum(in_cam[:, 0], 0) * math.tan(half_fov) + 1.0
        order = np.flatnonzero(keep & lateral_ok)
        order = order[np.argsort(-dist[order])]
        if len(order) == 0:
            return
        cy, sy = np.cos(boxes.yaw[order]), np.sin(boxes.yaw[order])
        ext = boxes.extent[order]
        local = CORNER_SIGNS[None, :, :] * ext[:, None, :]  # [K, 8, 3]
        wx = cy[:, None] * local[..., 0] - sy[:, None] * local[..., 1]
        wy = sy[:, None] * local[..., 0] + cy[:, None] * local[..., 1]
        corners = np.stack([wx, wy, local[..., 2]], axis=-1) + boxes.center[order][:, None, :]
        cam_corners = (corners - cam_pos) @ cam_rot  # [K, 8, 3]
        normals_world = np.einsum("kij,fj->kfi", np.stack([
            np.stack([cy, -sy, np.zeros_like(cy)], -1), np.stack([sy, cy, np.zeros_like(cy)], -1),
            np.tile([0.0, 0.0, 1.0], (len(order), 1))], 1), FACE_NORMALS)  # [K, 6, 3]
        faces = np.asarray(FACES)
        face_corners = corners[:, faces]  # [K, 6, 4, 3]
        centres = face_corners.mean(axis=2)
        visible = np.einsum("kfi,kfi->kf", normals_world, centres - cam_pos) < 0
        sun = SUN_DIR / np.linalg.norm(SUN_DIR)
        shade = 0.55 + 0.45 * np.maximum(0.0, normals_world @ sun)  # [K, 6]
        cfg = self.cfg
        fog = cfg.fog_max_blend * np.clip((dist[order] - cfg.fog_start_m) / (cfg.max_ground_distance_m - cfg.fog_start_m),
                                          0, 1)
        base = boxes.color[order].astype(np.float32)
        colours = np.clip(base[:, None, :] * shade[..., None] * (1 - fog[:, None, None])
                          + SKY_HORIZON_BGR * fog[:, None, None], 0, 255).astype(np.int32)
        cam_faces = cam_corners[:, faces]  # [K, 6, 4, 3]
        depth = cam_faces[..., 0]
        safe = np.where(depth > cfg.near_clip_m, depth, 1.0)
        uv = np.stack([self.cx + self.f * cam_faces[..., 1] / safe, self.cy - self.f * cam_faces[..., 2] / safe], -1)
        uv = np.round(np.clip(uv, -4 * self.w, 4 * self.w) * 8).astype(np.int32)
        all_front = (depth > cfg.near_clip_m).all(axis=2)
        for k, fi in zip(*np.nonzero(visible)):
            if all_front[k, fi]:
                pts = np.ascontiguousarray(uv[k, fi])
            else:
                poly = self._clip_near(cam_faces[k, fi])
                if poly is None:
                    continue
                pts = np.stack([self.cx + self.f * poly[:, 1] / poly[:, 0], self.cy - self.f * poly[:, 2] / poly[:, 0]], 1)
                pts = np.round(np.clip(pts, -4 * self.w, 4 * self.w) * 8).astype(np.int32)
            c = colours[k, fi]
            cv2.fillConvexPoly(img, pts, (int(c[0]), int(c[1]), int(c[2]), 255), lineType=cv2.LINE_8, shift=3)

    def _clip_near(self, poly: np.ndarray) -> np.ndarray | None:
        """Sutherland-Hodgman clip of a camera-space polygon against the near plane x = near."""
        near = self.cfg.near_clip_m
        inside = poly[:, 0] >= near
        if inside.all():
            return poly
        if not inside.any():
            return None
        out = []
        n = len(poly)
        for i in range(n):
            a, b = poly[i], poly[(i + 1) % n]
            if a[0] >= near:
                out.append(a)
            if (a[0] >= near) != (b[0] >= near):
                t = (near - a[0]) / (b[0] - a[0])
                out.append(a + t * (b - a))
        return np.asarray(out) if len(out) >= 3 else None
