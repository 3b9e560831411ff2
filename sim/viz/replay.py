"""`sim replay`: one run as a map animation for an after-action review.

The map shows who holds each cell and every unit (a marker sized by strength, coloured by
side) day by day, in km with the international border, with a slider and play/pause; beside
it the territory curve with a marker on the day shown, and beside both the run's event log,
which follows the day shown.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sim import __version__
from sim.model.result import RunResult
from sim.model.world import World
from sim.scenario.schema import Scenario
from sim.viz.maps import border_trace, km_axes, places_trace, unit_name
from sim.viz.page import Beside, Script, Table, page
from sim.viz.style import ATTACKER, DEFENDER, TERRITORY, rgba

SIDES = ((0, "attacker", ATTACKER), (1, "defender", DEFENDER))
HEIGHT = 780  # px; the map gets about 11 px a cell of a 42-column map on a 1280 px screen
MAP_CELL_PX = 9.0  # a little under it, so labels placed for it also fit a smaller screen
WHAT = {"pocket_formed": "cut off from supply", "unit_destroyed": "destroyed"}
STILL = {  # go to one day at once, dropping any animation under way
    "frame": {"duration": 0, "redraw": True},
    "mode": "immediate",
    "transition": {"duration": 0},
}

# The page's own script: play, pause and the slider run plotly's animation themselves, so the
# promise plotly rejects when one animation interrupts another is caught here (plotly's own
# buttons leave it unhandled: an "undefined" page error); and the event log follows the day
# shown (earlier events plain, the day's highlighted, later ones grey, scrolled into view);
# a click on an event shows its day.
FOLLOW = """
var side = plot.closest(".beside").querySelector(".side");
var rows = side.querySelectorAll("tbody tr");
function quiet() {}
function animate(args) { Plotly.animate(plot, args[0], args[1]).catch(quiet); }
function show(day) {
  var last = null;
  rows.forEach(function (row, i) {
    row.classList.toggle("later", data.days[i] > day);
    row.classList.toggle("now", data.days[i] === day);
    if (data.days[i] <= day) last = row;
  });
  var top = last ? last.getBoundingClientRect().top - side.getBoundingClientRect().top : 0;
  side.scrollTop = Math.max(0, side.scrollTop + top - side.clientHeight / 3);
}
plot.on("plotly_sliderchange", function (e) {
  show(Number(e.step.value));
  if (e.interaction) animate(e.step.args);
});
plot.on("plotly_buttonclicked", function (e) { animate(e.button.args); });
rows.forEach(function (row, i) {  // a click on an event shows its day
  row.addEventListener("click", function () { animate([[String(data.days[i])], data.still]); });
});
show(0);
"""


def _names(scenario: Scenario) -> tuple[str, str]:
    return scenario.sides.attacker.name, scenario.sides.defender.name


@dataclass(frozen=True)
class Entry:
    """One line of the event log: what happened on a day, standing for `events` events."""

    day: int  # day index (0 = the start)
    text: str
    events: int = 1


def _kinds(world: World, slots: list[int]) -> str:
    """'20 nk_infantry, 4 artillery_drones': the kinds among some unit slots."""
    names = Counter(world.kind_names[world.kind[u]].rsplit(".", 1)[-1] for u in slots)
    return ", ".join(f"{n} {k}" for k, n in names.most_common())


def _what(kind: str) -> str:
    """'cut off from supply' for 'pocket_formed'; a kind added later reads as its name."""
    return WHAT.get(kind, kind.replace("_", " "))


def _units_entry(world: World, scenario: Scenario, kind: str, slots: list[int]) -> str:
    """One line for units of one side that arrived, were cut off or destroyed together."""
    if len(slots) == 1:
        verb = "arrives" if kind == "reinforcement_arrived" else _what(kind)
        return f"{unit_name(world, scenario, slots[0])} {verb}"
    side = _names(scenario)[int(world.side[slots[0]])]
    if kind == "reinforcement_arrived":
        group = world.group[slots[0]]
        return f"{side}: {len(slots)} battalions of {group} arrive ({_kinds(world, slots)})"
    which = ", ".join(f"{world.kind_names[world.kind[u]].rsplit('.', 1)[-1]} #{u}" for u in slots)
    return f"{side}: {len(slots)} battalions {_what(kind)} ({which})"


def event_entries(world: World, scenario: Scenario, result: RunResult) -> list[Entry]:
    """The first replicate's events, a line each, except that units of one side arriving
    from one reinforcement, cut off or destroyed on one day share a line (a log of 78
    arrivals one by one hides the rest)."""
    state = result.states
    lines: dict[tuple, list[int]] = {}
    for day, kind, index in result.event_list(int(result.replicates[0])):
        if kind == "place_captured":
            lines[(day, kind, index)] = [index]
        else:
            side = int(world.side[index])
            group = world.group[index] if kind == "reinforcement_arrived" else ""
            lines.setdefault((day, kind, side, group), []).append(index)
    out = []
    for (day, kind, *_), items in lines.items():
        if kind == "place_captured":
            holder = int(state[day]["owner"][0].ravel()[world.place_cell[items[0]]])
            text = f"{world.places[items[0]]} taken by {_names(scenario)[holder]}"
        else:
            text = _units_entry(world, scenario, kind, items)
        out.append(Entry(day, text, len(items)))
    return out


def _row(world: World, e: Entry) -> list[str]:
    return [str(e.day + 1), str(world.date(e.day)), e.text]


def event_rows(world: World, scenario: Scenario, result: RunResult) -> list[list[str]]:
    """Day, date and what happened: the event log's rows (see `event_entries`)."""
    return [_row(world, e) for e in event_entries(world, scenario, result)]


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


def _controls(days: list) -> dict:
    """Play/pause on their own row and the slider under them, its day on the right: nothing
    covers anything at any width. Plotly only moves them; the page's script animates
    (`execute: False`), so an interrupted animation's rejected promise is caught."""
    play = {
        "frame": {"duration": 120, "redraw": True},
        "fromcurrent": True,
        "transition": {"duration": 0},
    }
    mine = {"method": "animate", "execute": False}
    return {
        "updatemenus": [
            {
                "type": "buttons",
                "direction": "left",
                "x": 0,
                "y": -0.2,
                "xanchor": "left",
                "yanchor": "top",
                "pad": {"t": 0, "r": 0},
                "buttons": [
                    {"label": "▶ play", "args": [None, play], **mine},
                    {"label": "❚❚ pause", "args": [[None], STILL], **mine},
                ],
            }
        ],
        "sliders": [
            {
                "active": 0,
                "x": 0,
                "len": 1,
                "y": -0.24,
                "yanchor": "top",
                "pad": {"t": 30, "b": 10},
                "currentvalue": {"prefix": "day shown: ", "xanchor": "right"},
                "steps": [
                    {
                        "label": str(day),
                        "value": str(d),
                        "args": [[str(d)], STILL],
                        **mine,
                    }
                    for d, day in enumerate(days)
                ],
            }
        ],
    }


def held_by(world: World, s: dict) -> np.ndarray:
    """Who holds each land cell on a traced day (0 or 1); water is blank (NaN)."""
    return np.where(world.land, s["owner"][0], np.nan)


def _add_map(fig: go.Figure, world: World, scenario: Scenario, s: dict) -> None:
    """Day one's map on the left: who holds each cell, each side's units, border, places."""
    owner = go.Heatmap(
        z=held_by(world, s),
        zmin=0,
        zmax=1,
        colorscale=[[0, rgba(ATTACKER, 0.35)], [1, rgba(DEFENDER, 0.35)]],
        showscale=False,
        hoverinfo="skip",
        name="owner",
    )
    fig.add_trace(owner, row=1, col=1)
    for side, _, hue in SIDES:
        first = _units(world, scenario, s, side)
        first["marker"].update(color=hue, line={"color": "white", "width": 1})
        units = go.Scatter(
            mode="markers",
            name=_names(scenario)[side],
            hovertemplate="%{text}<extra></extra>",
            **first,
        )
        fig.add_trace(units, row=1, col=1)
    fig.add_trace(border_trace(world), row=1, col=1)
    fig.add_trace(places_trace(world, MAP_CELL_PX), row=1, col=1)
    km_axes(fig, world, row=1, col=1)


def _add_curve(fig: go.Figure, dates: list, territory: np.ndarray) -> int:
    """The territory curve on the right with the day shown on it; returns that marker's
    trace index (the frames move it)."""
    line = go.Scatter(x=dates, y=territory, mode="lines", name="territory", line={"color": "#222"})
    fig.add_trace(line, row=1, col=2)
    shown = go.Scatter(
        x=[dates[0]],
        y=[territory[0]],
        mode="markers",
        name="day shown",
        marker={"size": 13, "symbol": "circle-open", "color": "#000", "line": {"width": 3}},
    )  # not a side's colour: it would read as one more unit
    fig.add_trace(shown, row=1, col=2)
    fig.update_yaxes(title_text=TERRITORY, rangemode="tozero", row=1, col=2)
    return len(fig.data) - 1


def _title(dates: list, territory: np.ndarray, d: int) -> str:
    return f"Day {d + 1} · {dates[d]} · {territory[d]:,.0f} km² held"


def _frames(
    world: World, scenario: Scenario, result: RunResult, dates: list, marker: int
) -> list[go.Frame]:
    """One frame a day: the owners, both sides' units, the day on the curve, the title."""
    territory = result.series["territory"][0]
    frames = []
    for d, s in enumerate(result.states):
        units = [go.Scatter(**_units(world, scenario, s, side)) for side, _, _ in SIDES]
        frames.append(
            go.Frame(
                name=str(d),
                data=[
                    go.Heatmap(z=held_by(world, s)),
                    *units,
                    go.Scatter(x=[dates[d]], y=[territory[d]]),
                ],
                traces=[0, 1, 2, marker],
                layout={"title": {"text": _title(dates, territory, d)}},
            )
        )
    return frames


def replay_figure(world: World, scenario: Scenario, result: RunResult) -> go.Figure:
    """The animation of the first replicate of a traced run (`trace=True`)."""
    territory = result.series["territory"][0]
    dates = [world.date(d) for d in range(world.days)]
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.66, 0.34],
        horizontal_spacing=0.09,
        subplot_titles=("Who holds each cell, and the units", "Territory held"),
    )
    _add_map(fig, world, scenario, result.states[0])
    marker = _add_curve(fig, dates, territory)
    fig.frames = _frames(world, scenario, result, dates, marker)
    fig.update_layout(
        title={"text": _title(dates, territory, 0)},
        template="plotly_white",
        height=HEIGHT,
        margin={"t": 100, "b": 200, "l": 60, "r": 20},
        legend={"orientation": "h", "y": -0.1, "yanchor": "top"},
        **_controls(dates[: len(result.states)]),
    )
    return fig


def replay_page(
    world: World, scenario: Scenario, result: RunResult, replicate: int, inputs: str = ""
) -> str:
    """The replay page; `inputs` names the design point of a study it comes from."""
    entries = event_entries(world, scenario, result)
    rows = [_row(world, e) for e in entries]
    meta = {"seed": str(scenario.seed), "replicate": str(replicate), "days": str(world.days)}
    if inputs:
        meta["design"] = inputs
    events = sum(e.events for e in entries)
    caption = f"Event log ({events} events; later days grey, the day shown highlighted)"
    return page(
        f"{scenario.name}: replay of run {replicate} (seed {scenario.seed})",
        scenario.description,
        {**meta, "version": __version__},
        [
            Beside(
                replay_figure(world, scenario, result),
                Table(caption, ["day", "date", "event"], rows),
                Script(FOLLOW, {"days": [e.day for e in entries], "still": STILL}),
            )
        ],
    )
