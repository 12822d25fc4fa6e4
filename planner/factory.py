"""planner.kind -> a Planner, built from the planner's own config sections.

Heavy planners are imported only when chosen, so the route follower never loads torch.
"""

from __future__ import annotations

from planner.automot.model_config import ModelConfig
from planner.automot.refiner_config import RefinerConfig
from planner.interface import Planner
from planner.planner_config import PlannerConfig


def build_planner(planner: PlannerConfig, model: ModelConfig, refiner: RefinerConfig | None = None) -> Planner:
    """`planner` chooses the kind (and holds the route follower's settings); `model` the network's;
    `refiner` the optional action refiner on top of it (AutoMoT+)."""
    if planner.kind == "route_follower":
        from planner.route_follower import RouteFollowerPlanner

        return RouteFollowerPlanner(planner.route_follower)
    if planner.kind == "automot":
        from planner.automot.automot_planner import AutoMoTPlanner

        return AutoMoTPlanner.from_model_config(model, refiner)
    raise ValueError(f"unknown planner kind {planner.kind!r}")
