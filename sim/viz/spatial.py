"""The report's map panel: the model's probability that the defender holds each cell, with
the observed map's outline over it, one date at a time (a slider), and the scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from sim.analysis.spatial import SCORES, observed_maps
from sim.model.world import World
from sim.scenario.schema import Scenario
from sim.viz.maps import border_trace, km_axes, outline, places_trace
from sim.viz.page import Block, Heading, Table
from sim.viz.style import DEFENDER

OUTLINE = "#000000"


def _p(world: World, counts: np.ndarray, runs: int) -> np.ndarray:
    """P(held) on the attacker's homeland; blank elsewhere (the defender's own ground)."""
    p = (counts / runs).reshape(world.shape)
    return np.where(world.territory_cells, p, np.nan)


def map_panel(
    world: World, scenario: Scenario, dates: pd.DatetimeIndex, held: np.ndarray, runs: int
) -> go.Figure:
    observed = observed_maps(scenario)
    first = observed[dates[0]].reshape(world.shape)
    ox, oy = outline((first & world.territory_cells).astype(np.int8))
    fig = go.Figure(
        [
            go.Heatmap(
                z=_p(world, held[0], runs),
                zmin=0,
                zmax=1,
                colorscale=[[0, "#FFFFFF"], [1, DEFENDER]],
                colorbar={"title": {"text": "P(held)"}, "len": 0.8},
                hovertemplate="row %{y}, column %{x}: P(held) %{z:.2f}<extra></extra>",
                name="model: P(defender holds)",
            ),
            go.Scatter(
                x=ox,
                y=oy,
                mode="lines",
                line={"color": OUTLINE, "width": 2.5},
                name="observed: held",
                hoverinfo="skip",
            ),
            border_trace(world),
            places_trace(world),
        ]
    )
    steps = []
    for i, date in enumerate(dates):
        held_on = observed[pd.Timestamp(date)].reshape(world.shape) & world.territory_cells
        x, y = outline(held_on.astype(np.int8))
        steps.append(
            {
                "label": f"{date:%Y-%m-%d}",
                "method": "restyle",
                "args": [{"z": [_p(world, held[i], runs)], "x": [None, x], "y": [None, y]}, [0, 1]],
            }
        )
    fig.update_layout(
        template="plotly_white",
        height=640,
        margin={"t": 60, "b": 110, "l": 60, "r": 20},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"},
        sliders=[
            {
                "active": 0,
                "y": -0.12,
                "yanchor": "top",
                "currentvalue": {"prefix": "observed map of ", "font": {"color": "#111"}},
                "font": {"color": "rgba(0,0,0,0)"},  # dozens of dates: ticks, no labels
                "steps": steps,
            }
        ],
    )
    km_axes(fig, world)
    return fig


def blocks(
    world: World,
    scenario: Scenario,
    dates: pd.DatetimeIndex,
    held: np.ndarray,
    runs: int,
    scores: pd.DataFrame,
) -> list[Block]:
    """The panel and the table of point 0's scores by date."""
    if not len(dates):
        return []
    rows = [
        [f"{r.date:%Y-%m-%d}", f"{r['observed cells']:,}", f"{r['model cells']:,.1f}"]
        + [f"{r[s]:.3f}" for s in SCORES]
        for _, r in scores.iterrows()
    ]
    return [
        Heading("The model's map against the observed map"),
        map_panel(world, scenario, dates, held, runs),
        Table(
            f"Spatial scores of point 0 on the attacker's homeland ({runs} runs): the model "
            "holds a cell when P(held) ≥ 0.5; Brier scores the probabilities themselves",
            ["date", "observed cells", "model cells (mean)", *SCORES],
            rows,
        ),
    ]
