"""Invariants over random scenarios (hypothesis), checked every day of every replicate."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings

from scenarios import assert_same_run, random_scenarios
from sim.model import batch
from sim.model.world import compile_world
from sim.scenario.load import Source, validate

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(data, reps=(0, 1, 2)):
    world = compile_world(validate(data, Source("<random>")))
    return world, batch.run(world, reps, trace=True)


@SETTINGS
@given(random_scenarios())
def test_state_stays_consistent_every_day(data):
    world, result = run(data)
    width = world.shape[1]
    side = world.side
    homeland_area = world.territory_cells.sum() * world.cell_area
    assert np.all(result.series["territory"] <= homeland_area)
    for name in ("losses_attacker", "losses_defender"):
        assert np.all(np.diff(result.series[name], axis=1) >= -1e-9)
    for s in result.states:
        present = s["alive"] & s["arrived"]
        assert np.all(s["strength"] >= 0)
        assert np.all((s["cohesion"] >= 0) & (s["cohesion"] <= 1))
        assert np.all((s["supply"] >= 0) & (s["supply"] <= 1))
        assert np.array_equal(present, s["pos"] >= 0)
        for r in range(len(result.replicates)):
            cells = s["pos"][r][present[r]]
            assert len(np.unique(cells)) == len(cells), "two units on one cell"
            owner = s["owner"][r].ravel()[cells]
            assert np.array_equal(owner, side[present[r]]), "a unit on enemy ground"
            assert np.all(cells // width < world.shape[0])


@SETTINGS
@given(random_scenarios())
def test_without_defender_assaults_territory_never_grows(data):
    data["sides"]["defender"]["tempo"] = 0.0
    _, result = run(data)
    assert np.all(np.diff(result.series["territory"], axis=1) <= 0)
    assert np.all(
        result.series["territory"][:, 0]
        <= compile_world(validate(data, Source("<random>"))).territory0
    )


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_scenarios())
def test_same_seed_same_trajectory(data):
    _, first = run(data)
    _, second = run(data)
    assert_same_run(first, second, tol=0)
