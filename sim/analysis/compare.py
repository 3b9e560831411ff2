"""Comparisons of runs: one design point of each results folder, side by side.

Where two runs share the seed and replicate numbers, replicate k of one and replicate k of the
other drew the same random numbers (common random numbers), so their difference is read pair
by pair: its spread is the spread of the effect, not of two independent clouds of runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.analysis import spatial
from sim.analysis.study import FALLEN, outcomes, point_bands
from sim.analysis.summary import bands
from sim.experiment.execute import Study


@dataclass(frozen=True)
class Run:
    """One design point of a results folder, read."""

    label: str  # short: A, B, …
    about: str  # which folder and point, with its inputs
    study: Study
    point: int
    replicates: np.ndarray  # replicate numbers, sorted
    territory: np.ndarray  # (replicates, days), rows in that order
    spatial: pd.DataFrame = field(default_factory=pd.DataFrame)  # scores by date (maps only)

    @property
    def seed(self) -> int:
        return self.study.loaded.scenario.seed

    @property
    def dates(self) -> pd.DatetimeIndex:
        return self.study.dates

    def bands(self) -> pd.DataFrame:
        return point_bands(self.territory, self.study, self.point)

    def outcomes(self) -> dict[str, float]:
        return {**outcomes(self.territory, self.study, self.point), **spatial.means(self.spatial)}


@dataclass(frozen=True)
class Difference:
    table: pd.DataFrame  # date, q10 … q90, mean of B − A
    paired: bool  # replicate by replicate (same seed) or a difference of medians
    runs: int  # pairs used (paired) or 0


def difference(a: Run, b: Run) -> Difference:
    """B − A territory on the dates both cover: paired by replicate where the seeds match
    (with its quantile band), else the difference of the two medians (no band)."""
    common, ia, ib = np.intersect1d(a.dates, b.dates, return_indices=True)
    dates = pd.DatetimeIndex(common)
    shared, ra, rb = np.intersect1d(a.replicates, b.replicates, return_indices=True)
    if a.seed == b.seed and len(shared):
        diff = b.territory[np.ix_(rb, ib)] - a.territory[np.ix_(ra, ia)]
        return Difference(pd.DataFrame({"date": dates, **bands(diff)}), True, len(shared))
    med = np.median(b.territory[:, ib], axis=0) - np.median(a.territory[:, ia], axis=0)
    nan = np.full(len(dates), np.nan)
    table = {"date": dates, "q10": nan, "q25": nan, "q50": med, "q75": nan, "q90": nan}
    return Difference(pd.DataFrame({**table, "mean": nan}), False, 0)


def is_share(outcome: str) -> bool:
    """Outcomes that are shares of runs (probabilities), compared in percentage points."""
    return outcome.startswith("P(") or outcome == FALLEN


def key_table(runs: list[Run]) -> pd.DataFrame:
    """Outcomes (rows) of each run (columns), then each later run's difference from the
    first."""
    per = [r.outcomes() for r in runs]
    names = list(dict.fromkeys(n for o in per for n in o))
    table = pd.DataFrame(
        {r.label: [o.get(n, np.nan) for n in names] for r, o in zip(runs, per, strict=True)},
        index=names,
    )
    for r in runs[1:]:
        table[f"{r.label} − {runs[0].label}"] = table[r.label] - table[runs[0].label]
    return table


def spatial_table(runs: list[Run]) -> pd.DataFrame:
    """The spatial scores of the runs side by side, one row per observed-map date (empty
    when no run has observed maps)."""
    frames = [
        r.spatial.set_index("date")[list(spatial.SCORES)].add_prefix(f"{r.label} ")
        for r in runs
        if len(r.spatial)
    ]
    return pd.concat(frames, axis=1).sort_index() if frames else pd.DataFrame()
