"""Run a study: tasks of (design point, block of replicates) through one executor.

When the points of a design differ only in schedules (a calibration's parameter sets), a task
packs blocks of several points into one batch (batch.run_each), so that many points of few
replicates each cost what their runs cost.

The executor is anything with the `concurrent.futures.Executor` interface: in-process for one
worker, a process pool for local workers, or a Dask cluster's executor. The driver keeps a
bounded number of tasks in flight and hands each finished one to the store as it completes,
so memory is set by the chunk size, not by the number of runs. Replicate k of a point always
draws the same numbers, so tasks may finish in any order, be retried on another worker, or be
resumed after a crash without changing a single result.
"""

from __future__ import annotations

import collections
import contextlib
import io
import math
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from sim.experiment import design as designs
from sim.experiment import posterior
from sim.experiment.store import BITS, Label, ResultsDir, StoreError, versions
from sim.model import batch, kernels, reference
from sim.model.result import RunResult
from sim.model.world import (
    World,
    compile_world,
    per_replicate,
    same_but_schedules,
    with_schedules,
)
from sim.scenario.load import FieldError, Loaded, ScenarioError, Source, validate
from sim.scenario.schema import Scenario

ENGINES: dict[str, Callable[..., RunResult]] = {
    "batch": batch.run,
    "reference": reference.run,
}
DEFAULT_CHUNK = {"batch": 250, "reference": 10}
MIN_CHUNK = {
    "batch": 25,
    "reference": 1,
}  # below this the batch engine's passes are mostly overhead


class ClusterError(Exception):
    """A Dask cluster that cannot run this study (unreachable, or other versions)."""


def compile_checked(loaded: Loaded) -> World:
    """Compile, turning a placement problem into a located scenario error."""
    try:
        return compile_world(loaded)
    except FieldError as exc:
        raise loaded.source.error(exc.path, str(exc)) from None


Task = list[tuple[int, range]]  # blocks of replicates of design points, run as one batch


@dataclass(frozen=True)
class Study:
    """Everything a run needs: the design, checked, and each point's world, compiled when
    first asked for (a study of many points compiles each as its runs start; when its points
    differ only in schedules, the first world compiled lends the others all but those)."""

    loaded: Loaded
    design: designs.Design
    dates: pd.DatetimeIndex
    label: Label
    draws: posterior.Draws | None = None  # each run's parameters drawn from a posterior
    _worlds: dict[tuple[int, int | None], World] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.loaded.scenario.name

    @property
    def together(self) -> bool:
        """Whether the points differ only in schedules (world.per_replicate): their runs may
        then share a batch."""
        d = self.design
        return d.kind != "single" and all(per_replicate(a.path) for a in d.axes)

    def world(self, point: int, replicate: int | None = None) -> World:
        """A point's world; with a posterior, the world replicate `replicate` runs on (its
        drawn set's; None: the scenario's own values)."""
        j = None if self.draws is None or replicate is None else self.draws.set_of(replicate)
        if (point, j) in self._worlds:
            return self._worlds[point, j]
        loaded = designs.point_loaded(self.loaded, self.design, point)
        if j is not None:
            base, loaded = self.world(point), self.draws.scenario(loaded, j)
            world = with_schedules(base, loaded.scenario) if self.draws.together else None
        elif self.together and (base := self._plain()) is not None:
            world = with_schedules(base, loaded.scenario)
        else:
            world = None
        self._worlds[point, j] = world or compile_checked(loaded)
        return self._worlds[point, j]

    def _plain(self) -> World | None:
        """A world compiled for a point (not for a posterior's draw), if any yet."""
        return next((w for (_, j), w in self._worlds.items() if j is None), None)

    def parts(self, point: int, block: range) -> list[tuple[World, list[int]]]:
        """What a block of a point's replicates runs on: one world, or on a posterior one
        part per replicate."""
        if self.draws is None:
            return [(self.world(point), list(block))]
        return [(self.world(point, k), [k]) for k in block]


def plan(loaded: Loaded, label: Label | None = None) -> Study:
    """Build the design and check it: every value of every swept parameter is validated and
    compiled (design.checkpoints) before any run starts, so bad input is refused here, in
    seconds whatever the size of the design."""
    design = designs.build(loaded)
    s = loaded.scenario
    dates = pd.date_range(s.start, periods=s.days, freq="D")
    study = Study(loaded, design, dates, label or Label(s.name), posterior.draws(loaded, design))
    for point, checked in designs.checkpoints(loaded, design):
        world = compile_checked(checked)
        if point is not None:
            study._worlds[point, None] = world
    return study


def reopen(path: Path) -> tuple[ResultsDir, Study]:
    """A results folder and its study, rebuilt from the manifest's resolved scenario."""
    store = ResultsDir(Path(path))
    try:
        manifest = store.manifest()
        scenario = manifest["scenario"]
        stored = pd.read_parquet(store.path / "design.parquet")
    except (OSError, ValueError, KeyError, TypeError):
        raise StoreError(
            f"{path} is not a results folder (manifest.json, design.parquet)"
        ) from None
    label = Label(
        manifest.get("name", scenario.get("name", "")) if isinstance(scenario, dict) else "",
        tuple(manifest.get("overrides", ())),
        manifest.get("own_label", ""),
    )
    try:
        study = plan(validate(scenario, Source(str(store.path / "manifest.json"))), label)
    except ScenarioError as exc:
        raise StoreError(f"{path}: its manifest does not hold a valid scenario ({exc})") from None
    if not stored.astype(str).equals(study.design.table.astype(str)):
        raise StoreError(f"{path}: design.parquet does not match the manifest's sweep")
    return store, study


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


def tasks(missing: dict[int, list[int]], size: int, together: bool) -> list[Task]:
    """Each point's missing replicates in blocks of at most `size`; `together`, consecutive
    blocks packed into tasks of at most `size` runs."""
    out: list[Task] = []
    for p, m in missing.items():
        for b in blocks(m, size):
            if together and out and sum(len(x) for _, x in out[-1]) + len(b) <= size:
                out[-1].append((p, b))
            else:
                out.append([(p, b)])
    return out


def chunk_size(study: Study, engine: str, slots: int) -> int:
    """The default block: the engine's preferred size, smaller when a study has fewer points
    than workers so that every worker gets a share (never below MIN_CHUNK)."""
    size = DEFAULT_CHUNK[engine]
    if study.design.points < slots:
        per_worker = math.ceil(study.design.replicates * study.design.points / slots)
        size = min(size, max(MIN_CHUNK[engine], per_worker))
    return size


def simulate(
    world: World, engine: str, replicates: list[int], tick: Callable[[], None] | None = None
) -> RunResult:
    """The task body, the same on every executor; `tick` runs after each simulated day."""
    return ENGINES[engine](world, replicates, tick=tick)


def simulate_each(
    parts: list[tuple[World, list[int]]], engine: str, tick: Callable[[], None] | None = None
) -> list[RunResult]:
    """A task of several parts: as few batches as the parts allow (consecutive parts whose
    worlds differ only in schedules share one)."""
    if engine != "batch":
        return [simulate(world, engine, reps, tick) for world, reps in parts]
    groups: list[list[tuple[World, list[int]]]] = []
    for part in parts:
        if groups and same_but_schedules(groups[-1][0][0], part[0]):
            groups[-1].append(part)
        else:
            groups.append([part])
    return [result for g in groups for result in batch.run_each(g, tick=tick)]


def warm_up(world: World, engine: str) -> None:
    """Compile (or load) the engine's compiled code in this process: two days of one replicate
    with every reinforcement due at once, so every phase the real runs reach is called."""
    short = replace(world, days=min(2, world.days), arrival=np.zeros_like(world.arrival))
    simulate(short, engine, [0])


@contextlib.contextmanager
def deferred_interrupt() -> Iterator[Callable[[], None]]:
    """Ctrl-C while a run is in this process: compiled code cannot take a KeyboardInterrupt
    in the middle of a call (it surfaces as a SystemError), so the signal only sets a flag,
    and the tick this yields raises KeyboardInterrupt between two simulated days."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: None
        return
    hit = threading.Event()

    def tick() -> None:
        if hit.is_set():
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, lambda *_: hit.set())
    try:
        yield tick
    finally:
        signal.signal(signal.SIGINT, previous)


class InProcess(Executor):
    """One worker: run each task when submitted (the same interface as a pool)."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            future.set_exception(exc)
        return future


def _worker_init(parent: int) -> None:
    """Local workers leave Ctrl-C to the driver and exit if the driver dies (SIGKILL)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def worker_versions() -> dict[str, str]:
    """Run on each Dask worker: its versions, looked up there at call time."""
    from sim.experiment import store

    return store.versions()


def _check_cluster(client) -> None:
    mine = versions()
    for address, theirs in client.run(worker_versions).items():
        for pkg in BITS:
            if theirs.get(pkg) != mine.get(pkg):
                raise ClusterError(
                    f"Dask worker {address} runs {pkg} {theirs.get(pkg)}, this driver "
                    f"{mine.get(pkg)}: install the same version on both for identical results"
                )


@contextlib.contextmanager
def executor(workers: int, scheduler: str | None = None) -> Iterator[tuple[Executor, int]]:
    """The executor and how many tasks it runs at once."""
    if scheduler:
        from distributed import Client

        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, ValueError, TypeError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        try:
            _check_cluster(client)
            slots = max(1, sum(client.nthreads().values()))
            yield client.get_executor(pure=False), slots  # every task is its own
        finally:
            client.close()
        return
    if workers <= 1:
        yield InProcess(), 1
        return
    pool = ProcessPool(workers)
    try:
        yield pool, workers
    except BaseException:
        pool.kill()
        raise
    else:
        pool.shutdown()


class ProcessPool(Executor):
    """`ProcessPoolExecutor` with spawned workers (Mesa sets spawn anyway) that can be killed
    at once on Ctrl-C instead of finishing their tasks."""

    def __init__(self, workers: int) -> None:
        from concurrent.futures import ProcessPoolExecutor

        self.pool = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_init,
            initargs=(os.getpid(),),
        )

    def submit(self, fn, /, *args, **kwargs) -> Future:
        return self.pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.pool.shutdown(wait=wait, cancel_futures=cancel_futures)

    def kill(self) -> None:
        """Kill the workers now. A worker killed while it sends a result leaves the pool's
        thread waiting for the rest of it, which the exit would wait on for ever: closing this
        process's end of the results pipe ends that wait (the workers held the others)."""
        processes = list((self.pool._processes or {}).values())  # no public way before 3.14
        results = self.pool._result_queue
        self.pool.shutdown(wait=False, cancel_futures=True)
        for p in processes:
            p.kill()
        for p in processes:
            p.join()
        if results is not None:
            results._writer.close()


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


# Seconds to start local workers that import the engine and load its compiled code, measured
# by benchmarks/bench_workers.py on the 2-core development machine (2.2 s; benchmarks/README.md):
# below about twice this much work left, one process finishes first.
POOL_START_S = 2.5
COMPILE_S = 45  # the batch engine's one-off compile: 36 s (classroom) to 49 s (Kursk, with
# pursuit and drones) on a 2-core AMD EPYC machine (warm_up on an empty numba cache)


@dataclass(frozen=True)
class Outcome:
    store: ResultsDir
    ran: int  # runs computed by this call (0: all were on disk already)


def resolved_scenario(s: Scenario) -> dict:
    """The scenario as its results folder records and hashes it. How it is calibrated changes
    no run, so the runs stay on disk when that changes."""
    return s.model_dump(mode="json", by_alias=True, exclude={"calibrate"})


def run_study(
    study: Study,
    root: Path,
    engine: str = "batch",
    chunk: int | None = None,
    fresh: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    say: Callable[[str], None] = lambda text: None,
) -> Outcome:
    """Run every (point, replicate) not yet on disk into the results folder.

    `workers` None chooses: this process alone, unless the work left after a first task
    (timed) repays starting local workers; a number is used as given."""
    s, d = study.loaded.scenario, study.design
    with contextlib.ExitStack() as stack:
        cluster = stack.enter_context(executor(0, scheduler)) if scheduler else None
        # a cluster is reached (and checked) before anything is written
        resolved = resolved_scenario(s)
        store = ResultsDir.open(
            root, s.name, resolved, d.table, s.seed, engine, fresh=fresh, label=study.label
        )
        stack.callback(store.close)
        covered = store.coverage()
        missing = {
            p: sorted(set(range(d.replicates)) - covered.get(p, set())) for p in range(d.points)
        }
        left = {p: len(m) for p, m in missing.items() if m}
        ran = sum(left.values())
        if not ran:
            return Outcome(store, 0)
        store.add_engine(engine)
        most = default_workers() if workers is None else workers
        size = chunk or chunk_size(study, engine, cluster[1] if cluster else most)
        todo = collections.deque(tasks(missing, size, study.together))
        if cluster is None:
            world = study.world(todo[0][0][0])
            if not kernels.on_disk(world):
                say(f"compiling the engine (once, about {COMPILE_S} s)…")
            warm_up(world, engine)
        with tqdm(
            total=d.runs,
            initial=d.runs - ran,
            unit="run",
            disable=not progress,
            desc=s.name,
            smoothing=0.1,
        ) as bar:

            def keep(task: Task, results: list[RunResult]) -> None:
                at, joined = 0, []
                for p, b in task:
                    n = len(study.parts(p, b))
                    joined.append((p, RunResult.joined(results[at : at + n])))
                    at += n
                store.write_parts(joined, study.dates)
                for p, b in task:
                    left[p] -= len(b)
                    if not left[p]:
                        del left[p]
                    bar.update(len(b))
                if d.points > 1:
                    bar.set_postfix_str(f"points {d.points - len(left)}/{d.points}")

            if cluster is None:
                with deferred_interrupt() as tick:
                    if workers is None and most > 1 and len(todo) > 1:
                        task = todo.popleft()
                        started = time.perf_counter()
                        keep(task, simulate_each(parts(study, task), engine, tick))
                        per_run = (time.perf_counter() - started) / runs(task)
                        rest = per_run * sum(runs(t) for t in todo)
                        if rest < POOL_START_S * most / (most - 1):
                            most = 1
                    if most <= 1 or len(todo) <= 1:
                        while todo:
                            task = todo.popleft()
                            keep(task, simulate_each(parts(study, task), engine, tick))
                if todo:
                    cluster = stack.enter_context(executor(most))
            if todo:
                _drain(*cluster, todo, study, engine, keep)
        store.record_done()
    return Outcome(store, ran)


def parts(study: Study, task: Task) -> list[tuple[World, list[int]]]:
    return [part for p, b in task for part in study.parts(p, b)]


def runs(task: Task) -> int:
    return sum(len(b) for _, b in task)


def _drain(
    pool: Executor,
    slots: int,
    todo: collections.deque,
    study: Study,
    engine: str,
    keep: Callable[[Task, list[RunResult]], None],
) -> None:
    """Run the tasks on an executor, at most two per slot in flight, keeping results in the
    order of their points and replicates as they finish."""
    running: dict[Future, Task] = {}
    while todo or running:
        while len(running) < 2 * slots and todo:
            task = todo.popleft()
            running[pool.submit(simulate_each, parts(study, task), engine)] = task
        done, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in sorted(done, key=lambda f: (running[f][0][0], running[f][0][1].start)):
            keep(running.pop(future), future.result())


@dataclass(frozen=True)
class Estimate:
    seconds: float
    bytes: int


PILOT_S = 2.0  # how long the estimate's pilot may run before it extrapolates


class _Enough(Exception):
    """The pilot has run long enough to time a day."""


def estimate(study: Study, engine: str, slots: int) -> Estimate:
    """Time and disk of a study from a pilot of point 0: a few replicates, for at most
    PILOT_S seconds, timed per replicate-day. Rough: the batch engine is faster per replicate
    in the larger blocks of a real run."""
    world = study.world(0)
    pilot = list(range(min(study.design.replicates, 20 if engine == "batch" else 2)))
    days = 0
    start = time.perf_counter()

    def tick() -> None:
        nonlocal days
        days += 1
        if time.perf_counter() - start > PILOT_S:
            raise _Enough

    with contextlib.suppress(_Enough):
        simulate(world, engine, pilot, tick)
    per_replicate_day = (time.perf_counter() - start) / (len(pilot) * max(days, 1))
    sampled = min(world.days, 20)  # parts of a few days, to weigh a replicate-day on disk
    sample = simulate(replace(world, days=sampled), engine, pilot)
    size = 0
    for frame in ResultsDir.frames(0, sample, study.dates[:sampled]):
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        size += buffer.tell()
    runs = study.design.runs
    on_disk = runs * world.days * size / (len(pilot) * sampled)
    return Estimate(runs * world.days * per_replicate_day / slots, int(on_disk))
