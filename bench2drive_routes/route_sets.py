"""Choose routes: shards for parallel runs, filters, and subset files to re-run.

    routes = parse_routes("bench2drive220.xml")
    shards = split_routes(routes, 8)                      # 8 lists, balanced by length and town
    turns = filter_routes(routes, abilities=["Merging"], towns=["Town12"])
    write_route_subset("bench2drive220.xml", ["1711", "RouteScenario_1773_rep0"], "rerun.xml")
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from statistics import median

from bench2drive_routes.abilities import check_ability_names
from bench2drive_routes.route_spec import RouteSpec, normalize_route_id
from bench2drive_routes.route_xml import parse_routes, write_routes

# A route of (nearly) zero length still costs a map load and agent setup: count it as this long.
_MIN_COST_M = 1.0


def split_routes(
    routes: Sequence[RouteSpec], n_shards: int, town_slack_m: float | None = None
) -> list[list[RouteSpec]]:
    """Split into `n_shards` lists with near-equal total route length, keeping towns together.

    Greedy longest-route-first: each route goes to the least-loaded shard, except that a shard
    already driving the route's town is preferred while its load is within `town_slack_m`
    metres of the least-loaded one (fewer town loads per shard; CARLA loads a town in tens of
    seconds). Default slack: the median route length. Bound: max load - min load <= longest
    route + slack. Each shard is ordered by (town, route id) so a runner loads each town once.
    Empty shards are returned when there are fewer routes than shards.
    """
    if n_shards < 1:
        raise ValueError(f"n_shards must be >= 1, got {n_shards}")
    if not routes:
        return [[] for _ in range(n_shards)]
    cost = {id(route): max(route.length_m, _MIN_COST_M) for route in routes}
    slack = median(cost.values()) if town_slack_m is None else float(town_slack_m)
    loads = [0.0] * n_shards
    towns: list[set[str]] = [set() for _ in range(n_shards)]
    shards: list[list[RouteSpec]] = [[] for _ in range(n_shards)]
    for route in sorted(routes, key=lambda r: (-cost[id(r)], r.town, r.id)):
        lowest = min(loads)
        same_town = [i for i in range(n_shards) if route.town in towns[i] and loads[i] <= lowest + slack]
        pool = same_town or range(n_shards)
        target = min(pool, key=lambda i: (loads[i], i))
        loads[target] += cost[id(route)]
        towns[target].add(route.town)
        shards[target].append(route)
    return [sorted(shard, key=lambda r: (r.town, _id_sort_key(r.id))) for shard in shards]


def _id_sort_key(route_id: str) -> tuple[int, int | str]:
    return (0, int(route_id)) if route_id.isdigit() else (1, route_id)


def _unknown_ids(wanted: Iterable[str], routes: Sequence[RouteSpec]) -> list[str]:
    known = {route.id for route in routes}
    return sorted({normalize_route_id(r) for r in wanted} - known)


def filter_routes(
    routes: Sequence[RouteSpec],
    *,
    route_ids: Iterable[str] | None = None,
    scenario_types: Iterable[str] | None = None,
    abilities: Iterable[str] | None = None,
    towns: Iterable[str] | None = None,
) -> list[RouteSpec]:
    """Routes matching every given criterion (any of the values within one criterion).

    route_ids accept file ids ('1711') or record ids ('RouteScenario_1711_rep0'); an id not in
    `routes` is an error (a typo would otherwise silently select nothing). scenario_types match
    any scenario on the route; abilities match the route's first scenario (Bench2Drive's rule).
    File order is kept.
    """
    selected = list(routes)
    if route_ids is not None:
        ids = [normalize_route_id(r) for r in route_ids]
        unknown = _unknown_ids(ids, routes)
        if unknown:
            raise ValueError(f"route ids not in the route set: {', '.join(unknown)}")
        wanted = set(ids)
        selected = [r for r in selected if r.id in wanted]
    if scenario_types is not None:
        types = set(scenario_types)
        selected = [r for r in selected if any(s.type in types for s in r.scenarios)]
    if abilities is not None:
        names = list(abilities)
        check_ability_names(names)
        selected = [r for r in selected if set(r.abilities) & set(names)]
    if towns is not None:
        wanted_towns = set(towns)
        selected = [r for r in selected if r.town in wanted_towns]
    return selected


def write_route_subset(
    routes: str | Path | Sequence[RouteSpec], route_ids: Iterable[str], out_path: str | Path
) -> list[RouteSpec]:
    """Write a route file holding only `route_ids` (in the source file's order); return them.

    `routes` is a route file path or already-parsed routes. This is what re-running failed
    routes uses: write_route_subset(routes_file, failed_route_ids(results, routes_file), out).
    """
    source = parse_routes(routes) if isinstance(routes, (str, Path)) else list(routes)
    subset = filter_routes(source, route_ids=list(route_ids))
    write_routes(subset, out_path)
    return subset
