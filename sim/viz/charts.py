"""Plotly figures of territory-loss curves and studies, built from `sim.analysis` tables only.

Each function returns a `plotly.graph_objects.Figure`, so a notebook can show or restyle it;
the report, `sim compare` and the app put the same figures on their pages.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from sim.viz.style import HOLDING, TERRITORY, colour, finish, rgba

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


def outcome_maps(
    outcomes: pd.DataFrame,
    parameters: list[str],
    names: list[str],
    grid: bool = True,
    limit: int = 3,
) -> list[go.Figure]:
    """An outcome over each pair of swept parameters (the first `limit` pairs), chosen from a
    menu: a heatmap of means over the other parameters for a grid, coloured points for
    sampled designs."""
    figures = []
    for a, b in itertools.islice(itertools.combinations(parameters, 2), limit):
        fig = go.Figure()
        buttons = []
        for i, name in enumerate(names):
            if grid:
                z = outcomes.pivot_table(index=b, columns=a, values=name, aggfunc="mean")
                trace = go.Heatmap(
                    x=[str(v) for v in z.columns],
                    y=[str(v) for v in z.index],
                    z=z.to_numpy(),
                    colorscale="Viridis",
                    colorbar={"title": {"text": name, "side": "right"}},
                    texttemplate="%{z:.3g}",
                    visible=i == 0,
                    name=name,
                )
            else:
                trace = go.Scatter(
                    x=outcomes[a],
                    y=outcomes[b],
                    mode="markers",
                    marker={
                        "color": outcomes[name],
                        "colorscale": "Viridis",
                        "showscale": True,
                        "size": 9,
                        "colorbar": {"title": {"text": name, "side": "right"}},
                    },
                    visible=i == 0,
                    name=name,
                )
            fig.add_trace(trace)
            buttons.append(
                {
                    "label": name,
                    "method": "update",
                    "args": [{"visible": [j == i for j in range(len(names))]}],
                }
            )
        finish(fig, f"Outcome over {a} × {b}", b, x=a, updatemenus=_menu(buttons))
        fig.update_layout(margin={"t": 120})
        if grid:  # levels, not a scale: dates and numbers shown as the design's values
            fig.update_xaxes(type="category")
            fig.update_yaxes(type="category")
        figures.append(fig)
    return figures


def sobol_chart(sensitivity: pd.DataFrame) -> go.Figure:
    """First-order and total Sobol indices per parameter with 95% intervals, per outcome."""
    fig = go.Figure()
    outcomes = list(dict.fromkeys(sensitivity["outcome"]))
    buttons = []
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
        buttons.append(
            {
                "label": name,
                "method": "update",
                "args": [{"visible": list(np.repeat(np.arange(len(outcomes)) == i, 2))}],
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
    fig.update_layout(margin={"t": 120})
    return fig
