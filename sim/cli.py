"""The `sim` command: parse, call, print. Bad input exits 2 with one message, no traceback."""

from __future__ import annotations

import json
import sys
from functools import wraps
from pathlib import Path

import click

from sim.scenario.load import ScenarioError, load
from sim.scenario.schema import json_schema

EXIT_BAD_INPUT = 2


def bad_input_exits(func):
    """Every ScenarioError (and store refusal) becomes one line on stderr and exit code 2."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        from sim.experiment.execute import ClusterError
        from sim.experiment.store import StoreError

        try:
            return func(*args, **kwargs)
        except (ScenarioError, StoreError, ClusterError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_BAD_INPUT)

    return wrapper


overrides = click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="PATH=VALUE",
    help="Override a scenario field, e.g. --set sides.attacker.tempo=0.4 (repeatable).",
)


def plural(n: int, noun: str) -> str:
    """'1 point', '2 points', '1,000 points'."""
    return f"{n:,} {noun}{'s' * (n != 1)}"


def output(default: str):
    """The -o option of the commands that write one page."""
    return click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        default=default,
        show_default=True,
        help="The HTML page to write.",
    )


@click.group()
@click.version_option(package_name="salient")
def main() -> None:
    """Salient: Monte Carlo territory-loss curves of a salient under pressure."""


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@overrides
@bad_input_exits
def validate(scenario: Path, sets: tuple[str, ...]) -> None:
    """Check a scenario or study file (schema, map, unit placement, sweep) without running it:
    everything `sim run` checks before it runs."""
    from sim.experiment import execute

    study = execute.plan(load(scenario, sets))
    s, d, world = study.loaded.scenario, study.design, study.world(0)
    h, w = world.shape
    click.echo(
        f"{scenario}: ok — {s.name}, {s.days} days from {s.start}, {h}×{w} cells of "
        f"{world.cell_km:g} km, salient {world.territory0:,.0f} km², {world.n_units} unit slots"
        + (f"; {plural(d.points, 'design point')} × {d.replicates:,} runs" if d.axes else "")
    )


@main.command()
def schema() -> None:
    """Print the scenario JSON Schema (for editors)."""
    click.echo(json.dumps(json_schema(), indent=2))


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--replicates", type=click.IntRange(1, 1_000_000), help="Runs (per design point).")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), help="Random seed (overrides file).")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default="results",
    show_default=True,
    help="Folder that receives <name>-<hash>/.",
)
@click.option(
    "--engine",
    type=click.Choice(["batch", "reference"]),
    default="batch",
    show_default=True,
    help="batch: numpy (fast); reference: the Mesa model.",
)
@click.option("--chunk", type=click.IntRange(1, 100_000), help="Replicates per task.")
@click.option(
    "--workers",
    type=click.IntRange(1, 1024),
    help="Local worker processes (default: all cores; 1 runs in this process).",
)
@click.option("--scheduler", metavar="ADDRESS", help="Run on a Dask cluster, e.g. tcp://host:8786.")
@click.option("--dry-run", is_flag=True, help="Print the design and an estimate; run nothing.")
@click.option("--fresh", is_flag=True, help="Discard earlier parts of this scenario first.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@overrides
@bad_input_exits
def run(
    scenario: Path,
    replicates: int | None,
    seed: int | None,
    out: Path,
    engine: str,
    chunk: int | None,
    workers: int | None,
    scheduler: str | None,
    dry_run: bool,
    fresh: bool,
    quiet: bool,
    sets: tuple[str, ...],
) -> None:
    """Run a scenario's (or a study's) Monte Carlo replicates into results/<name>-<hash>/."""
    from sim.experiment import execute

    loaded = load(scenario, sets)
    extra = [f"seed={seed}"] * (seed is not None)
    if replicates is not None:
        where = "sweep.replicates" if loaded.scenario.sweep else "replicates"
        extra.append(f"{where}={replicates}")
    if extra:
        loaded = load(scenario, [*sets, *extra])
    study = execute.plan(loaded)
    workers = workers or execute.default_workers()
    if dry_run:
        _print_plan(study, engine, workers, scheduler)
        return
    try:
        store = execute.run_study(
            study, out, engine, chunk, fresh, workers, scheduler, progress=not quiet
        )
    except KeyboardInterrupt:
        click.echo(
            "\ninterrupted: finished tasks are kept; run the same command to resume", err=True
        )
        sys.exit(130)
    _finish(store, study, engine)


def _print_plan(study, engine: str, workers: int, scheduler: str | None) -> None:
    from sim.experiment import design, execute

    click.echo(design.describe(study.design))
    slots = 1 if scheduler else workers
    guess = execute.estimate(study, engine, slots)
    where = (
        "of one worker's time (divide by the cluster's)" if scheduler else f"on {slots} worker(s)"
    )
    click.echo(
        f"\n{study.design.runs:,} runs of {study.loaded.scenario.days} days ({engine} engine); "
        f"about {guess.seconds / 60:,.1f} min {where} and {guess.bytes / 1e6:,.1f} MB on disk"
    )


def _finish(store, study, engine: str) -> None:
    """Summarise, write the report, print the key figures (or the study's table)."""
    import pandas as pd

    from sim.analysis.study import effect_ranges
    from sim.viz.report import key_table_rows, write
    from sim.viz.style import short_labels

    summary, figures = write(store, study)
    s, d, world = study.loaded.scenario, study.design, study.world(0)
    click.echo(
        f"\n{s.name}: salient {world.territory0:,.0f} km² on {s.start}, "
        f"{d.points} point(s) × {d.replicates} runs ({engine} engine)"
    )
    if d.points == 1:
        rows = key_table_rows(figures)
        width = max(len(a) for a, _ in rows)
        for a, b in rows:
            click.echo(f"  {a:<{width}}  {b}")
    else:
        with pd.option_context("display.width", 200, "display.max_columns", 50):
            short = short_labels([a.name for a in d.axes])
            table = summary.outcomes.head(40).rename(columns=short)
            click.echo(table.to_string(index=False, float_format="{:.3g}".format))
            if d.kind == "grid":
                click.echo(
                    "\nHow far each input moves each outcome (max − min of its main effect):"
                )
                ranges = effect_ranges(summary.sensitivity).rename(columns=short)
                click.echo(ranges.to_string(float_format="{:.3g}".format))
            elif len(summary.sensitivity):
                click.echo("\nSobol indices (95% intervals):")
                click.echo(summary.sensitivity.to_string(index=False, float_format="{:.3f}".format))
    click.echo(f"\nresults: {store.path}\nreport:  {store.path / 'report.html'}")


@main.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@bad_input_exits
def report(folder: Path) -> None:
    """Rebuild the summaries and report.html of a results folder."""
    from sim.experiment.execute import reopen
    from sim.viz.report import write

    store, study = reopen(folder)
    write(store, study)
    click.echo(f"report: {store.path / 'report.html'}")


def _run_of(spec: str, letter: str):
    """`DIR` (its point 0) or `DIR:P` → the comparison's view of that design point."""
    import numpy as np

    from sim.analysis.compare import Run
    from sim.experiment.execute import reopen
    from sim.experiment.store import StoreError
    from sim.viz.report import point_labels

    path, _, tail = spec.rpartition(":")
    if not (path and tail.isdigit()):
        path, tail = spec, "0"
    store, study = reopen(Path(path))
    point = int(tail)
    if point >= study.design.points:
        raise StoreError(f"{spec}: no design point {point} (it has {study.design.points})")
    about = f"{store.path.name}, point {point}"
    if study.design.points > 1:
        about += f": {point_labels(study.design)[point]}"
    reps = np.array(sorted(store.covered(point)))
    if not len(reps):
        raise StoreError(f"{spec}: no finished runs of point {point}")
    return Run(letter, about, study, point, reps, store.territory(point))


@main.command()
@click.argument("sources", nargs=-1, required=True)
@output("compare.html")
@bad_input_exits
def compare(sources: tuple[str, ...], output: Path) -> None:
    """Overlay results folders (DIR, or DIR:POINT for one design point) on one page."""
    from sim.experiment.store import write_page
    from sim.viz.compare import compare_page

    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    if len(sources) > len(letters):
        raise click.UsageError(f"at most {len(letters)} sources")
    runs = [_run_of(s, letters[i]) for i, s in enumerate(sources)]
    write_page(output, compare_page(runs))
    click.echo(f"compare: {output}")


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), help="Random seed (overrides file).")
@click.option("--replicate", type=click.IntRange(0, 10**6), default=0, show_default=True)
@click.option("--point", type=click.IntRange(0), default=0, show_default=True, help="Design point.")
@output("replay.html")
@overrides
@bad_input_exits
def replay(
    scenario: Path,
    seed: int | None,
    replicate: int,
    point: int,
    output: Path,
    sets: tuple[str, ...],
) -> None:
    """One run as a map animation with its event log and territory curve."""
    from sim.experiment import design, execute
    from sim.experiment.store import StoreError, write_page
    from sim.model import batch
    from sim.viz.replay import replay_page

    loaded = load(scenario, [*sets, *([f"seed={seed}"] * (seed is not None))])
    study = execute.plan(loaded)
    if point >= study.design.points:
        raise StoreError(f"{scenario}: no design point {point} (it has {study.design.points})")
    world = study.world(point)
    result = batch.run(world, [replicate], trace=True)
    scenario = design.point_loaded(loaded, study.design, point).scenario
    inputs = design.describe_point(study.design, point)
    write_page(output, replay_page(world, scenario, result, replicate, inputs))
    click.echo(f"replay: {output}")


@main.command()
@click.argument("scenario", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--port", type=click.IntRange(1, 65535), default=8765, show_default=True)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; the default serves this machine only.",
)
@bad_input_exits
def app(scenario: Path | None, port: int, host: str) -> None:
    """The classroom app: one run of the Mesa model with sliders, in the browser."""
    import os
    import subprocess

    from sim.experiment.execute import compile_checked

    path = scenario or Path(__file__).parent.parent / "scenarios" / "classroom_small.yaml"
    compile_checked(load(path))  # bad input stops here, with its one line
    env = {
        **os.environ,
        "SALIENT_SCENARIO": str(Path(path).resolve()),
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    }
    command = [sys.executable, "-m", "solara", "run", "sim.app", "--production"]
    command += ["--host", host, "--port", str(port), "--no-open", "--log-level", "warning"]
    click.echo(f"Salient classroom app: http://{host}:{port}   (Ctrl-C stops it)", err=False)
    try:
        sys.exit(subprocess.call(command, env=env))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
