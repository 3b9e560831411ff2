"""Kursk calibrated by `sim calibrate` on the observations up to 2025-02-28 (its calibration
window): time, simulations, the posterior against the hand fit of benchmarks/fit_kursk.py,
and the run at the posterior medians in and out of the window. Writes docs/calibration.md's
Kursk block with --write.

    python benchmarks/calibrate_kursk.py [--out DIR] [--write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import docblock  # noqa: E402

from sim.analysis.matching import weighted_quantiles  # noqa: E402
from sim.experiment import calibrate, execute  # noqa: E402
from sim.experiment import design as designs  # noqa: E402
from sim.experiment.posterior import with_posterior  # noqa: E402
from sim.model.result import RunResult  # noqa: E402
from sim.scenario.load import load  # noqa: E402

SCENARIO = ROOT / "scenarios" / "kursk_2024.yaml"


def scored(loaded, runs: int = 200) -> tuple[float, float, tuple[float, float, float]]:
    """RMSE and bias of the median run in the window, and 2025-03-06's median and 80 % (on
    the scenario's posterior, if it has one: each run draws its set)."""
    s = loaded.scenario
    study = execute.plan(loaded)
    parts = execute.simulate_each(study.parts(0, range(runs)), "batch")
    held = RunResult.joined(parts).series["territory"]
    median = np.median(held, axis=0)
    window = [o for o in s.observed if s.start <= o.date <= s.calibrate.until]
    errors = np.array([median[(o.date - s.start).days] - o.km2 for o in window])
    day = (dt.date(2025, 3, 6) - s.start).days
    march = tuple(float(np.quantile(held[:, day], q)) for q in (0.5, 0.1, 0.9))
    return float(np.sqrt(np.mean(errors**2))), float(errors.mean()), march


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="calibration folder root (default: a temp dir)")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    loaded = load(SCENARIO)
    out = args.out or Path(tempfile.mkdtemp())
    started = time.perf_counter()
    result = calibrate.calibrate(loaded, out, progress=False, say=print)
    seconds = time.perf_counter() - started
    d = result.diagnostics
    w = result.posterior["weight"].to_numpy(float)
    hand = designs.data_of(loaded)
    rows, medians = [], {}
    for a in result.axes:
        q = weighted_quantiles(result.posterior[[a.name]].to_numpy(float), w, (0.05, 0.5, 0.95))
        medians[a.name] = float(q[1, 0])
        node = designs.field_at(hand, a.path)
        if a.step is not None:
            node = next(x["value"] for x in node if x["from"] == a.step)
        share = (q[2, 0] - q[0, 0]) / (a.high - a.low)
        rows.append(
            f"| `{a.name}` | {a.low:g}–{a.high:g} | {q[1, 0]:.3g} | {q[0, 0]:.3g}–{q[2, 0]:.3g} "
            f"| {share:.0%} | {node:g} |"
        )
    unit = np.array([[(medians[a.name] - a.low) / (a.high - a.low) for a in result.axes]])
    design = designs.Design("lhs", result.axes, designs.scaled(result.axes, unit), 200, 0)
    at_medians = designs.point_loaded(loaded, design, 0)
    rmse, bias, march = scored(at_medians)
    post_rmse, post_bias, post_march = scored(with_posterior(loaded, result.folder))
    hand_rmse, hand_bias, hand_march = scored(loaded)
    waves = ", ".join(f"{x['kept']} of {x['sets']}" for x in d["waves"])
    moves = ", ".join(f"{x['acceptance']:.0%}" for x in d["waves"] if "acceptance" in x)
    distinct = len(result.posterior.drop(columns="weight").drop_duplicates())
    text = "\n".join(
        [
            "| parameter | prior | posterior median | 90 % interval | of the prior | hand fit |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
            f"{d['simulations']:,} simulations in {seconds / 60:.1f} min on 2 cores (runs "
            "already on disk are not rerun: time it with a new --out); sets not ruled out per "
            f"wave: {waves}; "
            f"moves taken per generation: {moves}; {distinct} distinct sets in the sample of "
            f"{len(w)}; effective sample size {d['ess']:.0f} of {len(w)}; temperature reached "
            f"{d['temperature']:.3g}"
            + (
                "."
                if d["temperature"] == 1
                else " — not 1: the "
                "sample is wider than the posterior, and its medians are no fitted point."
            ),
            "",
            "| run (200 replicates) | RMSE to 2025-02-28 | bias | 2025-03-06, median (80 %) |",
            "|---|---|---|---|",
            f"| on the posterior (each run draws its set) | {post_rmse:.0f} km² | "
            f"{post_bias:+.0f} km² | {post_march[0]:.0f} km² ({post_march[1]:.0f}–"
            f"{post_march[2]:.0f}) |",
            f"| at the posterior medians | {rmse:.0f} km² | {bias:+.0f} km² | {march[0]:.0f} km² "
            f"({march[1]:.0f}–{march[2]:.0f}) |",
            f"| the hand fit (scenario as shipped) | {hand_rmse:.0f} km² | {hand_bias:+.0f} km² | "
            f"{hand_march[0]:.0f} km² ({hand_march[1]:.0f}–{hand_march[2]:.0f}) |",
            "",
            "About 300 km² were reported held on 2025-03-06 (out of sample).",
            "`python benchmarks/calibrate_kursk.py --write`.",
        ]
    )
    print(text)
    if args.write:
        docblock.write(ROOT / "docs" / "calibration.md", "kursk", text)


if __name__ == "__main__":
    main()
