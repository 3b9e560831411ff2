"""Sweep throughput: a 10,000-run study on 1 and 2 local workers, and the driver's memory.

Runs the classroom salient as a 5 × 4 grid (attacker tempo × defender intelligence from the
pause) with 500 replicates per point — 10,000 runs — through `sim.experiment.execute`, the
path `sim run` takes, and prints runs per second, the speed-up of 2 workers over 1, and the
driver's peak memory (tracemalloc: Python and numpy allocations of the driver process, which
receives every result and writes it) for a quarter of the runs and for all of them.

    python benchmarks/bench_sweeps.py           # about 2 minutes on a 2-core machine
    python benchmarks/bench_sweeps.py --quick   # a smoke run of the script itself
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

import yaml

from sim.experiment.execute import plan, run_study
from sim.scenario.load import load

BASE = Path(__file__).parent.parent / "scenarios" / "classroom_small.yaml"
PARAMETERS = {
    "sides.attacker.tempo": [0.15, 0.2, 0.3, 0.4, 0.5],
    "sides.defender.intelligence": {"from": "2025-03-02", "values": [0.8, 0.5, 0.3, 0.1]},
}


def study(folder: Path, replicates: int) -> Path:
    path = folder / "bench_study.yaml"
    sweep = {"design": "grid", "replicates": replicates, "parameters": PARAMETERS}
    path.write_text(yaml.safe_dump({"base": str(BASE), "name": "bench-sweep", "sweep": sweep}))
    return path


def timed(
    replicates: int, workers: int, chunk: int, trace: bool = False
) -> tuple[int, float, float]:
    """Runs, seconds and (with `trace`) the driver's peak MiB of one whole study into a fresh
    folder. Tracing slows numpy allocations a lot, so timed runs are not traced."""
    with tempfile.TemporaryDirectory() as tmp:
        s = plan(load(study(Path(tmp), replicates)))
        if trace:
            tracemalloc.start()
        start = time.perf_counter()
        run_study(s, Path(tmp) / "results", "batch", chunk, workers=workers, progress=False)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace else float("nan")
        tracemalloc.stop()
        return s.design.runs, seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=500, help="per point (20 points)")
    parser.add_argument("--chunk", type=int, default=250)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check it runs")
    args = parser.parse_args()
    reps = 10 if args.quick else args.replicates
    chunk = 5 if args.quick else args.chunk
    print(f"classroom 5 × 4 grid, {reps} replicates per point, chunk {chunk}, 120 days\n")
    print(f"  {'workers':>7}{'runs':>8}{'seconds':>10}{'runs/s':>10}{'speed-up':>10}")
    base = None
    for workers in (1, 2):
        runs, secs, _ = timed(reps, workers, chunk)
        base = base or runs / secs
        print(
            f"  {workers:>7}{runs:>8,}{secs:>10.1f}{runs / secs:>10,.0f}{runs / secs / base:>9.2f}×"
        )
    small = max(1, reps // 4)
    block = min(chunk, small)  # the same task size for both, so only the number of runs grows
    print(f"\ndriver peak memory against the number of runs (2 workers, chunk {block}):")
    for r in (small, reps):
        runs, _, peak = timed(r, 2, block, trace=True)
        print(f"  {runs:>8,} runs: {peak:7.1f} MiB")


if __name__ == "__main__":
    main()
