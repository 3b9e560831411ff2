"""YAML → Scenario, with every error reported as file:line, field path and what was expected.

The YAML is composed into nodes once so that each value's line is known; pydantic's error
locations are then mapped back to lines. `--set path=value` overrides are applied to the
data before validation and reported as coming from the command line.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sim.scenario import maps
from sim.scenario.schema import SIDES, Scenario

MAX_BYTES = 10_000_000
LAYER_NAMES = ("terrain", "owner", "homeland", "roads")
FieldPath = tuple[str | int, ...]
_TYPE_TAGS = {"float", "int", "str", "bool", "list[Step]"}  # pydantic's union branch names


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
                return f"--set {text}", None, _dotted(path)
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


def _dotted(path: FieldPath) -> str:
    return ".".join(str(p) for p in path)


MAX_VALUES = 200_000  # values after expanding aliases: a "billion laughs" file stops here
MAX_DEPTH = 64
_PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
_KEY_TYPES = (str, int, float, bool, dt.date)


class _Builder:
    """Builds Python data from YAML nodes, recording each value's line; refuses duplicate or
    non-scalar keys, tags on collections, and files that nest or expand beyond reason."""

    def __init__(self, loader: yaml.SafeLoader, src: Source) -> None:
        self.loader, self.src, self.count = loader, src, 0

    def fail(self, node: yaml.Node, path: FieldPath, message: str) -> ScenarioError:
        return ScenarioError(self.src.file, node.start_mark.line + 1, _dotted(path), message)

    def scalar(self, node: yaml.Node, path: FieldPath) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, AttributeError, OverflowError) as exc:
            problem = getattr(exc, "problem", None) or str(exc) or type(exc).__name__
            raise self.fail(node, path, f"cannot read this value: {problem}") from None

    def build(self, node: yaml.Node, path: FieldPath) -> Any:
        self.count += 1
        if self.count > MAX_VALUES or len(path) > MAX_DEPTH:
            raise self.fail(node, path, "the file nests or repeats (aliases) beyond reason")
        self.src.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if node.tag not in _PLAIN_TAGS:
            raise self.fail(node, path, f"unsupported tag {node.tag}")
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


def parse_yaml(text: str, src: Source) -> Any:
    loader = None
    try:
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
        if node is None:
            raise ScenarioError(src.file, 1, "", "the file is empty")
        return _Builder(loader, src).build(node, ())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or getattr(exc, "reason", None) or str(exc)
        context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and start and mark and start.line != mark.line:
            problem += f" ({context} started on line {start.line + 1})"
        line = mark.line + 1 if mark else None
        if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow
            line = text[: exc.position].count("\n") + 1
            problem = f"character {exc.character!r} is not allowed in YAML"
        raise ScenarioError(src.file, line, "", f"malformed YAML: {problem}") from None
    except RecursionError:
        raise ScenarioError(src.file, None, "", "the file nests beyond reason") from None
    finally:
        if loader is not None:
            loader.dispose()


def _read_text(path: Path, shown: str) -> str:
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ScenarioError(shown, None, "", f"larger than {MAX_BYTES} bytes")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(shown, None, "", "no such file") from None
    except IsADirectoryError:
        raise ScenarioError(shown, None, "", "is a folder, not a scenario file") from None
    except UnicodeDecodeError:
        raise ScenarioError(shown, None, "", "not UTF-8 text") from None
    except OSError as exc:
        raise ScenarioError(shown, None, "", f"cannot read: {exc.strerror}") from None


def _layer_files(data: Any, base: Path, src: Source) -> None:
    """Replace `{file: name}` layers by the text of a file beside the scenario."""
    spec = data.get("map") if isinstance(data, dict) else None
    layers = spec.get("layers") if isinstance(spec, dict) else None
    if not isinstance(layers, dict):
        return
    for name in LAYER_NAMES:
        value = layers.get(name)
        if not (isinstance(value, dict) and set(value) == {"file"}):
            continue
        path = ("map", "layers", name, "file")
        rel = str(value["file"])
        target = (base / rel).resolve()
        if (
            Path(rel).is_absolute()
            or ".." in Path(rel).parts
            or base.resolve() not in target.parents
        ):
            raise src.error(path, f"{rel!r} must name a file beside the scenario (no '..')")
        try:
            layers[name] = _read_text(target, rel)
        except ScenarioError as exc:
            raise src.error(path, f"{rel}: {exc.message}") from None


def parse_override(text: str) -> tuple[FieldPath, Any]:
    """`a.b.0.c=value` → (('a','b',0,'c'), value parsed as a YAML scalar or flow value)."""
    if "=" not in text:
        raise ScenarioError(f"--set {text}", None, "", "expected path=value")
    key, raw = text.split("=", 1)
    parts = tuple(int(p) if p.isdigit() else p for p in key.strip().split("."))
    if not key.strip() or any(p == "" for p in parts):
        raise ScenarioError(f"--set {text}", None, key, "expected a dotted field path")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        raise ScenarioError(f"--set {text}", None, key, "the value is not valid YAML") from None
    return parts, value


def apply_override(data: dict, path: FieldPath, value: Any, text: str) -> FieldPath:
    """Set one value; returns the shallowest path the override created or replaced, so that
    errors inside it are blamed on the command line rather than on the file."""
    node: Any = data
    created: FieldPath = path
    for i, part in enumerate(path[:-1]):
        if isinstance(node, list) and isinstance(part, int):
            if part >= len(node):
                raise ScenarioError(f"--set {text}", None, _dotted(path[: i + 1]), "no such item")
            node = node[part]
        elif isinstance(node, dict):
            if part not in node and len(created) > i + 1:
                created = path[: i + 1]
            node = node.setdefault(part, {})
        else:
            raise ScenarioError(f"--set {text}", None, _dotted(path[: i + 1]), "not a section")
    last = path[-1]
    if _has(node, last) or isinstance(node, dict):
        node[last] = value
    else:
        raise ScenarioError(f"--set {text}", None, _dotted(path), "no such field")
    return created


def _message(err: dict) -> str:
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    return msg.removeprefix("Value error, ")


def _validation_error(exc: ValidationError, data: Any, src: Source) -> ScenarioError:
    """Report the first failing field; union alternatives at one field are merged."""

    def data_path(loc: tuple) -> FieldPath:
        node, out = data, []
        for part in loc:
            if _has(node, part):
                node = node[part]
            elif isinstance(node, dict) and isinstance(part, str) and part not in _TYPE_TAGS:
                out.append(part)  # a missing or unknown field: name it and stop
                break
            else:
                continue  # a union alternative's tag (float, list[Step], …)
            out.append(part)
        return tuple(out)

    errors = exc.errors(include_url=False)
    first = max((data_path(e["loc"]) for e in errors), key=len)  # the most specific field
    same = [e for e in errors if data_path(e["loc"]) == first]
    messages = list(dict.fromkeys(_message(e) for e in same))
    if len(messages) > 1:
        messages = ["expected one of: " + "; or ".join(messages)]
    return src.error(first, messages[0])


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
        groups = [(("units", i), g) for i, g in enumerate(spec.units)]
        groups += [(("reinforcements", name), r) for name, r in spec.reinforcements.items()]
        for where, g in groups:
            path = ("sides", side, *where)
            if g.kind not in spec.kinds:
                known = ", ".join(sorted(spec.kinds))
                raise src.error((*path, "kind"), f"unknown kind {g.kind!r}; known: {known}")
            for j, c in enumerate(g.cells or []):
                check((*path, "cells", j), c)


def validate(data: Any, src: Source) -> Loaded:
    if not isinstance(data, dict):
        raise src.error((), "a scenario is a mapping of fields (name:, start:, …)")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(exc, data, src) from None
    try:
        arrays = maps.build(scenario.map)
    except maps.MapError as exc:
        where = ("map", "layers", exc.field) if scenario.map.layers else ("map", "generate")
        raise src.error(where, str(exc)) from None
    _check_references(scenario, arrays.shape, src)
    return Loaded(scenario, src, arrays)


def _merge(base: dict, over: dict) -> dict:
    """`over` laid on `base`: sections merge, any other value replaces."""
    out = dict(base)
    for key, value in over.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = _merge(out[key], value) if both else value
    return out


def _read(path: Path, src: Source) -> Any:
    data = parse_yaml(_read_text(path, src.file), src)
    if isinstance(data, dict):
        _layer_files(data, path.parent, src)
    return data


def _with_base(data: dict, path: Path, src: Source) -> dict:
    """A study names the scenario it varies (`base: ../kursk_2024.yaml`) and overrides only
    what it changes, so the scenario is written once."""
    rel = data.pop("base")
    if not isinstance(rel, str) or Path(rel).suffix not in (".yaml", ".yml"):
        raise src.error(("base",), "expected the path of a .yaml scenario file")
    base_path = path.parent / rel
    src.base = Source(str(base_path))
    base = _read(base_path, src.base)
    if not isinstance(base, dict):
        raise src.error(("base",), f"{rel} is not a scenario")
    if "base" in base:
        raise src.base.error(("base",), "a base scenario cannot have a base of its own")
    return _merge(base, data)


def load(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Loaded:
    """Read, lay the study over its base, override, validate. Raises ScenarioError only."""
    path = Path(path)
    src = Source(str(path))
    data = _read(path, src)
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
