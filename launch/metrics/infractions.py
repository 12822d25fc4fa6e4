"""Infractions per driven kilometre, by type, the way the leaderboard's global record counts them.

km driven = sum over routes of route_length / 1000 * route completion / 100 (floored at
0.001 km). Count-type infractions are events per km driven. 'outside_route_lanes' is also
reported as kilometres driven outside the route lanes (the leaderboard's global value), read
from its messages "Agent went outside its route lanes for about 4.251 meters (4.28% of ...)".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from launch.metrics.records import INFRACTION_TYPES, RouteRecord

_OUTSIDE_METRES_RE = re.compile(r"for about\s+([0-9]+(?:\.[0-9]*)?)\s+meters")
MIN_KM_DRIVEN = 0.001  # the leaderboard's floor, avoids dividing by zero


@dataclass(frozen=True)
class InfractionStats:
    km_driven: float  # kilometres of route actually completed
    counts: dict[str, int]  # type -> number of events
    per_km: dict[str, float]  # type -> events per km driven
    outside_route_lanes_km: float  # km driven outside the route lanes

    def to_json(self) -> dict:
        return {
            "km_driven": self.km_driven,
            "counts": dict(self.counts),
            "per_km": dict(self.per_km),
            "outside_route_lanes_km": self.outside_route_lanes_km,
        }


def outside_lanes_metres(messages: Iterable[str]) -> float:
    total = 0.0
    for message in messages:
        match = _OUTSIDE_METRES_RE.search(message)
        if match:
            total += float(match.group(1))
    return total


def infraction_stats(records: Iterable[RouteRecord]) -> InfractionStats:
    records = list(records)
    types = list(INFRACTION_TYPES) + sorted({k for r in records for k in r.infractions} - set(INFRACTION_TYPES))
    km = sum(r.route_length_m / 1000.0 * r.score_route / 100.0 for r in records)
    km = max(km, MIN_KM_DRIVEN)
    counts = {t: sum(len(r.infractions.get(t, ())) for r in records) for t in types}
    outside_km = sum(outside_lanes_metres(r.infractions.get("outside_route_lanes", ())) for r in records) / 1000.0
    return InfractionStats(
        km_driven=km,
        counts=counts,
        per_km={t: n / km for t, n in counts.items()},
        outside_route_lanes_km=outside_km,
    )
