"""What a dataset holds: routes, frames, hours, scenario / ability / town mix, label statistics.

Reads only the measurements (through DrivingDataset's route indexes) and each route's
automot_route.json when the embedded recorder wrote one; a real PDM-Lite folder gets its scenario
type from the folder above the route (<root>/<ScenarioType>/<route>/).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from bench2drive_routes.abilities import abilities_of
from data.dataset import DrivingDataset
from data.labels import decisions, waypoints

ROUTE_INFO = "automot_route.json"  # written by sim/collector.py beside the PDM-Lite files


def _route_info(path: Path) -> dict:
    info_file = path / ROUTE_INFO
    if info_file.is_file():
        return json.loads(info_file.read_text())
    return {"scenario_type": path.parent.name, "town": "", "pulses": []}


def _stats(values: np.ndarray) -> dict:
    if len(values) == 0:
        return {"mean": None, "min": None, "max": None}
    return {"mean": round(float(np.mean(values)), 3), "min": round(float(np.min(values)), 3),
            "max": round(float(np.max(values)), 3)}


def dataset_info(dataset: DrivingDataset) -> dict:
    period = dataset.config.layout.frame_period_s
    scenarios: Counter[str] = Counter()
    abilities: Counter[str] = Counter()
    towns: Counter[str] = Counter()
    words: Counter[str] = Counter()
    commands: Counter[int] = Counter()
    pulses = 0
    speeds, final_dist, final_lat, perturbed = [], [], [], 0
    frames = 0
    for route in dataset.routes:
        info = _route_info(route.folder.path)
        scenario = info.get("scenario_type", "")
        scenarios[scenario] += 1
        for ability in abilities_of(scenario) or ("unknown",):
            abilities[ability] += 1
        towns[info.get("town", "") or "unknown"] += 1
        pulses += len(info.get("pulses", []))
        frames += route.frames
        perturbed += int(route.perturbed.sum())
        h = dataset.horizons
        for i in route.samples:
            speeds.append(route.speed[i])
            wp = waypoints(route.xy, route.yaw, int(i), h)
            final_dist.append(float(np.hypot(*wp[-1])))
            final_lat.append(float(wp[-1, 1]))
            words.update(decisions(route.speed, int(i), h, dataset.config.labels.decisions))
            commands[int(route.command[i])] += 1
    return {
        "routes": len(dataset.routes), "frames": frames, "samples": len(dataset),
        "hours": round(frames * period / 3600.0, 4), "frame_period_s": period,
        "scenarios": dict(scenarios.most_common()), "abilities": dict(abilities.most_common()),
        "towns": dict(towns.most_common()), "skipped_frames": dict(dataset.skipped),
        "recovery": {"pulses": pulses, "perturbed_frames": perturbed},
        "labels": {
            "speed_mps": _stats(np.asarray(speeds)),
            "final_waypoint_distance_m": _stats(np.asarray(final_dist)),
            "final_waypoint_lateral_m": _stats(np.asarray(final_lat)),
            "decision_words": dict(words.most_common()),
            "commands": {str(k): v for k, v in sorted(commands.items())},
        },
    }
