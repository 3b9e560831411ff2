"""The model's map held against the observed map: on each date with an observed map, the
probability that the defender holds each cell (the share of runs in which it does) scored
against the cells the map shows held.

Scores are taken over the attacker's homeland (the ground the salient is made of: the
defender's own homeland is held in every run and on every map and would only pad them):

- share right: cells where the model's majority (P ≥ 0.5) agrees with the map;
- IoU: intersection over union of the held areas, the model's majority against the map
  (1 when both are empty);
- Brier: mean squared difference of P and the map's 0/1 — it rewards honest probabilities,
  not only the right side of 0.5 (0 perfect; 0.25 for P = 0.5 everywhere).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.scenario.load import observed_held
from sim.scenario.schema import Scenario

SCORES = ("share right", "IoU", "Brier")


def score(p_held: np.ndarray, observed: np.ndarray, domain: np.ndarray) -> dict[str, float]:
    """The three scores of one date: P(held) and the observed map over `domain` cells."""
    p, o = p_held[domain], observed[domain]
    model = p >= 0.5
    union = (model | o).sum()
    return {
        "share right": float((model == o).mean()),
        "IoU": float((model & o).sum() / union) if union else 1.0,
        "Brier": float(np.mean((p - o) ** 2)),
    }


def observed_maps(scenario: Scenario) -> dict[pd.Timestamp, np.ndarray]:
    """The scenario's observed maps by date, flat (H·W,) bool."""
    maps = scenario.observed_maps.maps if scenario.observed_maps else []
    return {pd.Timestamp(m.date): observed_held(m.held).ravel() for m in maps}


def table(
    point: int,
    dates: pd.DatetimeIndex,
    held: np.ndarray,
    runs: int,
    scenario: Scenario,
    domain: np.ndarray,
) -> pd.DataFrame:
    """One row per observed-map date of a point: the model's held cells (mean P), the map's,
    and the scores."""
    observed = observed_maps(scenario)
    rows = []
    for date, counts in zip(dates, held, strict=True):
        p = counts / runs
        o = observed[pd.Timestamp(date)]
        rows.append(
            {
                "point": point,
                "date": pd.Timestamp(date),
                "model cells": float(p[domain].sum()),
                "observed cells": int(o[domain].sum()),
                **score(p, o, domain),
            }
        )
    return pd.DataFrame(rows)


def means(spatial: pd.DataFrame) -> dict[str, float]:
    """A point's scores averaged over its dates, as outcomes (empty without observed maps)."""
    if spatial.empty:
        return {}
    return {f"{name} (maps, mean)": float(spatial[name].mean()) for name in SCORES}
