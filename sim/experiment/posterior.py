"""Runs on a posterior: each replicate draws its own parameter set from the scenario's
`posterior:` (a calibration's posterior.csv) by weight, so that the bands carry parameter
uncertainty as well as chance.

Replicate k's set is drawn from a generator of its own (the seed and k), so it is the same
whatever the number of replicates, the batch it runs in or the order tasks finish in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.experiment import design as designs
from sim.model.world import per_replicate
from sim.scenario.load import Loaded, ScenarioError, posterior_table, validate

CSV = "posterior.csv"  # what `sim calibrate` writes beside posterior.parquet
_STREAM = 0x504F5354  # "POST": replicate k's draw of a set, apart from its runs' draws


@dataclass(frozen=True)
class Draws:
    """A scenario's posterior, checked: its parameters as axes, its sets and weights."""

    axes: list[designs.Axis]
    sets: np.ndarray  # (N, parameters)
    weights: np.ndarray  # (N,), summing to 1
    seed: int

    @property
    def together(self) -> bool:
        """Whether the sets differ only in schedules: the runs of many sets share a batch."""
        return all(per_replicate(a.path) for a in self.axes)

    @property
    def note(self) -> str:
        """What a run on this posterior is, for the summary and the report."""
        k, n = len(self.axes), len(self.weights)
        return (
            f"each run drew its {k} parameter{'s' * (k > 1)} from a posterior of {n:,} "
            f"set{'s' * (n > 1)}: the bands carry parameter uncertainty as well as chance"
        )

    def set_of(self, replicate: int) -> int:
        """The set replicate `replicate` runs on, drawn by weight."""
        u = np.random.default_rng([self.seed, replicate, _STREAM]).random()
        cumulative = np.cumsum(self.weights)
        return min(int(np.searchsorted(cumulative, u, side="right")), len(self.weights) - 1)

    def values(self, j: int) -> dict[str, Any]:
        return {a.name: float(v) for a, v in zip(self.axes, self.sets[j], strict=True)}

    def scenario(self, loaded: Loaded, j: int) -> Loaded:
        """`loaded` (a design point's scenario) with set j's values."""
        return designs.with_values(loaded, self.axes, self.values(j), f"posterior set {j}",
                                   ("posterior",))  # fmt: skip


def draws(loaded: Loaded, design: designs.Design) -> Draws | None:
    """The scenario's posterior, or None: its parameters are checked like a sweep's, and every
    value is checked in two scenarios, every parameter at its least and at its greatest value
    (each field's valid values form an interval), before anything runs."""
    p = loaded.scenario.posterior
    if p is None:
        return None
    axes = designs.posterior_axes(loaded, design.axes)
    sets, weights = np.array(p.sets, float), np.array(p.weights, float)
    out = Draws(axes, sets, weights / weights.sum(), loaded.scenario.seed)
    for end in (sets.min(0), sets.max(0)):
        values = {a.name: float(v) for a, v in zip(axes, end, strict=True)}
        designs.with_values(loaded, axes, values, "the posterior's extreme sets", ("posterior",))
    return out


def with_posterior(loaded: Loaded, path: Path) -> Loaded:
    """The scenario running on the posterior at `path`: a calibration's folder (its
    posterior.csv) or the CSV itself (`sim run --posterior`)."""
    path = Path(path)
    csv = path / CSV if path.is_dir() else path
    try:
        text = csv.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        hint = " (a calibration folder holds posterior.csv)" if path.is_dir() else ""
        raise ScenarioError(str(csv), None, "", f"cannot read the posterior: {why}{hint}") from None
    try:
        table = posterior_table(text, csv.name)
    except ValueError as exc:
        raise ScenarioError(str(csv), None, "", str(exc)) from None
    data = designs.data_of(loaded)
    data["posterior"] = {"file": str(csv), **table}
    return validate(data, loaded.source, like=loaded)
