"""Lanchester's laws in closed form and the stochastic square law exactly: what the model's
validation holds it to (docs/validation.md).

Notation: side A loses `a` men per enemy man per day, side D loses `b` per enemy man.
Square law (aimed fire): dA/dt = −a·D, dD/dt = −b·A. Linear law (area fire): dA/dt = −a·A·D,
dD/dt = −b·A·D. Stochastic square law: a continuous-time Markov chain on whole men, where D
loses one man at rate b·A and A one at rate a·D.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def square_law(t, a0: float, d0: float, a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """A(t), D(t) of the square law (valid until one side reaches zero)."""
    t = np.asarray(t, float)
    k = np.sqrt(a * b)
    attacker = a0 * np.cosh(k * t) - np.sqrt(a / b) * d0 * np.sinh(k * t)
    defender = d0 * np.cosh(k * t) - np.sqrt(b / a) * a0 * np.sinh(k * t)
    return attacker, defender


@dataclass(frozen=True)
class Outcome:
    winner: str  # "A" or "D"
    time: float  # days until the loser has no men left
    survivors: float  # the winner's men then


def square_law_end(a0: float, d0: float, a: float, b: float) -> Outcome:
    """Who wins the square law, when the loser is annihilated, and with how many men left:
    A wins when b·A₀² > a·D₀²; the winner keeps √(A₀² − (a/b)·D₀²) (or D's mirror)."""
    k = np.sqrt(a * b)
    if b * a0**2 > a * d0**2:
        return Outcome("A", float(np.arctanh(d0 * np.sqrt(a / b) / a0) / k),
                       float(np.sqrt(a0**2 - (a / b) * d0**2)))  # fmt: skip
    return Outcome("D", float(np.arctanh(a0 * np.sqrt(b / a) / d0) / k),
                   float(np.sqrt(d0**2 - (b / a) * a0**2)))  # fmt: skip


def linear_law(t, a0: float, d0: float, a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """A(t), D(t) of the linear law: b·A − a·D = C is conserved, and D solves a logistic
    equation, D(t) = C·D₀ / ((C + a·D₀)·e^{Ct} − a·D₀) (D₀·/(1 + a·D₀·t) when C = 0)."""
    t = np.asarray(t, float)
    c = b * a0 - a * d0
    if abs(c) < 1e-12 * max(b * a0, a * d0):
        defender = d0 / (1 + a * d0 * t)
    else:
        defender = c * d0 / ((c + a * d0) * np.exp(c * t) - a * d0)
    return (c + a * defender) / b, defender


@dataclass(frozen=True)
class Chances:
    a_wins: float  # P(A wins): D reaches 0 first
    a_survivors: float  # E[A's men at the end]
    d_survivors: float  # E[D's men at the end]


def stochastic_square_law(a0: int, d0: int, a: float, b: float) -> Chances:
    """The exact chance that A wins and both sides' expected survivors of the stochastic square
    law, by dynamic programming over the jump chain: from (i, j) the next man lost is D's with
    probability b·i / (b·i + a·j)."""
    win = np.zeros((a0 + 1, d0 + 1))
    a_left = np.zeros((a0 + 1, d0 + 1))
    d_left = np.zeros((a0 + 1, d0 + 1))
    win[1:, 0] = 1.0
    a_left[:, 0] = np.arange(a0 + 1)
    d_left[0, :] = np.arange(d0 + 1)
    for i in range(1, a0 + 1):
        for j in range(1, d0 + 1):
            p = b * i / (b * i + a * j)  # D loses the next man
            win[i, j] = p * win[i, j - 1] + (1 - p) * win[i - 1, j]
            a_left[i, j] = p * a_left[i, j - 1] + (1 - p) * a_left[i - 1, j]
            d_left[i, j] = p * d_left[i, j - 1] + (1 - p) * d_left[i - 1, j]
    return Chances(float(win[a0, d0]), float(a_left[a0, d0]), float(d_left[a0, d0]))


def drawn_square_law(a0: int, d0: int, a: float, b: float, steps: int, days: int) -> Chances:
    """The exact chances of the model's own drawn duel (aimed fire between soldier-sized
    units, `steps` fire sub-steps a day for `days` days): each sub-step every man of A is lost
    with chance min(1, a·D / (A·steps)) and every man of D with min(1, b·A / (D·steps)), all
    at once — a Markov chain on whole men, solved by stepping its distribution. `a_wins` is
    the chance D has no men left while A has some, at the end."""
    from scipy.stats import binom

    prob = np.zeros((a0 + 1, d0 + 1))
    prob[a0, d0] = 1.0
    i = np.arange(a0 + 1)[:, None]
    j = np.arange(d0 + 1)[None, :]
    for _ in range(steps * days):
        nxt = np.zeros_like(prob)
        nxt[0, :] += prob[0, :]  # a side with no men left stays so
        nxt[1:, 0] += prob[1:, 0]
        for x in range(1, a0 + 1):
            for y in range(1, d0 + 1):
                if prob[x, y] == 0.0:
                    continue
                lose_a = binom.pmf(np.arange(x + 1), x, min(1.0, a * y / (x * steps)))
                lose_d = binom.pmf(np.arange(y + 1), y, min(1.0, b * x / (y * steps)))
                nxt[x::-1, y::-1] += prob[x, y] * np.outer(lose_a, lose_d)
        prob = nxt
    a_wins = float(prob[1:, 0].sum())
    return Chances(a_wins, float((prob * i).sum()), float((prob * j).sum()))
