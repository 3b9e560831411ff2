"""The contract between the engines: for one replicate the Mesa reference engine and the
batch engine produce identical trajectories, and a replicate's numbers do not depend on the
batch it runs in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from scenarios import assert_same_run, random_scenarios
from sim.model import batch, reference
from sim.model.world import compile_world
from sim.scenario.load import Source, load, validate

SCENARIOS_DIR = Path(__file__).parent.parent / "scenarios"
SCENARIOS = sorted(SCENARIOS_DIR.glob("*.yaml"))


@pytest.fixture(scope="module", params=SCENARIOS, ids=lambda p: p.stem)
def shipped(request):
    return compile_world(load(request.param))


def test_shipped_scenarios_exist():
    assert {p.stem for p in SCENARIOS} >= {"classroom_small"}


def test_engines_identical_on_shipped_scenarios(shipped):
    seeds = range(20)
    ref = reference.run(shipped, seeds, trace=True)
    fast = batch.run(shipped, seeds, trace=True)
    assert_same_run(ref, fast)


VALIDATION = sorted((SCENARIOS_DIR / "validation").glob("*.yaml"))
SLOW = {"duel_20v15", "duel_30v30", "linear_law", "square_law"}  # a minute each at 20 seeds


@pytest.mark.parametrize("path", VALIDATION, ids=lambda p: p.stem)
def test_engines_identical_on_the_validation_scenarios(path):
    # All were held on seeds 0-19 when the march was added; the suite keeps 3 for the slow ones.
    world = compile_world(load(path))
    seeds = range(3 if path.stem in SLOW else 20)
    assert_same_run(reference.run(world, seeds, trace=True), batch.run(world, seeds, trace=True))


def test_engines_identical_on_kursk_with_drone_strikes():
    # Kursk uses pursuit and drones on supply routes (the shipped identity test covers them);
    # drone strikes it leaves at 0: set both sides' effort.
    path = SCENARIOS_DIR / "kursk_2024.yaml"
    strikes = ["sides.attacker.drone_effort=60", "sides.defender.drone_effort=30"]
    world = compile_world(load(path, strikes))
    seeds = range(3)
    ref = reference.run(world, seeds, trace=True)
    fast = batch.run(world, seeds, trace=True)
    assert_same_run(ref, fast)
    plain = batch.run(compile_world(load(path)), seeds)
    assert not np.array_equal(fast.series["losses_defender"], plain.series["losses_defender"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_scenarios())
def test_engines_identical_on_random_scenarios(data):
    world = compile_world(validate(data, Source("<random>")))
    ref = reference.run(world, [0, 1], trace=True)
    fast = batch.run(world, [0, 1], trace=True)
    assert_same_run(ref, fast)


def test_replicate_is_the_same_alone_in_seven_or_in_a_thousand(shipped):
    k = 5
    alone = batch.run(shipped, [k])
    seven = batch.run(shipped, range(3, 10))
    many = batch.run(shipped, range(1000)) if shipped.name == "classroom-small" else seven
    for other in (seven, many):
        i = int(np.flatnonzero(other.replicates == k)[0])
        for name, values in alone.series.items():
            assert np.array_equal(values[0], other.series[name][i]), name
        rows = other.events[other.events[:, 0] == k]
        assert np.array_equal(alone.events, rows)


def test_different_replicates_differ(shipped):
    run = batch.run(shipped, [0, 1])
    assert not np.array_equal(run.series["territory"][0], run.series["territory"][1])


@pytest.mark.parametrize("width", [64, 70])
def test_engines_identical_with_drones_on_maps_up_to_and_beyond_64_columns(width):
    # The batch engine works drone reach and supply routes as 64-bit row masks up to 64
    # columns and cell by cell beyond: both ways against the reference engine.
    from worlds import compile_dict, scenario_dict

    front = width // 2
    data = scenario_dict(
        ["A" * front + "D" * (width - front)] * 5,
        [("A", r, front - 1, 500) for r in range(5)] + [("D", r, front, 400) for r in range(5)],
        days=12, deterministic=False, attacker_tempo=0.4, attacker_fire_intensity=0.1,
        attacker_drone_range_km=8.0, defender_drone_range_km=4.0, attacker_drone_effort=20.0,
        defender_drone_effort=10.0, rules={"drone_supply": 0.1, "offroad_supply": 0.6},
    )  # fmt: skip
    world = compile_dict(data)
    seeds = range(4)
    assert_same_run(reference.run(world, seeds, trace=True), batch.run(world, seeds, trace=True))
