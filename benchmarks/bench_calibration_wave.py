"""One Kursk calibration wave (N parameter sets × R runs) two ways, side by side in one run:
sets packed into shared batches (the engine's parts: each replicate on its own set's
schedules, a task's sets in one part file) against one batch and one part per set (how waves
ran before). Same runs, same numbers (checked).

    python benchmarks/bench_calibration_wave.py [--sets 400] [--replicates 4] [--workers 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.experiment import calibrate, execute  # noqa: E402
from sim.experiment import design as designs  # noqa: E402
from sim.experiment.store import Label  # noqa: E402
from sim.scenario.load import load  # noqa: E402


@dataclass(frozen=True)
class Apart(execute.Study):
    """The same study, each set in a batch of its own."""

    @property
    def together(self) -> bool:
        return False


def wave(kind: type, sets: int, replicates: int, workers: int) -> tuple[float, pd.DataFrame]:
    loaded = load(ROOT / "scenarios" / "kursk_2024.yaml")
    axes, t = calibrate.check(loaded)
    run = calibrate.shortened(loaded, t)
    unit = np.random.default_rng(0).random((sets, len(axes)))
    design = designs.Design("lhs", axes, designs.scaled(axes, unit), replicates, 0)
    dates = pd.date_range(run.scenario.start, periods=run.scenario.days, freq="D")
    study = kind(run, design, dates, Label("wave"))
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        store = execute.run_study(study, Path(tmp), workers=workers, progress=False).store
        seconds = time.perf_counter() - started
        return seconds, store.series(["point", "replicate", "day", "territory"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=400)
    parser.add_argument("--replicates", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    wave(execute.Study, 4, args.replicates, 1)  # compile or load the engine first
    packed, a = wave(execute.Study, args.sets, args.replicates, args.workers)
    apart, b = wave(Apart, args.sets, args.replicates, args.workers)
    pd.testing.assert_frame_equal(a, b)
    runs = args.sets * args.replicates
    print(f"Kursk wave, {args.sets} sets × {args.replicates} runs on {args.workers} workers:")
    print(f"  sets packed into shared batches: {packed:6.1f} s ({runs / packed:,.0f} runs/s)")
    print(f"  one batch per set:               {apart:6.1f} s ({runs / apart:,.0f} runs/s)")
    print(f"  ratio: {apart / packed:.2f}×, the same territory series")


if __name__ == "__main__":
    main()
