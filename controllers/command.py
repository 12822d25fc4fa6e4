"""The controllers' output, free of CARLA: the agent converts it to carla.VehicleControl."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VehicleCommand:
    steer: float  # [-1, 1], positive steers right (CARLA)
    throttle: float  # [0, 1]
    brake: float  # [0, 1]

    def clipped(self) -> VehicleCommand:
        """The same command inside CARLA's ranges."""
        return VehicleCommand(steer=min(1.0, max(-1.0, self.steer)), throttle=min(1.0, max(0.0, self.throttle)),
                              brake=min(1.0, max(0.0, self.brake)))

    @staticmethod
    def full_brake() -> VehicleCommand:
        return VehicleCommand(steer=0.0, throttle=0.0, brake=1.0)
