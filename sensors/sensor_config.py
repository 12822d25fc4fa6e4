"""Sensor rig and sensor-processing configuration.

Poses follow the leaderboard: metres / degrees in the ego vehicle frame
(CARLA, left-handed: x forward, y right, z up), relative to the vehicle origin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from core.typed_config import require

# Sizes beyond these cannot be processed every tick (a 1e9-pixel BEV passes no other check).
MAX_IMAGE_SIDE_PX = 8192
MAX_BEV_SIDE_PX = 4096


@dataclass(frozen=True)
class CameraSpec:
    id: str
    x: float  # m, forward
    y: float  # m, right
    z: float  # m, up
    roll: float = 0.0  # deg
    pitch: float = 0.0  # deg
    yaw: float = 0.0  # deg, positive turns right (CARLA)
    width: int = 1024  # px
    height: int = 512  # px
    fov: float = 110.0  # deg, horizontal

    def __post_init__(self) -> None:
        require(bool(self.id), "camera id must not be empty")
        require(0 < self.width <= MAX_IMAGE_SIDE_PX and 0 < self.height <= MAX_IMAGE_SIDE_PX,
                f"camera '{self.id}': width/height must be in 1..{MAX_IMAGE_SIDE_PX} px, got {self.width}x{self.height}")
        require(0.0 < self.fov < 180.0, f"camera '{self.id}': fov must be in (0, 180) degrees")


@dataclass(frozen=True)
class LidarSpec:
    id: str = "lidar"
    x: float = 0.0
    y: float = 0.0
    z: float = 2.5
    roll: float = 0.0
    pitch: float = 0.0
    # -90 deg as AutoMoT mounts it; sensors/lidar.py maps points back into the ego
    # frame with the mount pose, whatever it is.
    yaw: float = -90.0


@dataclass(frozen=True)
class BevConfig:
    """LiDAR bird's-eye-view histogram (ego frame, x forward / y right)."""

    pixels_per_meter: float = 4.0
    range_m: float = 32.0  # half-width: the grid covers [-range, +range] in x and y
    split_height_m: float = 0.2  # points below/above this height (ego frame, m above ground) split channels
    max_points_per_cell: int = 5  # counts are clipped here, then divided by it -> [0, 1]
    ground_height_m: float = 0.0  # ego-frame z of the ground (vehicle origin sits on the ground in CARLA)
    max_height_m: float = 100.0  # points above this ego-frame height are dropped

    def __post_init__(self) -> None:
        require(self.pixels_per_meter > 0, "bev.pixels_per_meter must be positive")
        require(self.range_m > 0, "bev.range_m must be positive")
        require(1 <= self.max_points_per_cell <= 1_000_000, "bev.max_points_per_cell must be in 1..1e6")
        # The grid is 2 x side^2 float32 per tick (and again in the network): keep it to what fits.
        side = 2 * self.range_m * self.pixels_per_meter
        require(1 <= side <= MAX_BEV_SIDE_PX,  # False for inf and NaN too
                f"2 x range_m x pixels_per_meter = {side:.4g} px per side; it must be in 1..{MAX_BEV_SIDE_PX}")

    @property
    def size_px(self) -> int:
        return round(2 * self.range_m * self.pixels_per_meter)


@dataclass(frozen=True)
class UkfConfig:
    """The official agent's unscented Kalman filter: state [x, y, yaw, speed], a kinematic bicycle
    model driven by the previous tick's control, measurements [GNSS x, y, compass, speed].

    Defaults are the released agent's values (its P, Q, R and Merwe sigma points) and the
    bicycle constants it takes from World on Rails."""

    initial_variance: tuple[float, float, float, float] = (0.5, 0.5, 1e-6, 1e-6)  # P0: m^2, m^2, rad^2, (m/s)^2
    process_variance: tuple[float, float, float, float] = (1e-4, 1e-4, 1e-3, 1e-3)  # Q per tick
    measurement_variance: tuple[float, float, float, float] = (0.5, 0.5, 1e-15, 1e-15)  # R
    alpha: float = 1e-5  # sigma-point spread (Merwe)
    beta: float = 2.0
    kappa: float = 0.0
    front_wheelbase_m: float = -0.090769015
    rear_wheelbase_m: float = 1.4178275
    steer_gain: float = 0.36848336  # wheel angle (rad) per unit of steer
    brake_accel_mps2: float = -4.952399  # with any brake
    throttle_accel_mps2: float = 0.5633837  # per unit of throttle

    def __post_init__(self) -> None:
        for name in ("initial_variance", "process_variance", "measurement_variance"):
            require(all(v > 0 for v in getattr(self, name)), f"ukf.{name} must be positive")
        require(self.alpha > 0, "ukf.alpha must be positive")
        require(self.rear_wheelbase_m > 0, "ukf.rear_wheelbase_m must be positive")


@dataclass(frozen=True)
class StateEstimatorConfig:
    """Ego pose and speed from GNSS, compass, speedometer and IMU.

    kind 'kalman': a 2-D position filter, dead reckoning with the speed along the compass
    heading. kind 'ukf': the official agent's unscented filter (see UkfConfig).
    Both gate GNSS outliers and estimate the speed when the speedometer gives none."""

    kind: Literal["kalman", "ukf"] = "kalman"
    process_noise_m: float = 0.05  # std of the dead-reckoning error per tick, m ('kalman')
    gnss_noise_m: float = 0.1  # std of a GNSS fix, m (the leaderboard's GNSS is noise-free by default)
    # A fix farther than gnss_gate_m from the prediction is an outlier and ignored. Each tick
    # without an accepted fix widens the gate by what the car could have moved (max_motion_speed_mps).
    gnss_gate_m: float = 5.0
    # This many outliers in a row that agree with each other mean the car really is there
    # (e.g. it was moved): the estimate restarts at the fix.
    gnss_reacquire_ticks: int = 20
    max_motion_speed_mps: float = 50.0  # the fastest the car can really move
    # Speed without a valid speedometer reading: GNSS displacement over this many ticks ...
    gnss_speed_window_ticks: int = 10
    # ... else the IMU's forward acceleration integrated from the last estimate, for at most
    # this many ticks; after that there is no estimate and the agent brakes.
    imu_speed_max_ticks: int = 20
    # The heading is kept through NaN compass readings for at most this many ticks.
    max_heading_gap_ticks: int = 40
    ukf: UkfConfig = field(default_factory=UkfConfig)

    def __post_init__(self) -> None:
        require(self.process_noise_m > 0 and self.gnss_noise_m > 0, "state estimator noises must be positive")
        require(self.gnss_gate_m > 0, "state_estimator.gnss_gate_m must be positive")
        require(self.gnss_reacquire_ticks >= 1, "state_estimator.gnss_reacquire_ticks must be >= 1")
        require(0 < self.max_motion_speed_mps <= 200, "state_estimator.max_motion_speed_mps must be in (0, 200]")
        require(self.gnss_speed_window_ticks >= 1, "state_estimator.gnss_speed_window_ticks must be >= 1")
        require(self.imu_speed_max_ticks >= 0 and self.max_heading_gap_ticks >= 0,
                "state_estimator tick limits must be >= 0")


@dataclass(frozen=True)
class InputSanityConfig:
    """Bounds on what a sensor may plausibly deliver; readings beyond them are glitches."""

    # The leaderboard's LiDAR gives ~30k points per tick; a sweep with more is thinned
    # evenly to this many (a tick must stay fast whatever arrives).
    max_lidar_points: int = 200_000
    max_lidar_range_m: float = 150.0  # points farther from the sensor (range 85 m) are dropped
    max_speed_mps: float = 100.0  # a speedometer reading above this is not believed
    # Rolling back reads slightly negative (the speedometer is signed): down to this is 0 m/s,
    # below it the reading is not believed.
    negative_speed_tolerance_mps: float = 0.5
    max_acceleration_mps2: float = 100.0  # IMU accelerations beyond this are not believed

    def __post_init__(self) -> None:
        require(1 <= self.max_lidar_points <= 10_000_000, "sanity.max_lidar_points must be in [1, 1e7]")
        require(self.max_lidar_range_m > 0, "sanity.max_lidar_range_m must be positive")
        require(0 < self.max_speed_mps <= 1000, "sanity.max_speed_mps must be in (0, 1000]")
        require(self.negative_speed_tolerance_mps >= 0, "sanity.negative_speed_tolerance_mps must be >= 0")


@dataclass(frozen=True)
class SensorConfig:
    cameras: tuple[CameraSpec, ...] = (
        CameraSpec(id="rgb_front", x=-1.5, y=0.0, z=2.0, width=1024, height=512, fov=110.0),
    )
    front_camera_id: str = "rgb_front"  # the camera the network reads
    lidar: LidarSpec | None = field(default_factory=LidarSpec)
    use_imu: bool = True
    use_gnss: bool = True
    use_speedometer: bool = True
    sim_frequency_hz: float = 20.0  # the leaderboard ticks at 20 Hz
    lidar_rotation_hz: float = 10.0  # fixed by the leaderboard wrapper: half a sweep per tick
    # Network image: the camera frame is cropped to `crop_*` (centre, px of the
    # source image; 0 = no crop) and resized to model_image_width x height.
    crop_width: int = 0
    crop_height: int = 0
    model_image_width: int = 512
    model_image_height: int = 256
    history_frames: int = 4  # frames the understanding expert sees, oldest first
    history_spacing_s: float = 0.25  # time between those frames
    bev: BevConfig = field(default_factory=BevConfig)
    state_estimator: StateEstimatorConfig = field(default_factory=StateEstimatorConfig)
    sanity: InputSanityConfig = field(default_factory=InputSanityConfig)
    # Leaderboard rule: sensors within this distance (m) of the car origin.
    max_mount_distance_m: float = 3.0

    def __post_init__(self) -> None:
        ids = [c.id for c in self.cameras] + ([self.lidar.id] if self.lidar else [])
        require(len(set(ids)) == len(ids), f"sensor ids must be unique, got {ids}")
        require(len(self.cameras) <= 8, "the leaderboard allows at most 8 cameras")
        require(
            any(c.id == self.front_camera_id for c in self.cameras),
            f"front_camera_id '{self.front_camera_id}' is not among the cameras {[c.id for c in self.cameras]}",
        )
        require(1 <= self.history_frames <= 64, "history_frames must be in 1..64")
        require(0 <= self.history_spacing_s <= 60, "history_spacing_s must be in [0, 60] s")
        require(0 < self.sim_frequency_hz <= 1000, "sim_frequency_hz must be in (0, 1000]")
        require(self.model_image_width % 32 == 0 and self.model_image_height % 32 == 0,
                "model image sides must be multiples of 32 (Qwen3-VL patch 16 x merge 2)")
        require(0 < self.model_image_width <= MAX_IMAGE_SIDE_PX and 0 < self.model_image_height <= MAX_IMAGE_SIDE_PX,
                f"model image sides must be in 32..{MAX_IMAGE_SIDE_PX} px")

    @property
    def history_stride_ticks(self) -> int:
        """Ticks between two history frames (5 at 20 Hz and 0.25 s)."""
        return max(1, round(self.history_spacing_s * self.sim_frequency_hz))

