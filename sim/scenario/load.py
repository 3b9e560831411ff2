"""YAML → Scenario, with every error reported as file:line, field path and what was expected.

The YAML is composed into nodes once so that each value's line is known; pydantic's error
locations are then mapped back to lines. `--set path=value` values are read by the same
builder as the file, applied to the data before validation and reported as coming from the
command line. Whatever the input, the answer is a Scenario or one ScenarioError of one line.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import ValidationError
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from sim.scenario import maps
from sim.scenario.schema import MAX_SLOTS, SIDES, Scenario

try:  # libyaml's parser: the pure-Python one takes a minute over a large file
    from yaml._yaml import CParser as _Events
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Events(Reader, Scanner, Parser):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)


MAX_BYTES = 2_000_000  # a 200 × 200 map in four layers is 170 kB: ten times that is a typo
MAX_VALUES = 100_000  # values after expanding aliases: a "billion laughs" file stops here
MAX_DEPTH = 64
MAX_SHOWN = 40  # characters of a user's value or key quoted in a message
LAYER_NAMES = ("terrain", "owner", "homeland", "roads")
GEO_LAYERS = ("homeland", "held", "rivers", "roads", "places")  # and terrain.<name>
FieldPath = tuple[str | int, ...]
_PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
_KEY_TYPES = (str, int, float, bool, dt.date)


def printable(text: str, limit: int = MAX_SHOWN) -> str:
    """Text on one line as a message shows it: characters that do not print as U+XXXX, at
    most `limit` characters."""
    text = "".join(c if c.isprintable() else f"U+{ord(c):04X}" for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown(value: Any, limit: int = MAX_SHOWN) -> str:
    """A user's value as a message quotes it: text in quotes (see `printable`), numbers and
    dates as written, a list or a section by what it is."""
    if isinstance(value, str):
        return f"'{printable(value, limit)}'"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, float) and not math.isfinite(value):
        return {"nan": ".nan", "inf": ".inf", "-inf": "-.inf"}[str(value)]  # as YAML spells it
    if isinstance(value, int | float):
        return printable(f"{value:g}" if isinstance(value, float) else str(value), limit)
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a section"
    if isinstance(value, bytes):
        return "binary data"
    return "nothing" if value is None else type(value).__name__


def _dotted(path: FieldPath) -> str:
    return printable(".".join(printable(str(p)) for p in path), 3 * MAX_SHOWN)


def field_path(dotted: str) -> FieldPath:
    """`a.b.0.c` → ('a', 'b', 0, 'c'): the parts of a dotted path, list indices as integers."""
    return tuple(int(p) if p.isascii() and p.isdigit() else p for p in dotted.split("."))


class ScenarioError(Exception):
    """One clear message about bad input: where (file:line), which field, what was expected."""

    def __init__(self, file: str, line: int | None, field: str, message: str) -> None:
        self.file, self.line, self.field, self.message = file, line, field, message
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {field + ': ' if field else ''}{message}")


class FieldError(ValueError):
    """Raised past validation (e.g. at compile) about one field; `Source.error` locates it."""

    def __init__(self, path: FieldPath, message: str) -> None:
        super().__init__(message)
        self.path = tuple(path)


class _Unreadable(Exception):
    """A file that cannot be read as a scenario's text; the caller says which file it was."""


@dataclass
class Source:
    """Where each value of a scenario came from, to turn field paths into file:line."""

    file: str
    lines: dict[FieldPath, int] = field(default_factory=dict)
    overrides: dict[FieldPath, str] = field(default_factory=dict)
    base: Source | None = None  # the scenario a study builds on
    swept: dict[FieldPath, FieldPath] = field(default_factory=dict)  # field → its sweep entry

    def locate(self, path: FieldPath) -> tuple[str, int | None, str]:
        for opath, text in self.overrides.items():
            if opath == path[: len(opath)]:  # the error lies in what the override set
                return _set_shown(text), None, _dotted(path)
        for spath, entry in self.swept.items():
            if spath == path[: len(spath)]:  # the error lies in a value the sweep set
                return (*self.locate(entry)[:2], _dotted(path))
        for prefix in (path[:i] for i in range(len(path), -1, -1)):
            for src in (self, self.base):
                if src is not None and prefix in src.lines:
                    return src.file, src.lines[prefix], _dotted(path)
        return self.file, None, _dotted(path)

    def error(self, path: FieldPath, message: str) -> ScenarioError:
        file, line, dotted = self.locate(tuple(path))
        return ScenarioError(file, line, dotted, message)


@dataclass(frozen=True)
class Loaded:
    scenario: Scenario
    source: Source
    map: maps.MapArrays


def _has(node: Any, part: str | int) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


# ----------------------------------------------------------------------------- YAML


TOO_MANY = f"more than {MAX_VALUES:,} values (aliases expanded): a typo or a bomb"
TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"


class _TooBig(Exception):
    def __init__(self, mark: Any, message: str) -> None:
        self.mark, self.message = mark, message


class _Loader(Composer, _Events, SafeConstructor, Resolver):
    """libyaml's events composed by PyYAML's composer, which counts the nodes as it goes: a
    file of a million values stops at MAX_VALUES instead of being composed first."""

    def __init__(self, text: str) -> None:
        _Events.__init__(self, text)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self.nodes = self.depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.nodes += 1
        self.depth += 1
        if self.nodes > MAX_VALUES or self.depth > MAX_DEPTH:
            message = TOO_MANY if self.nodes > MAX_VALUES else TOO_DEEP
            raise _TooBig(self.peek_event().start_mark, message)
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _Builder:
    """Builds Python data from YAML nodes, recording each value's line; refuses duplicate or
    non-scalar keys, tags on collections, and files that nest or expand beyond reason."""

    def __init__(self, loader: _Loader, src: Source) -> None:
        self.loader, self.src, self.count = loader, src, 0

    def fail(self, node: yaml.Node, path: FieldPath, message: str) -> ScenarioError:
        return ScenarioError(self.src.file, node.start_mark.line + 1, _dotted(path), message)

    def scalar(self, node: yaml.Node, path: FieldPath) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, AttributeError, OverflowError) as exc:
            raise self.fail(node, path, _unreadable_scalar(node, exc)) from None

    def build(self, node: yaml.Node, path: FieldPath) -> Any:
        self.count += 1
        if self.count > MAX_VALUES or len(path) > MAX_DEPTH:
            raise self.fail(node, path[:1], TOO_MANY if self.count > MAX_VALUES else TOO_DEEP)
        self.src.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if node.tag not in _PLAIN_TAGS:
            raise self.fail(node, path, f"unsupported tag {printable(node.tag)}")
        if isinstance(node, yaml.SequenceNode):
            return [self.build(n, (*path, i)) for i, n in enumerate(node.value)]
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, path, "a key must be a plain name")
            key = self.scalar(key_node, path)
            if not isinstance(key, _KEY_TYPES):
                raise self.fail(key_node, path, "a key must be a plain name")
            if key in out:
                raise self.fail(key_node, (*path, key), "duplicate key")
            out[key] = self.build(value_node, (*path, key))
        return out


_TAG_WORDS = {"timestamp": "a date", "int": "a whole number", "float": "a number"}


def _unreadable_scalar(node: yaml.Node, exc: Exception) -> str:
    """Why a scalar cannot be read, in the user's words: a date that does not exist, a tag
    that does not fit its value, or a tag that is not supported."""
    kind = node.tag.rsplit(":", 1)[-1]
    if "could not determine a constructor" in str(exc):
        return f"unsupported tag {printable(node.tag)}"
    if kind == "timestamp" and isinstance(exc, ValueError | OverflowError):
        return f"{printable(str(node.value))} is not a date that exists ({exc})"
    what = _TAG_WORDS.get(kind, printable(node.tag))
    return f"cannot read {shown(node.value)} as {what}"


def _compose(text: str, src: Source) -> tuple[bool, Any]:
    """(False, None) for a text without a value, else (True, the built value)."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return False, None
        return True, _Builder(loader, src).build(node, ())
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, src) from None
    except _TooBig as exc:
        line = exc.mark.line + 1 if exc.mark else None
        raise ScenarioError(src.file, line, "", exc.message) from None
    except RecursionError:
        raise ScenarioError(src.file, None, "", TOO_DEEP) from None
    finally:
        loader.dispose()


def _yaml_error(exc: yaml.YAMLError, text: str, src: Source) -> ScenarioError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "reason", None) or "cannot parse"
    context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and start and mark and start.line != mark.line:
        problem += f" ({context} started on line {start.line + 1})"
    line = mark.line + 1 if mark else None
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow
        line = text[: exc.position].count("\n") + 1
        char = exc.character  # an int from libyaml, a str from PyYAML's reader
        char = chr(char) if isinstance(char, int) else str(char)
        problem = f"the character {printable(char)} is not allowed in YAML"
    elif "cannot start any token" in problem and "\t" in text.split("\n")[line - 1 if line else 0]:
        problem += " (a tab: indent with spaces)"
    return ScenarioError(src.file, line, "", f"malformed YAML: {printable(problem, 200)}")


def parse_yaml(text: str, src: Source) -> Any:
    found, value = _compose(text, src)
    if not found:
        raise ScenarioError(src.file, 1, "", "the file is empty")
    return value


# ----------------------------------------------------------------------------- files


def _read_text(path: Path) -> str:
    """The text of a regular file of at most MAX_BYTES. Anything else is refused without
    waiting: a named pipe would block forever, a device never end."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise _Unreadable("no such file") from None
    except OSError as exc:
        raise _Unreadable(f"cannot read: {exc.strerror or 'refused'}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise _Unreadable("is a folder, not a file")
        if not stat.S_ISREG(mode):
            raise _Unreadable("is not a regular file (a pipe, device or socket)")
        data = b""
        while len(data) <= MAX_BYTES and (chunk := os.read(fd, MAX_BYTES + 1 - len(data))):
            data += chunk
    except OSError as exc:
        raise _Unreadable(f"cannot read: {exc.strerror or 'refused'}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise _Unreadable(f"larger than {MAX_BYTES:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _Unreadable("not UTF-8 text") from None


def _beside(rel: Any, base: Path, src: Source, path: FieldPath) -> str:
    """The text of the file `rel` names beside the scenario (subfolders allowed, no '..')."""
    if not isinstance(rel, str) or not rel:
        raise src.error(path, "expected the name of a file beside the scenario")
    target = (base / rel).resolve()
    if Path(rel).is_absolute() or ".." in Path(rel).parts or base.resolve() not in target.parents:
        raise src.error(
            path, f"{shown(rel)} must name a file beside the scenario (a relative path, no '..')"
        )
    try:
        return _read_text(target)
    except _Unreadable as exc:
        raise src.error(path, f"{shown(rel)}: {exc}") from None


def geo_parse(text: str) -> Any:
    """A GeoJSON file's text as data; ValueError says where it stops being JSON."""
    try:
        return json.loads(text.removeprefix("\ufeff"))  # the mark some Windows tools write
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise ValueError("not JSON a map can use: nested too deeply") from None


def _vectors(geo: dict) -> list[tuple[FieldPath, dict]]:
    """(path under map.geo, layer) of each GeoJSON layer written in a geo map."""
    out = [((name,), geo[name]) for name in GEO_LAYERS if isinstance(geo.get(name), dict)]
    terrain = geo.get("terrain")
    if isinstance(terrain, dict):
        out += [(("terrain", k), v) for k, v in terrain.items() if isinstance(v, dict)]
    return out


def _layer_files(data: Any, base: Path, src: Source) -> None:
    """Replace `{file: name}` ASCII layers by the file's text, and read each GeoJSON layer's
    file into its `geojson`, so that the scenario's data carries its map wherever it goes
    (sweep workers, the app, the results' hash)."""
    spec = data.get("map") if isinstance(data, dict) else None
    layers = spec.get("layers") if isinstance(spec, dict) else None
    if isinstance(layers, dict):
        for name in LAYER_NAMES:
            value = layers.get(name)
            if isinstance(value, dict) and set(value) == {"file"}:
                layers[name] = _beside(value["file"], base, src, ("map", "layers", name, "file"))
    geo = spec.get("geo") if isinstance(spec, dict) else None
    for sub, layer in _vectors(geo) if isinstance(geo, dict) else ():
        if "file" not in layer:
            continue
        path = ("map", "geo", *sub, "file")
        if "geojson" in layer:
            raise src.error(path, "give the file or the geojson, not both")
        text = _beside(layer["file"], base, src, path)
        try:
            layer["geojson"] = geo_parse(text)
        except ValueError as exc:
            raise src.error(path, f"{shown(layer['file'])}: {exc}") from None
    observed = data.get("observed_maps") if isinstance(data, dict) else None
    if isinstance(observed, dict) and "file" in observed and "maps" not in observed:
        path = ("observed_maps", "file")
        text = _beside(observed["file"], base, src, path).removeprefix("\ufeff")  # Excel's BOM
        name = shown(observed["file"])
        try:
            rows = list(csv.DictReader(io.StringIO(text)))
        except csv.Error as exc:  # a NUL, a field beyond the csv module's limit
            raise src.error(path, f"{name}: not CSV a map can use ({exc})") from None
        if not rows or not {"date", "held"} <= set(rows[0]):
            raise src.error(path, f"{name}: expected CSV columns date, held")
        dates = [r["date"] for r in rows]
        for i, date in enumerate(dates):
            if date in dates[:i]:
                raise src.error(path, f"{name} row {i + 2}: a second map of {date}")
        observed["maps"] = [{k: r[k] for k in ("date", "held", "source") if k in r} for r in rows]


# ----------------------------------------------------------------------------- --set


def _set_shown(text: str) -> str:
    return f"--set {printable(text, 3 * MAX_SHOWN)}"


def parse_override(text: str) -> tuple[FieldPath, Any]:
    """`a.b.0.c=value` → (('a','b',0,'c'), value), the value read as the file's values are
    (an empty value is the empty text)."""
    where = _set_shown(text)
    if "=" not in text:
        raise ScenarioError(where, None, "", "expected path=value")
    key, raw = text.split("=", 1)
    parts = field_path(key.strip())
    if not key.strip() or any(p == "" for p in parts):
        raise ScenarioError(where, None, printable(key), "expected a dotted field path")
    try:
        found, value = _compose(raw, Source(where))
    except ScenarioError as exc:
        inner = _dotted((*parts, *([exc.field] if exc.field else [])))
        raise ScenarioError(where, None, inner, exc.message) from None
    return parts, value if found else ""


DOTTED_KEYS = ("sweep", "parameters")  # a section whose keys are dotted paths themselves


def _keys(data: Any, parts: FieldPath) -> FieldPath:
    """The dotted parts of a --set path grouped into the keys they name: a run of parts that
    is one key of a section (`sweep.parameters.sides.attacker.tempo`) becomes that key; a new
    key of DOTTED_KEYS takes all the parts left."""
    node, out, i = data, [], 0
    while i < len(parts):
        run = len(parts) - i
        if isinstance(node, dict):
            names = (".".join(map(str, parts[i : i + n])) for n in range(run, 1, -1))
            found = next((n for n in names if n in node), None)
            if found is None and tuple(out) == DOTTED_KEYS:
                found = ".".join(map(str, parts[i:]))
            if found is not None:
                out.append(found)
                i += found.count(".") + 1
                node = node.get(found)
                continue
        part = parts[i]
        out.append(part)
        node = node[part] if _has(node, part) else None
        i += 1
    return tuple(out)


FILED = ("map", "observed_maps", "posterior")  # sections that name files the loader reads
FILE_SET = "a file is read with the scenario: name it in the scenario file (or a study's), not here"


def _names_a_file(value: Any) -> bool:
    if isinstance(value, dict):
        return "file" in value or any(_names_a_file(v) for v in value.values())
    return isinstance(value, list) and any(_names_a_file(v) for v in value)


def apply_override(data: dict, path: FieldPath, value: Any, text: str) -> FieldPath:
    """Set one value; returns the shallowest path the override created or replaced, so that
    errors inside it are blamed on the command line rather than on the file."""
    path = _keys(data, path)
    node: Any = data
    created: FieldPath = path
    where = _set_shown(text)
    if path[0] in FILED and ("file" in path or _names_a_file(value)):
        raise ScenarioError(where, None, _dotted(path), FILE_SET)  # read before any override
    for i, part in enumerate(path[:-1]):
        if isinstance(node, list) and isinstance(part, int):
            if part >= len(node):
                raise ScenarioError(where, None, _dotted(path[: i + 1]), "no such item")
            node = node[part]
        elif isinstance(node, dict):
            if part not in node and len(created) > i + 1:
                created = path[: i + 1]
            node = node.setdefault(part, {})
        else:
            raise ScenarioError(where, None, _dotted(path[: i + 1]), "not a section")
    last = path[-1]
    if _has(node, last) or isinstance(node, dict):
        node[last] = value
    else:
        raise ScenarioError(where, None, _dotted(path), "no such field")
    return created


# ----------------------------------------------------------------------------- validation

_EXPECTED = {  # pydantic's error types → what the user should have written
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "int_parsing_size": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "text",
    "date_type": "a date (YYYY-MM-DD)",
    "date_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_inexact": "a date (YYYY-MM-DD)",
    "dict_type": "a section of fields (name: value)",
    "model_type": "a section of fields (name: value)",
    "model_attributes_type": "a section of fields (name: value)",
    "list_type": "a list [..]",
    "tuple_type": "a list [..]",
    "invalid_key": "text as the key",
}
_CONSTRAINTS = ("greater_than", "less_than", "literal_error", "enum", "multiple_of")


def _message(err: dict) -> str:
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, not {shown(err.get('input'))}"
    ctx = err.get("ctx") or {}
    if kind == "too_short":
        least = ctx.get("min_length")
        return f"needs at least {least} item{'s' * (least != 1)}, has {ctx.get('actual_length')}"
    if kind == "too_long":
        return f"has {ctx.get('actual_length'):,} items; at most {ctx.get('max_length'):,}"
    if kind.startswith(_CONSTRAINTS):
        return msg.replace("Input should be", "must be")
    return msg.removeprefix("Value error, ")


def _one_message(errors: list[dict]) -> str:
    """One message for the errors at one field, which are a union's alternatives when there
    are several: what an alternative of the right type refused, else every type expected
    ('expected a number or a list [..], not a section')."""
    right_type = [e for e in errors if e["type"] not in _EXPECTED]
    if right_type or len(errors) == 1:
        return _message((right_type or errors)[0])
    expected = list(dict.fromkeys(_EXPECTED[e["type"]] for e in errors))
    if "a number" in expected or "a finite number" in expected:
        expected = [e for e in expected if e != "a whole number"]
    either = ", ".join(expected[:-1]) + f" or {expected[-1]}"
    return f"expected {either}, not {shown(errors[0].get('input'))}"


def _validation_error(exc: ValidationError, data: Any, src: Source) -> ScenarioError:
    """Report the first failing field; union alternatives at one field are merged."""

    def data_path(err: dict) -> FieldPath:
        node, out, loc = data, [], err["loc"]
        for i, part in enumerate(loc):
            if _has(node, part):
                node = node[part]
                out.append(part)
            elif err["type"] == "missing" and i == len(loc) - 1:
                out.append(part)  # the missing field, named
            # else: a union alternative's tag (float, list[Step], Parameter, …), skipped
        return tuple(out)

    errors = exc.errors(include_url=False)
    first = max((data_path(e) for e in errors), key=len)  # the most specific field
    return src.error(first, _one_message([e for e in errors if data_path(e) == first]))


def _check_references(s: Scenario, shape: tuple[int, int], src: Source) -> None:
    """Cells inside the map and kinds that exist: checks that need the whole scenario."""
    height, width = shape

    def check(path: FieldPath, cell: tuple[int, int]) -> None:
        if not (cell[0] < height and cell[1] < width):
            raise src.error(path, f"cell {list(cell)} is outside the {height}×{width} map")

    for i, p in enumerate(s.places):
        check(("places", i, "cell"), p.cell)
    for side in SIDES:
        spec = getattr(s.sides, side)
        for path, g in _groups(s, side):
            if g.kind not in spec.kinds:
                known = printable(", ".join(sorted(spec.kinds)), 2 * MAX_SHOWN)
                raise src.error((*path, "kind"), f"unknown kind {shown(g.kind)}; known: {known}")
            for j, c in enumerate(g.cells or []):
                check((*path, "cells", j), c)
        for i, source in enumerate(spec.supply_sources):
            for j, c in enumerate(source.cells):
                check(("sides", side, "supply_sources", i, "cells", j), c)
        for name, axis in spec.axes.items():
            for i, area in enumerate(axis.areas):
                for j, c in enumerate(area):
                    check(("sides", side, "axes", name, "areas", i, j), c)


def observed_held(held: str) -> np.ndarray:
    """An observed map's held cells, (H, W) bool."""
    return np.array([[c == "D" for c in row] for row in held.split("/")], bool)


def _check_observed_maps(s: Scenario, shape: tuple[int, int], src: Source) -> None:
    """Every observed map on the map's grid, in 'D' and '.' (maps dated outside the run are
    kept, like observations, and left out of the scores: `--set days=60` is no error)."""
    file = s.observed_maps.file if s.observed_maps else None
    for i, m in enumerate(s.observed_maps.maps if s.observed_maps else []):
        path = ("observed_maps", "maps", i)
        row = f"{file} row {i + 2}: " if file else ""  # the CSV's line: its header is row 1
        rows = m.held.split("/")
        if set(m.held) - set("D./"):
            raise src.error(
                (*path, "held"), f"{row}map of {m.date}: expected rows of 'D' and '.' joined by '/'"
            )
        short = next((k for k, r in enumerate(rows) if len(r) != len(rows[0])), None)
        if short is not None:
            raise src.error(
                (*path, "held"),
                f"{row}map of {m.date}: grid row {short + 1} has {len(rows[short])} cells, grid "
                f"row 1 has {len(rows[0])}",
            )
        if (len(rows), len(rows[0])) != shape:
            raise src.error(
                (*path, "held"),
                f"{row}the map of {m.date} is {len(rows)}×{len(rows[0])} cells, the scenario's map "
                f"{shape[0]}×{shape[1]}: rasterise it again on this grid",
            )


def _groups(s: Scenario, side: str) -> list[tuple[FieldPath, Any]]:
    """(path, group) of a side's unit groups and reinforcements, in slot order."""
    spec = getattr(s.sides, side)
    out: list[tuple[FieldPath, Any]] = []
    out += [(("sides", side, "units", i), g) for i, g in enumerate(spec.units)]
    out += [(("sides", side, "reinforcements", n), r) for n, r in spec.reinforcements.items()]
    return out


# What a task of the batch engine holds per replicate (sim/model/batch.py, measured: about
# 96 bytes per slot): 15 (replicates, slots) float64 and bool arrays at 8 bytes, 4 bytes per
# cell of int8/bool state and 16 of movement's int32 distance fields plus temporaries, and
# one float64 a day of each series.
TASK_REPLICATES = 250  # the batch engine's default task (execute.DEFAULT_CHUNK)
BYTES_PER_SLOT, BYTES_PER_CELL, BYTES_PER_DAY = 120, 32, 8 * 8


def task_bytes(slots: int, cells: int, days: int, replicates: int = TASK_REPLICATES) -> int:
    """Memory of one task of the batch engine: what a worker allocates at once."""
    return replicates * (BYTES_PER_SLOT * slots + BYTES_PER_CELL * cells + BYTES_PER_DAY * days)


def available_memory() -> int | None:
    """Memory the system can give without swapping (Linux MemAvailable), None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _size_field(group: Any) -> str:
    """The field that sets how many slots a group takes."""
    if hasattr(group, "men"):
        return "men"
    return "cells" if group.cells is not None else "count"


def _check_size(s: Scenario, shape: tuple[int, int], src: Source) -> None:
    """Refuse, before anything is allocated, what no run could hold: more unit slots than
    MAX_SLOTS, or a task of the batch engine larger than the memory available."""
    groups = [((*path, _size_field(g)), g.n) for side in SIDES for path, g in _groups(s, side)]
    slots = sum(n for _, n in groups)
    biggest = max(groups, key=lambda pn: pn[1])[0] if slots else ("map",)
    if slots > MAX_SLOTS:
        message = f"{slots:,} unit slots in all (units and reinforcements); at most {MAX_SLOTS:,}"
        raise src.error(biggest, message)
    need, have = task_bytes(slots, shape[0] * shape[1], s.days), available_memory()
    if have is not None and need > have:
        raise src.error(
            biggest,
            f"{slots:,} unit slots on {shape[0]}×{shape[1]} cells over {s.days:,} days need "
            f"about {need / 1e9:,.1f} GB per task of {TASK_REPLICATES} replicates; "
            f"{have / 1e9:,.1f} GB of memory is available",
        )


def validate(data: Any, src: Source, like: Loaded | None = None) -> Loaded:
    """Check a scenario given as data. `like`: a scenario checked before whose map arrays are
    reused when the map is the same (the checkpoints of a study)."""
    if not isinstance(data, dict):
        raise src.error((), "a scenario is a mapping of fields (name:, start:, …)")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(exc, data, src) from None
    if like is not None and like.scenario.map == scenario.map:
        arrays = like.map
    else:
        try:
            arrays = maps.build(scenario.map)
        except maps.MapError as exc:
            raise src.error(("map", *exc.path), str(exc)) from None
    _check_references(scenario, arrays.shape, src)
    _check_observed_maps(scenario, arrays.shape, src)
    _check_size(scenario, arrays.shape, src)
    return Loaded(scenario, src, arrays)


# ----------------------------------------------------------------------------- loading


def _merge(base: dict, over: dict) -> dict:
    """`over` laid on `base`: sections merge, any other value replaces."""
    out = dict(base)
    for key, value in over.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = _merge(out[key], value) if both else value
    return out


def _read(path: Path, src: Source, text: str) -> Any:
    data = parse_yaml(text, src)
    if isinstance(data, dict):
        _layer_files(data, path.parent, src)
        posterior = data.get("posterior")
        if isinstance(posterior, dict) and "file" in posterior and "sets" not in posterior:
            where = ("posterior", "file")
            text = _beside(posterior["file"], path.parent, src, where)
            try:
                posterior.update(posterior_table(text, shown(posterior["file"])))
            except ValueError as exc:
                raise src.error(where, str(exc)) from None
    return data


def posterior_table(text: str, name: str) -> dict[str, list]:
    """A posterior's CSV (a column per parameter, and `weight`) as the `posterior:` fields;
    ValueError names the row that is wrong."""
    try:
        rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    except csv.Error as exc:
        raise ValueError(f"{name}: not CSV a posterior can use ({exc})") from None
    if not rows or "weight" not in rows[0] or len(rows[0]) < 2:
        raise ValueError(f"{name}: expected a column per parameter and a weight column")
    header = rows[0]
    at = header.index("weight")
    sets, weights = [], []
    for i, row in enumerate(rows[1:], start=2):
        if not row:  # a blank line (an editor's last one)
            continue
        try:
            values = [float(v) for v in row]
        except ValueError:
            raise ValueError(f"{name} row {i}: expected numbers") from None
        if len(values) != len(header) or not all(math.isfinite(v) for v in values):
            raise ValueError(f"{name} row {i}: expected {len(header)} finite numbers")
        weights.append(values.pop(at))
        sets.append(values)
    return {"parameters": header[:at] + header[at + 1 :], "sets": sets, "weights": weights}


def _with_base(data: dict, path: Path, src: Source) -> dict:
    """A study names the scenario it varies (`base: ../kursk_2024.yaml`) and overrides only
    what it changes, so the scenario is written once."""
    rel = data.pop("base")
    if not isinstance(rel, str) or Path(rel).suffix not in (".yaml", ".yml"):
        raise src.error(("base",), "expected the path of a .yaml scenario file")
    base_path = Path(os.path.normpath(path.parent / rel))  # shown as the user reads it
    try:
        text = _read_text(base_path)
    except _Unreadable as exc:
        raise src.error(("base",), f"{shown(rel)}: {exc}") from None
    src.base = Source(str(base_path))
    base = _read(base_path, src.base, text)
    if not isinstance(base, dict):
        raise src.error(("base",), f"{shown(rel)} is not a scenario")
    if "base" in base:
        raise src.base.error(("base",), "a base scenario cannot have a base of its own")
    return _merge(base, data)


def load(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Loaded:
    """Read, lay the study over its base, override, validate. Raises ScenarioError only."""
    path = Path(path)
    src = Source(str(path))
    try:
        text = _read_text(path)
    except _Unreadable as exc:
        raise ScenarioError(src.file, None, "", str(exc)) from None
    data = _read(path, src, text)
    if isinstance(data, dict):
        if "base" in data:
            data = _with_base(data, path, src)
        for text in overrides:
            fpath, value = parse_override(text)
            src.overrides[apply_override(data, fpath, value, text)] = text
    return validate(data, src)


def loads(text: str, name: str = "<scenario>") -> Loaded:
    """Validate a scenario given as YAML text (tests, the app)."""
    src = Source(name)
    return validate(parse_yaml(text, src), src)
