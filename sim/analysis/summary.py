"""Summaries of territory-loss curves: quantile bands, collapse days (censored), P(hold ≥ X).

Inputs are plain arrays or the long series table the store returns; outputs are tables the
report, the CLI and notebooks all read. No plotting here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


def bands(territory: np.ndarray) -> dict[str, np.ndarray]:
    """Daily quantiles over replicates of a (R, days) array: q10, q25, q50, q75, q90, mean."""
    q = np.quantile(territory, QUANTILES, axis=0)
    out = {f"q{round(p * 100):02d}": q[i] for i, p in enumerate(QUANTILES)}
    out["mean"] = territory.mean(axis=0)
    return out


@dataclass(frozen=True)
class Collapse:
    """Day index each replicate first fell below the threshold; -1 where it never did
    (censored at the end of the run)."""

    day: np.ndarray
    threshold_km2: float
    days: int

    @property
    def censored(self) -> np.ndarray:
        return self.day < 0

    def median(self) -> float | None:
        """Median collapse day, None when half or more of the runs never collapsed."""
        d = np.where(self.censored, np.inf, self.day).astype(float)
        m = float(np.median(d))
        return None if not np.isfinite(m) else m

    def survival(self) -> np.ndarray:
        """P(still holding ≥ threshold at the end of day t), t = 0 … days-1 (Kaplan–Meier
        with all censoring at the end reduces to the empirical share)."""
        fell = np.where(self.censored, self.days, self.day)
        t = np.arange(self.days)
        return (fell[None, :] > t[:, None]).mean(axis=1)


def collapse(territory: np.ndarray, start_km2: float, fraction: float) -> Collapse:
    threshold = fraction * start_km2
    below = territory < threshold
    day = np.where(below.any(axis=1), below.argmax(axis=1), -1)
    return Collapse(day, threshold, territory.shape[1])


def p_hold(territory: np.ndarray, day: int, km2: float) -> float:
    """Share of replicates holding at least `km2` at the end of `day`."""
    return float((territory[:, day] >= km2).mean())


def summary_table(territory: np.ndarray, start: dt.date, point: int = 0) -> pd.DataFrame:
    """Daily bands of one design point as a table (what summary.parquet holds)."""
    b = bands(territory)
    days = territory.shape[1]
    return pd.DataFrame(
        {
            "point": point,
            "day": np.arange(days),
            "date": pd.date_range(start, periods=days, freq="D"),
            **b,
        }
    )


@dataclass(frozen=True)
class KeyFigures:
    dates: list[tuple[dt.date, float, float, float]]  # date, median, q10, q90
    holds: list[tuple[dt.date, float, float]]  # date, km², probability
    collapse: Collapse
    start: dt.date
    never_entered: np.ndarray | None = None  # per run: reinforcement units that never entered


def key_figures(
    territory: np.ndarray,
    start: dt.date,
    start_km2: float,
    report,
    never_entered: np.ndarray | None = None,
) -> KeyFigures:
    """The table `sim run` prints, from a scenario's `report:` section (and, where the runs
    have reinforcements, how many of their units found no way onto the map)."""
    days = territory.shape[1]

    def index(d: dt.date) -> int | None:
        i = (d - start).days
        return i if 0 <= i < days else None

    rows = []
    for d in report.key_dates:
        i = index(d)
        if i is not None:
            col = territory[:, i]
            rows.append((d, *(float(np.quantile(col, q)) for q in (0.5, 0.1, 0.9))))
    holds = [
        (t.date, t.km2, p_hold(territory, index(t.date), t.km2))
        for t in report.thresholds
        if index(t.date) is not None
    ]
    fall = collapse(territory, start_km2, report.collapse_fraction)
    return KeyFigures(rows, holds, fall, start, never_entered)
