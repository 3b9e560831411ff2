"""History matching's arithmetic (Craig et al. 1997; Andrianakis et al. 2015): what was
observed and how well it is known, how implausible a parameter set is, and the weights that
turn the last wave's survivors into a posterior sample.

Every figure is in km² of territory held. A parameter set's runs give the model's mean and
its variance (chance), so no emulator stands in for the model: the engine is fast enough to
be asked directly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.scenario.schema import Scenario

Z90 = 1.6449  # a source's [low, high] is read as its 90 % interval


@dataclass(frozen=True)
class Targets:
    """The observations a calibration fits: one per date."""

    days: np.ndarray  # run day of each date
    dates: list[dt.date]
    z: np.ndarray  # the mean of the sources that day (km²)
    var: np.ndarray  # their error: each one's interval, and how far apart they are (km²²)


def targets(s: Scenario, until: dt.date) -> Targets:
    """The scenario's observations from its start up to `until`, one per date: sources of
    one date are averaged, and their error is the mean of their own intervals' variances
    plus the variance between them."""
    rows = [
        (o.date, o.km2, ((o.high - o.low) / (2 * Z90)) ** 2 if o.low is not None and o.high else 0)
        for o in s.observed
        if s.start <= o.date <= until and (o.date - s.start).days < s.days
    ]
    frame = pd.DataFrame(rows, columns=["date", "km2", "within"])
    by = frame.groupby("date")
    z = by["km2"].mean()
    var = by["within"].mean() + by["km2"].var(ddof=0)
    dates = list(z.index)
    days = np.array([(d - s.start).days for d in dates], dtype=np.int64)
    return Targets(days, dates, z.to_numpy(float), var.to_numpy(float))


def implausibility(
    runs: np.ndarray, t: Targets, discrepancy: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per parameter set, the largest implausibility over the dates and the log-likelihood.

    `runs` is (sets, replicates, dates) of territory held on the target dates. On each date
    I = |z − mean| / √(V_obs + V_disc + V_model), V_model the variance over the set's runs
    divided by their number (the mean's own error) plus that variance (one run's chance):
    the observed history is one run, not a mean. The log-likelihood is Gaussian with the
    same variance, summed over dates (treated as independent, which they are not: the
    posterior is narrower than it should be where dates are many and close)."""
    mean = runs.mean(axis=1)
    n = runs.shape[1]
    chance = runs.var(axis=1, ddof=1) * (1 + 1 / n)
    total = t.var + discrepancy**2 + chance
    total = np.maximum(total, 1e-9)
    gap = (t.z - mean) ** 2 / total
    loglik = -0.5 * (gap + np.log(2 * np.pi * total)).sum(axis=1)
    return np.sqrt(gap).max(axis=1), loglik


def weights(loglik: np.ndarray) -> np.ndarray:
    """Normalised importance weights from log-likelihoods (a uniform proposal inside the
    prior: the weight is the likelihood)."""
    w = np.exp(loglik - loglik.max())
    return w / w.sum()


def ess(w: np.ndarray) -> float:
    """Kish's effective sample size of normalised weights."""
    return float(1.0 / np.sum(w**2))


def weighted_quantiles(values: np.ndarray, w: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """Quantiles of the columns of `values` (samples × columns) under sample weights `w`."""
    order = np.argsort(values, axis=0)
    out = np.empty((len(qs), values.shape[1]))
    for j in range(values.shape[1]):
        v = values[order[:, j], j]
        c = np.cumsum(w[order[:, j]])
        c = (c - 0.5 * w[order[:, j]]) / c[-1]
        out[:, j] = np.interp(qs, c, v)
    return out


def box(unit: np.ndarray, margin: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """The box (in the prior's unit cube) around the survivors of a wave, widened by
    `margin` of its width on each side (at least a 20th of the prior), clipped to the prior:
    the next wave samples inside it."""
    lo, hi = unit.min(axis=0), unit.max(axis=0)
    pad = np.maximum(margin * (hi - lo), 0.05)
    return np.clip(lo - pad, 0, 1), np.clip(hi + pad, 0, 1)
