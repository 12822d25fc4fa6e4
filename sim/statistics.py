"""Route and global statistics, and the checkpoint JSON, as the leaderboard's StatisticsManager writes them.

Same record layout, key order, rounding, penalty arithmetic, status strings,
per-km infraction rates, `values`/`labels`, entry status and eligibility, so
the metrics tools read an embedded run exactly like a Bench2Drive run.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from core.atomic_files import atomic_write_json
from sim.config import CriteriaConfig
from sim.events import (
    BLOCKED,
    COLLISION_LAYOUT,
    COLLISION_PEDESTRIAN,
    COLLISION_VEHICLE,
    INFRACTION_KEYS,
    MIN_SPEED,
    OUTSIDE_LANES,
    RED_LIGHT,
    ROUTE_COMPLETION,
    ROUTE_DEVIATION,
    SCENARIO_TIMEOUT,
    STOP,
    YIELD_EMERGENCY,
    Criterion,
)

ROUND_DIGITS = 3
ROUND_DIGITS_SCORE = 6
ELIGIBLE = {"Started": False, "Finished": True, "Rejected": False, "Crashed": False, "Invalid": False}
FAILURE_MESSAGES = {
    "Simulation": ("Crashed", "Simulation crashed"),
    "Sensors": ("Rejected", "Agent's sensors were invalid"),
    "Agent_init": ("Started", "Agent couldn't be set up"),
    "Agent_runtime": ("Started", "Agent crashed"),
}
LABELS = ["Avg. driving score", "Avg. route completion", "Avg. infraction penalty", "Collisions with pedestrians",
          "Collisions with vehicles", "Collisions with layout", "Red lights infractions", "Stop sign infractions",
          "Off-road infractions", "Route deviations", "Route timeouts", "Agent blocked",
          "Yield emergency vehicles infractions", "Scenario timeouts", "Min speed infractions"]
SENSOR_ICONS = {"sensor.camera.rgb": "carla_camera", "sensor.lidar.ray_cast": "carla_lidar",
                "sensor.other.radar": "carla_radar", "sensor.other.gnss": "carla_gnss",
                "sensor.other.imu": "carla_imu", "sensor.opendrive_map": "carla_opendrive_map",
                "sensor.speedometer": "carla_speedometer"}


def penalty_values(cfg: CriteriaConfig) -> dict[str, float]:
    return {COLLISION_PEDESTRIAN: cfg.penalty_pedestrian, COLLISION_VEHICLE: cfg.penalty_vehicle,
            COLLISION_LAYOUT: cfg.penalty_layout, RED_LIGHT: cfg.penalty_red_light, STOP: cfg.penalty_stop,
            SCENARIO_TIMEOUT: cfg.penalty_scenario_timeout, YIELD_EMERGENCY: cfg.penalty_yield_emergency}


def new_route_record(route_id: str, scenario_name: str, weather_id: str, save_name: str, town: str) -> dict:
    infractions = {key: [] for key in INFRACTION_KEYS}
    infractions["route_timeout"] = []
    return {"index": -1, "route_id": route_id, "scenario_name": scenario_name, "weather_id": weather_id,
            "save_name": save_name, "status": "Started", "num_infractions": 0, "infractions": infractions,
            "scores": {"score_route": 0, "score_penalty": 0, "score_composed": 0},
            "meta": {"route_length": 0, "duration_game": 0, "duration_system": 0}, "town_name": town}


def compute_route_record(record: dict, index: int, criteria: list[Criterion], timed_out: bool, route_length: float,
                         duration_game: float, duration_system: float, failure_message: str,
                         cfg: CriteriaConfig) -> dict:
    """StatisticsManager.compute_route_statistics on our criteria's events."""
    penalties = penalty_values(cfg)
    record = json.loads(json.dumps(record))
    record["index"] = index
    for key in INFRACTION_KEYS:
        record["infractions"][key] = []
    record["meta"]["route_length"] = round(route_length, ROUND_DIGITS)
    record["meta"]["duration_game"] = round(duration_game, ROUND_DIGITS)
    record["meta"]["duration_system"] = round(duration_system, ROUND_DIGITS)
    score_penalty, score_route, target_reached = 1.0, 0.0, False
    if timed_out:
        record["infractions"]["route_timeout"].append("Route timeout.")
        failure_message = "Agent timed out"
    for criterion in criteria:
        for event in criterion.events:
            if event.kind in penalties:
                score_penalty *= penalties[event.kind]
                record["infractions"][event.kind].append(event.message)
            elif event.kind == OUTSIDE_LANES:
                score_penalty *= 1 - (1 - cfg.outside_lanes_penalty_base) * event.data["percentage"] / 100
                record["infractions"][event.kind].append(event.message)
            elif event.kind == MIN_SPEED:  # 'unused' in Bench2Drive: listed, not penalised
                record["infractions"][event.kind].append(event.message)
            elif event.kind == ROUTE_DEVIATION:
                failure_message = "Agent deviated from the route"
                record["infractions"][event.kind].append(event.message)
            elif event.kind == BLOCKED:
                failure_message = "Agent got blocked"
                record["infractions"][event.kind].append(event.message)
            elif event.kind == ROUTE_COMPLETION:
                score_route = event.data["route_completed"]
                target_reached = score_route >= 100
    record["scores"]["score_route"] = round(score_route, ROUND_DIGITS_SCORE)
    record["scores"]["score_penalty"] = round(score_penalty, ROUND_DIGITS_SCORE)
    record["scores"]["score_composed"] = round(max(score_route * score_penalty, 0.0), ROUND_DIGITS_SCORE)
    record["num_infractions"] = sum(len(v) for v in record["infractions"].values())
    if target_reached:
        record["status"] = "Completed" if record["num_infractions"] > 0 else "Perfect"
    else:
        record["status"] = "Failed" + (f" - {failure_message}" if failure_message else "")
    return record


def failed_record(record: dict, index: int, failure_message: str) -> dict:
    """A route that never ran (sensors rejected, agent setup failed): no criteria, zero scores."""
    return compute_route_record(record, index, [], False, 0.0, 0.0, 0.0, failure_message, CriteriaConfig())


def compute_global(records: list[dict], total_routes: int) -> tuple[dict, list[str], str]:
    """(global_record, values, entry_status) — StatisticsManager.compute_global_statistics."""
    g: dict[str, Any] = {"index": -1, "route_id": -1, "status": "Perfect",
                         "infractions": {**{k: 0 for k in INFRACTION_KEYS}, "route_timeout": 0},
                         "scores_mean": {"score_composed": 0, "score_route": 0, "score_penalty": 0},
                         "scores_std_dev": {"score_composed": 0, "score_route": 0, "score_penalty": 0},
                         "meta": {"total_length": 0, "duration_game": 0, "duration_system": 0, "exceptions": []}}
    status = "Perfect"
    for r in records:
        for key in ("score_route", "score_penalty", "score_composed"):
            g["scores_mean"][key] += r["scores"][key] / total_routes
        g["meta"]["total_length"] += r["meta"]["route_length"]
        g["meta"]["duration_game"] += r["meta"]["duration_game"]
        g["meta"]["duration_system"] += r["meta"]["duration_system"]
        result = "Failed" if "Failed" in r["status"] else r["status"]
        if result == "Failed":
            g["meta"]["exceptions"].append([r["route_id"], r["index"], r["status"]])
            status = result
        elif status == "Perfect" and result != "Perfect":
            status = result
    for key in g["scores_mean"]:
        g["scores_mean"][key] = round(g["scores_mean"][key], ROUND_DIGITS_SCORE)
    g["status"] = status
    if total_routes > 1:
        for r in records:
            for key in g["scores_std_dev"]:
                g["scores_std_dev"][key] += (r["scores"][key] - g["scores_mean"][key]) ** 2
        for key in g["scores_std_dev"]:
            g["scores_std_dev"][key] = round(math.sqrt(g["scores_std_dev"][key] / float(total_routes - 1)), ROUND_DIGITS)
    km = 0.0
    for r in records:
        km += r["meta"]["route_length"] / 1000 * r["scores"]["score_route"] / 100
        for key in g["infractions"]:
            if key == OUTSIDE_LANES:
                msgs = r["infractions"][key]
                g["infractions"][key] += float(msgs[0].split(" ")[8]) / 1000 if msgs else 0.0
            else:
                g["infractions"][key] += len(r["infractions"][key])
    km = max(km, 0.001)
    for key in g["infractions"]:
        if key != OUTSIDE_LANES:
            g["infractions"][key] /= km
        g["infractions"][key] = round(g["infractions"][key], ROUND_DIGITS)
    inf = g["infractions"]
    values = [str(g["scores_mean"]["score_composed"]), str(g["scores_mean"]["score_route"]),
              str(g["scores_mean"]["score_penalty"]), str(inf[COLLISION_PEDESTRIAN]), str(inf[COLLISION_VEHICLE]),
              str(inf[COLLISION_LAYOUT]), str(inf[RED_LIGHT]), str(inf[STOP]), str(inf[OUTSIDE_LANES]),
              str(inf[ROUTE_DEVIATION]), str(inf["route_timeout"]), str(inf[BLOCKED]), str(inf[YIELD_EMERGENCY]),
              str(inf[SCENARIO_TIMEOUT]), str(inf[MIN_SPEED])]
    entry = "Finished"
    for r in records:
        if "Simulation crashed" in r["status"]:
            entry = "Crashed"
        elif "Agent's sensors were invalid" in r["status"]:
            entry = "Rejected"
    return g, values, entry


class ResultsFile:
    """The checkpoint JSON: loaded for resuming, rewritten atomically after every route."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.records: list[dict] = []
        self.global_record: dict = {}
        self.progress: list[int] = []
        self.entry_status = "Started"
        self.sensors: list[str] = []
        self.values: list[str] = []

    def load(self) -> None:
        if not self.path.is_file() or self.path.stat().st_size == 0:
            return
        data = json.loads(self.path.read_text())
        checkpoint = data.get("_checkpoint", {})
        self.records = list(checkpoint.get("records", []))
        self.sensors = list(data.get("sensors", []))

    def done_ids(self) -> set[str]:
        return {r["route_id"] for r in self.records if r.get("index", -1) != -1}

    def put(self, record: dict) -> None:
        self.records = [r for r in self.records if r["route_id"] != record["route_id"]] + [record]
        self.records.sort(key=lambda r: r["index"])

    def finalize(self, total_routes: int) -> None:
        self.global_record, self.values, self.entry_status = compute_global(self.records, total_routes)

    def to_json(self) -> dict:
        return {"_checkpoint": {"global_record": self.global_record, "progress": self.progress,
                                "records": [r for r in self.records if r["index"] != -1]},
                "entry_status": self.entry_status, "eligible": ELIGIBLE[self.entry_status],
                "sensors": self.sensors, "values": self.values, "labels": LABELS if self.values else []}

    def write(self) -> Path:
        return atomic_write_json(self.path, self.to_json(), indent=2)
