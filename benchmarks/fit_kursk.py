"""Fit the Kursk scenario to the territory it held up to 2025-02-28, and nothing after.

The calibration window ends on 2025-02-28 (scenarios/data/kursk_observed.csv); March 2025 is
the out-of-sample test. This script searches the Russian tempo steps that start inside the
window, the intensity Russia presses the positional fighting with, both sides'
replacements and the share of deliveries drones take per km of route (`rules.drone_supply`)
for the least RMSE between the median
territory of `--runs` replicates and every observation up to 2025-02-28, and prints the values
to write into scenarios/kursk_2024.yaml. The tempo step of 2025-03-06 lies outside the window:
it is not fitted. (A calibration with honest uncertainty is `sim calibrate`'s job; this is
the least-squares fit the scenario ships with.)

    python benchmarks/fit_kursk.py              # about 10 minutes on a 2-core machine
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from sim.experiment.execute import compile_checked
from sim.model import batch
from sim.scenario.load import load

ROOT = Path(__file__).parent.parent
SCENARIO = ROOT / "scenarios" / "kursk_2024.yaml"
WINDOW_END = dt.date(2025, 2, 28)
FIELDS = (  # (dotted path, step date or None); the search starts from the scenario's values
    ("sides.attacker.tempo", dt.date(2024, 8, 27)),
    ("sides.attacker.tempo", dt.date(2024, 9, 10)),
    ("sides.attacker.tempo", dt.date(2024, 9, 25)),
    ("sides.attacker.tempo", dt.date(2024, 10, 8)),
    ("sides.attacker.tempo", dt.date(2024, 11, 25)),
    ("sides.attacker.tempo", dt.date(2025, 1, 15)),
    ("sides.attacker.fire_intensity", None),
    ("sides.attacker.replacements", None),
    ("sides.defender.replacements", None),
    ("rules.drone_supply", None),
)
SHARES = [k for k, (path, _) in enumerate(FIELDS) if "replacements" not in path]  # ≤ 1


def current(scenario, path: str, step: dt.date | None) -> float:
    """The scenario's value of a field, or of its schedule's step from `step`."""
    node = scenario
    for part in path.split("."):
        node = getattr(node, part)
    if step is None:
        return float(node)
    return float(next(s.value for s in node if s.from_ == step))


def overrides(scenario, values: list[float]) -> list[str]:
    """--set lines for the values, each schedule rewritten with its fitted steps."""
    out: dict[str, object] = {}
    for (path, step), v in zip(FIELDS, values, strict=True):
        if step is None:
            out[path] = f"{v:.4g}"
            continue
        steps = out.setdefault(path, {s.from_: s.value for s in getattr_path(scenario, path)})
        steps[step] = round(v, 4)
    return [
        f"{k}={v}" if isinstance(v, str)
        else f"{k}=[" + ", ".join(f"{{from: {d}, value: {x}}}" for d, x in v.items()) + "]"
        for k, v in out.items()
    ]  # fmt: skip


def getattr_path(scenario, path: str):
    node = scenario
    for part in path.split("."):
        node = getattr(node, part)
    return node


def rmse(sets: list[str], runs: int) -> float:
    """RMSE of the median territory against every observation up to the window's end."""
    loaded = load(SCENARIO, sets)
    s = loaded.scenario
    held = np.median(batch.run(compile_checked(loaded), list(range(runs))).series["territory"], 0)
    errors = [
        held[(o.date - s.start).days] - o.km2 for o in s.observed if s.start <= o.date <= WINDOW_END
    ]
    return float(np.sqrt(np.mean(np.square(errors))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60, help="replicates per evaluation")
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--step", type=float, default=0.2, help="first simplex step (share)")
    parser.add_argument(
        "--tempo-scale", type=float, default=1.0, help="start from the tempo steps × this"
    )
    args = parser.parse_args()
    scenario = load(SCENARIO).scenario
    start = np.array([current(scenario, p, d) for p, d in FIELDS])
    scale = np.maximum(start, 1e-3)

    def loss(x: np.ndarray) -> float:
        values = x * scale
        if (values < 0).any() or (values[SHARES] > 1).any():  # tempo, intensity, drones
            return 1e9
        return rmse(overrides(scenario, list(values)), args.runs)

    x0 = start / scale
    if args.tempo_scale != 1.0:  # a first guess for a changed map: every tempo step × factor
        x0[[k for k, (path, _) in enumerate(FIELDS) if path.endswith("tempo")]] *= args.tempo_scale
    # The first simplex steps each value by `--step` (a share of it): steps of a few per cent
    # drown in the noise of the median of `--runs` runs and leave the search where it began.
    simplex = np.vstack([x0, x0 + np.diag(np.where(x0 > 0, x0, 1.0) * args.step)])
    best = minimize(
        loss, x0, method="Nelder-Mead",
        options={"maxiter": args.iterations, "xatol": 0.01, "fatol": 1.0,
                 "initial_simplex": simplex},
    )  # fmt: skip
    values = best.x * scale
    for (path, step), v in zip(FIELDS, values, strict=True):
        print(f"{path}{f' from {step}' if step else ''} = {v:.4g}")
    print(f"RMSE up to {WINDOW_END}: {rmse(overrides(scenario, list(values)), 200):.0f} km²")


if __name__ == "__main__":
    main()
