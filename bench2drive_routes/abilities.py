"""Bench2Drive's ability groups: which scenario types test which driving ability.

This is the one place the project defines them. The grouping follows Bench2Drive's
tools/ability_benchmark.py as of benchmark v0.0.3 (October 2024), which fixed the typos of
the earlier script ('VehicleOpenDoorTwoWays', 'MergeIntoSlowTraffic',
'ParkingCrossingPedestrain', 'VanillaNonSignalizedTurnEncouterStopsign' matched no route, so
those scenario types silently counted for no ability). Published multi-ability numbers since
then use this grouping.

A route belongs to the abilities of its FIRST scenario's type (Bench2Drive routes hold one
scenario each). Traffic_Signs overlaps with Merging and Emergency_Brake; the other groups are
disjoint.
"""

from __future__ import annotations

ABILITY_NAMES: tuple[str, ...] = ("Merging", "Overtaking", "Emergency_Brake", "Give_Way", "Traffic_Signs")

ABILITIES: dict[str, frozenset[str]] = {
    "Overtaking": frozenset({
        "Accident", "AccidentTwoWays", "ConstructionObstacle", "ConstructionObstacleTwoWays",
        "HazardAtSideLaneTwoWays", "HazardAtSideLane", "ParkedObstacleTwoWays", "ParkedObstacle",
        "VehicleOpensDoorTwoWays",
    }),
    "Merging": frozenset({
        "CrossingBicycleFlow", "EnterActorFlow", "HighwayExit", "InterurbanActorFlow", "HighwayCutIn",
        "InterurbanAdvancedActorFlow", "MergerIntoSlowTrafficV2", "MergerIntoSlowTraffic",
        "NonSignalizedJunctionLeftTurn", "NonSignalizedJunctionRightTurn",
        "NonSignalizedJunctionLeftTurnEnterFlow", "ParkingExit", "SequentialLaneChange",
        "SignalizedJunctionLeftTurn", "SignalizedJunctionRightTurn", "SignalizedJunctionLeftTurnEnterFlow",
    }),
    "Emergency_Brake": frozenset({
        "BlockedIntersection", "DynamicObjectCrossing", "HardBreakRoute", "OppositeVehicleTakingPriority",
        "OppositeVehicleRunningRedLight", "ParkingCutIn", "PedestrianCrossing", "ParkingCrossingPedestrian",
        "StaticCutIn", "VehicleTurningRoute", "VehicleTurningRoutePedestrian", "ControlLoss",
    }),
    "Give_Way": frozenset({"InvadingTurn", "YieldToEmergencyVehicle"}),
    "Traffic_Signs": frozenset({
        "BlockedIntersection", "OppositeVehicleTakingPriority", "OppositeVehicleRunningRedLight",
        "PedestrianCrossing", "VehicleTurningRoute", "VehicleTurningRoutePedestrian", "EnterActorFlow",
        "CrossingBicycleFlow", "NonSignalizedJunctionLeftTurn", "NonSignalizedJunctionRightTurn",
        "NonSignalizedJunctionLeftTurnEnterFlow", "SignalizedJunctionLeftTurn", "SignalizedJunctionRightTurn",
        "SignalizedJunctionLeftTurnEnterFlow", "T_Junction", "VanillaNonSignalizedTurn",
        "VanillaSignalizedTurnEncounterGreenLight", "VanillaSignalizedTurnEncounterRedLight",
        "VanillaNonSignalizedTurnEncounterStopsign",
    }),
}

# Bench2Drive credits a failed Traffic_Signs route whose ego got past the route's first
# junction (plus this many 1 m route waypoints, "to ensure the ego passed the trigger volume")
# without a stop or red-light infraction.
JUNCTION_CREDIT_EXTRA_WAYPOINTS = 8


def abilities_of(scenario_type: str) -> tuple[str, ...]:
    """Abilities a scenario type counts for, in ABILITY_NAMES order (empty when none)."""
    return tuple(name for name in ABILITY_NAMES if scenario_type in ABILITIES[name])


def check_ability_names(names: list[str] | tuple[str, ...]) -> None:
    """Raise ValueError naming the valid choices when a name is not an ability."""
    unknown = [name for name in names if name not in ABILITIES]
    if unknown:
        raise ValueError(f"unknown ability {', '.join(unknown)}; choose from {', '.join(ABILITY_NAMES)}")
