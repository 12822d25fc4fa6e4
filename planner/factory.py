"""config.planner.kind -> a Planner. Heavy planners are imported only when chosen."""

from __future__ import annotations

from typing import TYPE_CHECKING

from planner.interface import Planner

if TYPE_CHECKING:
    from agent.automot_config import AgentConfig


def build_planner(config: AgentConfig) -> Planner:
    kind = config.planner.kind
    if kind == "route_follower":
        from planner.route_follower import RouteFollowerPlanner

        return RouteFollowerPlanner(config.planner.route_follower)
    if kind == "automot":
        from planner.automot.automot_planner import AutoMoTPlanner

        return AutoMoTPlanner.from_config(config)
    raise ValueError(f"unknown planner kind {kind!r}")
