"""Traffic events and the shared state the criteria read (srunner's TrafficEvent / blackboard)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.config import CriteriaConfig
    from sim.routing import DenseRoute
    from sim.world import World

# Event kinds, named by the statistics manager's infraction keys (PENALTY_NAME_DICT values).
COLLISION_LAYOUT = "collisions_layout"
COLLISION_PEDESTRIAN = "collisions_pedestrian"
COLLISION_VEHICLE = "collisions_vehicle"
RED_LIGHT = "red_light"
STOP = "stop_infraction"
OUTSIDE_LANES = "outside_route_lanes"
MIN_SPEED = "min_speed_infractions"
YIELD_EMERGENCY = "yield_emergency_vehicle_infractions"
SCENARIO_TIMEOUT = "scenario_timeouts"
ROUTE_DEVIATION = "route_dev"
BLOCKED = "vehicle_blocked"
ROUTE_COMPLETION = "route_completion"

INFRACTION_KEYS = (COLLISION_LAYOUT, COLLISION_PEDESTRIAN, COLLISION_VEHICLE, RED_LIGHT, STOP, OUTSIDE_LANES,
                   MIN_SPEED, YIELD_EMERGENCY, SCENARIO_TIMEOUT, ROUTE_DEVIATION, BLOCKED)

# Blackboard switches scenarios flip (scenario_runner's AC_Switch* variables).
SWITCH_WRONG_DIRECTION = "AC_SwitchWrongDirectionTest"
SWITCH_ACTOR_BLOCKED = "AC_SwitchActorBlockedTest"


@dataclass
class TrafficEvent:
    kind: str
    frame: int
    message: str = ""
    data: dict = field(default_factory=dict)


@dataclass
class CriteriaContext:
    """What every criterion may read during an update."""

    world: World
    route: DenseRoute
    cfg: CriteriaConfig
    blackboard: dict = field(default_factory=dict)


class Criterion:
    """Base: `update` each tick returns 'RUNNING' | 'SUCCESS' | 'FAILURE'; `terminate` once at the end."""

    name = "Criterion"

    def __init__(self) -> None:
        self.events: list[TrafficEvent] = []
        self.test_status = "INIT"

    def update(self, ctx: CriteriaContext) -> str:
        return "RUNNING"

    def terminate(self, ctx: CriteriaContext) -> None:
        if self.test_status in ("RUNNING", "INIT"):
            self.test_status = "SUCCESS"


def fmt_loc(x: float, y: float, z: float) -> str:
    """'(x=.., y=.., z=..)' exactly as the criteria format locations (round to 3 digits, str())."""
    return f"(x={round(x, 3)}, y={round(y, 3)}, z={round(z, 3)})"
