"""Recovery: can `sim calibrate` find parameters it knows? The engine makes the data itself
(one run of the classroom scenario at known values, on a replicate the calibration never
runs), the calibration fits it, and we count the seeds whose 90 % posterior interval holds
the truth, per parameter (target: at least 8 of 10). Writes docs/calibration.md's table.

    python benchmarks/recover_calibration.py [--seeds 10] [--write]
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
from sim.experiment import calibrate  # noqa: E402
from sim.experiment import design as designs  # noqa: E402
from sim.experiment.execute import compile_checked, simulate  # noqa: E402
from sim.scenario.load import load  # noqa: E402

SCENARIO = ROOT / "scenarios" / "classroom_small.yaml"
PRIORS = {  # path: (low, high)
    "sides.attacker.tempo": (0.1, 0.6),
    "sides.attacker.fire_intensity": (0.2, 1.0),
    "sides.defender.replacements": (0.0, 100.0),
}


def synthetic(seed: int, truth: dict[str, float], replicates: int, every: int = 10):
    """The classroom scenario with `observed:` made by one run at `truth` and a calibrate:
    section over PRIORS."""
    sets = [f"{k}={v}" for k, v in truth.items()]
    world = compile_checked(load(SCENARIO, sets))
    run = simulate(world, "batch", [100_000 + seed])  # a replicate no calibration runs
    held = run.series["territory"][0]
    base = load(SCENARIO, [f"seed={seed}"])
    data = designs.data_of(base)
    start = base.scenario.start
    data["observed"] = [
        {"date": start + dt.timedelta(days=d), "km2": float(held[d])}
        for d in range(every, base.scenario.days, every)
    ]
    data["calibrate"] = {
        "until": data["observed"][-1]["date"],
        "discrepancy": 5.0,
        "correlation_days": 10,
        "waves": 3,
        "generations": 10,  # at most: they stop at temperature 1
        "points": 200,
        "replicates": replicates,
        "parameters": {k: {"range": list(v)} for k, v in PRIORS.items()},
    }
    return designs.validate(data, base.source, like=base)


def recover(seed: int, root: Path, replicates: int) -> tuple[dict[str, tuple[float, ...]], dict]:
    """Per parameter (truth, 5 %, median, 95 %), and the calibration's diagnostics."""
    rng = np.random.default_rng(seed)
    truth = {k: float(lo + (hi - lo) * rng.uniform(0.2, 0.8)) for k, (lo, hi) in PRIORS.items()}
    data = synthetic(seed, truth, replicates)
    result = calibrate.calibrate(data, root, workers=1, progress=False)
    w = result.posterior["weight"].to_numpy(float)
    out = {}
    for k in PRIORS:
        q = weighted_quantiles(result.posterior[[k]].to_numpy(float), w, (0.05, 0.5, 0.95))[:, 0]
        out[k] = (truth[k], *q)
    return out, result.diagnostics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--replicates", type=int, default=4, help="runs per parameter set")
    parser.add_argument("--write", action="store_true", help="write docs/calibration.md's table")
    args = parser.parse_args()
    started = time.perf_counter()
    held = {k: 0 for k in PRIORS}
    width = {k: 0.0 for k in PRIORS}
    reached, simulations = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            res, diagnostics = recover(seed, Path(tmp) / str(seed), args.replicates)
            reached.append(diagnostics["temperature"])
            simulations += diagnostics["simulations"]
            for k, (t, lo, mid, hi) in res.items():
                held[k] += lo <= t <= hi
                width[k] += (hi - lo) / (PRIORS[k][1] - PRIORS[k][0]) / args.seeds
                print(f"seed {seed} {k}: truth {t:.3g}, 90 % {lo:.3g}–{hi:.3g} (median {mid:.3g})")
    seconds = time.perf_counter() - started
    rows = [
        f"| `{k}` | {lo:g}–{hi:g} | {held[k]} of {args.seeds} | {width[k]:.0%} |"
        for k, (lo, hi) in PRIORS.items()
    ]
    table = "\n".join(
        [
            "| parameter | prior | truth inside the 90 % interval | mean width of the interval "
            "(share of the prior) |",
            "|---|---|---|---|",
            *rows,
            "",
            f"{args.seeds} seeds, {args.replicates} runs per set, {simulations:,} simulations, "
            f"{seconds:.0f} s on this machine; "
            f"temperature 1 (the posterior) reached in {sum(b >= 1 for b in reached)} of "
            f"{args.seeds} (lowest {min(reached):.2f}) "
            f"(`python benchmarks/recover_calibration.py --seeds {args.seeds} "
            f"--replicates {args.replicates} --write`).",
        ]
    )
    print(table)
    if args.write:
        docblock.write(ROOT / "docs" / "calibration.md", "recovery", table)


if __name__ == "__main__":
    main()
