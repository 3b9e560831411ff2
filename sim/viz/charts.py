"""Plotly figures of territory-loss curves and studies, built from `sim.analysis` tables only.

Each function returns a `plotly.graph_objects.Figure`, so a notebook can show or restyle it;
the report, `sim compare` and the app put the same figures on their pages.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from sim.viz.style import HOLDING, TERRITORY, colour, finish, rgba, short_labels

BANDS = (("q10", "q90", 0.15, "80% band"), ("q25", "q75", 0.3, "50% band"))


def fan_traces(
    one: pd.DataFrame, hue: str, name: str = "median", visible: bool = True
) -> list[go.Scatter]:
    """Median line over its 50% and 80% bands, for one point's daily quantiles."""
    x = pd.to_datetime(one["date"])
    traces = []
    for lo, hi, alpha, band in BANDS:
        common = {"x": x, "mode": "lines", "line": {"width": 0}, "visible": visible}
        common["legendgroup"] = name
        traces.append(go.Scatter(y=one[hi], showlegend=False, hoverinfo="skip", **common))
        traces.append(
            go.Scatter(
                y=one[lo],
                fill="tonexty",
                fillcolor=rgba(hue, alpha),
                name=f"{name}: {band}" if name != "median" else band,
                **common,
            )
        )
    traces.append(
        go.Scatter(
            x=x,
            y=one["q50"],
            mode="lines",
            name=name,
            legendgroup=name,
            line={"color": hue, "width": 2.5},
            visible=visible,
        )
    )
    return traces


def observed_trace(observed: Sequence) -> go.Scatter:
    """Reported territory as dots, with the low–high range where sources differ."""
    obs = list(observed)
    return go.Scatter(
        x=[o.date for o in obs],
        y=[o.km2 for o in obs],
        mode="markers",
        name="observed",
        marker={"color": "#000000", "size": 7},
        error_y={
            "type": "data",
            "symmetric": False,
            "array": [o.high - o.km2 if o.high is not None else 0 for o in obs],
            "arrayminus": [o.km2 - o.low if o.low is not None else 0 for o in obs],
            "thickness": 1,
            "color": "#555555",
        },
        text=[o.source for o in obs],
        hovertemplate="%{x|%Y-%m-%d}: %{y} km²<br>%{text}<extra>observed</extra>",
    )


def fan_chart(one: pd.DataFrame, observed: Sequence = (), title: str = "") -> go.Figure:
    fig = go.Figure(fan_traces(one, colour(0)))
    if observed:
        fig.add_trace(observed_trace(observed))
    finish(fig, title, TERRITORY, hovermode="x unified")
    fig.update_yaxes(rangemode="tozero")
    return fig


def fan_selector(
    bands: pd.DataFrame,
    labels: dict[int, str],
    observed: Sequence = (),
    title: str = "",
    limit: int = 100,
) -> go.Figure:
    """The fan chart of one design point at a time, chosen from a menu (the first `limit`)."""
    points = sorted(bands["point"].unique())[:limit]
    if len(points) == 1:
        return fan_chart(bands[bands["point"] == points[0]], observed, title)
    fig = go.Figure()
    per = 5
    for i, p in enumerate(points):
        one = bands[bands["point"] == p]
        fig.add_traces(fan_traces(one, colour(0), f"point {p}", visible=i == 0))
    if observed:
        fig.add_trace(observed_trace(observed))
    extra = [True] * bool(observed)
    buttons = [
        {
            "label": f"point {p}: {labels.get(p, '')}",
            "method": "update",
            "args": [{"visible": [j // per == i for j in range(per * len(points))] + extra}],
        }
        for i, p in enumerate(points)
    ]
    finish(fig, title, TERRITORY, hovermode="x unified", updatemenus=_menu(buttons))
    fig.update_layout(margin={"t": 120})
    fig.update_yaxes(rangemode="tozero")
    return fig


def survival_chart(
    bands: pd.DataFrame, labels: dict[int, str], fraction: float, limit: int = 12
) -> go.Figure:
    """P(still holding at least the collapse threshold) by day, per point. A run that never
    fell stays in the curve to the end, so the last value is the share censored."""
    fig = go.Figure()
    for i, p in enumerate(sorted(bands["point"].unique())[:limit]):
        one = bands[bands["point"] == p]
        held = one["p_holding"].to_numpy()
        name = labels.get(p, f"point {p}")
        fig.add_trace(
            go.Scatter(
                x=pd.to_datetime(one["date"]),
                y=held,
                mode="lines",
                line={"shape": "hv", "color": colour(i), "width": 2},
                name=f"{name} ({held[-1]:.0%} never fell: censored)",
            )
        )
    shown = "" if len(fig.data) == bands["point"].nunique() else f" (first {len(fig.data)} points)"
    title = f"Probability the defender still holds ≥ {fraction:.0%} of the salient{shown}"
    finish(fig, title, HOLDING)
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    return fig


def _menu(buttons: list[dict]) -> list[dict]:
    """A drop-down above the plot's right corner, clear of the title on the left."""
    return [{"buttons": buttons, "x": 1, "xanchor": "right", "y": 1.08, "yanchor": "bottom"}]


def relative_spread(values: Sequence[float], scale: float) -> float:
    """How much an outcome varies across design points for its scale: (max − min) / scale,
    missing values left out; 0 when nothing is left or the scale is 0. The report opens its
    maps on the outcome where this is largest."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v) or not scale:
        return 0.0
    return float((v.max() - v.min()) / abs(scale))


def by_spread(outcomes: pd.DataFrame, names: list[str], scales: dict[str, float]) -> list[str]:
    """Outcomes by `relative_spread` across the points, largest first (ties keep their
    order): an outcome every point shares tells nothing, so it comes last."""
    spread = {n: relative_spread(outcomes[n], scales.get(n, 0.0)) for n in names}
    return sorted(names, key=lambda n: -spread[n])


def _canonical(v: float) -> float:
    return float(f"{v:.12g}")  # the same value reached by two float paths is one value


def value_format(values: Sequence[float]) -> str:
    """A format with the fewest decimals (at least two significant digits) that writes
    different values differently: cells of different colours never show the same label."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return ",.0f"
    distinct = {_canonical(x) for x in v}
    top = float(np.abs(v).max())
    first = max(0, 1 - int(np.floor(np.log10(top)))) if top else 0
    for decimals in range(first, 13):
        if len({f"{x:.{decimals}f}" for x in distinct}) == len(distinct):
            return f",.{decimals}f"
    return ",.12f"


def _label(v: float, fmt: str) -> str:
    return "–" if not np.isfinite(v) else format(v, fmt)


def _steps_note(name: str, pair: Sequence[str], dates: dict, steps: dict) -> list[str]:
    """'intelligence is swept only from 2025-03-02 on: …' for each parameter of the pair whose
    swept step starts after the date the outcome is measured on."""
    when = dates.get(name)
    short = short_labels(list(pair))
    return [
        f"{short[p]} is swept only from {steps[p]} on: the outcome on {when} cannot depend on it"
        for p in pair
        if when is not None and p in steps and steps[p] > when
    ]


def _colour_ends(values: np.ndarray, fmt: str) -> tuple[dict, dict]:
    """The colour scale pinned to the values' range, and the colour bar's ticks at its two
    ends, labelled as the cells are (none for an outcome no point reached, e.g. a median
    collapse day)."""
    finite = values[np.isfinite(values)]
    if not len(finite):
        return {}, {}
    lo, hi = float(finite.min()), float(finite.max())
    return {"min": lo, "max": hi}, {
        "tickvals": [lo, hi],
        "ticktext": [_label(lo, fmt), _label(hi, fmt)],
    }


def _heatmap(z: pd.DataFrame, name: str, visible: bool) -> go.Heatmap:
    """The means of one outcome over two parameters' levels, each cell labelled with its value
    and the colour bar's ends with the range it spans."""
    values = z.to_numpy(dtype=float)
    fmt = value_format(values.ravel())
    ends, ticks = _colour_ends(values, fmt)
    return go.Heatmap(
        x=[str(v) for v in z.columns],
        y=[str(v) for v in z.index],
        z=values,
        zmin=ends.get("min"),
        zmax=ends.get("max"),
        colorscale="Viridis",
        colorbar={"title": {"text": name, "side": "right"}, **ticks},
        text=[[_label(v, fmt) for v in row] for row in values],
        texttemplate="%{text}",
        hovertemplate=f"%{{x}}, %{{y}}: %{{z:{fmt}}}<extra>%{{fullData.name}}</extra>",
        visible=visible,
        name=name,
    )


def _points(outcomes: pd.DataFrame, a: str, b: str, name: str, visible: bool) -> go.Scatter:
    """One outcome at each sampled point, coloured on a scale pinned to its range."""
    values = outcomes[name].to_numpy(dtype=float)
    fmt = value_format(values)
    ends, ticks = _colour_ends(values, fmt)
    return go.Scatter(
        x=outcomes[a],
        y=outcomes[b],
        mode="markers",
        marker={
            "color": values,
            "cmin": ends.get("min"),
            "cmax": ends.get("max"),
            "colorscale": "Viridis",
            "showscale": True,
            "size": 9,
            "colorbar": {"title": {"text": name, "side": "right"}, **ticks},
        },
        hovertemplate=f"%{{x}}, %{{y}}: %{{marker.color:{fmt}}}<extra>%{{fullData.name}}</extra>",
        visible=visible,
        name=name,
    )


def _subtitle(values: np.ndarray, scale: float | None, notes: list[str]) -> str:
    """What the colours span (and what share of the outcome's scale that is) and, for an
    outcome measured before a swept step, which parameter cannot move it."""
    finite = values[np.isfinite(values)]
    lines = []
    if len(finite):
        fmt = value_format(finite)
        span = f"Colours span {_label(finite.min(), fmt)} to {_label(finite.max(), fmt)}"
        if finite.min() == finite.max():
            span = f"Every value is {_label(finite.min(), fmt)}: neither parameter here moves it"
        elif scale:
            share = relative_spread(finite, scale)
            whole = _label(scale, value_format([scale]))
            span += f", {share * 100:.2g}% of the outcome's scale (0 to {whole})"
            span += "; the menu lists outcomes by that share, largest first"
        lines.append(span)
    lines += notes
    return "<br>".join(_plotly_text(x) for x in lines)


def _plotly_text(text: str) -> str:
    """Plotly reads <br>, <b>… in its text: user text shows as written."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def outcome_maps(
    outcomes: pd.DataFrame,
    parameters: list[str],
    names: list[str],
    grid: bool = True,
    limit: int = 3,
    scales: dict[str, float] | None = None,
    dates: dict[str, dt.date] | None = None,
    steps: dict[str, dt.date] | None = None,
) -> list[go.Figure]:
    """An outcome over each pair of swept parameters (the first `limit` pairs), chosen from a
    menu: a heatmap of means over the other parameters for a grid, coloured points for
    sampled designs. Given `scales`, the menu lists outcomes by `by_spread` and opens on the
    one that varies most; else in the order of `names`. Under the title: the range the
    colours span (and its share of the outcome's scale), and which parameter of the pair is
    swept only from a step (`steps`) after the outcome's date (`dates`), so cannot move it."""
    names = by_spread(outcomes, names, scales) if scales else names
    scales, dates, steps = scales or {}, dates or {}, steps or {}
    figures = []
    for a, b in itertools.islice(itertools.combinations(parameters, 2), limit):
        fig = go.Figure()
        buttons, subtitles = [], []
        for i, name in enumerate(names):
            if grid:
                z = outcomes.pivot_table(
                    index=b, columns=a, values=name, aggfunc="mean", dropna=False
                )
                fig.add_trace(_heatmap(z, name, i == 0))
                values = z.to_numpy(dtype=float)
            else:
                fig.add_trace(_points(outcomes, a, b, name, i == 0))
                values = outcomes[name].to_numpy(dtype=float)
            notes = _steps_note(name, (a, b), dates, steps)
            subtitles.append(_subtitle(values.ravel(), scales.get(name), notes))
            buttons.append(
                {
                    "label": name,
                    "method": "update",
                    "args": [
                        {"visible": [j == i for j in range(len(names))]},
                        {"title.subtitle.text": subtitles[-1]},
                    ],
                }
            )
        finish(fig, f"Outcome over {a} × {b}", b, x=a, updatemenus=_menu(buttons))
        fig.update_layout(title_subtitle_text=subtitles[0], margin={"t": 150})
        if grid:  # levels, not a scale: dates and numbers shown as the design's values
            fig.update_xaxes(type="category")
            fig.update_yaxes(type="category")
        figures.append(fig)
    return figures


def sobol_chart(
    sensitivity: pd.DataFrame,
    order: Sequence[str] = (),
    dates: dict[str, dt.date] | None = None,
    steps: dict[str, dt.date] | None = None,
) -> go.Figure:
    """First-order and total Sobol indices per parameter with 95% intervals, per outcome, from
    a menu in `order` (outcomes it leaves out follow); under the title, the parameters swept
    only from a step after the outcome's date, whose indices are 0 by construction."""
    fig = go.Figure()
    present = list(dict.fromkeys(sensitivity["outcome"]))
    outcomes = [o for o in order if o in present] + [o for o in present if o not in order]
    buttons, subtitles = [], []
    for i, name in enumerate(outcomes):
        one = sensitivity[sensitivity["outcome"] == name]
        for index, hue in (("S1", colour(0)), ("ST", colour(1))):
            fig.add_trace(
                go.Bar(
                    x=one["parameter"],
                    y=one[index],
                    error_y={"type": "data", "array": one[f"{index}_conf"]},
                    name={"S1": "first order (S1)", "ST": "total (ST)"}[index],
                    marker_color=hue,
                    visible=i == 0,
                )
            )
        notes = _steps_note(name, list(one["parameter"]), dates or {}, steps or {})
        subtitles.append("<br>".join(_plotly_text(n) for n in notes))
        buttons.append(
            {
                "label": name,
                "method": "update",
                "args": [
                    {"visible": list(np.repeat(np.arange(len(outcomes)) == i, 2))},
                    {"title.subtitle.text": subtitles[-1]},
                ],
            }
        )
    finish(
        fig,
        "Sobol sensitivity indices (95% intervals)",
        "Share of the outcome's variance",
        x="Parameter",
        barmode="group",
        updatemenus=_menu(buttons),
    )
    fig.update_layout(title_subtitle_text=subtitles[0] if subtitles else "", margin={"t": 150})
    return fig
