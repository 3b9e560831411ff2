"""The Kursk grid before and after its map came from GeoJSON (issue 14): the batch engine's
replicate-days per second and the wall time of `sim run scenarios/kursk_2024.yaml` (its 200
replicates), for the scenario at a git revision (default: the last hand-drawn 32×42 map) and
the working tree's, side by side in one run.

    python benchmarks/bench_kursk_map.py [--before f91f6a7] [--replicates 1000] [--repeat 3]

Run on demand, never in the test suite. Figures of this machine: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from sim.model import batch
from sim.model.world import compile_world
from sim.scenario.load import load

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = "scenarios/kursk_2024.yaml"


def rate(path: Path, replicates: int, repeat: int) -> float:
    """Replicate-days per second of the batch engine, best of `repeat`."""
    world = compile_world(load(path))
    batch.run(world, [0])  # compiled before timing
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        batch.run(world, range(replicates))
        best = min(best, time.perf_counter() - start)
    return replicates * world.days / best


def sim_run(path: Path, out: Path) -> float:
    """Seconds of `sim run` on the scenario, as a user types it (compiled code cached)."""
    start = time.perf_counter()
    command = [sys.executable, "-m", "sim.cli", "run", str(path), "--quiet", "--workers", "1"]
    subprocess.run([*command, "--out", str(out)], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="f91f6a7", help="git revision of the old map")
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "kursk_2024.yaml"
        text = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{args.before}:{SCENARIO}"],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        old.write_text(text)
        print("| Kursk map | grid | batch, replicate-days/s | `sim run` (200 runs), s |")
        print("|---|---|---|---|")
        for label, path in ((f"hand-drawn ({args.before})", old), ("GeoJSON", ROOT / SCENARIO)):
            shape = load(path).map.shape
            r = rate(path, args.replicates, args.repeat)
            seconds = sim_run(path, Path(tmp) / label.split()[0])
            print(f"| {label} | {shape[0]}×{shape[1]} | {r:,.0f} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
