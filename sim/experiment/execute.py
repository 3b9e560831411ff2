"""Run a scenario's replicates in tasks (design point × block of replicates) and hand each
finished task to the store. Replicate k always draws the same numbers, so the blocks can be
run in any order, resumed, or split differently without changing a single result."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from sim.experiment.store import ResultsDir
from sim.model import batch, reference
from sim.model.result import RunResult
from sim.model.world import World, compile_world
from sim.scenario.load import FieldError, Loaded

ENGINES: dict[str, Callable[[World, list[int]], RunResult]] = {
    "batch": batch.run,
    "reference": reference.run,
}
DEFAULT_CHUNK = {"batch": 250, "reference": 10}


def compile_checked(loaded: Loaded) -> World:
    """Compile, turning a placement problem into a located scenario error."""
    try:
        return compile_world(loaded)
    except FieldError as exc:
        raise loaded.source.error(exc.path, str(exc)) from None


def blocks(missing: list[int], size: int) -> list[range]:
    """Tasks of at most `size` consecutive replicates covering the `missing` ones."""
    out: list[range] = []
    for k in sorted(missing):
        last = out[-1] if out else None
        if last is not None and last.stop == k and len(last) < size:
            out[-1] = range(last.start, k + 1)
        else:
            out.append(range(k, k + 1))
    return out


def run_scenario(
    loaded: Loaded,
    root: Path,
    engine: str = "batch",
    chunk: int | None = None,
    fresh: bool = False,
    progress: bool = True,
) -> tuple[ResultsDir, World]:
    """Run every replicate not yet on disk; returns the results folder and the world."""
    world = compile_checked(loaded)
    s = loaded.scenario
    resolved = s.model_dump(mode="json", by_alias=True)
    design = pd.DataFrame({"point": [0]})
    store = ResultsDir.open(root, s.name, resolved, design, s.seed, engine, fresh=fresh)
    dates = pd.date_range(s.start, periods=s.days, freq="D")
    missing = sorted(set(range(s.replicates)) - store.covered(0))
    todo = blocks(missing, chunk or DEFAULT_CHUNK[engine])
    run = ENGINES[engine]
    with tqdm(
        total=s.replicates,
        initial=s.replicates - sum(len(b) for b in todo),
        unit="run",
        disable=not progress,
        desc=s.name,
    ) as bar:
        for block in todo:
            store.write_part(0, run(world, list(block)), dates)
            bar.update(len(block))
    return store, world
