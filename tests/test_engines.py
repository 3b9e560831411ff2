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


@pytest.mark.parametrize(
    "rules",
    [
        ["rules.pursuit=true"],
        ["sides.attacker.drone_effort=60", "sides.defender.drone_effort=30",
         "rules.drone_supply=0.05"],
    ],
    ids=["pursuit", "drones"],
)  # fmt: skip
def test_engines_identical_on_kursk_with_the_rules_it_does_not_use(rules):
    # Pursuit, drone strikes and drone supply losses are off in the shipped scenarios; on
    # Kursk they act (its mobile units move 2 cells a day, its drones reach 4-12 km).
    path = SCENARIOS_DIR / "kursk_2024.yaml"
    world = compile_world(load(path, rules))
    seeds = range(8)
    ref = reference.run(world, seeds, trace=True)
    fast = batch.run(world, seeds, trace=True)
    assert_same_run(ref, fast)
    plain = batch.run(compile_world(load(path)), seeds)
    assert not np.array_equal(fast.series["territory"], plain.series["territory"])


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
