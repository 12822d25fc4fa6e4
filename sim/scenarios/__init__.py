"""The embedded scenarios, named after Bench2Drive's types, and the five abilities they test."""

from __future__ import annotations

from sim.scenarios.base import Scenario
from sim.scenarios.braking import HardBreakRoute, PedestrianCrossing
from sim.scenarios.give_way import InvadingTurn, YieldToEmergencyVehicle
from sim.scenarios.merging import HighwayCutIn, SignalizedJunctionLeftTurn
from sim.scenarios.obstacles import AccidentTwoWays, ParkedObstacle
from sim.scenarios.signs import (
    VanillaNonSignalizedTurnEncounterStopsign,
    VanillaSignalizedTurnEncounterRedLight,
)

SCENARIO_TYPES: dict[str, type[Scenario]] = {cls.__name__: cls for cls in (
    PedestrianCrossing, HardBreakRoute, ParkedObstacle, AccidentTwoWays, HighwayCutIn, SignalizedJunctionLeftTurn,
    YieldToEmergencyVehicle, InvadingTurn, VanillaSignalizedTurnEncounterRedLight,
    VanillaNonSignalizedTurnEncounterStopsign,
)}

# Primary ability of each type, for the run summary (Bench2Drive's own table is the metrics tools' business).
ABILITY: dict[str, str] = {
    "PedestrianCrossing": "Emergency_Brake", "HardBreakRoute": "Emergency_Brake",
    "ParkedObstacle": "Overtaking", "AccidentTwoWays": "Overtaking",
    "HighwayCutIn": "Merging", "SignalizedJunctionLeftTurn": "Merging",
    "YieldToEmergencyVehicle": "Give_Way", "InvadingTurn": "Give_Way",
    "VanillaSignalizedTurnEncounterRedLight": "Traffic_Signs",
    "VanillaNonSignalizedTurnEncounterStopsign": "Traffic_Signs",
}

__all__ = ["ABILITY", "SCENARIO_TYPES", "Scenario"]
