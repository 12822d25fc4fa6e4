"""GNSS <-> local metres, exactly as the leaderboard and CARLA convert.

CARLA geo-references a map with a Mercator projection scaled by cos(lat_0)
around (lat_0, lon_0); world y grows southwards (left-handed frame), hence the
sign flip on y. `world_to_gnss` is the leaderboard's conversion; `gnss_to_world`
is its exact inverse (round trip < 1 mm over a Town12-sized map).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

EARTH_RADIUS_EQUATORIAL_M = 6378137.0


@dataclass(frozen=True)
class GeoReference:
    lat_0: float = 42.0  # deg, the map's geo-reference (CARLA default)
    lon_0: float = 2.0  # deg

    @property
    def scale(self) -> float:
        return math.cos(math.radians(self.lat_0))

    @property
    def origin_mercator(self) -> tuple[float, float]:
        """(mx, my) of the world origin in scaled Mercator metres."""
        r = EARTH_RADIUS_EQUATORIAL_M * self.scale
        mx = r * math.radians(self.lon_0)
        my = r * math.log(math.tan(math.radians(90.0 + self.lat_0) / 2.0))
        return mx, my


# CARLA's default geo-reference; Bench2Drive towns use it too.
DEFAULT_GEO_REFERENCE = GeoReference()


def world_to_gnss(x: float, y: float, z: float, ref: GeoReference = DEFAULT_GEO_REFERENCE) -> tuple[float, float, float]:
    """World (x, y, z) m -> (lat deg, lon deg, alt m)."""
    r = EARTH_RADIUS_EQUATORIAL_M * ref.scale
    mx0, my0 = ref.origin_mercator
    mx = mx0 + x
    my = my0 - y
    lon = math.degrees(mx / r)
    lat = 2.0 * math.degrees(math.atan(math.exp(my / r))) - 90.0
    return lat, lon, z


def gnss_to_world(lat: float, lon: float, alt: float = 0.0, ref: GeoReference = DEFAULT_GEO_REFERENCE) -> np.ndarray:
    """(lat deg, lon deg, alt m) -> world [x, y, z] m, float64."""
    r = EARTH_RADIUS_EQUATORIAL_M * ref.scale
    mx0, my0 = ref.origin_mercator
    mx = r * math.radians(lon)
    my = r * math.log(math.tan(math.radians(90.0 + lat) / 2.0))
    return np.array([mx - mx0, -(my - my0), alt], dtype=np.float64)


def compass_to_yaw(compass: float, last_valid_yaw: float = 0.0) -> float:
    """IMU compass (rad, 0 = north = world -y, clockwise) -> CARLA world yaw (rad, 0 = +x).

    A NaN compass (CARLA emits them at spawn) keeps the last valid yaw.
    """
    if not math.isfinite(compass):
        return last_valid_yaw
    yaw = compass - math.pi / 2.0
    return math.atan2(math.sin(yaw), math.cos(yaw))


def yaw_to_compass(yaw: float) -> float:
    """CARLA world yaw (rad) -> IMU compass reading in [0, 2 pi)."""
    return (yaw + math.pi / 2.0) % (2.0 * math.pi)
