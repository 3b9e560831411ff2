"""The arithmetic of calibration: what was observed and how well it is known, how implausible
a parameter set is (history matching: Craig et al. 1997; Andrianakis et al. 2015), its
likelihood, and the steps of sequential Monte Carlo that carry the survivors to the posterior.

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


NEIGHBOURS = 10  # sets whose runs give chance's variance at a set (40 runs at 4 per set)


def implausibility(
    runs: np.ndarray,
    t: Targets,
    discrepancy: float,
    correlation_days: float,
    where: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per parameter set, the largest implausibility over the dates and the log-likelihood.

    `runs` is (sets, replicates, dates) of territory held on the target dates. On each date
    I = |z − mean| / √(V_obs + V_disc + V_model), V_model the variance over the set's runs
    times (1 + 1/n): one run's chance (the observed history is one run, not a mean) and the
    mean's own error. The log-likelihood is Gaussian (a synthetic likelihood, Wood 2010)
    with covariances across dates, since neither chance nor the model's errors start afresh
    each week. A run ahead of the mean stays ahead: chance keeps each set's own variances
    but takes its correlation across dates from all the sets' runs pooled (a set's few runs
    span too few directions, and a likelihood from them alone is sure of the rest). What the
    model misses on one date it misses the week after too: the discrepancy is correlated as
    exp(−|Δt| / correlation_days) (Kennedy and O'Hagan 2001). Close dates therefore do not
    count as independent evidence.

    Given `where` (sets × parameters, the sets in the prior's unit cube), chance's variance
    at a set is the mean of the variances of its NEIGHBOURS nearest sets (itself included):
    a variance from a set's 4 runs alone is so uncertain that the sets whose runs happened to
    agree would look sure of their fit, and a sampler would stick on them."""
    n = runs.shape[1]
    mean = runs.mean(axis=1)
    centred = runs - mean[:, None, :]
    sd = centred.std(axis=1, ddof=1)
    spread = sd if where is None else np.sqrt(local_mean(sd**2, where))
    scaled = np.divide(centred, sd[:, None], out=np.zeros_like(centred), where=sd[:, None] > 0)
    pooled = np.einsum("srd,sre->de", scaled, scaled)
    norm = np.sqrt(np.diagonal(pooled))
    corr = np.divide(pooled, np.outer(norm, norm), out=np.zeros_like(pooled),
                     where=np.outer(norm, norm) > 0)  # fmt: skip
    np.fill_diagonal(corr, 1.0)
    chance = spread[:, :, None] * corr[None] * spread[:, None, :] * (1 + 1 / n)
    lag = np.abs(t.days[:, None] - t.days[None, :])
    fixed = np.diag(t.var) + discrepancy**2 * np.exp(-lag / correlation_days)
    cov = chance + fixed[None] + 1e-6 * np.eye(len(t.days))[None]
    gap = t.z - mean
    worst = (np.abs(gap) / np.sqrt(np.diagonal(cov, axis1=1, axis2=2))).max(axis=1)
    chol = np.linalg.cholesky(cov)
    white = np.linalg.solve(chol, gap[:, :, None])[:, :, 0]
    logdet = 2 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
    loglik = -0.5 * ((white**2).sum(axis=1) + logdet + len(t.days) * np.log(2 * np.pi))
    return worst, loglik


def local_mean(values: np.ndarray, where: np.ndarray, k: int = NEIGHBOURS) -> np.ndarray:
    """Each row of `values` averaged with the rows of the k − 1 sets nearest it in `where`."""
    from scipy.spatial import KDTree

    k = min(k, len(where))
    _, near = KDTree(where).query(where, k=k)
    return values[np.reshape(near, (len(where), k))].mean(axis=1)


def weights(loglik: np.ndarray) -> np.ndarray:
    """Normalised importance weights from log-likelihoods (a uniform proposal inside the
    prior: the weight is the likelihood)."""
    w = np.exp(loglik - loglik.max())
    return w / w.sum()


def resampled(w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices of a systematic resample of normalised weights `w` (as many as weights)."""
    n = len(w)
    edges = np.cumsum(w)
    edges[-1] = 1.0
    return np.searchsorted(edges, (rng.uniform() + np.arange(n)) / n)


def walked(unit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random-walk Metropolis proposal for each set (in the prior's unit cube): a Gaussian
    step of the optimal scale for a Gaussian target, 2.38²/d times the sets' covariance
    (Roberts et al. 1997), reflected at the prior's edges so that the walk stays symmetric."""
    d = unit.shape[1]
    floor = 1e-6 * np.eye(d)
    cov = (2.38**2 / d) * np.atleast_2d(np.cov(unit, rowvar=False)) + floor
    x = unit + rng.multivariate_normal(np.zeros(d), cov, size=len(unit))
    x = np.abs(x)  # reflect below 0 and above 1 (a step never spans the cube twice here)
    x = np.where(x > 1, 2 - x, x)
    return np.clip(x, 0, 1)


def tempered(
    loglik: np.ndarray, log_proposal: np.ndarray, floor: float
) -> tuple[float, np.ndarray]:
    """The largest temperature β in [floor, 1] whose weights L^β / q keep an effective sample
    size of at least half the sets, and those weights: the sequence of tempered targets of
    sequential Monte Carlo (Del Moral et al. 2006), which walks from the prior to the
    posterior without letting a few sets take all the weight. β = 1 is the posterior."""

    def at(beta: float) -> np.ndarray:
        return weights(beta * loglik - log_proposal)

    half = len(loglik) / 2
    if ess(at(1.0)) >= half:
        return 1.0, at(1.0)
    if ess(at(floor)) < half:
        return floor, at(floor)
    low, high = floor, 1.0
    for _ in range(50):
        mid = (low + high) / 2
        low, high = (mid, high) if ess(at(mid)) >= half else (low, mid)
    return low, at(low)


def ess(w: np.ndarray) -> float:
    """Kish's effective sample size of normalised weights."""
    return float(1.0 / np.sum(w**2))


def weighted_quantiles(values: np.ndarray, w: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """Quantiles of the columns of `values` (samples × columns) under sample weights `w`:
    the smallest value whose cumulative weight reaches q."""
    return np.quantile(values, qs, axis=0, weights=w, method="inverted_cdf")


def box(unit: np.ndarray, margin: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """The box (in the prior's unit cube) around the survivors of a wave, widened by
    `margin` of its width on each side (at least a 20th of the prior), clipped to the prior:
    the next wave samples inside it."""
    lo, hi = unit.min(axis=0), unit.max(axis=0)
    pad = np.maximum(margin * (hi - lo), 0.05)
    return np.clip(lo - pad, 0, 1), np.clip(hi + pad, 0, 1)
