"""The results page: a self-contained HTML report (plotly.js embedded, no network needed).

Figures come from `sim.analysis` summaries only; all user text is escaped.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from sim import __version__
from sim.analysis.study import COLLAPSE_MEAN, Summary, summarise
from sim.analysis.summary import KeyFigures, key_figures
from sim.experiment.design import Design
from sim.experiment.execute import Study
from sim.experiment.store import ResultsDir, StoreError
from sim.viz.charts import fan_selector, outcome_maps, sobol_chart, survival_chart
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
        names = [c for c in summary.outcomes.columns if c not in d.table.columns]
        names.sort(key=lambda n: n != COLLAPSE_MEAN)  # shown first: defined even when few fall
        params = [a.name for a in d.axes if summary.outcomes[a.name].nunique() > 1]
        out.extend(outcome_maps(summary.outcomes, params, names, grid=d.kind == "grid"))
        if d.kind == "sobol" and len(summary.sensitivity):
            out.append(sobol_chart(summary.sensitivity))
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
    store.write_summary(summary.bands, summary.outcomes, summary.sensitivity)
    figures = build(store, study, summary)
    store.set_status("complete")
    return summary, figures


def build(store: ResultsDir, study: Study, summary: Summary) -> KeyFigures:
    """Write report.html for a finished study; returns point 0's key figures."""
    scenario, world, d = study.loaded.scenario, study.world(0), study.design
    figures = key_figures(store.territory(0), scenario.start, world.territory0, scenario.report)
    meta = {
        "scenario": scenario.name,
        "seed": str(scenario.seed),
        "design": f"{d.kind}, {d.points} point{'s' * (d.points > 1)}",
        "runs per point": str(d.replicates),
        "salient at start": f"{world.territory0:,.0f} km²",
        "version": __version__,
    }
    html = page(scenario.name, scenario.description, meta, blocks(study, summary, figures))
    store.write_report(html)
    return figures
