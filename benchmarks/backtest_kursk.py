"""Kursk backtested: for each origin from 2024-10-31 to 2025-01-31, `sim backtest` calibrates
on the observations up to it, forecasts past it on that posterior, and scores the forecasts
by horizon. Writes docs/calibration.md's backtest block with --write.

    python benchmarks/backtest_kursk.py [--out DIR] [--write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import docblock  # noqa: E402

from sim.experiment import backtest  # noqa: E402
from sim.scenario.load import load  # noqa: E402

ORIGINS = [dt.date(2024, 10, 31), dt.date(2024, 11, 30), dt.date(2024, 12, 31),
           dt.date(2025, 1, 31)]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="results root (default: a temp dir)")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    loaded = load(ROOT / "scenarios" / "kursk_2024.yaml")
    out = args.out or Path(tempfile.mkdtemp())
    started = time.perf_counter()
    result = backtest.backtest(loaded, ORIGINS, out, progress=False, say=print)
    minutes = (time.perf_counter() - started) / 60

    def row(name: str, s: dict) -> str:
        return (
            f"| {name} | {s['forecasts']} | {s['coverage_50']:.0%} | {s['coverage_80']:.0%} | "
            f"{s['crps_km2']:,.0f} | {s['median_error_km2']:+,.0f} |"
        )

    rows = [row(r["horizon"], r) for r in result.scores.to_dict("records")]
    f = result.forecasts
    by_origin = [row(str(o.date()), backtest.score(g)) for o, g in f.groupby("origin")]
    header = [
        "| {} | forecasts | inside the 50 % band | inside the 80 % band | CRPS, km² | "
        "median error, km² |",
        "|---|---|---|---|---|---|",
    ]
    text = "\n".join(
        [
            header[0].format("horizon"),
            header[1],
            *rows,
            "",
            header[0].format("origin"),
            header[1],
            *by_origin,
            "",
            f"Origins {', '.join(str(o) for o in ORIGINS)}; each a calibration of the scenario's "
            f"`calibrate:` section up to it and 200 runs on its posterior, scored on every "
            f"observation date after it to 2025-04-30; {minutes:.0f} min on 2 cores. "
            "`python benchmarks/backtest_kursk.py --write`.",
        ]
    )
    print(text)
    if args.write:
        docblock.write(ROOT / "docs" / "calibration.md", "backtest", text)


if __name__ == "__main__":
    main()
