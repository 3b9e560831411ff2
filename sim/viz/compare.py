"""`sim compare`: the curves of several runs on one page, one colour per run throughout."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sim import __version__
from sim.analysis.compare import Run, difference, is_share, key_table, spatial_table
from sim.viz.charts import fan_traces, observed_trace
from sim.viz.page import Heading, Table, page
from sim.viz.style import DIFFERENCE, HOLDING, TERRITORY, colour, finish, rgba


def overlay(runs: list[Run]) -> go.Figure:
    """Median and bands of every run, overlaid."""
    fig = go.Figure()
    for i, r in enumerate(runs):
        fig.add_traces(fan_traces(r.bands(), colour(i), r.label))
    observed = runs[0].study.loaded.scenario.observed
    if observed:
        fig.add_trace(observed_trace(observed))
    finish(fig, "Territory held: median with 50% and 80% bands", TERRITORY, hovermode="x unified")
    fig.update_yaxes(rangemode="tozero")
    return fig


def differences(runs: list[Run]) -> go.Figure:
    """Each later run minus the first: the median difference and, when paired, its band."""
    fig = go.Figure()
    base = runs[0]
    for i, r in enumerate(runs[1:], start=1):
        d = difference(base, r)
        name = f"{r.label} − {base.label}"
        if d.paired:
            fig.add_traces(fan_traces(d.table, colour(i), f"{name} (paired, {d.runs} runs)"))
        else:
            fig.add_trace(
                go.Scatter(
                    x=d.table["date"],
                    y=d.table["q50"],
                    mode="lines",
                    name=f"{name} (medians; seeds differ, no pairing)",
                    line={"color": colour(i), "width": 2.5, "dash": "dash"},
                )
            )
    fig.add_hline(y=0, line={"color": "#888", "width": 1})
    return finish(fig, f"Difference from {base.label}", DIFFERENCE, hovermode="x unified")


def survival(runs: list[Run]) -> go.Figure:
    """The collapse-day survival curve of each run, side by side."""
    fig = make_subplots(
        rows=1, cols=len(runs), shared_yaxes=True, subplot_titles=[r.label for r in runs]
    )
    for i, r in enumerate(runs):
        b = r.bands()
        held = b["p_holding"].to_numpy()
        fig.add_trace(
            go.Scatter(
                x=b["date"],
                y=held,
                mode="lines",
                line={"shape": "hv", "color": colour(i), "width": 2},
                fill="tozeroy",
                fillcolor=rgba(colour(i), 0.1),
                name=f"{r.label} ({held[-1]:.0%} never fell: censored)",
            ),
            row=1,
            col=i + 1,
        )
    finish(
        fig,
        "Probability the defender still holds the salient (above its collapse threshold)",
        HOLDING,
    )
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    return fig


def _fmt(v: float, share: bool = False, difference: bool = False) -> str:
    """A key figure as the report shows it: shares as percentages, and their differences in
    percentage points."""
    if np.isnan(v):
        return "–"
    if share:
        return f"{100 * v:+.0f} pp" if difference else f"{v:.0%}"
    return f"{v:+,.3g}" if difference else f"{v:,.3g}"


def _rows(table) -> list[list[str]]:
    differences = [" − " in str(c) for c in table.columns]
    return [
        [name, *(_fmt(v, is_share(name), d) for v, d in zip(row, differences, strict=True))]
        for name, row in table.iterrows()
    ]


def compare_page(runs: list[Run]) -> str:
    table = key_table(runs)
    header, rows = ["", *map(str, table.columns)], _rows(table)
    sources = [
        [r.label, r.about, str(len(r.replicates)), str(r.seed), r.study.loaded.scenario.description]
        for r in runs
    ]
    scenarios = list(dict.fromkeys(r.study.name for r in runs))
    note = (
        f" These runs are of different scenarios ({', '.join(scenarios)}): their differences mix "
        "the scenarios' inputs with chance."
        if len(scenarios) > 1
        else ""
    )
    return page(
        "Comparison of " + ", ".join(r.label for r in runs),
        "Each run is one design point of a results folder. Differences are paired replicate by "
        "replicate where the seeds match (common random numbers)." + note,
        {"runs": str(len(runs)), "version": __version__},
        [
            Table("Runs", ["", "results", "replicates", "seed", "description"], sources),
            Table("Key figures, and differences from the first", header, rows),
            overlay(runs),
            Heading("Differences"),
            differences(runs),
            survival(runs),
            *_spatial(runs),
        ],
    )


def _spatial(runs: list[Run]) -> list[Table]:
    """The runs' spatial scores side by side by date, where they have observed maps."""
    table = spatial_table(runs)
    if table.empty:
        return []
    rows = [
        [f"{date:%Y-%m-%d}", *("–" if np.isnan(v) else f"{v:.3f}" for v in row)]
        for date, row in table.iterrows()
    ]
    caption = (
        "The model's map against the observed map (share of cells right, IoU of the held "
        "area, Brier score; sim.analysis.spatial)"
    )
    return [Table(caption, ["date", *table.columns], rows)]
