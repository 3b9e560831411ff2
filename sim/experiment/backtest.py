"""`sim backtest`: for each origin date, calibrate on the observations up to it, forecast
past it on that posterior, and score the forecast against what was observed after it, by
horizon. What a forecaster would have said on the day, held against what happened.

Each origin is a calibration (`origin-YYYY-MM-DD/`) and a run on its posterior, both
resumable results folders, so a stopped backtest resumes like a calibration.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis import matching
from sim.experiment import calibrate, execute, posterior
from sim.experiment import design as designs
from sim.experiment.store import Label
from sim.scenario.load import Loaded

FOLDER = "backtest"
HORIZONS = ((1, 14), (15, 30), (31, 60), (61, 90), (91, 180), (181, 3650))  # days after it
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


@dataclass(frozen=True)
class Backtest:
    folder: Path
    forecasts: pd.DataFrame  # origin, date, horizon, observed, q10 … q90, crps
    scores: pd.DataFrame  # horizon, forecasts, coverage of the 50 and 80 % bands, CRPS, error
    fans: pd.DataFrame  # origin, date, q10 … q90: each origin's forecast, day by day


def check(loaded: Loaded, origins: list[dt.date]) -> None:
    """One line before anything runs: a calibrate: section, and origins inside the run with
    observations before them to fit and after them to score."""
    calibrate.check(loaded)
    s, src = loaded.scenario, loaded.source
    if not origins:
        raise src.error(("calibrate",), "give at least one --origin date")
    t = matching.targets(s, s.end)
    for origin in origins:
        if not any(d <= origin for d in t.dates):
            raise src.error(("calibrate",), f"origin {origin}: no observation on or before it")
        if not any(d > origin for d in t.dates):
            raise src.error(("calibrate",), f"origin {origin}: no observation after it to score")


def crps(ensemble: np.ndarray, y: float) -> float:
    """The continuous ranked probability score of an ensemble forecast of `y`
    (Gneiting and Raftery 2007): E|X − y| − ½ E|X − X′|, in the observation's units."""
    x = np.sort(np.asarray(ensemble, float))
    m = len(x)
    spread = 2 * np.sum((2 * np.arange(1, m + 1) - m - 1) * x) / m**2  # E|X − X′|
    return float(np.mean(np.abs(x - y)) - spread / 2)


def score(f: pd.DataFrame) -> dict[str, float]:
    """Of some forecasts: how many, the share of observations inside the 50 % and 80 % bands
    (they should be 50 % and 80 %), the mean CRPS, and the median error (forecast median −
    observed)."""
    y = f["observed"]
    return {
        "forecasts": len(f),
        "coverage_50": float(((f["q25"] <= y) & (y <= f["q75"])).mean()),
        "coverage_80": float(((f["q10"] <= y) & (y <= f["q90"])).mean()),
        "crps_km2": float(f["crps"].mean()),
        "median_error_km2": float((f["q50"] - y).median()),
    }


def scores(forecasts: pd.DataFrame) -> pd.DataFrame:
    """The score of the forecasts of each horizon band (days after the origin)."""
    rows = []
    for lo, hi in HORIZONS:
        f = forecasts[(forecasts["horizon"] >= lo) & (forecasts["horizon"] <= hi)]
        if len(f):
            name = f"{lo}–{hi} days" if hi < 3650 else f"{lo}+ days"
            rows.append({"horizon": name, **score(f)})
    return pd.DataFrame(rows)


def at_origin(loaded: Loaded, origin: dt.date) -> Loaded:
    """The scenario as a forecaster on `origin` would calibrate and run it: fitted up to the
    origin, and each calibrated schedule without its steps dated after it, so that the last
    value fitted holds (persistence: nothing before the origin says when or how the push will
    change), those steps leaving the calibration with them. The rest of the scenario — its
    reinforcements, its other schedules — stays as written: the forecast is conditional on it."""
    data = designs.data_of(loaded)
    c = data["calibrate"]
    c["until"] = origin
    for a in designs.calibrated(loaded):
        if a.step is not None and a.step > origin:
            del c["parameters"][a.name]
        node = designs.field_at(data, a.path)
        if isinstance(node, list):
            node[:] = [step for i, step in enumerate(node) if i == 0 or step["from"] <= origin]
    return designs.validate(data, loaded.source, like=loaded)


def backtest(
    loaded: Loaded,
    origins: list[dt.date],
    root: Path,
    workers: int | None = None,
    scheduler: str | None = None,
    fresh: bool = False,
    progress: bool = True,
    say: Callable[[str], None] = lambda text: None,
) -> Backtest:
    """Calibrate up to each origin, run the scenario on that posterior, and score it."""
    check(loaded, origins)
    s = loaded.scenario
    folder = Path(root) / f"{s.name}-{FOLDER}"
    if fresh and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    observed = matching.targets(s, s.end)
    rows, fans = [], []
    for origin in sorted(origins):
        here = folder / f"origin-{origin}"
        say(f"origin {origin}: calibrating on the observations up to it")
        then = at_origin(loaded, origin)
        fitted = calibrate.calibrate(
            then, here, workers=workers, scheduler=scheduler, progress=progress, say=say
        )
        say(f"origin {origin}: forecasting on its posterior")
        on = posterior.with_posterior(then, fitted.folder)
        study = execute.plan(on, Label(s.name, (f"origin {origin}",)))
        store = execute.run_study(study, here, "batch", None, False, workers, scheduler,
                                  progress, say).store  # fmt: skip
        runs = store.territory(0)
        q = np.quantile(runs, QUANTILES, axis=0)
        fan = pd.DataFrame({"origin": pd.Timestamp(origin), "date": study.dates})
        for name, row in zip(QUANTILES, q, strict=True):
            fan[f"q{round(name * 100)}"] = row
        fans.append(fan[fan["date"].dt.date > origin])
        for day, date, z in zip(observed.days, observed.dates, observed.z, strict=True):
            if date <= origin:
                continue
            bands = {name: float(v) for name, v in zip(fan.columns[2:], q[:, day], strict=True)}
            rows.append(
                {
                    "origin": pd.Timestamp(origin),
                    "date": pd.Timestamp(date),
                    "horizon": (date - origin).days,
                    "observed": float(z),
                    **bands,
                    "crps": crps(runs[:, day], float(z)),
                }
            )
    forecasts = pd.DataFrame(rows)
    table = scores(forecasts)
    fans_frame = pd.concat(fans, ignore_index=True)
    forecasts.to_parquet(folder / "forecasts.parquet", index=False)
    table.to_parquet(folder / "scores.parquet", index=False)
    fans_frame.to_parquet(folder / "fans.parquet", index=False)
    return Backtest(folder, forecasts, table, fans_frame)
