"""`sim replay`: one run as a map animation for an after-action review.

The map shows who holds each cell and every unit (a marker sized by strength, coloured by
side) day by day, with a slider and play/pause; beside it the territory curve with a marker on
the day shown, and below, the run's event log.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sim import __version__
from sim.model.result import RunResult
from sim.model.world import World
from sim.scenario.schema import Scenario
from sim.viz.maps import places_trace, unit_name
from sim.viz.page import Beside, Table, page
from sim.viz.style import ATTACKER, DEFENDER, TERRITORY, rgba

SIDES = ((0, "attacker", ATTACKER), (1, "defender", DEFENDER))


def _names(scenario: Scenario) -> tuple[str, str]:
    return scenario.sides.attacker.name, scenario.sides.defender.name


def event_rows(world: World, scenario: Scenario, result: RunResult) -> list[list[str]]:
    """Day, date and what happened, for every event of the run's first replicate."""
    rows = []
    state = result.states
    for day, kind, index in result.event_list(int(result.replicates[0])):
        when = [str(day + 1), str(world.date(day))]
        if kind == "place_captured":
            holder = int(state[day]["owner"][0].ravel()[world.place_cell[index]])
            text = f"{world.places[index]} taken by {_names(scenario)[holder]}"
        elif kind == "reinforcement_arrived":
            text = f"{unit_name(world, scenario, index)} arrives"
        elif kind == "pocket_formed":
            text = f"{unit_name(world, scenario, index)} cut off from supply"
        else:
            text = f"{unit_name(world, scenario, index)} destroyed"
        rows.append([*when, text])
    return rows


def _units(world: World, scenario: Scenario, s: dict, side: int) -> dict:
    """x, y, size and hover text of one side's units present on a day."""
    here = s["alive"][0] & s["arrived"][0] & (world.side == side)
    slots = np.flatnonzero(here)
    pos = s["pos"][0][slots]
    strength = s["strength"][0][slots]
    top = float(world.strength0.max()) or 1.0
    text = [
        f"{unit_name(world, scenario, int(u))}<br>{st:,.0f} men · cohesion {c:.2f} · supply {p:.2f}"
        for u, st, c, p in zip(
            slots, strength, s["cohesion"][0][slots], s["supply"][0][slots], strict=True
        )
    ]
    return {
        "x": (pos % world.shape[1]).tolist(),
        "y": (pos // world.shape[1]).tolist(),
        "marker": {"size": (5 + 15 * np.sqrt(strength / top)).tolist()},
        "text": text,
    }


def replay_figure(world: World, scenario: Scenario, result: RunResult) -> go.Figure:
    """The animation of the first replicate of a traced run (`trace=True`)."""
    states = result.states
    territory = result.series["territory"][0]
    dates = [world.date(d) for d in range(world.days)]
    h, w = world.shape
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.58, 0.42],
        horizontal_spacing=0.08,
        subplot_titles=("Who holds each cell, and the units", "Territory held"),
    )
    owner = go.Heatmap(
        z=states[0]["owner"][0].astype(int),
        zmin=0,
        zmax=1,
        colorscale=[[0, rgba(ATTACKER, 0.35)], [1, rgba(DEFENDER, 0.35)]],
        showscale=False,
        hoverinfo="skip",
        name="owner",
    )
    fig.add_trace(owner, row=1, col=1)
    for side, _, hue in SIDES:
        first = _units(world, scenario, states[0], side)
        first["marker"].update(color=hue, line={"color": "white", "width": 1})
        fig.add_trace(
            go.Scatter(
                mode="markers",
                name=_names(scenario)[side],
                hovertemplate="%{text}<extra></extra>",
                **first,
            ),
            row=1,
            col=1,
        )
    fig.add_trace(places_trace(world), row=1, col=1)
    fig.add_trace(
        go.Scatter(x=dates, y=territory, mode="lines", name="territory", line={"color": "#222"}),
        row=1,
        col=2,
    )
    fig.add_trace(
        go.Scatter(
            x=[dates[0]],
            y=[territory[0]],
            mode="markers",
            name="day shown",
            marker={"size": 12, "color": DEFENDER},
        ),
        row=1,
        col=2,
    )

    def title(d: int) -> str:
        return f"Day {d + 1} · {dates[d]} · {territory[d]:,.0f} km² held"

    frames = []
    for d, s in enumerate(states):
        units = [go.Scatter(**_units(world, scenario, s, side)) for side, _, _ in SIDES]
        frames.append(
            go.Frame(
                name=str(d),
                data=[
                    go.Heatmap(z=s["owner"][0].astype(int)),
                    *units,
                    go.Scatter(x=[dates[d]], y=[territory[d]]),
                ],
                traces=[0, 1, 2, 5],
                layout={"title": {"text": title(d)}},
            )
        )
    fig.frames = frames
    play = {
        "frame": {"duration": 120, "redraw": True},
        "fromcurrent": True,
        "transition": {"duration": 0},
    }
    still = {
        "frame": {"duration": 0, "redraw": True},
        "mode": "immediate",
        "transition": {"duration": 0},
    }
    fig.update_layout(
        title={"text": title(0)},
        template="plotly_white",
        height=640,
        legend={"orientation": "h", "y": -0.12},
        updatemenus=[
            {
                "type": "buttons",
                "direction": "left",
                "x": 0,
                "y": -0.2,
                "xanchor": "left",
                "yanchor": "top",
                "buttons": [
                    {"label": "▶ play", "method": "animate", "args": [None, play]},
                    {"label": "❚❚ pause", "method": "animate", "args": [[None], still]},
                ],
            }
        ],
        sliders=[
            {
                "active": 0,
                "x": 0.15,
                "len": 0.85,
                "y": -0.2,
                "yanchor": "top",
                "currentvalue": {"prefix": "day shown: "},
                "steps": [
                    {"label": str(dates[d]), "method": "animate", "args": [[str(d)], still]}
                    for d in range(len(states))
                ],
            }
        ],
    )
    fig.update_xaxes(range=[-0.5, w - 0.5], showgrid=False, zeroline=False, row=1, col=1)
    fig.update_yaxes(
        range=[h - 0.5, -0.5], showgrid=False, zeroline=False, scaleanchor="x", row=1, col=1
    )
    fig.update_yaxes(title_text=TERRITORY, rangemode="tozero", row=1, col=2)
    return fig


def replay_page(
    world: World, scenario: Scenario, result: RunResult, replicate: int, inputs: str = ""
) -> str:
    """The replay page; `inputs` names the design point of a study it comes from."""
    rows = event_rows(world, scenario, result)
    meta = {"seed": str(scenario.seed), "replicate": str(replicate), "days": str(world.days)}
    if inputs:
        meta["design"] = inputs
    return page(
        f"{scenario.name}: replay of run {replicate} (seed {scenario.seed})",
        scenario.description,
        {**meta, "version": __version__},
        [
            Beside(
                replay_figure(world, scenario, result),
                Table(f"Event log ({len(rows)} events)", ["day", "date", "event"], rows),
            )
        ],
    )
