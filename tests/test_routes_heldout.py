"""The held-out closed-loop set: off the shipped model's training routes and the evaluation sets,
every ability present, and each route one the simulator can build."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench2drive_routes.abilities import ABILITY_NAMES, abilities_of
from sim.collect_config import GeneratorConfig
from sim.heldout_routes import FIRST_HELDOUT_ID, routes_as_evaluation
from sim.route_file import read_routes
from sim.route_generator import evaluation_routes, overlaps

ROOT = Path(__file__).resolve().parents[1]
HELDOUT = ROOT / "bench2drive_routes" / "embedded_heldout.xml"
TRAINING_ROUTES = sorted((ROOT / "models" / "embedded_mini" / "training_routes").glob("*.xml"))


def test_heldout_routes_avoid_the_evaluation_sets_and_cover_every_ability():
    routes = read_routes(HELDOUT)
    cfg = GeneratorConfig()
    evaluation = evaluation_routes(cfg)
    assert len(routes) == 20 and all(int(r.id) >= FIRST_HELDOUT_ID for r in routes)
    assert [overlaps(r, evaluation, cfg) for r in routes] == [None] * len(routes)
    covered = {a for r in routes for sc in r.scenarios for a in abilities_of(sc.type)}
    assert covered == set(ABILITY_NAMES)


@pytest.mark.skipif(not TRAINING_ROUTES, reason="no shipped model with training routes")
def test_heldout_routes_are_not_the_shipped_models_training_drives():
    training = read_routes(TRAINING_ROUTES[0])
    avoided = routes_as_evaluation(TRAINING_ROUTES)
    loose = GeneratorConfig(min_trigger_separation_m=2.0)
    heldout = read_routes(HELDOUT)
    assert [overlaps(r, avoided, loose) for r in heldout] == [None] * len(heldout)
    train_ids = {r.id for r in training}
    assert not train_ids & {r.id for r in heldout}
