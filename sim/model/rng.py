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


@njit(cache=True, inline="always")
def _mix1(z):
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def draw(seed, replicate, day, phase, index, deterministic) -> float:
    """`draws` for one decision, inside the batch engine's compiled phases (same bits)."""
    if deterministic:
        return 0.5
    h = _mix1(np.uint64(seed) + _GOLDEN)
    for part in (replicate, day, phase, index):
        h = _mix1(h ^ (np.uint64(part) * _GOLDEN + _GOLDEN))
    return np.float64(h >> np.uint64(11)) * (1.0 / 9007199254740992.0)
