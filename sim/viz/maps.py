"""Pieces shared by the map pictures (the replay and the classroom app)."""

from __future__ import annotations

import plotly.graph_objects as go

from sim.model.world import World
from sim.scenario.schema import Scenario


def unit_name(world: World, scenario: Scenario, slot: int) -> str:
    """'Russia motor_rifle #88 of september_buildup': side, kind, slot and where it came from."""
    side = (scenario.sides.attacker, scenario.sides.defender)[int(world.side[slot])].name
    kind = world.kind_names[world.kind[slot]].rsplit(".", 1)[-1]
    group = world.group[slot]
    origin = "" if group == "initial" else f" of {group}"
    return f"{side} {kind} #{slot}{origin}"


def places_trace(world: World) -> go.Scatter:
    """The scenario's places, labelled, at their cells (x = column, y = row)."""
    width = world.shape[1]
    return go.Scatter(
        x=(world.place_cell % width).tolist(),
        y=(world.place_cell // width).tolist(),
        mode="markers+text",
        text=list(world.places),
        textposition="top center",
        marker={"symbol": "diamond-open", "size": 9, "color": "#222"},
        name="places",
        hoverinfo="text",
    )
