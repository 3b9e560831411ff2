"""Counter-based random streams: every draw is a pure function of
(seed, replicate, day, phase, index), so both engines draw the same number for the same
decision, and replicate k is the same whatever the batch, chunk or worker it runs in.

The mixing is SplitMix64's finaliser chained over the five integers (each step is a
bijection of 64-bit words, so distinct counters never collide within one step).
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Phase identifiers: part of the counter, so phases never share a stream.
SENSE, ASSAULT, CAPTURE = 1, 2, 3
FIRE_LOSS, ASSAULT_LOSS, BREAKOUT_LOSS, REPLACE = 4, 5, 6, 7  # drawn men (binomial)
PURSUIT, DRONE_LOSS, MOVE, BUILDUP = 8, 9, 10, 11

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = (np.uint64(s) for s in (30, 27, 31, 11))


def _mix(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def uniform(seed: int, replicate, day: int, phase: int, index) -> np.ndarray:
    """Uniform draws in [0, 1), broadcast over array-like `replicate` and `index`."""
    with np.errstate(over="ignore"):
        h = _mix(np.asarray(seed, np.uint64) + _GOLDEN)
        for part in (replicate, day, phase, index):
            h = _mix(h ^ (np.asarray(part, np.uint64) * _GOLDEN + _GOLDEN))
        return (h >> _S11).astype(np.float64) * (1.0 / 9007199254740992.0)


def draws(seed: int, replicate, day: int, phase: int, index, deterministic: bool) -> np.ndarray:
    """The draws a rule compares with its probability; 0.5 (their expectation) when
    the scenario is deterministic."""
    u = uniform(seed, replicate, day, phase, index)
    return np.full_like(u, 0.5) if deterministic else u


@njit(cache=True, inline="always", error_model="numpy")
def _mix1(z):
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, error_model="numpy")
def stream(seed, replicate, day, phase):
    """The mixing state after (seed, replicate, day, phase): a phase mixes it once per
    replicate and day, then each draw mixes in its index alone (`at`)."""
    h = _mix1(np.uint64(seed) + _GOLDEN)
    for part in (replicate, day, phase):
        h = _mix1(h ^ (np.uint64(part) * _GOLDEN + _GOLDEN))
    return h


def python_stream(seed: int, replicate: int, day: int, phase: int) -> np.uint64:
    """`stream` for callers outside compiled code (the reference engine): numba hands a
    uint64 back as a Python int, which it would not take back above 2**63."""
    return np.uint64(stream(seed, replicate, day, phase))


@njit(cache=True, inline="always", error_model="numpy")
def at(stream, index, deterministic) -> float:
    """The draw of `index` on a stream: `draws` for one decision, inside the compiled phases
    (same bits)."""
    if deterministic:
        return 0.5
    h = _mix1(stream ^ (np.uint64(index) * _GOLDEN + _GOLDEN))
    return np.float64(h >> np.uint64(11)) * (1.0 / 9007199254740992.0)


# Above this variance a binomial is drawn from its normal approximation (continuity
# corrected): exact inversion would walk hundreds of steps, and the two differ by less than
# 0.5 % in any quantile between the 0.1th and 99.9th percentile there.
EXACT_VARIANCE = 100.0


@njit(cache=True, error_model="numpy")
def normal_quantile(u):
    """The standard normal's u-quantile (Acklam's rational approximation, relative error below
    1.2e-9: plenty for drawing men)."""
    a = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
         1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)  # fmt: skip
    b = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
         6.680131188771972e01, -1.328068155288572e01)  # fmt: skip
    c = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
         -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)  # fmt: skip
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00,
         3.754408661907416e00)  # fmt: skip
    u = min(max(u, 1e-300), 1.0 - 1e-16)
    if u < 0.02425:
        q = np.sqrt(-2.0 * np.log(u))
        num = ((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]
        return num / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0)
    if u > 1.0 - 0.02425:
        q = np.sqrt(-2.0 * np.log(1.0 - u))
        num = ((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]
        return -num / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0)
    q = u - 0.5
    r = q * q
    num = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
    return num / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0)


@njit(cache=True, error_model="numpy")
def binomial_quantile(u, n, p):
    """The u-quantile of Binomial(n, p), n whole: how many of n men a chance p each takes.
    Exact inversion from 0 for the thinner tail (p ≤ 1/2, else n minus the complement's),
    the normal approximation beyond EXACT_VARIANCE."""
    n = np.floor(n + 0.5)
    if n <= 0.0 or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return n
    flip = p > 0.5
    q = 1.0 - p if flip else p
    v = 1.0 - u if flip else u
    if n * q * (1.0 - q) > EXACT_VARIANCE:
        k = np.floor(n * q + np.sqrt(n * q * (1.0 - q)) * normal_quantile(v) + 0.5)
        k = min(max(k, 0.0), n)
    else:
        pmf = np.exp(n * np.log1p(-q))
        cdf, k, ratio = pmf, 0.0, q / (1.0 - q)
        while cdf <= v and k < n:
            pmf *= (n - k) / (k + 1.0) * ratio
            k += 1.0
            cdf += pmf
    return n - k if flip else k


@njit(cache=True, error_model="numpy")
def binomial_at(stream, index, n, p, deterministic) -> float:
    """Men lost (or gained) when each of n men is taken with chance p: a draw from
    Binomial(n, p) — the `index` draw of a phase's `stream` — or its expectation n·p when
    deterministic. The one sampler of both engines (the reference engine calls it too)."""
    if deterministic:
        return n * p
    if n < 0.5 or p <= 0.0:  # nothing to draw: no counter spent
        return 0.0
    return binomial_quantile(at(stream, index, False), n, p)


@njit(cache=True, error_model="numpy")
def casualties_at(stream, index, strength, expected, deterministic) -> float:
    """Men a unit of `strength` loses when it expects to lose `expected`: each man is lost with
    chance expected/strength (at most all of them), drawn by `binomial_at`; the expectation
    itself (capped at the strength) when deterministic."""
    if deterministic:
        return min(expected, strength)
    p = min(1.0, expected / strength) if strength > 0.0 else 0.0
    return binomial_at(stream, index, strength, p, False)
