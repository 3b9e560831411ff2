"""Fit the Iwo Jima scenario's fire coefficients to the record, as Engel fitted his two.

Engel (1954) fitted a and b of dM/dt = P(t) − a·N, dN/dt = −b·M to the US casualty record. The
spatial model's counterparts are the two sides' indirect-fire coefficients (`fires`: casualties
per man per day on detected targets) — positional fire, assaults and captures add their part
by the general rules. This script searches those two (and the US tempo, which sets when the
island falls) for the least RMSE between the median US active troops of `--runs` replicates
and the record over days 1–35, with the island secured (below 5 % held) between days 26 and
40 in the median run; it prints the values to write into scenarios/validation/iwo_jima.yaml.

    python benchmarks/fit_iwo_jima.py            # about 2 minutes on a 2-core machine
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from sim.experiment.execute import compile_checked
from sim.model import batch
from sim.scenario.load import load

ROOT = Path(__file__).parent.parent
SCENARIO = ROOT / "scenarios" / "validation" / "iwo_jima.yaml"
RECORD = ROOT / "scenarios" / "data" / "iwo_jima_record.csv"
PATHS = (  # what is fitted; the search starts from the scenario's own values
    "sides.attacker.kinds.marines.fires",
    "sides.defender.kinds.garrison.fires",
    "sides.attacker.kinds.marines.firepower",
    "sides.attacker.tempo",
    "rules.breakthrough_ratio",
    "sides.attacker.kinds.marines.attack",
)


def value(scenario, path: str) -> float:
    """The scenario's value at a dotted path."""
    node = scenario
    for part in path.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return float(node)


def record() -> np.ndarray:
    """US active troops on days 1–35 of the record."""
    table = pd.read_csv(RECORD).set_index("day")
    return table.loc[1:35, "us_active"].to_numpy(float)


def outcome(values: dict[str, float], runs: int) -> tuple[float, float, float]:
    """RMSE and bias of the median US active troops against the record (days 1–35), and the
    median day the island was secured."""
    sets = [f"{k}={v:.6g}" for k, v in values.items()]
    world = compile_checked(load(SCENARIO, sets))
    result = batch.run(world, list(range(runs)))
    active = np.median(result.series["strength_attacker"], axis=0)[:35]
    error = active - record()
    held = result.series["territory"]
    secure = held <= 0.05 * world.territory0
    day = np.where(secure.any(axis=1), secure.argmax(axis=1) + 1, world.days + 1)
    return float(np.sqrt(np.mean(error**2))), float(error.mean()), float(np.median(day))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60, help="replicates per evaluation")
    args = parser.parse_args()
    scenario = load(SCENARIO).scenario
    names = list(PATHS)
    start = np.log([value(scenario, p) for p in PATHS])

    def loss(x: np.ndarray) -> float:
        values = dict(zip(names, np.exp(x), strict=True))
        if values["sides.attacker.tempo"] > 1:
            return 1e9
        rmse, _, day = outcome(values, args.runs)
        return rmse + 1000 * (max(0.0, day - 40) + max(0.0, 26 - day))

    best = minimize(loss, start, method="Nelder-Mead", options={"maxiter": 200, "xatol": 0.01})
    values = dict(zip(names, np.exp(best.x), strict=True))
    rmse, bias, day = outcome(values, 200)
    for k, v in values.items():
        print(f"{k} = {v:.4g}")
    print(f"200 runs: RMSE {rmse:,.0f} men, bias {bias:+,.0f}, island secured on day {day:.0f}")


if __name__ == "__main__":
    main()
