"""`sim calibrate`: waves of history matching, each run as a study, then the posterior.

Wave 1 is a Latin hypercube over the priors; each later wave one over the box around the
parameter sets the wave before did not rule out. Every wave is a study in its own results
folder (`calibration/wave-N/`), so a calibration resumes where it was stopped and runs on
local processes or a Dask cluster like any sweep; a wave's design depends only on the waves
before it and the seed, so a rerun rebuilds the same designs and finds their runs on disk.
The last wave's sets, weighted by their likelihood, are the posterior sample.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import qmc

from sim.analysis import matching
from sim.experiment import design as designs
from sim.experiment import execute
from sim.experiment.store import Label
from sim.scenario.load import Loaded

FOLDER = "calibration"


class CalibrationError(Exception):
    """A calibration that cannot go on (every set ruled out): one line, exit 2."""


@dataclass(frozen=True)
class Calibration:
    folder: Path
    axes: list[designs.Axis]
    waves: pd.DataFrame  # wave, point, the parameters, implausibility, loglik, kept
    posterior: pd.DataFrame  # the parameters and weight
    fan: pd.DataFrame  # date and weighted quantiles of territory
    targets: matching.Targets
    diagnostics: dict


def check(loaded: Loaded) -> tuple[list[designs.Axis], matching.Targets]:
    """The calibration's parameters and targets, or the one-line error that stops it
    before anything runs."""
    s, src = loaded.scenario, loaded.source
    if s.calibrate is None:
        raise src.error((), "no calibrate: section (docs/calibration.md shows how to write one)")
    if s.sweep is not None:
        raise src.error(("sweep",), "a calibration designs its own waves: remove the sweep")
    c = s.calibrate
    axes = designs.calibrated(loaded)
    for a in axes:
        if a.kind is not float and a.kind is not int:
            raise src.error(("calibrate", "parameters", a.name), "calibrates numbers only")
    if not s.start <= c.until:
        raise src.error(("calibrate", "until"), f"must fall on or after the start, {s.start}")
    t = matching.targets(s, c.until)
    if not len(t.dates):
        raise src.error(
            ("calibrate", "until"),
            f"no observations between the start ({s.start}) and {c.until}: nothing to fit",
        )
    return axes, t


def shortened(loaded: Loaded, t: matching.Targets) -> Loaded:
    """The scenario run only as far as its last target: later days cannot change the fit."""
    data = designs.data_of(loaded)
    data["days"] = int(t.days.max()) + 1
    return designs.validate(data, loaded.source, like=loaded)


def _wave_design(axes: list[designs.Axis], lo, hi, points: int, replicates: int, seed: int, k: int):
    unit = lo + qmc.LatinHypercube(d=len(axes), rng=np.random.default_rng([seed, k])).random(
        points
    ) * (hi - lo)
    return designs.Design("lhs", axes, designs.scaled(axes, unit), replicates, seed), unit


def _unit(axes: list[designs.Axis], table: pd.DataFrame) -> np.ndarray:
    return np.column_stack(
        [(table[a.name].to_numpy(float) - a.low) / (a.high - a.low) for a in axes]
    )


def calibrate(
    loaded: Loaded,
    root: Path,
    engine: str = "batch",
    workers: int | None = None,
    scheduler: str | None = None,
    fresh: bool = False,
    progress: bool = True,
    say: Callable[[str], None] = lambda text: None,
) -> Calibration:
    """Run (or resume) the waves of the scenario's calibration into `root/<name>-calibration`
    and write the posterior, its predictive fan and the diagnostics there."""
    axes, t = check(loaded)
    s, c = loaded.scenario, loaded.scenario.calibrate
    run = shortened(loaded, t)
    folder = Path(root) / f"{s.name}-{FOLDER}"
    if fresh and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    lo, hi = np.zeros(len(axes)), np.ones(len(axes))
    frames, runs_of_last, boxes = [], None, []
    for k in range(1, c.waves + 1):
        design, unit = _wave_design(axes, lo, hi, c.points, c.replicates, s.seed, k)
        boxes.append(
            {a.name: [a.low + b * (a.high - a.low), a.low + t * (a.high - a.low)]
             for a, b, t in zip(axes, lo, hi, strict=True)}
        )  # fmt: skip
        say(f"wave {k} of {c.waves}: {design.points} parameter sets × {c.replicates} runs")
        dates = pd.date_range(run.scenario.start, periods=run.scenario.days, freq="D")
        study = execute.Study(run, design, dates, Label(s.name, (f"wave {k}",)))
        outcome = execute.run_study(
            study, folder / f"wave-{k}", engine, None, False, workers, scheduler, progress, say
        )
        series = outcome.store.series(["point", "replicate", "day", "territory"])
        on = series[series["day"].isin(t.days)]
        cube = on.pivot_table(index=["point", "replicate"], columns="day", values="territory")
        held = cube[list(t.days)].to_numpy(float).reshape(design.points, c.replicates, -1)
        worst, loglik = matching.implausibility(held, t, c.discrepancy, c.correlation_days)
        kept = worst <= c.cutoff
        frame = design.table.assign(wave=k, implausibility=worst, loglik=loglik, kept=kept)
        frames.append(frame)
        say(f"wave {k}: {int(kept.sum())} of {design.points} sets not ruled out")
        if not kept.any():
            _write_waves(folder, frames)
            best = float(worst.min())
            raise CalibrationError(
                f"every parameter set of wave {k} is ruled out (the least implausible at "
                f"{best:.1f}, cut-off {c.cutoff}): widen the priors or raise "
                f"calibrate.discrepancy; the waves are in {folder / 'waves.parquet'}"
            )
        runs_of_last = (series, held)
        if k < c.waves:
            lo, hi = matching.box(unit[kept])
    waves = _write_waves(folder, frames)
    last = frames[-1]
    w = matching.weights(last["loglik"].to_numpy())
    posterior = last[[a.name for a in axes]].assign(weight=w)
    posterior.to_parquet(folder / "posterior.parquet", index=False)
    series, held = runs_of_last
    fan = _fan(series, w, c.replicates, dates)
    fan.to_parquet(folder / "predictive.parquet", index=False)
    diagnostics = {
        "scenario": s.name,
        "until": str(c.until),
        "targets": len(t.dates),
        "discrepancy_km2": c.discrepancy,
        "correlation_days": c.correlation_days,
        "cutoff": c.cutoff,
        "waves": [
            {"wave": k, "sets": len(f), "kept": int(f["kept"].sum()), "box": b}
            for k, (f, b) in enumerate(zip(frames, boxes, strict=True), 1)
        ],
        "simulations": int(sum(len(f) for f in frames) * c.replicates),
        "ess": matching.ess(w),
        "seconds": round(time.perf_counter() - started, 1),
    }
    (folder / "diagnostics.json").write_text(json.dumps(diagnostics, indent=2))
    return Calibration(folder, axes, waves, posterior, fan, t, diagnostics)


def _write_waves(folder: Path, frames: list[pd.DataFrame]) -> pd.DataFrame:
    waves = pd.concat(frames, ignore_index=True)
    waves.to_parquet(folder / "waves.parquet", index=False)
    return waves


QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


def _fan(series: pd.DataFrame, w: np.ndarray, replicates: int, dates) -> pd.DataFrame:
    """The posterior predictive fan: every run of the last wave, weighted by its set's
    weight, so the bands carry parameter and chance uncertainty."""
    wide = series.pivot_table(index=["point", "replicate"], columns="day", values="territory")
    each = np.repeat(w, replicates) / replicates
    q = matching.weighted_quantiles(wide.to_numpy(float), each, QUANTILES)
    fan = pd.DataFrame({"date": dates[: q.shape[1]]})
    for name, row in zip(QUANTILES, q, strict=True):
        fan[f"q{round(name * 100)}"] = row
    return fan
