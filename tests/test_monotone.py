"""The three headline inputs move the territory-loss curve the way their users expect,
measured on the classroom scenario over 300 replicates with common random numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.model import batch
from sim.model.world import compile_world
from sim.scenario.load import load

CLASSROOM = Path(__file__).parent.parent / "scenarios" / "classroom_small.yaml"
DAY = 119  # the 120th day


def held(*sets: str) -> float:
    world = compile_world(load(CLASSROOM, list(sets)))
    return float(batch.run(world, range(300)).series["territory"][:, DAY].mean())


@pytest.mark.parametrize("low,high", [(0.05, 0.15), (0.1, 0.25)])
def test_higher_attacker_tempo_leaves_less_territory(low, high):
    assert held(f"sides.attacker.tempo={high}") < held(f"sides.attacker.tempo={low}") - 10


def test_higher_tempo_on_an_axis_leaves_less_territory():
    # an axis over the western half of the map; Red's tempo (0.3) holds elsewhere
    axis = "sides.attacker.axes={west: {areas: [[[0, 0], [14, 9]]], tempo: %s}}"
    assert held(axis % 0.5) < held(axis % 0.3) - 5 < held(axis % 0.1) - 25


def test_earlier_reinforcements_leave_less_territory():
    path = "sides.attacker.reinforcements.second_echelon.date"
    assert held(f"{path}=2025-01-05") < held(f"{path}=2025-03-15") - 1


def test_larger_reinforcements_leave_less_territory():
    path = "sides.attacker.reinforcements.second_echelon.men"
    assert held(f"{path}=6000") < held(f"{path}=1000") - 10


def test_cutting_defender_intelligence_leaves_less_territory():
    full = held("sides.defender.intelligence=1.0")
    cut = held("sides.defender.intelligence=0.0")
    assert cut < full - 20


def test_the_pause_in_the_scenario_costs_ground():
    """The classroom scenario's own intelligence pause (0.8 → 0.2 from day 60) matters."""
    paused = held()
    unpaused = held("sides.defender.intelligence=0.8")
    assert paused < unpaused
    assert np.isfinite(paused)


def test_more_attacker_fire_intensity_raises_both_sides_losses():
    """Positional fire is exchanged (rules.contact_intensity): the attacker pressing harder
    kills more defenders and draws their return fire too."""

    def losses(intensity: float) -> tuple[float, float]:
        world = compile_world(load(CLASSROOM, [f"sides.attacker.fire_intensity={intensity}"]))
        series = batch.run(world, range(300)).series
        return (
            float(series["losses_attacker"][:, DAY].mean()),
            float(series["losses_defender"][:, DAY].mean()),
        )

    low, high = losses(0.1), losses(0.4)
    assert high[1] > low[1] + 200  # the defender loses more
    assert high[0] > low[0]  # and so does the attacker


def test_more_attacker_drone_effort_leaves_less_territory():
    assert held("sides.attacker.drone_effort=15") < held("sides.attacker.drone_effort=0") - 5


@pytest.mark.parametrize("near, far", [(0, 2), (2, 8)])
def test_longer_attacker_drone_reach_leaves_less_territory(near, far):
    """With strikes and supply losses on, a longer reach exposes more defenders. Beyond the
    front line the classroom's small salient has few units left to expose: 2 → 8 km moves
    the curve by about a km² (docs/model.md, section 7.2b)."""
    drones = ("sides.attacker.drone_effort=15", "rules.drone_supply=0.3")
    assert held(*drones, f"sides.attacker.drone_range_km={far}") < held(
        *drones, f"sides.attacker.drone_range_km={near}"
    )


def test_russian_drone_reach_moves_kursk():
    """Russia's drone reach, held at 4 km or at 12 km from the start (the scenario grows it from
    one to the other over the winter), moves the territory Ukraine holds in March: drones thin
    the deliveries along every supply route inside their reach (rules.drone_supply)."""
    kursk = CLASSROOM.parent / "kursk_2024.yaml"
    march_15 = 200  # 2025-03-15, day 200 from 2024-08-27

    def median(reach_km: int) -> float:
        world = compile_world(load(kursk, [f"sides.attacker.drone_range_km={reach_km}"]))
        return float(np.median(batch.run(world, range(60)).series["territory"][:, march_15]))

    assert median(12) < median(4) - 20
