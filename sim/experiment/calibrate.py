"""`sim calibrate`: waves of history matching, then generations of sequential Monte Carlo,
each run as a study.

Wave 1 is a Latin hypercube over the priors; each later wave of history matching one over the
box around the parameter sets the wave before did not rule out. The generations then carry the
last wave's sets, by tempered reweighting, resampling and Metropolis moves, to the posterior;
the last generation is the posterior sample. Every wave is a study in its own results folder
(`calibration/wave-N/`), so a calibration resumes where it was stopped and runs on local
processes or a Dask cluster like any sweep: a wave's design depends only on the waves before
it and the seed, so a rerun rebuilds the same designs and finds their runs on disk.
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
    waves: pd.DataFrame  # wave, kind, point, the parameters, implausibility, loglik, kept
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
    dates = pd.date_range(run.scenario.start, periods=run.scenario.days, freq="D")
    total = c.waves + c.generations
    frames: list[pd.DataFrame] = []

    def wave(k: int, unit: np.ndarray, what: str) -> tuple[pd.DataFrame, np.ndarray]:
        """Run one wave's sets; their frame (values, implausibility, log-likelihood) and runs."""
        design = designs.Design("lhs", axes, designs.scaled(axes, unit), c.replicates, s.seed)
        say(f"wave {k} of at most {total} ({what}): {design.points} sets × {c.replicates} runs")
        study = execute.Study(run, design, dates, Label(s.name, (f"wave {k}",)))
        outcome = execute.run_study(
            study, folder / f"wave-{k}", engine, None, False, workers, scheduler, progress, say
        )
        series = outcome.store.series(["point", "replicate", "day", "territory"])
        wide = series.pivot_table(index=["point", "replicate"], columns="day", values="territory")
        runs = wide.to_numpy(float).reshape(design.points, c.replicates, -1)
        worst, loglik = matching.implausibility(runs[:, :, t.days], t, c.discrepancy,
                                                c.correlation_days, unit)  # fmt: skip
        frame = design.table.assign(
            wave=k, kind=what, implausibility=worst, loglik=loglik, kept=worst <= c.cutoff
        )
        frames.append(frame)
        return frame, runs

    lo, hi = np.zeros(len(axes)), np.ones(len(axes))
    for k in range(1, c.waves + 1):
        rng = np.random.default_rng([s.seed, k])
        unit = lo + qmc.LatinHypercube(d=len(axes), rng=rng).random(c.points) * (hi - lo)
        frame, runs = wave(k, unit, "history matching")
        kept = frame["kept"].to_numpy()
        say(f"wave {k}: {int(kept.sum())} of {len(frame)} sets not ruled out")
        if not kept.any():
            _write_waves(folder, frames)
            raise CalibrationError(
                f"every parameter set of wave {k} is ruled out (the least implausible at "
                f"{frame['implausibility'].min():.1f}, cut-off {c.cutoff}): widen the priors "
                f"or raise calibrate.discrepancy; the waves are in {folder / 'waves.parquet'}"
            )
        if k < c.waves:
            lo, hi = matching.box(unit[kept])
    # Sequential Monte Carlo from the last wave (uniform in its box, inside the prior) to the
    # posterior: reweight to the next temperature, resample, move by Metropolis.
    loglik = frame["loglik"].to_numpy()
    beta = 0.0
    for k in range(c.waves + 1, total + 1):
        rng = np.random.default_rng([s.seed, k])
        beta_next, w = matching.tempered(loglik, beta * loglik, beta)
        keep = matching.resampled(w, rng)
        unit, loglik, runs = unit[keep], loglik[keep], runs[keep]
        frame, tried = wave(k, matching.walked(unit, rng), "sequential Monte Carlo")
        beta = beta_next
        moved = np.log(rng.uniform(size=len(unit))) < beta * (frame["loglik"].to_numpy() - loglik)
        unit = np.where(moved[:, None], _unit(axes, frame), unit)
        loglik = np.where(moved, frame["loglik"].to_numpy(), loglik)
        runs = np.where(moved[:, None, None], tried, runs)
        frames[-1] = frame.assign(temperature=beta, accepted=moved)
        say(f"wave {k}: temperature {beta:.3g}, {moved.mean():.0%} of the moves taken")
        if beta >= 1:  # the posterior: the generations left are not needed
            break
    w = matching.weights(np.zeros(len(unit))) if c.generations else matching.weights(loglik)
    if c.generations and beta < 1:
        say(f"the last wave reached temperature {beta:.3g}, not 1: its sample is wider than "
            "the posterior; allow more calibrate.generations")  # fmt: skip
    frame = designs.scaled(axes, unit)
    waves = _write_waves(folder, frames)
    posterior = frame[[a.name for a in axes]].assign(weight=w)
    posterior.to_parquet(folder / "posterior.parquet", index=False)
    posterior.to_csv(folder / "posterior.csv", index=False)  # what `sim run --posterior` reads
    fan = _fan(runs, w, dates)
    fan.to_parquet(folder / "predictive.parquet", index=False)
    diagnostics = {
        "scenario": s.name,
        "until": str(c.until),
        "targets": len(t.dates),
        "discrepancy_km2": c.discrepancy,
        "correlation_days": c.correlation_days,
        "cutoff": c.cutoff,
        "waves": [_summary(f, axes) for f in frames],
        "simulations": int(sum(len(f) for f in frames) * c.replicates),
        "ess": matching.ess(w),
        "temperature": beta if c.generations else 1.0,  # below 1: wider than the posterior
        "seconds": round(time.perf_counter() - started, 1),
    }
    (folder / "diagnostics.json").write_text(json.dumps(diagnostics, indent=2))
    return Calibration(folder, axes, waves, posterior, fan, t, diagnostics)


def _unit(axes: list[designs.Axis], table: pd.DataFrame) -> np.ndarray:
    """A design table's sets in the prior's unit cube (where whole numbers were rounded)."""
    return np.column_stack(
        [(table[a.name].to_numpy(float) - a.low) / (a.high - a.low) for a in axes]
    )


def _write_waves(folder: Path, frames: list[pd.DataFrame]) -> pd.DataFrame:
    waves = pd.concat(frames, ignore_index=True)
    waves.to_parquet(folder / "waves.parquet", index=False)
    return waves


QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


def _fan(runs: np.ndarray, w: np.ndarray, dates: pd.DatetimeIndex) -> pd.DataFrame:
    """The posterior predictive fan: every run of the last wave, weighted by its set's
    weight, so the bands carry parameter and chance uncertainty."""
    sets, replicates, days = runs.shape
    each = np.repeat(w, replicates) / replicates
    q = matching.weighted_quantiles(runs.reshape(sets * replicates, days), each, QUANTILES)
    fan = pd.DataFrame({"date": dates[:days]})
    for name, row in zip(QUANTILES, q, strict=True):
        fan[f"q{round(name * 100)}"] = row
    return fan


def _summary(frame: pd.DataFrame, axes: list[designs.Axis]) -> dict:
    """A wave in diagnostics.json: what it was, its sets, those not ruled out, their span, and
    for a generation of sequential Monte Carlo its temperature and the share of the moves
    taken (acceptance)."""
    moves = {}
    if "accepted" in frame and frame["accepted"].notna().all():
        moves = {
            "temperature": float(frame["temperature"].iloc[0]),
            "acceptance": float(frame["accepted"].astype(bool).mean()),
        }
    return {
        "wave": int(frame["wave"].iloc[0]),
        "kind": str(frame["kind"].iloc[0]),
        "sets": len(frame),
        "kept": int(frame["kept"].sum()),
        "span": {a.name: [float(frame[a.name].min()), float(frame[a.name].max())] for a in axes},
        **moves,
    }
