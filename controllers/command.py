"""The controllers' output, free of CARLA: the agent converts it to carla.VehicleControl."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VehicleCommand:
    steer: float  # [-1, 1], positive steers right (CARLA)
    throttle: float  # [0, 1]
    brake: float  # [0, 1]

    @staticmethod
    def full_brake() -> VehicleCommand:
        return VehicleCommand(steer=0.0, throttle=0.0, brake=1.0)
