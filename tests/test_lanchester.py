"""Golden check: with every effect neutral, no capture and no movement, and draws replaced by
their expectation, side totals follow Lanchester's square law
A(t) = A₀cosh(kt) − √(a/b)·D₀sinh(kt), D(t) = D₀cosh(kt) − √(b/a)·A₀sinh(kt), k = √(ab)."""

from __future__ import annotations

import numpy as np
import pytest
from worlds import Engine, compile_dict, scenario_dict

A_FIRE, D_FIRE = 0.008, 0.01  # b: attacker casualties inflicted per man-day; a: defender's
PAIRS, A0, D0, DAYS = 8, 600.0, 500.0, 90


def lanchester(t: np.ndarray, a0: float, d0: float, a: float, b: float):
    k = np.sqrt(a * b)
    attacker = a0 * np.cosh(k * t) - np.sqrt(a / b) * d0 * np.sinh(k * t)
    defender = d0 * np.cosh(k * t) - np.sqrt(b / a) * a0 * np.sinh(k * t)
    return attacker, defender


def duel_world():
    """Two facing lines of PAIRS units; each attacker assaults the defender straight ahead
    (orthogonal neighbours come first in the tie order) every day."""
    units = [("A", 0, c, A0) for c in range(PAIRS)] + [("D", 1, c, D0) for c in range(PAIRS)]
    data = scenario_dict(
        ["A" * PAIRS, "D" * PAIRS],
        units,
        days=DAYS,
        attacker_kinds={"inf": {"firepower": A_FIRE, "speed_km": 0.0}},
        defender_kinds={"inf": {"firepower": D_FIRE, "speed_km": 0.0}},
        attacker_tempo=1.0,
        defender_tempo=0.0,
        rules={"breakthrough_ratio": 1e9},
    )
    data["deterministic"] = True
    return compile_dict(data)


@pytest.mark.parametrize("engine", ["reference", "batch"])
def test_side_totals_follow_the_square_law(engine):
    e = Engine(engine, duel_world())
    e.step(DAYS)
    t = np.arange(1, DAYS + 1)
    a_exp, d_exp = lanchester(t, PAIRS * A0, PAIRS * D0, D_FIRE, A_FIRE)
    a_sim, d_sim = e.series("strength_attacker"), e.series("strength_defender")
    assert np.all(np.abs(a_sim - a_exp) <= 0.01 * a_exp)
    assert np.all(np.abs(d_sim - d_exp) <= 0.01 * d_exp)
    assert d_sim[-1] < 0.5 * PAIRS * D0  # the run goes far enough to tell the laws apart
    assert np.all(e.series("territory") == e.series("territory")[0])  # no captures


def test_square_law_is_not_the_linear_law():
    """The check can fail: the linear law's totals are more than 1% away on this run."""
    t = np.arange(1, DAYS + 1)
    _, d_exp = lanchester(t, PAIRS * A0, PAIRS * D0, D_FIRE, A_FIRE)
    d_linear = PAIRS * D0 - A_FIRE * PAIRS * A0 * t  # constant attrition from the start force
    assert np.max(np.abs(d_linear - d_exp) / d_exp) > 0.01
