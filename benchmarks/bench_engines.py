"""Engine benchmark: replicate-days per second of the batch engine, the Mesa reference engine,
and the reference engine driven by `mesa.batch_run` (how a Mesa user would sweep it), measured
side by side in one run on one core, with their ratios; then the peak memory of `sim run`'s
path for growing numbers of replicates at a fixed chunk size.

    python benchmarks/bench_engines.py [--replicates 1000] [--reference 5] [--repeat 3] [--quick]

Run on demand, never in the test suite. Figures of this machine: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core: no hidden BLAS threads

import mesa

from sim.experiment.execute import plan, run_study
from sim.model import batch, reference
from sim.model.world import compile_world
from sim.scenario.load import load

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = {
    "kursk": ROOT / "scenarios/kursk_2024.yaml",
    "classroom": ROOT / "scenarios/classroom_small.yaml",
}


def timed(func, repeat: int = 1) -> float:
    """Seconds of the fastest of `repeat` calls: the least disturbed by the machine."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def engines(name: str, path: Path, replicates: int, ref_runs: int, repeat: int) -> dict[str, float]:
    world = compile_world(load(path))
    days = world.days
    # First calls load (or, on a fresh checkout, compile) the batch engine's phases and warm
    # both engines up; that one-off cost is printed, not counted in the rates.
    first = timed(lambda: batch.run(world, range(2)))
    reference.run(world, range(1))
    fast = timed(lambda: batch.run(world, range(replicates)), repeat)
    ref = timed(lambda: reference.run(world, range(ref_runs)), repeat)

    def mesa_batch_run():
        mesa.batch_run(
            reference.SalientModel,
            parameters={"world": [world], "replicate": list(range(ref_runs))},
            iterations=1,
            max_steps=days,
            number_processes=1,
            data_collection_period=1,
            display_progress=False,
        )

    via_batch_run = timed(mesa_batch_run, repeat)
    rates = {
        "batch": replicates * days / fast,
        "reference": ref_runs * days / ref,
        "mesa.batch_run": ref_runs * days / via_batch_run,
    }
    print(
        f"\n{name}: {world.shape[0]}×{world.shape[1]} cells, {world.n_units} unit slots, "
        f"{days} days; fastest of {repeat} (batch engine's first call: {first:.1f} s)"
    )
    print(f"  {'engine':<16}{'runs':>6}{'seconds':>10}{'rep-days/s':>13}{'× reference':>13}")
    for engine, runs, secs in (
        ("batch", replicates, fast),
        ("reference", ref_runs, ref),
        ("mesa.batch_run", ref_runs, via_batch_run),
    ):
        rate = rates[engine]
        print(
            f"  {engine:<16}{runs:>6}{secs:>10.2f}{rate:>13,.0f}{rate / rates['reference']:>12.1f}×"
        )
    return rates


def memory(path: Path, totals: list[int], chunk: int) -> None:
    """Peak Python/numpy memory of the run path (engine + store) for growing totals."""
    print(f"\npeak memory of `sim run` ({path.stem}, chunk {chunk}):")
    with tempfile.TemporaryDirectory() as out:  # warm-up: first-call allocations not counted
        run_study(
            plan(load(path, [f"replicates={chunk}"])),
            Path(out),
            "batch",
            chunk,
            workers=1,
            progress=False,
        )
    for total in totals:
        loaded = load(path, [f"replicates={total}"])
        with tempfile.TemporaryDirectory() as out:
            tracemalloc.start()
            run_study(plan(loaded), Path(out), "batch", chunk, workers=1, progress=False)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        print(f"  {total:>6} replicates: peak {peak / 2**20:7.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--reference", type=int, default=5, help="reference-engine runs")
    parser.add_argument("--repeat", type=int, default=3, help="time each engine this often")
    parser.add_argument("--quick", action="store_true", help="small sizes, to check it runs")
    args = parser.parse_args()
    reps, ref = (50, 1) if args.quick else (args.replicates, args.reference)
    for name, path in SCENARIOS.items():
        engines(name, path, reps, ref, repeat=1 if args.quick else args.repeat)
    totals = [250, 500] if args.quick else [500, 1000, 2000, 4000]
    memory(SCENARIOS["kursk"], totals, chunk=250)


if __name__ == "__main__":
    main()
