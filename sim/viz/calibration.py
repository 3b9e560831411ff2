"""The page of a calibration: what the waves ruled out, the prior against the posterior of
each parameter, the pairs (where equifinality shows), and the posterior predictive fan
against the observations it was fitted to."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from sim.analysis.matching import weighted_quantiles
from sim.experiment.calibrate import Calibration
from sim.scenario.schema import Scenario
from sim.viz.page import Heading, Table, page


def _marginals(c: Calibration) -> list[go.Figure]:
    out = []
    w = c.posterior["weight"].to_numpy(float)
    for a in c.axes:
        fig = go.Figure()
        edges = np.linspace(a.low, a.high, 21)
        fig.add_bar(x=(edges[:-1] + edges[1:]) / 2, y=np.full(20, 1 / 20), name="prior",
                    marker_color="#bbb", width=(edges[1] - edges[0]) * 0.9)  # fmt: skip
        hist, _ = np.histogram(c.posterior[a.name], bins=edges, weights=w)
        fig.add_bar(x=(edges[:-1] + edges[1:]) / 2, y=hist, name="posterior",
                    marker_color="#c0392b", width=(edges[1] - edges[0]) * 0.6)  # fmt: skip
        fig.update_layout(
            title=a.name, barmode="overlay", height=280, margin=dict(t=40, b=30),
            yaxis_title="share", xaxis_range=[a.low, a.high],
        )  # fmt: skip
        out.append(fig)
    return out


def _pairs(c: Calibration) -> go.Figure:
    """Every pair of parameters, one panel each below the diagonal, sets sized by weight."""
    from plotly.subplots import make_subplots

    n = len(c.axes)
    w = c.posterior["weight"].to_numpy(float)
    size = 3 + 9 * np.sqrt(w / w.max())
    fig = make_subplots(
        rows=n - 1, cols=n - 1, shared_xaxes="columns", shared_yaxes="rows",
        horizontal_spacing=0.02, vertical_spacing=0.02,
    )  # fmt: skip
    for i in range(1, n):  # row: the parameter on the y axis
        for j in range(i):  # column: the one on the x axis
            fig.add_scattergl(
                x=c.posterior[c.axes[j].name], y=c.posterior[c.axes[i].name], mode="markers",
                marker=dict(size=size, color="#c0392b", opacity=0.4), showlegend=False,
                hovertemplate=f"{c.axes[j].name}=%{{x:.4g}}<br>{c.axes[i].name}=%{{y:.4g}}",
                row=i, col=j + 1,
            )  # fmt: skip
            if i == n - 1:
                fig.update_xaxes(title_text=c.axes[j].name, row=i, col=j + 1)
            if j == 0:
                fig.update_yaxes(title_text=c.axes[i].name, row=i, col=j + 1)
    side = max(420, 190 * (n - 1))
    fig.update_layout(title="Pairs of the posterior sample, sized by weight", height=side,
                      width=side + 120)  # fmt: skip
    return fig


def _fan(c: Calibration, s: Scenario) -> go.Figure:
    f = c.fan
    fig = go.Figure()
    for lo, hi, shade in (("q10", "q90", 0.18), ("q25", "q75", 0.3)):
        fig.add_scatter(x=f["date"], y=f[hi], line_width=0, showlegend=False, hoverinfo="skip")
        fig.add_scatter(x=f["date"], y=f[lo], fill="tonexty", line_width=0,
                        fillcolor=f"rgba(192,57,43,{shade})",
                        name=f"{lo[1:]}–{hi[1:]} %")  # fmt: skip
    fig.add_scatter(x=f["date"], y=f["q50"], line_color="#c0392b", name="median")
    seen = [o for o in s.observed if o.date <= f["date"].iloc[-1].date()]
    fig.add_scatter(
        x=[o.date for o in seen], y=[o.km2 for o in seen], mode="markers", name="observed",
        marker=dict(color="#222", size=6), text=[o.source for o in seen],
    )  # fmt: skip
    fig.add_vline(x=str(s.calibrate.until), line_dash="dot")
    fig.update_layout(
        title="Posterior predictive: parameter and chance uncertainty together",
        yaxis_title="territory held (km²)", height=460,
    )  # fmt: skip
    return fig


def _waves(c: Calibration) -> Table:
    rows = []
    for w in c.diagnostics["waves"]:
        ranges = "; ".join(f"{k} {lo:.4g}–{hi:.4g}" for k, (lo, hi) in w["span"].items())
        moves = (
            [f"{w['temperature']:.3g}", f"{w['acceptance']:.0%}"] if "acceptance" in w else ["", ""]
        )
        rows.append([str(w["wave"]), w["kind"], f"{w['sets']:,}", f"{w['kept']:,}", *moves, ranges])
    header = ["wave", "method", "sets", "not ruled out", "temperature", "moves taken",
              "the sets span"]  # fmt: skip
    return Table("Waves", header, rows)


def _summary(c: Calibration) -> Table:
    w = c.posterior["weight"].to_numpy(float)
    rows = []
    for a in c.axes:
        q = weighted_quantiles(c.posterior[[a.name]].to_numpy(float), w, (0.05, 0.5, 0.95))
        width = (q[2, 0] - q[0, 0]) / (a.high - a.low)
        rows.append([a.name, f"{a.low:.4g}–{a.high:.4g}", f"{q[1, 0]:.4g}",
                     f"{q[0, 0]:.4g}–{q[2, 0]:.4g}", f"{width:.0%}"])  # fmt: skip
    header = ["parameter", "prior", "posterior median", "90 % interval", "of the prior's width"]
    return Table("Posterior (a width near 100 % means the data do not identify it)", header, rows)


def render(c: Calibration, s: Scenario) -> str:
    d = c.diagnostics
    meta = {
        "fitted to": f"{d['targets']} observation dates up to {d['until']}",
        "discrepancy": f"{d['discrepancy_km2']:g} km² (standard deviation)",
        "simulations": f"{d['simulations']:,} in {d['seconds']:.0f} s",
        "effective sample size": f"{d['ess']:.0f} of {len(c.posterior)}",
        "temperature reached": f"{d['temperature']:.3g}"
        + ("" if d["temperature"] == 1 else " (below 1: wider than the posterior)"),
    }
    blocks = [_summary(c), _fan(c, s), _waves(c), Heading("Prior and posterior"),
              *_marginals(c), *([_pairs(c)] if len(c.axes) > 1 else [])]  # fmt: skip
    return page(f"Calibration of {s.name}", s.description, meta, blocks)
