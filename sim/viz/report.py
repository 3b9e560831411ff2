"""The results page: a self-contained HTML report (plotly.js embedded, no network needed).

Figures come from `sim.analysis` summaries only; all user text is escaped.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from sim import __version__
from sim.analysis.study import COLLAPSE_MEAN, COLLAPSE_MEDIAN, FALLEN, Summary, summarise
from sim.analysis.summary import KeyFigures, key_figures
from sim.experiment.design import Design
from sim.experiment.execute import Study
from sim.experiment.store import ResultsDir, StoreError
from sim.viz import spatial
from sim.viz.charts import (
    by_spread,
    fan_selector,
    outcome_maps,
    sobol_chart,
    survival_chart,
)
from sim.viz.page import Block, Table, page
from sim.viz.style import short_labels


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
    if k.never_entered is not None:
        stuck = k.never_entered
        runs = f"{(stuck > 0).mean():.0%} of runs"
        text = f"{int(stuck.sum()):,} in {runs} (no free entry cell)" if stuck.any() else "none"
        rows.append(("Reinforcement units that never entered", text))
    return rows


def point_labels(design: Design) -> dict[int, str]:
    """'attacker.tempo=0.3, intelligence=0.8' for each design point (short unique names)."""
    short = short_labels([a.name for a in design.axes])
    return {
        p: ", ".join(f"{short[k]}={v}" for k, v in design.values(p).items())
        for p in range(design.points)
    }


def _cell(v) -> str:
    if isinstance(v, float):
        return "–" if np.isnan(v) else f"{v:.3g}"
    return str(v)


def outcomes_table(outcomes: pd.DataFrame, limit: int = 200) -> Table:
    shown = outcomes.head(limit)
    short = short_labels([str(c) for c in shown.columns])
    header = [short[str(c)] for c in shown.columns]
    rows = [[_cell(v) for v in r] for r in shown.itertuples(index=False)]
    more = f" (first {limit} of {len(outcomes)})" if len(outcomes) > limit else ""
    return Table(f"Outcomes per design point{more}", header, rows)


DATED = re.compile(r" on (\d{4}-\d{2}-\d{2})\)?$")  # 'median km² on 2025-03-01', 'P(… on …)'


def outcome_dates(names: list[str]) -> dict[str, dt.date]:
    """The date each outcome is measured on, for those named '… on YYYY-MM-DD' (key dates
    and thresholds, see `sim.analysis.study.outcomes`)."""
    found = {n: DATED.search(n) for n in names}
    return {n: dt.date.fromisoformat(m.group(1)) for n, m in found.items() if m}


def swept_steps(design: Design) -> dict[str, dt.date]:
    """The schedule step each swept parameter sets (`from:` in the sweep): before it, every
    point runs the same inputs, so nothing measured earlier can depend on the parameter."""
    return {a.name: a.step for a in design.axes if a.step is not None}


def outcome_scales(outcomes: pd.DataFrame, names: list[str], km2: float, days: int) -> dict:
    """The full scale of each outcome: 1 for shares and probabilities, the salient at the
    start for km², the run's length for days; else the largest value seen."""
    scales = {}
    for n in names:
        if n == FALLEN or n.startswith("P("):
            scales[n] = 1.0
        elif n in (COLLAPSE_MEDIAN, COLLAPSE_MEAN):
            scales[n] = float(days)
        elif "km²" in n:
            scales[n] = km2
        else:
            top = outcomes[n].abs().max()
            scales[n] = float(top) if np.isfinite(top) else 0.0
    return scales


def blocks(study: Study, summary: Summary, figures: KeyFigures) -> list[Block]:
    """The report's content, top to bottom."""
    s, d = study.loaded.scenario, study.design
    labels = point_labels(d)
    out: list[Block] = [
        Table(
            "Key figures" + (" of point 0" if d.points > 1 else ""),
            ["", ""],
            [list(r) for r in key_table_rows(figures)],
        )
    ]
    title = f"Territory held, {d.replicates} runs" + (" per design point" if d.points > 1 else "")
    out.append(fan_selector(summary.bands, labels, s.observed, title))
    out.append(survival_chart(summary.bands, labels, s.report.collapse_fraction))
    if d.points > 1:
        out.append(outcomes_table(summary.outcomes))
        out.extend(_sweep_charts(study, summary))
    return out


def _sweep_charts(study: Study, summary: Summary) -> list[Block]:
    """The maps of outcomes over pairs of parameters, opening on the outcome that varies most,
    and Sobol indices for a Sobol design."""
    d, table = study.design, summary.outcomes
    names = [c for c in table.columns if c not in d.table.columns]
    world = study.world(0)
    scales = outcome_scales(table, names, world.territory0, world.days)
    names = by_spread(table, names, scales)  # the maps open on the outcome that varies most
    dates, steps = outcome_dates(names), swept_steps(d)
    params = [a.name for a in d.axes if table[a.name].nunique() > 1]
    grid = d.kind == "grid"
    out: list[Block] = list(outcome_maps(table, params, names, grid, 3, scales, dates, steps))
    if d.kind == "sobol" and len(summary.sensitivity):
        out.append(sobol_chart(summary.sensitivity, names, dates, steps))
    return out


def write(store: ResultsDir, study: Study) -> tuple[Summary, KeyFigures]:
    """Summarise a finished study, write its tables and report, and mark it complete."""
    d = study.design
    missing = store.missing(d.points, d.replicates)
    if missing:  # partial points would break the common random numbers between them
        raise StoreError(
            f"{store.path}: {missing:,} of {d.runs:,} runs are not on disk yet; "
            "run the same `sim run` command to finish them"
        )
    summary = summarise(store, study)
    store.write_summary(summary.bands, summary.outcomes, summary.sensitivity, summary.spatial)
    figures = build(store, study, summary)
    store.set_status("complete")
    return summary, figures


def build(store: ResultsDir, study: Study, summary: Summary) -> KeyFigures:
    """Write report.html for a finished study; returns point 0's key figures."""
    scenario, world, d = study.loaded.scenario, study.world(0), study.design
    stuck = store.column(0, "waiting")[:, -1] if world.arrival.any() else None
    figures = key_figures(
        store.territory(0), scenario.start, world.territory0, scenario.report, stuck
    )
    meta = {
        "scenario": scenario.name,
        "seed": str(scenario.seed),
        "design": f"{d.kind}, {d.points} point{'s' * (d.points > 1)}",
        "runs per point": str(d.replicates),
        "salient at start": f"{world.territory0:,.0f} km²",
        "version": __version__,
    }
    if study.draws is not None:
        names = ", ".join(a.name for a in study.draws.axes)
        meta["parameters"] = f"{study.draws.note} ({names})"
    dates, held, runs = store.held_maps(0)
    scores = summary.spatial[summary.spatial["point"] == 0] if len(summary.spatial) else None
    maps = spatial.blocks(world, scenario, dates, held, runs, scores) if len(dates) else []
    content = blocks(study, summary, figures) + maps
    html = page(study.label.text, scenario.description, meta, content)
    store.write_report(html)
    return figures
