"""The page of a backtest: the scores by horizon, and each origin's forecast fan against what
was observed after it."""

from __future__ import annotations

import plotly.graph_objects as go

from sim.experiment.backtest import Backtest
from sim.scenario.schema import Scenario
from sim.viz.page import Table, page

COLOURS = ("#c0392b", "#2471a3", "#229954", "#b9770e", "#7d3c98", "#566573")


def scores_table(b: Backtest) -> Table:
    rows = [
        [r.horizon, f"{r.forecasts}", f"{r.coverage_50:.0%}", f"{r.coverage_80:.0%}",
         f"{r.crps_km2:,.0f}", f"{r.median_error_km2:+,.0f}"]
        for r in b.scores.itertuples()
    ]  # fmt: skip
    header = ["horizon", "forecasts", "inside the 50 % band", "inside the 80 % band",
              "CRPS (km²)", "median error (km²)"]  # fmt: skip
    return Table("Scores by horizon (a calibrated forecast: 50 % and 80 %)", header, rows)


def fans_chart(b: Backtest, s: Scenario) -> go.Figure:
    fig = go.Figure()
    for i, (origin, fan) in enumerate(b.fans.groupby("origin")):
        colour = COLOURS[i % len(COLOURS)]
        name = f"from {origin.date()}"
        fig.add_scatter(x=fan["date"], y=fan["q90"], line_width=0, showlegend=False,
                        hoverinfo="skip", legendgroup=name)  # fmt: skip
        fig.add_scatter(x=fan["date"], y=fan["q10"], fill="tonexty", line_width=0,
                        fillcolor=_shade(colour), showlegend=False, legendgroup=name,
                        hoverinfo="skip")  # fmt: skip
        fig.add_scatter(x=fan["date"], y=fan["q50"], line_color=colour, name=name,
                        legendgroup=name)  # fmt: skip
    fig.add_scatter(
        x=[o.date for o in s.observed], y=[o.km2 for o in s.observed], mode="markers",
        name="observed", marker=dict(color="#222", size=6), text=[o.source for o in s.observed],
    )  # fmt: skip
    fig.update_layout(
        title="Each origin's forecast (median, 10–90 %) on its own posterior",
        yaxis_title="territory held (km²)", height=480,
    )  # fmt: skip
    return fig


def _shade(hex_colour: str, alpha: float = 0.15) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def render(b: Backtest, s: Scenario) -> str:
    origins = ", ".join(str(o.date()) for o in sorted(b.fans["origin"].unique()))
    meta = {"origins": origins, "forecasts scored": f"{len(b.forecasts):,}"}
    return page(f"Backtest of {s.name}", s.description, meta, [scores_table(b), fans_chart(b, s)])
