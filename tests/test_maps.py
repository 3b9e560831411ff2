"""The map helpers the replay and the classroom app share: km axes, the border, and place
labels that never overlap."""

from __future__ import annotations

import itertools

import numpy as np
import plotly.graph_objects as go
import pytest

from sim.experiment.execute import plan
from sim.scenario.load import load
from sim.viz import maps
from tests.study_runs import ROOT

KURSK = ROOT / "scenarios" / "kursk_2024.yaml"


@pytest.fixture(scope="module")
def world():
    return plan(load(KURSK, ["days=5"])).world(0)


def _unit_edges(trace: go.Scatter) -> set[frozenset]:
    """The border line cut into one-cell edges (each a pair of cell corners)."""
    edges, last = set(), None
    for x, y in zip(trace.x, trace.y, strict=True):
        here = None if x is None else (x, y)
        if last and here:
            steps = round(abs(here[0] - last[0]) + abs(here[1] - last[1]))
            for k in range(steps):
                a = tuple(last[i] + (here[i] - last[i]) * k / steps for i in (0, 1))
                b = tuple(last[i] + (here[i] - last[i]) * (k + 1) / steps for i in (0, 1))
                edges.add(frozenset((a, b)))
        last = here
    return edges


def test_the_border_runs_along_every_change_of_homeland_and_nowhere_else(world):
    h = world.homeland
    want = set()
    for r, c in zip(*np.nonzero(h[:, 1:] != h[:, :-1]), strict=True):
        want.add(frozenset(((c + 0.5, r - 0.5), (c + 0.5, r + 0.5))))
    for r, c in zip(*np.nonzero(h[1:, :] != h[:-1, :]), strict=True):
        want.add(frozenset(((c - 0.5, r + 0.5), (c + 0.5, r + 0.5))))
    trace = maps.border_trace(world)
    assert len(want) > 40 and _unit_edges(trace) == want
    assert trace.x.count(None) <= 3  # a few long lines, not a dash per cell


def test_km_axes_label_cell_edges_in_km(world):
    fig = go.Figure(go.Heatmap(z=world.homeland))
    fig.update_xaxes(visible=False)  # as the classroom app draws its map
    maps.km_axes(fig, world)
    x, y = fig.layout.xaxis, fig.layout.yaxis
    assert list(x.ticktext) == ["0", "10", "20", "30", "40", "50", "60", "70", "80"]
    assert x.tickvals[1] == pytest.approx(10 / world.cell_km - 0.5)  # 10 km = 5 cells
    assert y.ticktext[-1] == "60" and list(y.range) == [world.shape[0] - 0.5, -0.5]
    assert y.scaleanchor == "x" and "km" in x.title.text and "km" in y.title.text
    assert x.visible and y.visible


@pytest.mark.parametrize("cell_px", [9.0, 12.0, 16.0])
def test_place_labels_overlap_no_label_nor_marker_and_stay_on_the_map(world, cell_px):
    positions = maps.label_positions(world, cell_px)
    assert all(positions), "every Kursk place gets a label"
    w = world.shape[1]
    x, y = (world.place_cell % w) * cell_px, (world.place_cell // w) * cell_px
    boxes = [
        maps.label_box(p, a, b, name)
        for p, a, b, name in zip(positions, x, y, world.places, strict=True)
    ]
    for a, b in itertools.combinations(boxes, 2):
        assert not maps._overlaps(a, b)
    r = maps.MARKER_PX / 2
    for box, (a, b) in itertools.product(boxes, zip(x, y, strict=True)):
        assert not maps._overlaps(box, (a - r, b - r, a + r, b + r))


def test_the_places_trace_keeps_every_name_for_hover(world):
    trace = maps.places_trace(world)
    assert list(trace.hovertext) == list(world.places)
    assert len(set(trace.textposition)) > 1  # not all 'top center', as before
