"""The classroom app: the Mesa reference model on one page, with a slider per input.

A face, like the CLI: it turns slider values into a scenario, compiles it, and shows one run
of the reference engine (`SalientModel`, a Mesa model with its DataCollector) day by day — the
map (who holds each cell, terrain, places, units by side and strength; click a unit to read
it), the territory curve growing beside the observed history, and a Monte Carlo panel that
runs N replicates of the same settings with the batch engine, in chunks so that it can show
its progress, then draws their band over the live curve and tables the median and 80% band on
the scenario's key dates with its thresholds' P(hold) (`key_figures`, as `sim run` prints).
`docs/teaching/tables.py` computes the lessons' tables through this same code.

Sliders are built from the scenario. A slider left at its starting value leaves the scenario
as written, so Reset with untouched sliders replays the scenario itself. Tempo and
intelligence that are schedules in the scenario get a multiplier (× the schedule); constants
get the value itself. The defender's intelligence pause is one level from a start day for a
number of days. Each slider shows its value in a box one can type into, and says "press Reset
to apply" while it differs from the run on screen.

Why not Mesa's SolaraViz: it cannot be told to leave out what a teacher does not need (a
"Page 0" tab bar, the Render Interval slider, the Use Threads box); it puts the panels in a
draggable grid whose fixed-size cards clipped the figures on a projector; its sliders show
their value only while dragged; and its controller leaves ▶ as a greyed pause when the model
stops. So the page is composed here from Solara components, around the same Mesa model; Mesa's
`update_counter`/`force_update` redraw the panels after each step.

Every figure crosses Solara's websocket as plain JSON (`sendable`), whatever its traces hold
(dates, numpy arrays, NaN), and is resized to its card (`_FitPlots`). Nothing is fetched from
the network (no Markdown, which would load KaTeX from a CDN) and telemetry is off.

Run with `sim app [SCENARIO]` (it calls `solara run sim.app`).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")  # no calls home

import ipyvue
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import solara
import solara.lab
import traitlets
from mesa.visualization.utils import force_update, update_counter
from plotly.graph_objs import FigureWidget
from plotly.utils import PlotlyJSONEncoder
from solara.server import settings as server_settings

from sim.analysis.summary import bands, key_figures
from sim.experiment.design import data_of, with_step
from sim.experiment.execute import compile_checked
from sim.model import batch
from sim.model.reference import SalientModel
from sim.model.world import schedule
from sim.scenario.load import Loaded, ScenarioError, load, validate
from sim.scenario.schema import TERRAINS, Scenario
from sim.viz.charts import fan_traces, observed_trace
from sim.viz.maps import places_trace, unit_name
from sim.viz.style import ATTACKER, DEFENDER, TERRITORY, rgba

server_settings.theme.show_banner = False  # solara's badge would sit over the tables

SCENARIO_ENV = "SALIENT_SCENARIO"
DEFAULT_SCENARIO = Path(__file__).parent.parent / "scenarios" / "classroom_small.yaml"
SIDES = ("attacker", "defender")
RUNS = 200  # Monte Carlo runs by default: what the lessons' tables use
CHUNK = 50  # replicates per batch: the progress bar moves once per chunk
DELAY_MS = 150  # pause between days while playing
DELAY_SPEC = {
    "type": "SliderInt",
    "label": "pause between days (ms)",
    "min": 0,
    "max": 1000,
    "step": 10,
}
RUNS_SPEC = {"type": "SliderInt", "label": "runs", "min": 20, "max": 1000, "step": 20}


def scenario_path() -> str:
    return os.environ.get(SCENARIO_ENV) or str(DEFAULT_SCENARIO)


# ---- sliders → scenario ---------------------------------------------------------------------


def _is_constant(value: Any) -> bool:
    return isinstance(value, int | float)


def _scaled(value: Any, factor: float) -> Any:
    """A schedule times a factor, each value kept within 0–1."""
    return [{**step, "value": min(1.0, step["value"] * factor)} for step in value]


@dataclass(frozen=True)
class Pause:
    """The defender's intelligence outside and during one pause."""

    base: float
    level: float
    day: int
    days: int


def pause_of(s: Scenario) -> Pause:
    """The scenario's first drop of defender intelligence below its opening level."""
    v = schedule(s.sides.defender.intelligence, s.start, s.days)
    lower = np.flatnonzero(v < v[0])
    if not len(lower):
        return Pause(float(v[0]), float(v[0]), s.days // 2, 0)
    first = int(lower[0])
    back = np.flatnonzero(v[first:] >= v[0])
    end = first + int(back[0]) if len(back) else s.days
    level = round(float(v[first:end].mean()) * 20) / 20  # one level for the whole pause
    return Pause(float(v[0]), level, first, end - first)


def reinforcement_of(s: Scenario) -> str | None:
    """The attacker reinforcement the sliders move: the largest."""
    named = s.sides.attacker.reinforcements
    return max(named, key=lambda n: named[n].men) if named else None


def _slider(label: str, value: float, low: float, high: float, step: float) -> dict[str, Any]:
    kind = "SliderFloat" if isinstance(step, float) else "SliderInt"
    return {"type": kind, "label": label, "value": value, "min": low, "max": high, "step": step}


def controls(loaded: Loaded) -> dict[str, Any]:
    """The sliders (in Mesa's model_params form): one per input, at the scenario's values."""
    s = loaded.scenario
    params: dict[str, Any] = {"scenario": str(loaded.source.file)}
    for side in SIDES:
        spec = getattr(s.sides, side)
        for name, what in (("tempo", "tempo"), ("intelligence", "intel")):
            if side == "defender" and name == "intelligence":
                continue  # the defender's intelligence comes with its pause, below
            value = getattr(spec, name)
            if _is_constant(value):
                slider = _slider(f"{spec.name} {what}", float(value), 0.0, 1.0, 0.05)
            else:  # keep the schedule's shape; scale it
                slider = _slider(f"{spec.name} {what} × schedule", 1.0, 0.0, 2.0, 0.05)
            params[f"{side}_{name}"] = slider
        for axis_name, axis in spec.axes.items():  # each axis of effort's tempo, likewise
            label = f"{spec.name} {axis_name} tempo"
            tempo = spec.tempo if axis.tempo is None else axis.tempo
            params[f"{side}_axis_{axis_name}"] = (
                _slider(label, float(tempo), 0.0, 1.0, 0.05)
                if _is_constant(tempo)
                else _slider(f"{label} × schedule", 1.0, 0.0, 2.0, 0.05)
            )
    p, d, last = pause_of(s), s.sides.defender.name, s.days - 1
    params["defender_intelligence"] = _slider(f"{d} intel", p.base, 0.0, 1.0, 0.05)
    params["pause_intelligence"] = _slider(f"{d} intel in pause", p.level, 0.0, 1.0, 0.05)
    params["pause_day"] = _slider("pause day", p.day, 0, last, 1)
    params["pause_days"] = _slider("pause days", p.days, 0, s.days, 1)
    name = reinforcement_of(s)
    day = (s.sides.attacker.reinforcements[name].date - s.start).days if name else -1
    if 0 <= day <= last:  # days after the start, as the pause; none for one outside the run
        rf = s.sides.attacker.reinforcements[name]
        step = max(1, int(rf.unit_strength))
        params["reinforcement_men"] = _slider(f"{name} men", rf.men, 0, 2 * rf.men, step)
        params["reinforcement_day"] = _slider(f"{name} day", day, 0, last, 1)
    low = 0 if s.seed < 1000 else min(s.seed, 2**32 - 1000)
    params["seed"] = _slider("seed", s.seed, low, low + 999, 1)
    return params


def apply(loaded: Loaded, values: dict[str, Any]) -> Loaded:
    """The scenario with the sliders' values; a value equal to its slider's start changes
    nothing. Returns a validated scenario (bad values raise ScenarioError)."""
    s = loaded.scenario
    start = controls(loaded)
    changed = {
        k: v
        for k, v in values.items()
        if k in start and isinstance(start[k], dict) and v is not None and v != start[k]["value"]
    }
    data = copy.deepcopy(data_of(loaded))
    data.pop("sweep", None)  # the app runs one setting: a study's base values
    for side in SIDES:
        spec = data["sides"][side]
        fields = [(spec, name, f"{side}_{name}") for name in ("tempo", "intelligence")]
        fields += [(a, "tempo", f"{side}_axis_{n}") for n, a in spec.get("axes", {}).items()]
        side_tempo = copy.deepcopy(spec.get("tempo", 0.0))  # an axis without its own starts here
        for node, name, key in fields:
            if key in changed:
                current, v = node.get(name), changed[key]
                current = side_tempo if current is None else current
                node[name] = float(v) if _is_constant(current) else _scaled(current, v)
    pause_keys = ("defender_intelligence", "pause_intelligence", "pause_day", "pause_days")
    if any(k in changed for k in pause_keys):
        base, level, day, days = (
            start[k]["value"] if values.get(k) is None else values[k] for k in pause_keys
        )
        steps: Any = float(base)
        if days > 0:
            first = s.start + dt.timedelta(days=int(day))
            steps = with_step(steps, s.start, first, float(level))
            if day + days < s.days:
                back = first + dt.timedelta(days=int(days))
                steps = with_step(steps, s.start, back, float(base))
        data["sides"]["defender"]["intelligence"] = steps
    name = reinforcement_of(s) if "reinforcement_men" in start else None
    if name and "reinforcement_men" in changed and changed["reinforcement_men"] <= 0:
        del data["sides"]["attacker"]["reinforcements"][name]
    elif name:
        rf = data["sides"]["attacker"]["reinforcements"][name]
        if "reinforcement_men" in changed:
            rf["men"] = int(changed["reinforcement_men"])
        if "reinforcement_day" in changed:
            rf["date"] = s.start + dt.timedelta(days=int(changed["reinforcement_day"]))
    if "seed" in changed:
        data["seed"] = int(changed["seed"])
    return validate(data, loaded.source)


# ---- the model -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One row of the Monte Carlo table: what it is, the median, the 10–90% band ('' for a
    probability)."""

    what: str
    value: str
    band: str = ""

    def cell(self) -> str:
        """The row as one table cell of a lesson: the median with its band in brackets."""
        return f"{self.value} ({self.band})" if self.band else self.value


def _day_of(s: Scenario, date: dt.date) -> int:
    """The app's day number of a date's end: the state after that many steps."""
    return (date - s.start).days + 1


def monte_carlo_lines(s: Scenario, territory0: float, series: dict[str, np.ndarray]) -> list[Line]:
    """The Monte Carlo table: territory on the key dates, P(hold) of the thresholds (the key
    figures `sim run` prints), and each side's losses by the last day."""
    k = key_figures(series["territory"], s.start, territory0, s.report)
    lines = [
        Line(f"end of {d} (day {_day_of(s, d)})", f"{m:,.0f} km²", f"{lo:,.0f}–{hi:,.0f}")
        for d, m, lo, hi in k.dates
    ]
    lines += [Line(f"P(hold ≥ {km2:,.0f} km² on {d})", f"{p:.0%}") for d, km2, p in k.holds]
    for side in SIDES:
        lost = series[f"losses_{side}"][:, -1]
        q10, q50, q90 = np.quantile(lost, (0.1, 0.5, 0.9))
        name = getattr(s.sides, side).name
        lines.append(Line(f"{name} men lost by the end", f"{q50:,.0f}", f"{q10:,.0f}–{q90:,.0f}"))
    return lines


class ClassroomModel(SalientModel):
    """One run of the reference engine for the app's settings (None: as the scenario says)."""

    def __init__(
        self,
        scenario: str | None = None,
        attacker_tempo: float | None = None,
        defender_tempo: float | None = None,
        attacker_intelligence: float | None = None,
        defender_intelligence: float | None = None,
        pause_intelligence: float | None = None,
        pause_day: int | None = None,
        pause_days: int | None = None,
        reinforcement_men: int | None = None,
        reinforcement_day: int | None = None,
        seed: int | None = None,
        **kwargs: float | None,  # <side>_axis_<name>: an axis of effort's tempo (Mesa's name)
    ) -> None:
        self.path = scenario or scenario_path()  # what Reset builds the next run from
        base = load(self.path)
        skip = ("self", "scenario", "base", "kwargs", "skip")
        values = {k: v for k, v in locals().items() if k not in skip} | kwargs
        self.loaded = apply(base, values)
        super().__init__(compile_checked(self.loaded), replicate=0)
        self.lock = threading.Lock()  # a step and a drawing of the page never overlap
        self.band: dict[str, Any] | None = None  # the Monte Carlo's daily quantiles and runs
        self.lines: list[Line] = []  # … and its table

    @property
    def scenario(self) -> Scenario:
        return self.loaded.scenario

    def advance(self) -> None:
        """One day, unless the run has ended."""
        with self.lock:
            if self.running:
                self.step()

    def monte_carlo_chunks(self, runs: int, chunk: int = CHUNK) -> Iterator[int]:
        """Run `runs` replicates of these settings with the batch engine, `chunk` at a time,
        yielding how many are done; the band and table are set after the last. Replicate k
        comes out the same whatever chunk it runs in."""
        parts = []
        for first in range(0, runs, chunk):
            part = batch.run(self.world, list(range(first, min(first + chunk, runs))))
            parts.append(part.series)
            yield first + len(part.replicates)
        series = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        self.band = {**bands(series["territory"]), "runs": runs}
        self.lines = monte_carlo_lines(self.scenario, self.world.territory0, series)

    def monte_carlo(self, runs: int, chunk: int = CHUNK) -> list[Line]:
        """The whole Monte Carlo at once (what the lessons' script calls); its table."""
        for _ in self.monte_carlo_chunks(runs, chunk):
            pass
        return self.lines


# ---- figures -----------------------------------------------------------------------------------

_TINT = {"open": 0.3, "forest": 0.55, "urban": 0.8, "marsh": 0.42}
WATER = "#c9d6df"  # the sea and lakes: impassable, nobody's colour
MAP_HEIGHT, CURVE_HEIGHT = 460, 420  # px; the width is the card's


def sendable(fig: go.Figure) -> go.Figure:
    """The figure in plain JSON types (dates as ISO text, arrays as lists, NaN as null), by
    plotly's own encoder: what crosses Solara's websocket must be JSON, whatever a trace
    holds. (Not `fig.to_json()`: its base64 arrays upset the widget's sync of trace deltas.)"""
    parts = {"data": [t.to_plotly_json() for t in fig.data], "layout": fig.layout.to_plotly_json()}
    return go.Figure(json.loads(json.dumps(parts, cls=PlotlyJSONEncoder)))


def _owner_scale() -> list[list]:
    """Colours of owner × terrain codes (attacker then defender; terrain deepens the tint;
    water is the sea's grey-blue whoever owns it)."""
    codes = [
        WATER if t == "water" else rgba(hue, _TINT[t])
        for hue in (ATTACKER, DEFENDER)
        for t in TERRAINS
    ]
    n = len(codes) - 1
    return [[i / n, c] for i, c in enumerate(codes)]


def unit_text(model: ClassroomModel, u) -> str:
    cut = "cut off from supply" if u.cut_off else "in supply reach"
    return (
        f"{unit_name(model.world, model.scenario, u.slot)}: {u.strength:,.0f} men · "
        f"cohesion {u.cohesion:.2f} · supply {u.supply:.2f} ({cut})"
    )


def map_figure(model: ClassroomModel) -> go.Figure:
    """Who holds each cell (tinted by terrain), the places, and every unit by side."""
    w = model.world
    h, wd = w.shape
    names = (model.scenario.sides.attacker.name, model.scenario.sides.defender.name)
    owner = np.asarray(model.owner, int)
    hover = np.vectorize(lambda o, t: f"{names[o]}-held {TERRAINS[t]}")(owner, w.terrain)
    fig = go.Figure(
        go.Heatmap(
            z=owner * len(TERRAINS) + w.terrain,
            zmin=0,
            zmax=2 * len(TERRAINS) - 1,
            colorscale=_owner_scale(),
            showscale=False,
            text=hover,
            hovertemplate="%{text}<extra></extra>",
        )
    )
    top = float(w.strength0.max()) or 1.0
    for side, hue in ((0, ATTACKER), (1, DEFENDER)):
        units = [u for u in model.present() if u.side == side]
        fig.add_trace(
            go.Scatter(
                x=[u.cell.coordinate[1] for u in units],
                y=[u.cell.coordinate[0] for u in units],
                mode="markers",
                name=names[side],
                marker={
                    "color": hue,
                    "size": [5 + 15 * np.sqrt(max(u.strength, 0) / top) for u in units],
                    "line": {"color": "white", "width": 1},
                },
                text=[unit_text(model, u) for u in units],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    fig.add_trace(places_trace(w))
    fig.update_layout(
        template="plotly_white",
        autosize=True,
        height=MAP_HEIGHT,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": -0.05},
        title="Click a unit to read it",
        clickmode="event",
    )
    fig.update_xaxes(range=[-0.5, wd - 0.5], showgrid=False, zeroline=False, visible=False)
    fig.update_yaxes(range=[h - 0.5, -0.5], showgrid=False, zeroline=False, visible=False)
    fig.update_yaxes(scaleanchor="x")
    return fig


def territory_figure(model: ClassroomModel) -> go.Figure:
    """This run's territory so far over the whole period, the observed history, and the
    Monte Carlo band of these settings when it has been run."""
    w, s = model.world, model.scenario
    dates = pd.date_range(s.start, periods=w.days, freq="D")
    fig = go.Figure()
    if model.band is not None:
        band = pd.DataFrame({"date": dates, **{k: v for k, v in model.band.items() if k != "runs"}})
        fig.add_traces(fan_traces(band, DEFENDER, "median of the runs"))
    series = model.datacollector.get_model_vars_dataframe()
    if len(series):
        fig.add_trace(
            go.Scatter(
                x=dates[: len(series)],
                y=series["territory"],
                mode="lines",
                name="this run",
                line={"color": "#000", "width": 2.5},
            )
        )
    if s.observed:
        fig.add_trace(observed_trace(s.observed))
    fig.update_layout(
        template="plotly_white",
        autosize=True,
        height=CURVE_HEIGHT,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": -0.15},
        yaxis_title=TERRITORY,
        title=f"Territory held, day {model.day} of {w.days}",
    )
    fig.update_xaxes(type="date", range=[dates[0], dates[-1]])
    fig.update_yaxes(range=[0, w.territory0 * 1.08])
    return fig


# ---- texts -------------------------------------------------------------------------------------


def day_text(model: ClassroomModel) -> str:
    """The day and date on screen: after N steps, the end of the run's Nth date; before any
    step, the start of the first."""
    s, w = model.scenario, model.world
    if model.day == 0:
        when = f"start of {s.start:%Y-%m-%d}"
    else:
        when = f"end of {s.start + dt.timedelta(days=model.day - 1):%Y-%m-%d}"
    return (
        f"Day {model.day} of {w.days} · {when} · "
        f"{model.territory():,.0f} km² held of {w.territory0:,.0f} · "
        f"{s.sides.attacker.name} {model.strength(0):,.0f} men · "
        f"{s.sides.defender.name} {model.strength(1):,.0f} men"
    )


def finished_text(model: ClassroomModel) -> str:
    last = model.scenario.start + dt.timedelta(days=model.day - 1)
    return f"The run has finished (day {model.day}, end of {last:%Y-%m-%d}). Reset starts again."


def _schedule_text(value) -> str:
    if isinstance(value, int | float):
        return f"{value:.2f}"
    return ", ".join(f"{v.value:.2f} from {v.from_}" for v in value)


def settings_text(model: ClassroomModel) -> str:
    """What this run was built with (the sliders as of the last Reset)."""
    s = model.scenario
    parts = []
    for spec in (s.sides.attacker, s.sides.defender):
        parts.append(f"{spec.name}: tempo {_schedule_text(spec.tempo)}")
        parts.append(f"{spec.name}: intelligence {_schedule_text(spec.intelligence)}")
    for name, rf in s.sides.attacker.reinforcements.items():
        parts.append(f"{name}: {rf.men:,} men on {rf.date}")
    parts.append(f"seed {s.seed}")
    return "Settings of this run: " + " · ".join(parts)


def snap(spec: dict[str, Any], value: float) -> float | int:
    """A typed or dragged value on its slider's grid and within its range."""
    low, high, step = spec["min"], spec["max"], spec["step"]
    on_grid = low + round((min(max(value, low), high) - low) / step) * step
    if spec["type"] == "SliderInt":
        return round(on_grid)
    return round(min(on_grid, high), 6)


# ---- components -----------------------------------------------------------------------------

PLOT_CONFIG = {"responsive": True, "displaylogo": False}

# Plotly's widget draws a plot once at the size its box has then (700 px when the box is not
# laid out yet) and resizes it only with the window. This checks every plot a few times a
# second and resizes any whose drawn width differs from its box's, so plots fill their cards
# at any window width. (Resizing redraws; comparing first keeps it from redrawing for nothing.)
_FIT = """
<template><span style="display: none"></span></template>
<script>
module.exports = {
  mounted() {
    this.timer = setInterval(() => {
      document.querySelectorAll(".salient-plot .js-plotly-plot").forEach((gd) => {
        const drawn = gd._fullLayout && gd._fullLayout.width;
        const box = gd.clientWidth;
        if (drawn && box > 0 && Math.abs(drawn - box) > 1 && gd._responsiveChartHandler) {
          gd._responsiveChartHandler();
        }
      });
    }, 250);
  },
  destroyed() {
    clearInterval(this.timer);
  },
};
</script>
"""


class _Figure(FigureWidget):
    """Plotly's widget, resizable (`responsive`) and without plotly's logo."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._config = {**self._config, **PLOT_CONFIG}  # FigureWidget sets its own first


class _FitPlots(ipyvue.VueTemplate):
    """Keeps every plot as wide as its card (see _FIT)."""

    template = traitlets.Unicode(_FIT).tag(sync=True)


@solara.component
def _Widget(fig: go.Figure, on_click: Callable[[dict], None] | None = None):
    """Plotly's widget showing `fig`, sent as plain JSON (`sendable`)."""
    safe = sendable(fig)

    def points(data: dict) -> None:
        if on_click and data and data.get("event_type") == "plotly_click":
            on_click(data)

    element = _Figure.element(on__js2py_pointsCallback=points)

    def show() -> None:
        widget = solara.get_widget(element)
        widget.layout = safe.layout
        old = len(widget.data)
        widget.add_traces(safe.data)
        widget.data = widget.data[old:]

    solara.use_effect(show, [safe])
    return element


@solara.component
def Plot(fig: go.Figure, on_click: Callable[[dict], None] | None = None):
    """A figure in a box as wide as its card (`_FitPlots` keeps the plot as wide as the box)."""
    with solara.Div(classes=["salient-plot"], style={"width": "100%", "min-width": "0"}):
        _Widget(fig, on_click)


@solara.component
def MapPanel(model: ClassroomModel):
    """The day, the map, and the unit a student clicked."""
    update_counter.get()
    picked = solara.use_reactive(None)

    def click(data: dict) -> None:
        points = (data or {}).get("points", {})
        xs, ys = points.get("xs") or [], points.get("ys") or []
        if xs:
            picked.set((round(ys[0]), round(xs[0])))

    with model.lock:
        today, fig = day_text(model), map_figure(model)
        unit = None
        if picked.value is not None:
            unit = next((u for u in model.present() if u.cell.coordinate == picked.value), None)
        about = unit_text(model, unit) if unit else "No unit selected."
    with solara.Card(classes=["salient-card"]):
        # Scenario names are user text: shown as plain text, never as Markdown or HTML.
        solara.Text(today, style={"font-size": "1.1em", "font-weight": "500"})
        Plot(fig, on_click=click)
        solara.Text(about)


@solara.component
def CurvePanel(model: ClassroomModel):
    """The territory curve of this run, with the Monte Carlo band of its settings."""
    update_counter.get()
    with model.lock:
        fig, settings = territory_figure(model), settings_text(model)
    with solara.Card(classes=["salient-card"]):
        Plot(fig)
        solara.Text(settings, style={"font-size": "0.85em", "color": "#555"})


@solara.component
def LinesTable(lines: list[Line]):
    """The Monte Carlo table, every cell plain text."""
    html = solara.v.Html
    with solara.v.SimpleTable(dense=True, class_="salient-table"):
        with html(tag="thead"), html(tag="tr"):
            for head in ("", "median", "80% of runs between"):
                html(tag="th", children=[head])
        with html(tag="tbody"):
            for line in lines:
                with html(tag="tr"):
                    html(tag="td", children=[line.what])
                    for text in (line.value, line.band):
                        html(tag="td", children=[text], style_="white-space: nowrap")


@solara.component
def MonteCarloPanel(model: ClassroomModel):
    """N runs of these settings with the batch engine, with progress; their band goes on the
    curve and their key figures in a table."""
    update_counter.get()
    runs = solara.use_reactive(RUNS)
    done = solara.use_reactive(0)
    asked = solara.use_reactive(0)

    def many() -> None:
        for k in model.monte_carlo_chunks(asked.value):
            done.set(k)
        force_update()

    task = solara.lab.use_task(many, dependencies=None)

    def start() -> None:
        asked.set(runs.value)
        done.set(0)
        task()

    title = "Monte Carlo: many runs of these settings"
    with solara.Card(title, classes=["salient-card"]), solara.Column():
        Setting(RUNS_SPEC, runs.value, False, runs.set)
        solara.Button(
            f"Run {runs.value} replicates",
            on_click=start,
            color="primary",
            disabled=task.pending,
            style={"align-self": "flex-start"},
        )
        if task.pending:
            solara.ProgressLinear(
                100 * done.value / max(asked.value, 1), classes=["salient-progress"]
            )
            solara.Text(f"{done.value:,} of {asked.value:,} runs done…")
        elif task.error:
            solara.Error(f"The Monte Carlo failed: {task.exception}")
        if model.band is not None and not task.pending:
            solara.Text(
                f"{model.band['runs']:,} runs (batch engine): the blue band on the curve "
                "holds 80% of them, the black line is the one run on the map."
            )
            LinesTable(model.lines)


@solara.component
def Setting(spec: dict[str, Any], value: float, pending: bool, on_value: Callable[[Any], None]):
    """One input: its name, its value in a box one can type into, its slider, and a
    reminder while it differs from the run on screen."""
    whole = spec["type"] == "SliderInt"
    Box, Slider = (
        (solara.InputInt, solara.SliderInt) if whole else (solara.InputFloat, solara.SliderFloat)
    )

    def typed(v: float | None) -> None:
        if v is not None:
            on_value(snap(spec, v))

    with solara.Column(gap="0px", classes=["salient-setting"]):
        with solara.Row(justify="space-between", style={"align-items": "center"}):
            solara.Text(spec["label"], classes=["salient-label"])
            Box("", value=value, on_value=typed, dense=True, hide_details=True,
                style={"max-width": "8em"}, classes=["salient-value"])  # fmt: skip
        Slider("", value=value, min=spec["min"], max=spec["max"], step=spec["step"],
               on_value=typed, thumb_label=False)  # fmt: skip
        if pending:
            solara.Text("press Reset to apply", classes=["salient-pending"],
                        style={"color": "#b45309", "font-size": "0.85em"})  # fmt: skip


@solara.component
def Settings(params: dict[str, Any], values: solara.Reactive[dict], applied: solara.Reactive[dict]):
    """A Setting per slider of `controls()`, and a way back to the scenario's values."""
    sliders = {k: v for k, v in params.items() if isinstance(v, dict)}

    def set_one(key: str) -> Callable[[Any], None]:
        return lambda v: values.set({**values.value, key: v})

    with solara.Card("Settings (the next run)", classes=["salient-card"]):
        for key, spec in sliders.items():
            value = values.value[key]
            Setting(spec, value, value != applied.value[key], set_one(key))
        solara.Button(
            "Scenario's values",
            on_click=lambda: values.set({k: v["value"] for k, v in sliders.items()}),
            outlined=True,
            color="primary",
        )


@solara.component
def Controls(
    model: solara.Reactive[ClassroomModel],
    values: solara.Reactive[dict],
    applied: solara.Reactive[dict],
):
    """Reset, ▶/❚❚, Step and the speed, and what the run is doing. At the last day the run
    stops playing: ▶ (greyed) again, and a line says Reset starts again."""
    update_counter.get()
    playing = solara.use_reactive(False)
    delay = solara.use_reactive(DELAY_MS)
    error = solara.use_reactive(None)
    plays = solara.use_memo(lambda: [0], [])  # which play loop is the current one
    m, ended = model.value, not model.value.running

    def play() -> None:
        plays[0] += 1
        mine = plays[0]
        while playing.value and m.running and plays[0] == mine:
            time.sleep(delay.value / 1000)
            if playing.value and plays[0] == mine:
                m.advance()
                force_update()
        if not m.running:
            playing.set(False)

    solara.lab.use_task(play, dependencies=[playing.value, m])

    def step() -> None:
        m.advance()
        force_update()

    def reset() -> None:
        playing.set(False)
        try:
            fresh = ClassroomModel(scenario=m.path, **values.value)
        except ScenarioError as exc:
            error.set(str(exc))
            return
        error.set(None)
        applied.set(dict(values.value))
        model.set(fresh)

    with solara.Card("Run", classes=["salient-card"]):
        with solara.Row():
            solara.Button("Reset", on_click=reset, color="primary")
            solara.Button(
                "❚❚" if playing.value and not ended else "▶",
                on_click=lambda: playing.set(not playing.value),
                color="primary",
                disabled=ended,
            )
            solara.Button("Step", on_click=step, color="primary", disabled=playing.value or ended)
        if error.value:
            solara.Error(error.value)
        if values.value != applied.value:
            solara.Text("Settings changed: press Reset to apply them.",
                        style={"color": "#b45309"})  # fmt: skip
        if ended:
            solara.Info(finished_text(m), classes=["salient-finished"])
        Setting(DELAY_SPEC, delay.value, False, delay.set)


def build(path: str | Path) -> tuple[ClassroomModel, dict[str, Any]]:
    """The model and the slider parameters of a scenario (what the page is made of)."""
    params = controls(load(path))
    return ClassroomModel(scenario=str(path)), params


@solara.component
def Page():
    """The page: controls and settings on the left, the map, the curve and the Monte Carlo
    panel on the right (stacked on a narrow screen)."""
    path = scenario_path()
    first, params = solara.use_memo(lambda: build(path), [path])
    start = {k: v["value"] for k, v in params.items() if isinstance(v, dict)}
    model = solara.use_reactive(first)
    values = solara.use_reactive(start)  # the sliders
    applied = solara.use_reactive(start)  # the sliders the run on screen was built with
    solara.Title(f"Salient — {first.scenario.name}")
    solara.AppBarTitle(f"Salient — {first.scenario.name}")
    _FitPlots.element()
    with solara.ColumnsResponsive(default=[12], medium=[4, 8], large=[3, 9]):
        with solara.Column():
            Controls(model, values, applied)
            Settings(params, values, applied)
        with solara.ColumnsResponsive(default=[12], large=[6, 6]):
            MapPanel(model.value)
            with solara.Column():
                CurvePanel(model.value)
                MonteCarloPanel(model.value)
