"""Summaries of a study, point by point: daily bands, outcomes, and what moves them.

Per design point: the daily quantile bands of territory, and outcomes from the scenario's
`report:` section — median territory on each key date, P(hold ≥ X km² on D), and the collapse
day (below `collapse_fraction` of the start) with runs that never fall counted as censored.
Across points: main effects for grids, first-order and total Sobol indices (SALib) with
confidence intervals for Sobol designs. Reads one point at a time, so memory is set by the
replicates of a point, not by the size of the study.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.analysis import spatial
from sim.analysis.summary import collapse, p_hold, summary_table
from sim.experiment.design import Design
from sim.experiment.execute import Study
from sim.experiment.store import ResultsDir

COLLAPSE_MEDIAN = "collapse day (median)"
COLLAPSE_MEAN = "days above threshold (mean)"
FALLEN = "fallen by the end (share)"


def outcomes(territory: np.ndarray, study: Study, point: int) -> dict[str, float]:
    """The outcomes of one point from its (replicates, days) territory."""
    s, start_km2 = study.loaded.scenario, study.world(point).territory0
    days = territory.shape[1]
    out: dict[str, float] = {}
    for d in s.report.key_dates:
        i = (d - s.start).days
        if 0 <= i < days:
            out[f"median km² on {d}"] = float(np.median(territory[:, i]))
    for t in s.report.thresholds:
        i = (t.date - s.start).days
        if 0 <= i < days:
            out[f"P(hold ≥ {t.km2:g} km² on {t.date})"] = p_hold(territory, i, t.km2)
    c = collapse(territory, start_km2, s.report.collapse_fraction)
    med = c.median()
    out[COLLAPSE_MEDIAN] = np.nan if med is None else med
    # Restricted mean: a run that never fell counts as holding to the end (censored).
    out[COLLAPSE_MEAN] = float(np.where(c.censored, days, c.day).mean())
    out[FALLEN] = float(1 - c.censored.mean())
    return out


@dataclass(frozen=True)
class Summary:
    bands: pd.DataFrame  # point, day, date, q10 … q90, mean, p_holding (collapse survival)
    outcomes: pd.DataFrame  # point, the design's parameters, one column per outcome
    sensitivity: pd.DataFrame  # main effects (grid) or Sobol indices (sobol); may be empty
    spatial: pd.DataFrame  # point, date, the spatial scores (sim.analysis.spatial); may be empty


def point_bands(territory: np.ndarray, study: Study, point: int) -> pd.DataFrame:
    """Daily quantiles of one point, with `p_holding`: the share of runs still above the
    collapse threshold at the end of each day (its survival curve; censored runs stay in)."""
    s = study.loaded.scenario
    fall = collapse(territory, study.world(point).territory0, s.report.collapse_fraction)
    return summary_table(territory, s.start, point).assign(p_holding=fall.survival())


def main_effects(table: pd.DataFrame, design: Design, names: list[str]) -> pd.DataFrame:
    """Mean of each outcome at each level of each parameter, over all other points."""
    rows = []
    for a in design.axes:
        for level, group in table.groupby(a.name, sort=True):
            for name in names:
                # NaN when any point lacks the outcome: a mean of some points would mislead
                rows.append((a.name, str(level), name, float(group[name].mean(skipna=False))))
    return pd.DataFrame(rows, columns=["parameter", "level", "outcome", "value"])


def sobol_indices(table: pd.DataFrame, design: Design, names: list[str]) -> pd.DataFrame:
    """First-order (S1) and total (ST) Sobol indices with 95% intervals, per outcome."""
    from SALib.analyze import sobol

    rows = []
    for name in names:
        y = table.sort_values("point")[name].to_numpy(float)
        if not np.isfinite(y).all() or np.ptp(y) == 0:
            continue  # undefined for an outcome that is missing somewhere or never varies
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            si = sobol.analyze(design.problem, y, calc_second_order=False, seed=design.seed)
        for i, param in enumerate(design.problem["names"]):
            rows.append((name, param, si["S1"][i], si["S1_conf"][i], si["ST"][i], si["ST_conf"][i]))
    columns = ["outcome", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
    return pd.DataFrame(rows, columns=columns)


def spatial_scores(store: ResultsDir, study: Study, point: int) -> pd.DataFrame:
    """A point's spatial scores by observed-map date (empty without observed maps)."""
    dates, held, runs = store.held_maps(point)
    domain = study.world(point).territory_cells.ravel()
    return spatial.table(point, dates, held, runs, study.loaded.scenario, domain)


def summarise(store: ResultsDir, study: Study) -> Summary:
    """Bands and outcomes of every point of a finished study, and its sensitivity."""
    d = study.design
    bands, rows, maps = [], [], []
    for p in range(d.points):
        territory = store.territory(p)
        bands.append(point_bands(territory, study, p))
        scores = spatial_scores(store, study, p)
        maps.append(scores)
        row = {"point": p, **d.values(p), **outcomes(territory, study, p), **spatial.means(scores)}
        rows.append(row)
    table = pd.DataFrame(rows)
    names = [c for c in table.columns if c != "point" and c not in d.table.columns]
    if d.kind == "grid":
        sensitivity = main_effects(table, d, names)
    elif d.kind == "sobol":
        sensitivity = sobol_indices(table, d, names)
    else:
        sensitivity = pd.DataFrame()
    return Summary(
        pd.concat(bands, ignore_index=True), table, sensitivity, pd.concat(maps, ignore_index=True)
    )


def effect_ranges(effects: pd.DataFrame) -> pd.DataFrame:
    """For a grid: how far each parameter moves each outcome (max − min of its main effect),
    outcomes as rows and parameters as columns: which input matters for what."""
    spread = effects.groupby(["outcome", "parameter"], sort=False)["value"].agg(np.ptp)
    return spread.unstack("parameter")
