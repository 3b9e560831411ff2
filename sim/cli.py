"""The `sim` command: parse, call, print. Bad input exits 2 with one message, no traceback."""

from __future__ import annotations

import json
import os
import signal
import sys
import textwrap
from functools import wraps
from pathlib import Path
from types import FrameType
from typing import NoReturn

import click

# Modules are imported inside the commands: `sim --help` stays quick, and a Ctrl-C while they
# load is handled like any other (one line, exit 130).
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C


# What bad input raises: one line and exit code 2 (named, so the modules need not be loaded)
BAD_INPUT = {
    "sim.scenario.load.ScenarioError",
    "sim.experiment.store.StoreError",
    "sim.experiment.execute.ClusterError",
    "sim.experiment.calibrate.CalibrationError",
}


def interrupted(message: str = "interrupted") -> NoReturn:
    """Ctrl-C: one line and exit code 130."""
    click.echo(f"\n{message}", err=True)
    sys.exit(EXIT_INTERRUPTED)


def _ctrl_c(signum: int, frame: FrameType | None) -> None:
    """SIGINT's handler: KeyboardInterrupt, except inside an import, where it would break the
    import itself (an extension's initialisation fails with ImportError, or CPython 3.11 ends
    the process by SIGINT after the interrupt was handled): there, one line and exit 130 at
    once. Nothing is half-written by then: results are written by renaming whole files."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            sys.stderr.write("\ninterrupted\n")
            sys.stderr.flush()
            os._exit(EXIT_INTERRUPTED)
        frame = frame.f_back
    raise KeyboardInterrupt


def _bad_input(exc: BaseException) -> bool:
    return any(f"{c.__module__}.{c.__qualname__}" in BAD_INPUT for c in type(exc).__mro__)


def bad_input_exits(func):
    """Bad input (a scenario error, a store refusal, an unusable cluster) becomes one line on
    stderr and exit code 2; Ctrl-C one line and exit code 130, whenever it comes."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except KeyboardInterrupt:
            interrupted()
        except Exception as exc:
            if not _bad_input(exc):
                raise
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_BAD_INPUT)

    return wrapper


class Salient(click.Group):
    """The `sim` group; it keeps the words of the command line, so that a hint can repeat
    them (e.g. how to resume an interrupted run)."""

    def main(self, *args, **kwargs):
        signal.signal(signal.SIGINT, _ctrl_c)
        return super().main(*args, **kwargs)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["argv"] = list(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # before a command's own handler (click says "Aborted!")
            interrupted()


def _command_line(drop: tuple[str, ...] = ()) -> str:
    """This invocation as the user would type it again, without the flags in `drop`."""
    import shlex

    argv = click.get_current_context().meta.get("argv", [])
    return shlex.join(["sim", *(a for a in argv if a not in drop)])


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


def results_root(help: str):
    """The --out option of the commands that write results folders."""
    return click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        default="results",
        show_default=True,
        help=help,
    )


def waves_options(what: str):
    """The options of the commands that run calibrations (sim calibrate, sim backtest): where
    to, on which workers, from scratch or not, quietly or not."""

    def apply(f):
        for option in reversed(
            [
                results_root(f"Folder that receives <name>-{what}/."),
                click.option(
                    "--workers",
                    type=click.IntRange(1, 1024),
                    help="Local worker processes; 1 runs in this process (default: as `sim "
                    "run` chooses).",
                ),
                click.option(
                    "--scheduler",
                    metavar="ADDRESS",
                    help="Run on a Dask cluster, e.g. tcp://host:8786.",
                ),
                click.option(
                    "--fresh", is_flag=True, help=f"Discard this scenario's earlier {what} first."
                ),
                click.option("--quiet", is_flag=True, help="No progress bars."),
            ]
        ):
            f = option(f)
        return f

    return apply


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


@click.group(cls=Salient)
@click.version_option(package_name="salient")
def main() -> None:
    """Salient: Monte Carlo territory-loss curves of a salient under pressure."""


@main.command()
@click.argument("scenario", type=click.Path(path_type=Path))  # the loader names a folder
@overrides
@bad_input_exits
def validate(scenario: Path, sets: tuple[str, ...]) -> None:
    """Check a scenario or study file (schema, map, unit placement, sweep) without running it:
    everything `sim run` checks before it runs."""
    from sim.experiment import execute
    from sim.scenario import shipped
    from sim.scenario.load import load

    study = execute.plan(load(shipped.find(scenario), sets))
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
    from sim.scenario.schema import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


@main.command()
@click.argument("scenario", type=click.Path(path_type=Path))  # the loader names a folder
@click.option("--replicates", type=click.IntRange(1, 1_000_000), help="Runs (per design point).")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), help="Random seed (overrides file).")
@results_root("Folder that receives <name>[-<label>]-<hash>/.")
@click.option(
    "--label",
    metavar="TEXT",
    help="Name this run (folder, report, comparisons); default: its --set overrides.",
)
@click.option(
    "--engine",
    type=click.Choice(["batch", "reference"]),
    default="batch",
    show_default=True,
    help="batch: all replicates at once, compiled (fast); reference: the Mesa model, one "
    "replicate at a time. Both give the same numbers.",
)
@click.option("--chunk", type=click.IntRange(1, 100_000), help="Replicates per task.")
@click.option(
    "--workers",
    type=click.IntRange(1, 1024),
    help="Local worker processes; 1 runs in this process. Default: this process when the "
    "work is small, all cores when starting them pays.",
)
@click.option("--scheduler", metavar="ADDRESS", help="Run on a Dask cluster, e.g. tcp://host:8786.")
@click.option(
    "--posterior",
    metavar="DIR",
    type=click.Path(path_type=Path),
    help="Draw each run's parameters from a calibration's posterior (its folder, or a "
    "posterior.csv): the bands then carry parameter uncertainty as well as chance.",
)
@click.option("--dry-run", is_flag=True, help="Print the design and an estimate; run nothing.")
@click.option("--fresh", is_flag=True, help="Discard this scenario's earlier results first.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@overrides
@bad_input_exits
def run(
    scenario: Path,
    replicates: int | None,
    seed: int | None,
    out: Path,
    label: str | None,
    engine: str,
    chunk: int | None,
    workers: int | None,
    scheduler: str | None,
    posterior: Path | None,
    dry_run: bool,
    fresh: bool,
    quiet: bool,
    sets: tuple[str, ...],
) -> None:
    """Run a scenario's (or a study's) Monte Carlo replicates into a results folder."""
    from sim.experiment import execute
    from sim.experiment.posterior import with_posterior
    from sim.experiment.store import Label
    from sim.scenario import shipped
    from sim.scenario.load import load

    scenario = shipped.find(scenario)
    loaded = load(scenario, sets)
    extra = [f"seed={seed}"] * (seed is not None)
    if replicates is not None:
        where = "sweep.replicates" if loaded.scenario.sweep else "replicates"
        extra.append(f"{where}={replicates}")
    if extra:
        loaded = load(scenario, [*sets, *extra])
    overrides = (*sets, *[f"seed={seed}"] * (seed is not None))  # what makes another run
    if posterior is not None:
        loaded = with_posterior(loaded, posterior)
        overrides = (*overrides, f"posterior={posterior.name}")
    study = execute.plan(loaded, Label(loaded.scenario.name, overrides, label or ""))
    if chunk is not None:
        _check_task_memory(study, chunk, workers or execute.default_workers())
    if dry_run:
        _print_plan(study, engine, workers or execute.default_workers(), scheduler)
        return
    try:
        outcome = execute.run_study(
            study, out, engine, chunk, fresh, workers, scheduler, progress=not quiet,
            say=lambda text: click.echo(text, err=True),
        )  # fmt: skip
    except KeyboardInterrupt:
        again = _command_line(drop=("--fresh",))
        interrupted(f"interrupted: finished runs are kept; to resume, run: {again}")
    if not outcome.ran:
        made = " and ".join(outcome.store.engines())
        click.echo(
            f"All {study.design.runs:,} runs are already in {outcome.store.path} (made by the "
            f"{made} engine; both engines give the same numbers by contract): nothing to run. "
            "To run them again, add --fresh.",
            err=True,
        )
    _finish(outcome.store, study)


def _check_task_memory(study, chunk: int, workers: int) -> None:
    """Refuse a --chunk whose tasks, `workers` at once, would not fit in memory (the loader
    checks the default task size)."""
    from sim.scenario.load import ScenarioError, available_memory, task_bytes

    world = study.world(0)
    need = task_bytes(world.n_units, world.shape[0] * world.shape[1], world.days, chunk)
    have = available_memory()
    if have is not None and need * workers > have:
        raise ScenarioError(
            f"--chunk {chunk}", None, "",
            f"{workers} task(s) of {chunk:,} replicates need about {need * workers / 1e9:,.1f} "
            f"GB; {have / 1e9:,.1f} GB of memory is available: give a smaller --chunk",
        )  # fmt: skip


def _duration(seconds: float) -> str:
    """'about 4 s', 'about 12 min', 'about 3.5 h'."""
    if seconds < 90:
        return f"about {max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"about {seconds / 60:.0f} min"
    return f"about {seconds / 3600:.1f} h"


def _print_plan(study, engine: str, workers: int, scheduler: str | None) -> None:
    from sim.experiment import design, execute

    click.echo(design.describe(study.design))
    slots = 1 if scheduler else workers
    guess = execute.estimate(study, engine, slots)
    where = (
        "of one worker's time (divide by the cluster's)"
        if scheduler
        else f"on {plural(slots, 'worker')}"
    )
    d = study.design
    click.echo(
        f"\n{plural(d.runs, 'run')} of {plural(study.loaded.scenario.days, 'day')} "
        f"({engine} engine); {_duration(guess.seconds)} {where} and "
        f"{guess.bytes / 1e6:,.1f} MB on disk"
    )


def _finish(store, study) -> None:
    """Summarise, write the report, print the key figures (or the study's table)."""
    from sim.analysis.study import effect_ranges
    from sim.viz.report import key_table_rows, write

    summary, figures = write(store, study)
    s, d, world = study.loaded.scenario, study.design, study.world(0)
    engines = " and ".join(store.engines())
    click.echo(
        f"\n{study.label.text}: salient {world.territory0:,.0f} km² on {s.start}, "
        f"{plural(d.points, 'point')} × {plural(d.replicates, 'run')} ({engines} engine)"
    )
    if study.draws is not None:
        click.echo(f"  {study.draws.note}")
    if d.points == 1:
        rows = key_table_rows(figures)
        width = max(len(a) for a, _ in rows)
        for a, b in rows:
            click.echo(f"  {a:<{width}}  {b}")
    else:
        click.echo(study_table(summary.outcomes, d))
        if d.kind == "grid":
            click.echo("\nHow far each input moves each outcome (max − min of its main effect):")
            ranges = effect_ranges(summary.sensitivity).rename(columns=short_names(d))
            click.echo(ranges.to_string(float_format="{:.3g}".format))
        elif len(summary.sensitivity):
            click.echo("\nSobol indices (95% intervals):")
            click.echo(summary.sensitivity.to_string(index=False, float_format="{:.3f}".format))
    click.echo(f"\nresults: {store.path}\nreport:  {store.path / 'report.html'}")


def short_names(design) -> dict[str, str]:
    from sim.viz.style import short_labels

    return short_labels([a.name for a in design.axes])


def study_table(outcomes, design, width: int = 100, rows: int = 40) -> str:
    """The outcomes of a study's points as text at most `width` wide: short headers, the
    collapse day said in words where most runs never fell, and as many columns as fit — the
    inputs, the collapse, P(hold), then the key dates — naming those left out."""
    from sim.analysis.study import COLLAPSE_MEDIAN, FALLEN

    table = outcomes.head(rows).copy()
    median = table[COLLAPSE_MEDIAN].astype(object)
    never = table[median.isna()][FALLEN]
    median[median.isna()] = [f"not reached in {1 - f:.0%}" for f in never]
    table[COLLAPSE_MEDIAN] = [v if isinstance(v, str) else f"{v:.0f}" for v in median]
    table = table.rename(columns={**short_names(design), **_SHORT_OUTCOMES}).rename(
        columns=lambda c: c.replace("median km² on ", "km² ").replace("P(hold ≥ ", "P(≥ ")
    )
    first = ["point", *short_names(design).values(), "collapse day", "fallen"]
    rank = {c: 0 if c in first else 1 if c.startswith("P(") else 2 for c in table.columns}
    order = sorted(table.columns, key=lambda c: (rank[c], first.index(c) if c in first else 0))
    shown = list(order)

    def render() -> str:
        return table[shown].to_string(index=False, float_format="{:.3g}".format)

    text = render()
    while max(map(len, text.splitlines())) > width and len(shown) > 2:
        shown.pop()
        text = render()
    notes = []
    if len(shown) < len(order):
        left_out = ", ".join(order[len(shown) :])
        notes.append(f"{plural(len(order) - len(shown), 'more column')} ({left_out})")
    if len(outcomes) > rows:
        notes.append(plural(len(outcomes) - rows, "more point"))
    if notes:
        note = f"… {' and '.join(notes)}: see outcomes.parquet and the report"
        text += "\n" + "\n".join(textwrap.wrap(note, width, subsequent_indent="  "))
    return text


_SHORT_OUTCOMES = {
    "collapse day (median)": "collapse day",
    "days above threshold (mean)": "days held (mean)",
    "fallen by the end (share)": "fallen",
}


@main.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@waves_options("calibration")
@overrides
@bad_input_exits
def calibrate(
    scenario: Path,
    out: Path,
    workers: int | None,
    scheduler: str | None,
    fresh: bool,
    quiet: bool,
    sets: tuple[str, ...],
) -> None:
    """Fit a scenario's calibrate: parameters to its observations: waves of history matching,
    then the posterior (docs/calibration.md). Stopped, it resumes where it was."""
    from sim.experiment import calibrate as calibration
    from sim.scenario import shipped
    from sim.scenario.load import load
    from sim.viz import calibration as page

    loaded = load(shipped.find(scenario), sets)
    calibration.check(loaded)  # bad input: one line before anything runs
    try:
        result = calibration.calibrate(
            loaded, out, workers=workers, scheduler=scheduler, fresh=fresh, progress=not quiet,
            say=lambda text: click.echo(text, err=True),
        )  # fmt: skip
    except KeyboardInterrupt:
        again = _command_line(drop=("--fresh",))
        interrupted(f"interrupted: finished waves and runs are kept; to resume, run: {again}")
    html = result.folder / "calibration.html"
    html.write_text(page.render(result, loaded.scenario), encoding="utf-8")
    d = result.diagnostics
    click.echo(
        f"{plural(d['simulations'], 'simulation')} in {d['seconds']:.0f} s; "
        f"temperature {d['temperature']:.3g}; effective sample size {d['ess']:.0f} of "
        f"{len(result.posterior)}; {html}"
    )
    for a in result.axes:
        q = _weighted(result.posterior[a.name].to_numpy(float), result.posterior["weight"])
        click.echo(f"  {a.name}: {q[1]:.4g} (90 %: {q[0]:.4g}–{q[2]:.4g})")
    click.echo(f"to run on this posterior: sim run {scenario} --posterior {result.folder}")


@main.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option(
    "--origin",
    "origins",
    multiple=True,
    required=True,
    type=click.DateTime(["%Y-%m-%d"]),
    help="A date to forecast from (repeat it): calibrate on the observations up to it, "
    "score the forecast on those after it.",
)
@waves_options("backtest")
@overrides
@bad_input_exits
def backtest(
    scenario: Path,
    origins: tuple,
    out: Path,
    workers: int | None,
    scheduler: str | None,
    fresh: bool,
    quiet: bool,
    sets: tuple[str, ...],
) -> None:
    """Calibrate on the observations up to each --origin, forecast past it on that posterior
    and score the forecasts by horizon (docs/calibration.md). Stopped, it resumes."""
    from sim.experiment import backtest as backtesting
    from sim.scenario import shipped
    from sim.scenario.load import load
    from sim.viz import backtest as page

    loaded = load(shipped.find(scenario), sets)
    dates = sorted({o.date() for o in origins})
    backtesting.check(loaded, dates)  # bad input: one line before anything runs
    try:
        result = backtesting.backtest(
            loaded, dates, out, workers=workers, scheduler=scheduler, fresh=fresh,
            progress=not quiet, say=lambda text: click.echo(text, err=True),
        )  # fmt: skip
    except KeyboardInterrupt:
        again = _command_line(drop=("--fresh",))
        interrupted(f"interrupted: finished origins and runs are kept; to resume, run: {again}")
    html = result.folder / "backtest.html"
    html.write_text(page.render(result, loaded.scenario), encoding="utf-8")
    click.echo(result.scores.to_string(index=False, float_format="{:.3g}".format))
    click.echo(f"{html}")


def _weighted(values, weights) -> list[float]:
    import numpy as np

    from sim.analysis.matching import weighted_quantiles

    w = np.asarray(weights, float)
    return list(weighted_quantiles(values[:, None], w, (0.05, 0.5, 0.95))[:, 0])


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
    from sim.analysis.study import spatial_scores
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
    about = study.label.text
    if study.design.points > 1:
        about += f", point {point}: {point_labels(study.design)[point]}"
    reps = np.array(sorted(store.covered(point)))
    if not len(reps):
        raise StoreError(f"{spec}: no finished runs of point {point}")
    scores = spatial_scores(store, study, point)
    return Run(letter, about, study, point, reps, store.territory(point), scores)


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
    scenarios = list(dict.fromkeys(r.study.name for r in runs))
    if len(scenarios) > 1:
        click.echo(
            f"warning: these runs are of different scenarios ({', '.join(scenarios)}): their "
            "differences mix the scenarios' inputs with chance",
            err=True,
        )
    write_page(output, compare_page(runs))
    click.echo(f"compare: {output}")


@main.command()
@click.argument("scenario", type=click.Path(path_type=Path))  # the loader names a folder
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), help="Random seed (overrides file).")
@click.option(
    "--replicate",
    type=click.IntRange(0, 10**6),
    default=0,
    show_default=True,
    help="Which run to replay (replicate number, as in the results' series).",
)
@click.option(
    "--point", type=click.IntRange(0), default=0, show_default=True, help="Design point of a study."
)
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
    from sim.scenario import shipped
    from sim.scenario.load import load
    from sim.viz.replay import replay_page

    scenario = shipped.find(scenario)
    loaded = load(scenario, [*sets, *([f"seed={seed}"] * (seed is not None))])
    study = execute.plan(loaded)
    if point >= study.design.points:
        raise StoreError(f"{scenario}: no design point {point} (it has {study.design.points})")
    world = study.world(point, replicate)  # on a posterior, the set this run drew
    result = batch.run(world, [replicate], trace=True)
    scenario = design.point_loaded(loaded, study.design, point).scenario
    inputs = design.describe_point(study.design, point)
    if study.draws is not None:
        j = study.draws.set_of(replicate)
        drawn = ", ".join(f"{k}={v:.4g}" for k, v in study.draws.values(j).items())
        inputs = "; ".join(filter(None, (inputs, f"posterior set {j}: {drawn}")))
    write_page(output, replay_page(world, scenario, result, replicate, inputs))
    click.echo(f"replay: {output}")


@main.command("map")
@click.argument("scenario", type=click.Path(path_type=Path))  # the loader names a folder
@click.option(
    "--ascii",
    "as_ascii",
    is_flag=True,
    help="Write the scenario with its map as ASCII layers (YAML) instead of the picture.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (default: map.html, or NAME_ascii.yaml with --ascii).",
)
@overrides
@bad_input_exits
def map_(scenario: Path, as_ascii: bool, output: Path | None, sets: tuple[str, ...]) -> None:
    """The scenario's grid over the GeoJSON it was drawn from (HTML), or --ascii: the
    scenario with its map as ASCII layers, a file that needs no GeoJSON."""
    from sim.experiment.store import write_page
    from sim.model.world import compile_world
    from sim.scenario import export, shipped
    from sim.scenario.load import FieldError, load
    from sim.viz.mapview import map_page

    scenario = shipped.find(scenario)
    loaded = load(scenario, list(sets))
    if as_ascii:
        output = output or Path(f"{scenario.stem}_ascii.yaml")
        header = f"{scenario.name} with its map as ASCII layers, written by: sim map --ascii"
        try:
            data = export.ascii_data(loaded)
        except FieldError as exc:
            raise loaded.source.error(exc.path, str(exc)) from None
        write_page(output, export.dump(data, header))
        h, w = loaded.map.shape
        click.echo(f"map: {output} ({h}×{w} cells as ASCII layers)")
        return
    output = output or Path("map.html")
    write_page(output, map_page(loaded, compile_world(loaded)))
    click.echo(f"map: {output}")


@main.command()
@click.argument("scenario", required=False, type=click.Path(path_type=Path))
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=8765,
    show_default=True,
    help="Port of the app's web page.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; the default serves this machine only.",
)
@bad_input_exits
def app(scenario: Path | None, port: int, host: str) -> None:
    """The classroom app: one run of the Mesa model with sliders, in the browser.

    SCENARIO is a file, or the name of a shipped scenario (kursk_2024); default: the
    classroom salient."""
    import os

    from sim.experiment.execute import compile_checked
    from sim.scenario import shipped
    from sim.scenario.load import load

    path = shipped.find(scenario or "classroom_small")
    compile_checked(load(path))  # bad input stops here, with its one line
    env = {
        **os.environ,
        "SALIENT_SCENARIO": str(Path(path).resolve()),
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "SOLARA_THEME_SHOW_BANNER": "False",
    }
    command = [sys.executable, "-m", "solara", "run", "sim.app", "--production"]
    command += ["--host", host, "--port", str(port), "--no-open", "--log-level", "warning"]
    click.echo(f"Salient classroom app: http://{host}:{port}   (Ctrl-C stops it)")
    sys.stdout.flush()
    # The server replaces this process: a signal that stops `sim app` stops the server.
    os.execve(sys.executable, command, env)


if __name__ == "__main__":
    main()
