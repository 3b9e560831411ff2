"""Designs of a study: which scenarios (design points) a sweep runs.

A design is a table — one row per point, one column per swept parameter (a dotted scenario
path) — stored as `design.parquet`. Grids are full factorials; LHS comes from
`scipy.stats.qmc`; Sobol designs are Saltelli samples from SALib so SALib can analyse them.
Every point is turned into a complete scenario and validated before anything runs, and an
error names the sweep entry (file and line) that caused it.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from pydantic import TypeAdapter, ValidationError
from scipy.stats import qmc

from sim.scenario.load import FieldPath, Loaded, ScenarioError, field_path, shown, validate
from sim.scenario.schema import MAX_POINTS, Parameter, Scenario, field_type

SWEEPABLE = ("map", "places", "rules", "sides")  # the rest fixes what a run is, not its inputs
DESIGN_NAMES = {"grid": "a grid", "lhs": "an LHS", "sobol": "a Sobol"}


@dataclass(frozen=True)
class Axis:
    """One swept parameter: where it goes, and the schedule step it sets (if any)."""

    name: str  # the dotted path as written
    path: FieldPath
    step: dt.date | None  # sweep the value of a schedule from this date on
    kind: type  # float, int, dt.date, or object (values taken as written)
    values: list[Any] | None = None  # grid levels
    low: Any = None
    high: Any = None


@dataclass(frozen=True)
class Design:
    kind: str  # single | grid | lhs | sobol
    axes: list[Axis]
    table: pd.DataFrame  # `point` and one column per axis name
    replicates: int
    seed: int
    problem: dict[str, Any] | None = field(default=None)  # SALib's problem (sobol)

    @property
    def points(self) -> int:
        return len(self.table)

    @property
    def runs(self) -> int:
        return self.points * self.replicates

    def values(self, point: int) -> dict[str, Any]:
        row = self.table.iloc[point]
        return {a.name: _plain(row[a.name]) for a in self.axes}


def _plain(v: Any) -> Any:
    """numpy/pandas scalars as plain Python values (manifest, YAML, error messages)."""
    if isinstance(v, pd.Timestamp):
        return v.date()
    return v.item() if isinstance(v, np.generic) else v


def field_at(data: Any, path: FieldPath) -> Any:
    node = data
    for part in path:
        ok = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and part < len(node)
        )
        if not ok:
            raise KeyError(part)
        node = node[part]
    return node


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_schedule(v: Any) -> bool:
    if isinstance(v, list):
        return bool(v) and all(isinstance(s, dict) and "from" in s for s in v)
    return _number(v)


def _kind(current: Any, step: dt.date | None) -> type:
    if step is not None:
        return float
    if isinstance(current, bool):
        return object
    for t in (int, float, dt.date):
        if isinstance(current, t):
            return t
    return object


def data_of(loaded: Loaded) -> dict[str, Any]:
    """The scenario as plain data with every default filled in (what points are made from)."""
    return loaded.scenario.model_dump(mode="python", by_alias=True)


def _reader(path: FieldPath, step: dt.date | None) -> Any:
    """Reads a level as the field it sets would (the value of a schedule's step if `step`):
    `true` for a number is 1.0, a date written as text (JSON) a date, so that a column of the
    design holds one type. A value the field refuses is kept for the scenario's own check,
    which names it with its design point."""
    kind = field_type((*path, 0, "value") if step is not None else path)
    adapter = TypeAdapter(kind) if kind is not None else None

    def read(v: Any) -> Any:
        if adapter is None:
            return v
        try:
            out = adapter.validate_python(v)
        except ValidationError:
            return v
        return out if isinstance(out, bool | int | float | str | dt.date) else v

    return read


def _axes(loaded: Loaded, data: dict[str, Any]) -> list[Axis]:
    out: list[Axis] = []
    for name, spec in loaded.scenario.sweep.parameters.items():
        out.append(_axis(loaded, data, name, spec, out))
    return out


def _axis(
    loaded: Loaded,
    data: dict[str, Any],
    name: str,
    spec: Any,
    others: list[Axis],
    where: tuple[str, ...] = ("sweep", "parameters"),
    ranged: bool | None = None,
) -> Axis:
    """One swept (or calibrated, `where`) parameter, checked against the scenario and the
    design, its levels (or range: `ranged`, by default for a calibration or a sampled
    design) read as the field they set."""
    s, src = loaded.scenario, loaded.source
    where = (*where, name)
    spec = spec if isinstance(spec, Parameter) else Parameter(values=spec)
    dotted, _, on = name.partition("@")  # tempo@2024-09-10: the step from that date
    if on:
        try:
            spec = spec.model_copy(update={"from_": dt.date.fromisoformat(on)})
        except ValueError:
            raise src.error(where, f"'@{on}' is no date: write path@YYYY-MM-DD") from None
    path = field_path(dotted)
    current = _target(data, path, others, lambda m: src.error(where, m), spec.from_)
    if spec.from_ is not None:
        if not _is_schedule(current):
            raise src.error(where, "'from' applies to a schedule (tempo, intelligence, …)")
        if not s.start <= spec.from_ <= s.end:
            raise src.error(where, f"'from' must fall within the run, {s.start} to {s.end}")
    if ranged is None:  # a calibration, or a sampled design: ranges
        ranged = s.sweep is None or s.sweep.design in ("lhs", "sobol")
    if ranged != (spec.range is not None):
        need = "range: [low, high]" if ranged else "a list of values"
        raise src.error(where, f"{DESIGN_NAMES[s.sweep.design]} design needs {need}")
    kind, read = _kind(current, spec.from_), _reader(path, spec.from_)
    if spec.range is None:
        return Axis(name, path, spec.from_, kind, values=[read(v) for v in spec.values])
    low, high = (read(v) for v in spec.range)
    numeric = kind in (int, float) and _number(low) and _number(high)
    dated = kind is dt.date and all(isinstance(v, dt.date) for v in (low, high))
    if not (numeric or dated):
        if kind is object:
            raise src.error(where, "a range needs a number or date field (a schedule: with from)")
        raise src.error(where, f"range needs two {'dates' if kind is dt.date else 'numbers'}")
    if not low < high:
        raise src.error(where, "range needs low < high")
    return Axis(name, path, spec.from_, kind, low=low, high=high)


def _target(
    data: dict[str, Any],
    path: FieldPath,
    others: list[Axis],
    fail: Callable[[str], Exception],
    step: dt.date | None = None,
) -> Any:
    """The current value of the field a parameter sweeps; `fail(message)` is the error to
    raise when it cannot be swept. Two steps of one schedule, from different dates, may."""
    if not isinstance(path[0], str) or path[0] not in SWEEPABLE:
        raise fail(f"only fields under {', '.join(SWEEPABLE)} can be swept")
    if "file" in path or "geojson" in path:
        raise fail("a file is read with the scenario: sweep a study per file, not its name")
    for other in others:  # one axis would rewrite what the other addresses
        if other.path == path and step and other.step and step != other.step:
            continue
        if path[: len(other.path)] == other.path or other.path[: len(path)] == path:
            raise fail(f"overlaps the swept parameter {other.name}")
    try:
        current = field_at(data, path)
    except KeyError:
        raise fail("no such field in the scenario") from None
    if isinstance(current, dict | list) and not _is_schedule(current):
        raise fail("a section, not a value: name one of its fields")
    return current


def _scale(axis: Axis, u: np.ndarray) -> list[Any]:
    """Unit-interval samples onto an axis; dates and integers rounded to whole values."""
    if axis.kind is dt.date:
        span = (axis.high - axis.low).days
        return [axis.low + dt.timedelta(days=round(x * span)) for x in u]
    x = axis.low + u * (axis.high - axis.low)
    return [round(v) for v in x] if axis.kind is int else [float(v) for v in x]


def build(loaded: Loaded) -> Design:
    """The design of a scenario: one point without a sweep, else the sweep's points."""
    s: Scenario = loaded.scenario
    sweep = s.sweep
    if sweep is None:
        return Design("single", [], pd.DataFrame({"point": [0]}), s.replicates, s.seed)
    src = loaded.source
    axes = _axes(loaded, data_of(loaded))
    replicates = sweep.replicates or s.replicates
    problem = None
    if sweep.design == "grid":
        if sweep.points is not None:
            raise src.error(("sweep", "points"), "a grid has a point per combination: no points")
        n = int(np.prod([len(a.values) for a in axes], dtype=float))
        if n > MAX_POINTS:
            raise src.error(("sweep", "parameters"), f"{n:,} grid points; at most {MAX_POINTS:,}")
        columns = list(zip(*itertools.product(*(a.values for a in axes)), strict=True))
    else:
        if sweep.points is None:
            raise src.error(("sweep",), f"{DESIGN_NAMES[sweep.design]} design needs points")
        if sweep.design == "lhs":
            unit = qmc.LatinHypercube(d=len(axes), rng=s.seed).random(sweep.points)
        else:
            if sweep.points & (sweep.points - 1):
                raise src.error(("sweep", "points"), "sobol points must be a power of 2")
            if sweep.points * (len(axes) + 2) > MAX_POINTS:
                raise src.error(("sweep", "points"), f"more than {MAX_POINTS:,} points")
            from SALib.sample import sobol

            problem = {
                "num_vars": len(axes),
                "names": [a.name for a in axes],
                "bounds": [[0.0, 1.0]] * len(axes),
            }
            unit = sobol.sample(problem, sweep.points, calc_second_order=False, seed=s.seed)
        columns = [_scale(a, unit[:, i]) for i, a in enumerate(axes)]
    table = pd.DataFrame({"point": np.arange(len(columns[0]))})
    for a, col in zip(axes, columns, strict=True):
        numbers = a.kind is float and all(_number(v) for v in col)
        table[a.name] = pd.Series(list(col), dtype=float if numbers else object)
    return Design(sweep.design, axes, table, replicates, s.seed, problem)


def calibrated(loaded: Loaded) -> list[Axis]:
    """The parameters of a scenario's `calibrate:` section, checked like a sweep's."""
    data, out = data_of(loaded), []
    for name, prior in loaded.scenario.calibrate.parameters.items():
        spec = Parameter(range=prior.range)
        out.append(_axis(loaded, data, name, spec, out, ("calibrate", "parameters")))
    return out


def posterior_axes(loaded: Loaded, others: list[Axis]) -> list[Axis]:
    """The parameters of a scenario's posterior, checked like a sweep's (and against the
    sweep's, `others`: one field cannot be set by both)."""
    data, out = data_of(loaded), []
    posterior = loaded.scenario.posterior
    for i, name in enumerate(posterior.parameters):
        spec = Parameter(values=[posterior.sets[0][i]])  # the field's kind is what is checked
        out.append(_axis(loaded, data, name, spec, [*others, *out], ("posterior",), False))
    return out


def scaled(axes: list[Axis], unit: np.ndarray) -> pd.DataFrame:
    """A design table from points of the unit cube, one column per axis."""
    table = pd.DataFrame({"point": np.arange(len(unit))})
    for i, a in enumerate(axes):
        kind = float if a.kind is float else object
        table[a.name] = np.asarray(_scale(a, unit[:, i]), dtype=kind)
    return table


def with_step(schedule: Any, start: dt.date, day: dt.date, value: float) -> list[dict]:
    """A schedule whose value from `day` until its next step is `value`; earlier and later
    steps keep theirs."""
    steps = (
        [{"from": start, "value": float(schedule)}]
        if not isinstance(schedule, list)
        else [dict(s) for s in schedule]
    )

    def before(d: dt.date) -> float:  # the value in force on day d
        earlier = [s["value"] for s in steps if s["from"] <= d]
        return earlier[-1] if earlier else steps[0]["value"]

    out = [{"from": start, "value": before(start)}] if day > start else []
    out += [s for s in steps if start < s["from"] < day]
    out.append({"from": day, "value": value})
    out += [s for s in steps if s["from"] > day]
    return out


def point_loaded(loaded: Loaded, design: Design, point: int) -> Loaded:
    """The complete scenario of one design point (no sweep, the design's replicates)."""
    if design.kind == "single":
        return loaded
    values, what = design.values(point), f"design point {point}"
    return with_values(loaded, design.axes, values, what, sweep=None, replicates=design.replicates)


def checkpoints(loaded: Loaded, design: Design) -> Iterator[tuple[int | None, Loaded]]:
    """The scenarios that, checked, check every value a study's runs will meet, without
    building every point: for a grid, as many points as its longest axis has levels, point i
    taking level i (cycling) of every axis; for a sampled design, its two corners (every
    parameter at its low, then at its high end), since each field's valid values form an
    interval. Yields (point, scenario); point is None for a corner, which is not a point."""
    if design.kind == "single":
        yield 0, loaded
        return
    if design.kind == "grid":
        sizes = [len(a.values) for a in design.axes]
        for i in range(max(sizes)):
            point = 0
            for size in sizes:  # itertools.product order: the last axis varies fastest
                point = point * size + i % size
            yield point, point_loaded(loaded, design, point)
        return
    for end in ("low", "high"):
        values = {a.name: getattr(a, end) for a in design.axes}
        what = f"every parameter at its {end} end"
        yield (
            None,
            with_values(
                loaded, design.axes, values, what, sweep=None, replicates=design.replicates
            ),
        )


def with_values(
    loaded: Loaded,
    axes: list[Axis],
    values: dict[str, Any],
    what: str,
    where: tuple[str, ...] = ("sweep", "parameters"),
    **fields: Any,
) -> Loaded:
    """The scenario with each parameter of `axes` set to its value in `values` (and top-level
    `fields` replaced); an error names the entry of `where` that set the field."""
    data = data_of(loaded)  # a fresh copy
    data.update(fields)
    src = replace(loaded.source, swept={})
    for a in axes:
        *head, last = a.path
        node = field_at(data, tuple(head))
        value = values[a.name]
        if a.step is not None:
            value = with_step(node[last], loaded.scenario.start, a.step, value)
        node[last] = value
        src.swept[a.path] = (*where, a.name)
    try:
        return validate(data, src, like=loaded)
    except ScenarioError as exc:
        raise ScenarioError(
            exc.file, exc.line, exc.field, f"{exc.message} ({what}: {_settings(values)})"
        ) from None


def _settings(values: dict[str, Any], limit: int = 120) -> str:
    """'a=0.2, b=2025-01-01', cut short after `limit` characters."""
    text = ", ".join(f"{k}={shown(v)}" for k, v in values.items())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_point(design: Design, point: int) -> str:
    """'point 3: sides.attacker.tempo=0.4, …', or '' for a scenario without a sweep."""
    if not design.axes:
        return ""
    return f"point {point}: " + ", ".join(f"{k}={v}" for k, v in design.values(point).items())


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'s' * (n != 1)}"


def describe(design: Design, limit: int = 20) -> str:
    """The design as text: kind, counts and the first points."""
    if not design.axes:
        return f"one scenario × {_count(design.replicates, 'replicate')}"
    head = (
        f"{design.kind} design: {_count(design.points, 'point')} × "
        f"{_count(design.replicates, 'replicate')}"
    )
    shown = design.table.head(limit).to_string(index=False)
    more = f"\n… {design.points - limit:,} more points" if design.points > limit else ""
    return f"{head}\n{shown}{more}"
