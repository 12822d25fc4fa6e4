"""Debug frames (projection through the front camera, BEV, text, mp4) and the CARLA debug drawer
(spectator placement, ego -> world conversion, world.debug calls) with real carla types."""

from __future__ import annotations

import importlib.util
import math

import cv2
import numpy as np
import pytest

from agent.automot_config import AgentConfig, agent_config_from_dict
from agent.carla_debug_draw import CarlaDebugDrawer
from agent.debug_frames import DebugFrameRecorder, frames_to_video, project_ego_points
from agent.debug_view_config import DebugViewConfig
from controllers.command import VehicleCommand
from planner.interface import EgoState, Observation, Plan
from sensors.sensor_config import CameraSpec, SensorConfig

HAVE_CARLA = importlib.util.find_spec("carla") is not None


def observation(config: AgentConfig, tick: int = 0) -> Observation:
    s = config.sensors
    size = s.bev.size_px
    bev = np.zeros((2, size, size), dtype=np.float32)
    bev[1, size // 4, size // 2] = 1.0
    return Observation(
        tick=tick, timestamp=tick * 0.05,
        images=np.full((s.history_frames, s.model_image_height, s.model_image_width, 3), 40, dtype=np.uint8),
        lidar_bev=bev, lidar_points=np.zeros((0, 4), dtype=np.float32), speed=5.0,
        target_points=np.array([[12.0, 1.0], [30.0, 2.0]], dtype=np.float32), command=4,
        route=np.array([[float(x), 0.0] for x in range(0, 40, 2)], dtype=np.float32),
        ego=EgoState(position=np.zeros(2), yaw=0.0, speed=5.0),
    )


def a_plan() -> Plan:
    return Plan(waypoints=np.array([[2.5 * (i + 1) + 5, 0.0] for i in range(6)], dtype=np.float32),
                route=np.array([[float(x), 0.5] for x in range(5, 25)], dtype=np.float32),
                decisions=("keep", "slow", "stop"), target_speed=4.0)


def test_point_on_the_optical_axis_projects_to_the_image_centre_and_right_is_right():
    sensors = SensorConfig()
    cam = sensors.cameras[0]
    uv, front = project_ego_points(np.array([[20.0, cam.y, cam.z], [20.0, 3.0, cam.z], [10.0, 0.0, 0.0],
                                             [-5.0, 0.0, 0.0]]), cam, sensors, 512, 256)
    assert uv[0] == pytest.approx([256.0, 128.0])
    assert uv[1, 0] > 256 and uv[2, 1] > 128  # right of centre; ground ahead is below the horizon
    assert front.tolist() == [True, True, True, False]


@pytest.mark.carla
@pytest.mark.skipif(not HAVE_CARLA, reason="carla client not installed")
def test_projection_matches_carlas_own_camera_matrix_with_pitch_yaw_and_crop():
    import carla

    cam = CameraSpec(id="rgb_front", x=1.3, y=0.4, z=2.3, pitch=-8.0, yaw=5.0, roll=0.0, width=1600, height=900,
                     fov=70.0)
    sensors = SensorConfig(cameras=(cam,), crop_width=1280, crop_height=640, model_image_width=512,
                           model_image_height=256)
    points = np.array([[15.0, -2.0, 0.0], [30.0, 4.0, 1.0], [8.0, 1.0, 0.5]])
    uv, front = project_ego_points(points, cam, sensors, 512, 256)
    # Reference: CARLA's matrices (as in its camera-projection tutorial), then crop + resize.
    inverse = np.array(carla.Transform(carla.Location(x=cam.x, y=cam.y, z=cam.z),
                                       carla.Rotation(pitch=cam.pitch, yaw=cam.yaw, roll=cam.roll)).get_inverse_matrix())
    focal = cam.width / (2 * math.tan(math.radians(cam.fov) / 2))
    for p, got in zip(points, uv):
        c = inverse @ np.append(p, 1.0)
        u = cam.width / 2 + focal * c[1] / c[0]
        v = cam.height / 2 - focal * c[2] / c[0]
        u, v = (u - (1600 - 1280) // 2) * 512 / 1280, (v - (900 - 640) // 2) * 256 / 640
        assert got == pytest.approx([u, v], abs=1e-3)  # carla matrices are float32
    assert front.all()


def test_frame_shows_the_plan_where_it_projects_and_writes_jpg_and_mp4(tmp_path):
    config = agent_config_from_dict({"logging": {"debug_frames": True, "debug_video": True}})
    view = DebugViewConfig(camera_scale=2.0, bev_panel_px=256, text_bar_px=96)
    recorder = DebugFrameRecorder(tmp_path / "debug", config, view)
    obs, plan = observation(config), a_plan()
    frame = recorder.compose(0, obs, plan, VehicleCommand(0.1, 0.5, 0.0), plan.decisions)
    assert frame.shape[0] % 16 == 0 and frame.shape[1] % 16 == 0
    # a waypoint, projected and scaled into the camera panel, carries the waypoint colour (BGR)
    uv, _ = project_ego_points(np.array([[plan.waypoints[2, 0], 0.0, 0.0]]), config.sensors.cameras[0],
                               config.sensors, 512, 256)
    u, v = (uv[0] * 2).round().astype(int)
    assert tuple(frame[v, u]) == (60, 60, 255)
    # in the BEV panel (right of the 1024 px camera panel): ego x=10 m ahead on the centre line
    ppm = 256 / 64.0
    assert tuple(frame[int((32 - 10.0) * ppm), 1024 + int(32 * ppm)]) == (60, 60, 255)
    for tick in range(3):
        assert recorder.record(tick, observation(config, tick), plan, VehicleCommand(0.0, 0.3, 0.0),
                               plan.decisions).is_file()
    video = recorder.close()
    assert sorted(p.name for p in (tmp_path / "debug").glob("*.jpg")) == ["000000.jpg", "000001.jpg", "000002.jpg"]
    import imageio.v2 as imageio

    reader = imageio.get_reader(str(video))
    assert sum(1 for _ in reader) == 3
    reader.close()
    assert frames_to_video(tmp_path / "debug", tmp_path / "again.mp4", fps=10) == 3


def test_no_plan_yet_and_stride(tmp_path):
    config = AgentConfig()
    recorder = DebugFrameRecorder(tmp_path, config, DebugViewConfig(frame_stride=2))
    assert recorder.record(1, observation(config), None, VehicleCommand.full_brake(), ()) is None
    path = recorder.record(2, observation(config), None, VehicleCommand.full_brake(), ())
    assert cv2.imread(str(path)) is not None and recorder.close() is None  # debug_video off: no mp4


class FakeDebug:
    def __init__(self):
        self.calls = []

    def draw_point(self, location, size, color, life_time):
        self.calls.append(("point", location, size, color, life_time))

    def draw_line(self, begin, end, thickness, color, life_time):
        self.calls.append(("line", begin, end, thickness, color, life_time))

    def draw_string(self, location, text, draw_shadow, color, life_time):
        self.calls.append(("string", location, text))


class FakeSpectator:
    def __init__(self):
        self.transforms = []

    def set_transform(self, transform):
        self.transforms.append(transform)


class FakeWorld:
    def __init__(self):
        self.debug = FakeDebug()
        self.spectator = FakeSpectator()

    def get_spectator(self):
        return self.spectator


@pytest.mark.carla
@pytest.mark.skipif(not HAVE_CARLA, reason="carla client not installed")
@pytest.mark.parametrize("mode", ["chase", "top_down", "off"])
def test_drawer_places_spectator_and_draws_in_world_coordinates(mode):
    import carla

    config = agent_config_from_dict({"logging": {"spectator": mode, "draw_plan": True}})
    world = FakeWorld()
    drawer = CarlaDebugDrawer(world, config)
    hero = carla.Transform(carla.Location(x=100.0, y=50.0, z=0.3), carla.Rotation(yaw=90.0))
    plan = Plan(waypoints=np.array([[10.0, 0.0], [0.0, 5.0]], dtype=np.float32),
                route=np.array([[0.0, 0.0], [5.0, 0.0], [10.0, 0.0]], dtype=np.float32), decisions=("keep",))
    drawer.update(hero, plan, None)
    view = drawer.view
    if mode == "off":
        assert world.spectator.transforms == []
    else:
        spot = world.spectator.transforms[-1]
        assert isinstance(spot, carla.Transform)
        if mode == "chase":  # behind the car (heading +y), above it, looking along the heading
            assert (spot.location.x, spot.location.y) == pytest.approx((100.0, 50.0 - view.chase_distance_m), abs=1e-4)
            assert spot.location.z == pytest.approx(0.3 + view.chase_height_m, abs=1e-4)
            assert spot.rotation.yaw == pytest.approx(90.0) and spot.rotation.pitch == pytest.approx(view.chase_pitch_deg)
        else:
            assert (spot.location.x, spot.location.y) == pytest.approx((100.0, 50.0), abs=1e-4)
            assert spot.rotation.pitch == pytest.approx(-90.0)
    points = [c[1] for c in world.debug.calls if c[0] == "point"]
    assert all(isinstance(p, carla.Location) for p in points)
    # ego (10, 0) = 10 m ahead = world +y; ego (0, 5) = 5 m to the right = world -x when heading +y
    assert (points[0].x, points[0].y) == pytest.approx((100.0, 60.0), abs=1e-4)
    assert (points[1].x, points[1].y) == pytest.approx((95.0, 50.0), abs=1e-4)
    assert points[0].z == pytest.approx(0.3 + view.draw_height_m, abs=1e-4)
    lines = [c for c in world.debug.calls if c[0] == "line"]
    assert len(lines) == 2 and isinstance(lines[0][4], carla.Color) and lines[0][5] == view.draw_life_time_s
    assert ("keep" in [c[2] for c in world.debug.calls if c[0] == "string"])


@pytest.mark.carla
@pytest.mark.skipif(not HAVE_CARLA, reason="carla client not installed")
def test_drawer_with_plan_drawing_off_only_moves_the_spectator():
    import carla

    world = FakeWorld()
    drawer = CarlaDebugDrawer(world, agent_config_from_dict({"logging": {"spectator": "top_down"}}))
    drawer.update(carla.Transform(carla.Location(x=1.0, y=2.0, z=0.0), carla.Rotation(yaw=0.0)), a_plan(),
                  observation(AgentConfig()))
    assert len(world.spectator.transforms) == 1 and world.debug.calls == []
