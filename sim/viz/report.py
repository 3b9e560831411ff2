"""The results page: a self-contained HTML report (plotly.js embedded, no network needed).

Figures come from `sim.analysis` summaries only; all user text is escaped.
"""

from __future__ import annotations

import datetime as dt
import html

import pandas as pd
import plotly.graph_objects as go

from sim import __version__
from sim.analysis.study import Summary
from sim.analysis.summary import KeyFigures, key_figures
from sim.experiment.execute import Study
from sim.experiment.store import ResultsDir

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")
TERRITORY = "Territory held by the defender (km²)"


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def fan_chart(
    summary: pd.DataFrame, observed=(), title: str = "", colour: str = PALETTE[0]
) -> go.Figure:
    """Median line with 50% and 80% bands over dates; observed history as dots with ranges."""
    x = pd.to_datetime(summary["date"])
    fig = go.Figure()
    for lo, hi, alpha, name in (("q10", "q90", 0.15, "80% band"), ("q25", "q75", 0.3, "50% band")):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=summary[hi],
                mode="lines",
                line={"width": 0},
                showlegend=False,
                hoverinfo="skip",
                name=f"{name} upper",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=summary[lo],
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor=_rgba(colour, alpha),
                name=name,
            )
        )
    fig.add_trace(
        go.Scatter(
            x=x, y=summary["q50"], mode="lines", name="median", line={"color": colour, "width": 2.5}
        )
    )
    if observed:
        obs = list(observed)
        low = [o.km2 - o.low if o.low is not None else 0 for o in obs]
        high = [o.high - o.km2 if o.high is not None else 0 for o in obs]
        fig.add_trace(
            go.Scatter(
                x=[o.date for o in obs],
                y=[o.km2 for o in obs],
                mode="markers",
                name="observed",
                marker={"color": "#000000", "size": 7, "symbol": "circle"},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": high,
                    "arrayminus": low,
                    "thickness": 1,
                    "color": "#555555",
                },
                text=[o.source for o in obs],
                hovertemplate="%{x|%Y-%m-%d}: %{y} km²<br>%{text}",
            )
        )
    fig.update_layout(
        title=title,
        xaxis_title="Date",
        yaxis_title=TERRITORY,
        template="plotly_white",
        hovermode="x unified",
        legend={"orientation": "h", "y": -0.2},
    )
    fig.update_yaxes(rangemode="tozero")
    return fig


def key_table_rows(k: KeyFigures) -> list[tuple[str, str]]:
    rows = [
        (f"Territory on {d}", f"{m:,.0f} km² (80%: {lo:,.0f}–{hi:,.0f})")
        for d, m, lo, hi in k.dates
    ]
    rows += [(f"P(hold ≥ {km2:,.0f} km² on {d})", f"{p:.0%}") for d, km2, p in k.holds]
    med = k.collapse.median()
    share = 1 - k.collapse.censored.mean()
    if med is None:
        text = f"not reached by half the runs ({share:.0%} fell by the end)"
    else:
        text = f"{k.start + dt.timedelta(days=int(med))} (day {med:.0f}; {share:.0%} of runs fell)"
    rows.append((f"Median day below {k.collapse.threshold_km2:,.0f} km²", text))
    return rows


def page(
    title: str,
    description: str,
    meta: dict[str, str],
    table: list[tuple[str, str]],
    figures: list[go.Figure],
) -> str:
    """A full HTML page; plotly.js is embedded once, in the first figure."""
    esc = html.escape
    parts = [
        fig.to_html(
            full_html=False, include_plotlyjs=(i == 0), default_width="100%", default_height="520px"
        )
        for i, fig in enumerate(figures)
    ]
    rows = "".join(f"<tr><th>{esc(a)}</th><td>{esc(b)}</td></tr>" for a, b in table)
    meta_html = " · ".join(f"{esc(k)}: {esc(str(v))}" for k, v in meta.items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;margin:1em 0}}th,td{{padding:.3em .8em;border-bottom:1px solid #ddd;
text-align:left}}.meta{{color:#666;font-size:.9em}}.desc{{white-space:pre-wrap}}</style></head>
<body><h1>{esc(title)}</h1><p class="desc">{esc(description)}</p>
<p class="meta">{meta_html}</p><table>{rows}</table>{"".join(parts)}</body></html>"""


def medians_chart(bands: pd.DataFrame, design_table: pd.DataFrame, limit: int = 12) -> go.Figure:
    """The median curve of each design point (the first `limit`), one colour each."""
    fig = go.Figure()
    params = [c for c in design_table.columns if c != "point"]
    for p, one in bands.groupby("point", sort=True):
        if p >= limit:
            break
        label = ", ".join(f"{c.rsplit('.', 1)[-1]}={design_table.at[p, c]}" for c in params)
        fig.add_trace(
            go.Scatter(
                x=pd.to_datetime(one["date"]),
                y=one["q50"],
                mode="lines",
                name=f"point {p}: {label}",
                line={"color": PALETTE[p % len(PALETTE)], "dash": ("solid", "dash")[p // 7 % 2]},
            )
        )
    fig.update_layout(
        title=f"Median territory held, design points 0–{min(limit, len(design_table)) - 1}",
        xaxis_title="Date",
        yaxis_title=TERRITORY,
        template="plotly_white",
        legend={"orientation": "h", "y": -0.2},
    )
    fig.update_yaxes(rangemode="tozero")
    return fig


def outcome_rows(outcomes: pd.DataFrame, limit: int = 30) -> list[tuple[str, str]]:
    """One table row per design point: its inputs, then its outcomes."""
    rows = []
    for _, r in outcomes.head(limit).iterrows():
        cells = [f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()]
        rows.append((f"point {int(r['point'])}", "; ".join(cells[1:])))
    return rows


def build(store: ResultsDir, study: Study, summary: Summary) -> KeyFigures:
    """Write report.html for a finished study; returns point 0's key figures."""
    scenario, world = study.loaded.scenario, study.worlds[0]
    territory = store.territory(0)
    figures = key_figures(territory, scenario.start, world.territory0, scenario.report)
    first = summary.bands[summary.bands["point"] == 0]
    title = f"{scenario.name}: territory held, {territory.shape[0]} runs"
    charts = [
        fan_chart(
            first, scenario.observed, title=title + (" (point 0)" * (study.design.points > 1))
        )
    ]
    rows = key_table_rows(figures)
    if study.design.points > 1:
        charts.append(medians_chart(summary.bands, study.design.table))
        rows = outcome_rows(summary.outcomes)
    meta = {
        "seed": str(scenario.seed),
        "design": f"{study.design.kind}, {study.design.points} points",
        "replicates per point": str(territory.shape[0]),
        "salient at start": f"{world.territory0:,.0f} km²",
        "version": __version__,
    }
    store.write_report(page(scenario.name, scenario.description, meta, rows, charts))
    return figures
