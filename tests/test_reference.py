"""The reference engine is a genuine Mesa 3.3 model: cell agents on an orthogonal Moore grid,
cell state in property layers, series in a DataCollector, reproducible from its seed."""

from __future__ import annotations

from pathlib import Path

import mesa
import numpy as np
from mesa.discrete_space import CellAgent, OrthogonalMooreGrid

from sim.model import reference
from sim.model.world import compile_world
from sim.scenario.load import load

CLASSROOM = Path(__file__).parent.parent / "scenarios" / "classroom_small.yaml"


def test_reference_engine_is_a_mesa_model():
    world = compile_world(load(CLASSROOM, ["days=15"]))
    model = reference.run_model(world, replicate=3)
    assert isinstance(model, mesa.Model)
    assert isinstance(model.grid, OrthogonalMooreGrid)
    assert model.grid.dimensions == world.shape
    assert all(isinstance(a, CellAgent) for a in model.agents)
    assert {a.slot for a in model.agents} == set(model.units)
    for unit in model.agents:  # agents stand where the grid says they do
        assert unit in unit.cell.agents
        assert model.owner[unit.cell.coordinate] == unit.side
    for name in ("owner", "terrain", "road", "homeland", *reference.SUPPLY_LAYERS):
        assert getattr(model.grid, name).data.shape == world.shape
    assert np.array_equal(model.grid.owner.data, model.owner)
    assert model.grid.supplied_defender.data.any()
    frame = model.datacollector.get_model_vars_dataframe()
    assert len(frame) == 15 and frame["territory"].iloc[0] <= world.territory0
    assert model.steps == 15 and not model.running


def test_reference_run_is_reproducible_and_replicates_differ():
    world = compile_world(load(CLASSROOM, ["days=30"]))
    a, b = reference.run(world, [0, 1]), reference.run(world, [0, 1])
    assert np.array_equal(a.series["territory"], b.series["territory"])
    assert not np.array_equal(a.series["territory"][0], a.series["territory"][1])
