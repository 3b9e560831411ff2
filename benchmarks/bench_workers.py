"""Where local workers start to pay: the cost of starting them, and `sim run`'s default choice.

Measures (1) what starting two spawned workers costs before they do any work — a process
that imports the engine and loads its compiled code, then one two-day replicate each — which
is `execute.POOL_START_S`; (2) the engines' one-off compile in a fresh numba cache, which is
`execute.COMPILE_S`; (3) single scenarios and a study, each run in this process, on two
workers, and with the default (`workers=None`), which times a first task here and starts
workers only if the work left repays them.

    python benchmarks/bench_workers.py           # about 3 minutes on a 2-core machine
    python benchmarks/bench_workers.py --quick   # a smoke run of the script itself
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sim.experiment import execute
from sim.scenario.load import load

ROOT = Path(__file__).parent.parent
CASES = (  # (what, scenario, overrides)
    ("classroom, 500 runs", "scenarios/classroom_small.yaml", ["replicates=500"]),
    ("Kursk, 200 runs", "scenarios/kursk_2024.yaml", []),
    ("classroom study, 9 × 100 runs", "scenarios/studies/classroom_tempo_intel.yaml", []),
    ("Kursk study, 27 × 100 runs", "scenarios/studies/kursk_tempo_intel_reinforcement.yaml", []),
)


def pool_start(workers: int) -> float:
    """Seconds from creating a pool to every worker having run a two-day replicate."""
    world = execute.compile_checked(load(ROOT / "scenarios" / "classroom_small.yaml"))
    short = dataclasses.replace(world, days=2)
    start = time.perf_counter()
    with execute.executor(workers) as (pool, _):
        futures = [pool.submit(execute.simulate, short, "batch", [i]) for i in range(workers)]
        for f in futures:
            f.result()
        seconds = time.perf_counter() - start
    return seconds


def compile_seconds() -> float:
    """The engines' compile in a fresh process with an empty numba cache."""
    code = (
        "import time; from sim.scenario.load import load; from sim.experiment import execute;"
        "w = execute.compile_checked(load('scenarios/classroom_small.yaml'));"
        "t = time.perf_counter(); execute.warm_up(w, 'batch'); execute.warm_up(w, 'reference');"
        "print(time.perf_counter() - t)"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
        )
    return float(out.stdout.strip())


def timed(path: str, overrides: list[str], workers: int | None) -> float:
    study = execute.plan(load(ROOT / path, overrides))
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        execute.run_study(study, Path(out), workers=workers, progress=False)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny runs: check the script")
    args = parser.parse_args()
    print(f"starting 2 workers (spawn, import, load the compiled code): {pool_start(2):.1f} s")
    if not args.quick:
        print(f"compiling the engines in a fresh cache: {compile_seconds():.1f} s")
    print(f"\n{'':<32}{'this process':>14}{'2 workers':>11}{'default':>9}  (seconds)")
    for what, path, overrides in CASES:
        extra = [f"{'sweep.' * ('studies' in path)}replicates=4"] if args.quick else []
        times = [timed(path, [*overrides, *extra], w) for w in (1, 2, None)]
        print(f"{what:<32}{times[0]:>14.1f}{times[1]:>11.1f}{times[2]:>9.1f}")


if __name__ == "__main__":
    main()
