"""The `sim` command: parse, call, print. Bad input exits 2 with one message, no traceback."""

from __future__ import annotations

import json
import sys
from functools import wraps
from pathlib import Path

import click

from sim.scenario.load import ScenarioError, load
from sim.scenario.schema import Scenario

EXIT_BAD_INPUT = 2


def bad_input_exits(func):
    """Every ScenarioError (and store refusal) becomes one line on stderr and exit code 2."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        from sim.experiment.store import StoreError

        try:
            return func(*args, **kwargs)
        except (ScenarioError, StoreError) as exc:
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


@click.group()
@click.version_option(package_name="salient")
def main() -> None:
    """Salient: Monte Carlo territory-loss curves of a salient under pressure."""


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@overrides
@bad_input_exits
def validate(scenario: Path, sets: tuple[str, ...]) -> None:
    """Check a scenario file (schema, map, unit placement) without running it."""
    from sim.experiment.execute import compile_checked

    loaded = load(scenario, sets)
    world = compile_checked(loaded)
    s = loaded.scenario
    h, w = world.shape
    click.echo(
        f"{scenario}: ok — {s.name}, {s.days} days from {s.start}, {h}×{w} cells of "
        f"{world.cell_km:g} km, salient {world.territory0:,.0f} km², {world.n_units} unit slots"
    )


@main.command()
def schema() -> None:
    """Print the scenario JSON Schema (for editors)."""
    click.echo(json.dumps(Scenario.model_json_schema(by_alias=True), indent=2))


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--replicates", type=click.IntRange(1, 1_000_000), help="Runs (overrides file).")
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
    fresh: bool,
    quiet: bool,
    sets: tuple[str, ...],
) -> None:
    """Run a scenario's Monte Carlo replicates and write results/<name>-<hash>/."""
    from sim.experiment.execute import run_scenario
    from sim.viz.report import build, key_table_rows

    extra = [f"replicates={replicates}"] * (replicates is not None)
    extra += [f"seed={seed}"] * (seed is not None)
    loaded = load(scenario, [*sets, *extra])
    try:
        store, world = run_scenario(loaded, out, engine, chunk, fresh=fresh, progress=not quiet)
    except KeyboardInterrupt:
        click.echo(
            "\ninterrupted: finished tasks are kept; run the same command to resume", err=True
        )
        sys.exit(130)
    figures = build(store, loaded.scenario, world)
    rows = key_table_rows(figures)
    width = max(len(a) for a, _ in rows)
    click.echo(
        f"\n{loaded.scenario.name}: salient {world.territory0:,.0f} km² on "
        f"{loaded.scenario.start}, {loaded.scenario.replicates} runs ({engine} engine)"
    )
    for a, b in rows:
        click.echo(f"  {a:<{width}}  {b}")
    click.echo(f"\nresults: {store.path}\nreport:  {store.path / 'report.html'}")
