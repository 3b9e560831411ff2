"""Pieces shared by the map pictures (the replay and the classroom app).

Maps are drawn on cell coordinates (x = column, y = row, row 0 at the top), as a heatmap of
the grid draws them. These helpers keep those coordinates, so any such figure gets them by
adding `places_trace(world)` and `border_trace(world)` and calling `km_axes(fig, world)`.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import plotly.graph_objects as go

from sim.model.world import World
from sim.scenario.schema import Scenario

LABEL_PX = 11  # font size of a place's label
MARKER_PX = 9  # the place's diamond
CELL_PX = 10.0  # a map cell on screen, about, when a page shows the map beside its curve
POSITIONS = (
    "top center",
    "bottom center",
    "middle right",
    "middle left",
    "top right",
    "top left",
    "bottom right",
    "bottom left",
)
Box = tuple[float, float, float, float]  # left, top, right, bottom in px (y down)


def unit_name(world: World, scenario: Scenario, slot: int) -> str:
    """'Russia motor_rifle #88 of september_buildup': side, kind, slot and where it came from."""
    side = (scenario.sides.attacker, scenario.sides.defender)[int(world.side[slot])].name
    kind = world.kind_names[world.kind[slot]].rsplit(".", 1)[-1]
    group = world.group[slot]
    origin = "" if group == "initial" else f" of {group}"
    return f"{side} {kind} #{slot}{origin}"


def label_box(position: str, x: float, y: float, text: str, font_px: float = LABEL_PX) -> Box:
    """Where plotly draws a marker's label, about (a character is ≤ 0.62 em wide in a sans
    serif; the text keeps `MARKER_PX / 2 / 0.8 + 1` px off the marker's centre)."""
    w, h = 0.62 * font_px * len(text), 1.3 * font_px
    gap = MARKER_PX / 2 / 0.8 + 1
    vertical, horizontal = position.split()
    left = {"center": x - w / 2, "right": x + gap, "left": x - gap - w}[horizontal]
    top = {"top": y - gap - h, "bottom": y + gap, "middle": y - h / 2}[vertical]
    return (left, top, left + w, top + h)


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def label_positions(world: World, cell_px: float = CELL_PX) -> list[str | None]:
    """A text position for each place such that no label covers another label or a place's
    marker, nor leaves the map, at `cell_px` pixels a cell; None where no position fits (that
    place keeps its marker and its name on hover). Greedy, most crowded place first."""
    h, w = world.shape
    x = (world.place_cell % w) * cell_px
    y = (world.place_cell // w) * cell_px
    r = MARKER_PX / 2
    taken: list[Box] = [(a - r, b - r, a + r, b + r) for a, b in zip(x, y, strict=True)]
    inside = (-cell_px / 2, -cell_px / 2, (w - 0.5) * cell_px, (h - 0.5) * cell_px)
    near = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :]) < 8 * LABEL_PX
    out: list[str | None] = [None] * len(world.places)
    for i in sorted(range(len(out)), key=lambda i: -near[i].sum()):
        for position in POSITIONS:
            box = label_box(position, x[i], y[i], world.places[i])
            fits = inside[0] <= box[0] and box[2] <= inside[2]
            fits = fits and inside[1] <= box[1] and box[3] <= inside[3]
            if fits and not any(_overlaps(box, t) for t in taken):
                out[i] = position
                taken.append(box)
                break
    return out


def places_trace(world: World, cell_px: float = CELL_PX) -> go.Scatter:
    """The scenario's places at their cells (x = column, y = row), each labelled where the
    label overlaps no other when a cell is drawn `cell_px` pixels wide."""
    width = world.shape[1]
    positions = label_positions(world, cell_px)
    return go.Scatter(
        x=(world.place_cell % width).tolist(),
        y=(world.place_cell // width).tolist(),
        mode="markers+text",
        text=[n if p else "" for n, p in zip(world.places, positions, strict=True)],
        hovertext=list(world.places),
        textposition=[p or "top center" for p in positions],
        textfont={"size": LABEL_PX, "color": "#111", "shadow": "auto"},
        marker={"symbol": "diamond-open", "size": MARKER_PX, "color": "#222"},
        name="places",
        hoverinfo="text",
    )


def _border_edges(homeland: np.ndarray) -> list[tuple[tuple[float, float], ...]]:
    """Cell edges between 4-neighbours of different homelands, as pairs of corners."""
    rows, cols = np.nonzero(homeland[:, 1:] != homeland[:, :-1])  # (r, c) | (r, c + 1)
    edges = [((c + 0.5, r - 0.5), (c + 0.5, r + 0.5)) for r, c in zip(rows, cols, strict=True)]
    rows, cols = np.nonzero(homeland[1:, :] != homeland[:-1, :])  # (r, c) over (r + 1, c)
    edges += [((c - 0.5, r + 0.5), (c + 0.5, r + 0.5)) for r, c in zip(rows, cols, strict=True)]
    return [tuple((float(a), float(b)) for a, b in e) for e in edges]


def _chains(edges: list[tuple[tuple[float, float], ...]]) -> list[list[tuple[float, float]]]:
    """Edges joined into as few polylines as a walk finds, ends first (a clean line, not
    a heap of one-cell dashes)."""
    links: dict[tuple[float, float], list[tuple[float, float]]] = defaultdict(list)
    for a, b in edges:
        links[a].append(b)
        links[b].append(a)
    starts = sorted(links, key=lambda v: len(links[v]) % 2 == 0)  # odd degree: a line's end
    chains = []
    for start in starts:
        while links[start]:
            chain, here = [start], start
            while links[here]:
                there = links[here].pop()
                links[there].remove(here)
                chain.append(there)
                here = there
            chains.append(chain)
    return chains


def outline(grid: np.ndarray) -> tuple[list[float | None], list[float | None]]:
    """x, y (cell coordinates) of the lines where `grid` changes between neighbouring cells,
    as few polylines as a walk finds (None between them, as plotly breaks a line)."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    for chain in _chains(_border_edges(grid)):
        xs += [p[0] for p in chain] + [None]
        ys += [p[1] for p in chain] + [None]
    return xs, ys


def border_trace(world: World) -> go.Scatter:
    """The international border: where `world.homeland` changes between neighbouring cells."""
    xs, ys = outline(world.homeland)
    return go.Scatter(
        x=xs,
        y=ys,
        mode="lines",
        line={"color": "#222", "width": 2, "dash": "dash"},
        name="international border",
        hoverinfo="skip",
    )


def _km_ticks(cells: int, cell_km: float) -> tuple[list[float], list[str]]:
    """Round-km ticks along an axis of `cells` cells whose first edge is at -0.5."""
    extent = cells * cell_km
    step = next(s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1000) if extent / s <= 9)
    km = np.arange(0, extent + 1e-9, step)
    return [float(k / cell_km - 0.5) for k in km], [f"{k:g}" for k in km]


def km_axes(fig: go.Figure, world: World, row: int | None = None, col: int | None = None) -> None:
    """Label a cell-coordinate map's axes in km from its top-left corner (row 0 on top, one
    km as long across as down), so distances read off the map; `row`/`col` pick a subplot."""
    h, w = world.shape
    where = {"row": row, "col": col} if row is not None else {}
    xvals, xtext = _km_ticks(w, world.cell_km)
    yvals, ytext = _km_ticks(h, world.cell_km)
    common = {"showgrid": False, "zeroline": False, "ticks": "outside", "tickmode": "array"}
    common["constrain"] = "domain"  # the axes hug the map, with no blank band beside it
    common["visible"] = True  # a map drawn without axes gets them
    fig.update_xaxes(
        range=[-0.5, w - 0.5],
        tickvals=xvals,
        ticktext=xtext,
        title_text="km east",
        **common,
        **where,
    )
    anchor = next(iter(fig.select_yaxes(**where))).anchor or "x"
    fig.update_yaxes(
        range=[h - 0.5, -0.5],
        tickvals=yvals,
        ticktext=ytext,
        title_text="km south",
        scaleanchor=anchor,
        **common,
        **where,
    )
