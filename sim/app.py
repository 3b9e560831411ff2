"""The classroom app: the Mesa reference model in a SolaraViz page, with sliders.

A face, like the CLI: it turns slider values into a scenario, compiles it, and shows one run
of the reference engine day by day — the map (who holds each cell, terrain, places, units by
side and strength; click a unit to read it), the territory curve growing beside the observed
history, and a Monte Carlo panel that runs N replicates of the same settings with the batch
engine and draws their band over the live curve.

Sliders are built from the scenario. A slider left at its starting value leaves the scenario
as written, so Reset with untouched sliders replays the scenario itself. Tempo and
intelligence that are schedules in the scenario get a multiplier (× the schedule); constants
get the value itself. The defender's intelligence pause is one level from a start day for a
number of days.

Run with `sim app [SCENARIO]` (it calls `solara run sim.app`).
"""

from __future__ import annotations

import copy
import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")  # no calls home

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import force_update, update_counter

from sim.analysis.summary import bands
from sim.experiment.design import data_of, with_step
from sim.experiment.execute import compile_checked
from sim.model import batch
from sim.model.reference import SalientModel
from sim.model.world import schedule
from sim.scenario.load import Loaded, load, validate
from sim.scenario.schema import TERRAINS, Scenario
from sim.viz.charts import fan_traces, observed_trace
from sim.viz.maps import places_trace, unit_name
from sim.viz.style import ATTACKER, DEFENDER, TERRITORY, rgba

SCENARIO_ENV = "SALIENT_SCENARIO"
DEFAULT_SCENARIO = Path(__file__).parent.parent / "scenarios" / "classroom_small.yaml"
SIDES = ("attacker", "defender")


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
    """SolaraViz model parameters: a slider per input, starting at the scenario's values."""
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
        for name in ("tempo", "intelligence"):
            key = f"{side}_{name}"
            if key in changed:
                current = data["sides"][side][name]
                v = changed[key]
                data["sides"][side][name] = (
                    float(v) if _is_constant(current) else _scaled(current, v)
                )
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
    ) -> None:
        base = load(scenario or scenario_path())
        values = {k: v for k, v in locals().items() if k not in ("self", "scenario", "base")}
        self.loaded = apply(base, values)
        super().__init__(compile_checked(self.loaded), replicate=0)
        self.band: dict[str, np.ndarray] | None = None  # the Monte Carlo panel's result

    @property
    def scenario(self) -> Scenario:
        return self.loaded.scenario

    def monte_carlo(self, runs: int) -> None:
        """Daily territory quantiles of `runs` replicates of these settings (batch engine)."""
        result = batch.run(self.world, list(range(runs)))
        self.band = {**bands(result.series["territory"]), "runs": runs}


# ---- figures -----------------------------------------------------------------------------------

_TINT = {"open": 0.3, "forest": 0.55, "urban": 0.8, "marsh": 0.42}


def _owner_scale() -> list[list]:
    """Colours of owner × terrain codes 0…7 (attacker then defender; terrain deepens the tint)."""
    codes = [rgba(hue, _TINT[t]) for hue in (ATTACKER, DEFENDER) for t in TERRAINS]
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
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": -0.15},
        yaxis_title=TERRITORY,
        title=f"Territory held, day {model.day} of {w.days}",
    )
    fig.update_xaxes(type="date", range=[dates[0], dates[-1]])
    fig.update_yaxes(range=[0, w.territory0 * 1.08])
    return fig


# ---- components -----------------------------------------------------------------------------


def day_text(model: ClassroomModel) -> str:
    s, w = model.scenario, model.world
    shown = s.start + dt.timedelta(days=max(model.day - 1, 0))
    return (
        f"Day {model.day} of {w.days} · {shown:%Y-%m-%d} · "
        f"{model.territory():,.0f} km² held of {w.territory0:,.0f} · "
        f"{s.sides.attacker.name} {model.strength(0):,.0f} men · "
        f"{s.sides.defender.name} {model.strength(1):,.0f} men"
    )


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

    with solara.Column():
        # Scenario names are user text: shown as plain text, never as Markdown or HTML.
        solara.Text(day_text(model), style={"font-size": "1.1em", "font-weight": "500"})
        solara.FigurePlotly(map_figure(model), on_click=click)
        unit = None
        if picked.value is not None:
            r, c = picked.value
            unit = next((u for u in model.present() if u.cell.coordinate == (r, c)), None)
        solara.Text(unit_text(model, unit) if unit else "No unit selected.")


@solara.component
def CurvePanel(model: ClassroomModel):
    """The territory curve of this run, and the Monte Carlo band of its settings."""
    update_counter.get()
    runs = solara.use_reactive(100)

    def many() -> None:
        model.monte_carlo(runs.value)
        force_update()

    with solara.Column():
        solara.FigurePlotly(territory_figure(model))
        with solara.Card("Monte Carlo: many runs of these settings"):
            solara.SliderInt("runs", value=runs, min=20, max=1000, step=20)
            solara.Button(f"Run {runs.value} replicates", on_click=many, color="primary")
            if model.band is not None:
                end = model.band["q50"][-1]
                solara.Markdown(
                    f"Median of {model.band['runs']} runs (batch engine) at the end: "
                    f"**{end:,.0f} km²**. One run (black) against the spread of many (blue)."
                )
        solara.Text(settings_text(model), style={"font-size": "0.85em", "color": "#555"})


COMPONENTS = [(MapPanel, 0), (CurvePanel, 0)]


def build(path: str | Path) -> tuple[ClassroomModel, dict[str, Any]]:
    """The model and the slider parameters of a scenario (what the page is made of)."""
    params = controls(load(path))
    return ClassroomModel(scenario=str(path)), params


@solara.component
def Page():
    path = scenario_path()
    model, params = solara.use_memo(lambda: build(path), [path])
    return SolaraViz(
        model,
        components=COMPONENTS,
        model_params=params,
        name=f"Salient — {model.scenario.name}",
        play_interval=150,
    )
