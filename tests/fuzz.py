"""A seeded fuzzer of scenario input: mutations of the shipped scenarios and studies run through
`sim validate` and `sim run --dry-run` in this process (click's CliRunner).

Each case is a folder of files (the scenario, its base, layer files, special files such as a
named pipe) and maybe `--set` overrides, made from the shipped files by one to three
mutations: deleted, renamed and retyped keys, extreme and non-finite numbers, impossible dates,
broken maps, bad sweeps, huge sizes, special files, bad overrides, raw text damage. The
contract it checks (`problems`): exit code 0 or 2, no traceback, on refusal exactly one line
naming the file with at most MAX_LINE characters besides its path, and `validate` and
`run --dry-run` agreeing.

    python -m tests.fuzz --cases 5000 --seed 1            # the larger run
    python -m tests.fuzz --cases 2000 --real 300          # and run 300 valid ones for real

tests/test_fuzz.py runs a few hundred cases of the same generator.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import datetime as dt
import json
import os
import random
import resource
import shutil
import signal
import string
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sim.scenario import export
from sim.scenario.load import load

ROOT = Path(__file__).parent.parent
SCENARIOS = ROOT / "scenarios"
MAX_LINE = 300
RAW = "@@RAW@@"  # a string value written as raw YAML text instead of a quoted string
FIFO, FOLDER, DEVICE = "<fifo>", "<folder>", "<device>"  # special files
HANG_SECONDS = 60.0

# values that have broken something, or might
NUMBERS = [0, -1, -0.0, 1, 0.5, 2, 1e-300, 1e308, -1e308, 10**30, 2**63, 2**32, 4097, 1e6, 99999]
RAW_NUMBERS = [".nan", ".inf", "-.inf", "1e999", "-1e999", "0x10", "0o17", "1_000", "+12"]
RAW_DATES = [
    "2025-02-30",
    "2025-13-01",
    "2024-02-29",
    "2023-02-29",
    "9999-12-31",
    "0001-01-01",
    "1677-09-21",
    "2262-04-12",
    "2025-01-01 25:00:00",
    "2025-01-01T12:00:00",
    "2025-1-1",
    "!!timestamp x",
    "!!timestamp 2025-02-30",
]
RAW_OTHER = [
    "~",
    "null",
    "yes",
    "no",
    "on",
    "true",
    "false",
    "''",
    "[]",
    "{}",
    "[[]]",
    "[1, [2]]",
    "{a: 1}",
    "{file: x.txt}",
    "!!binary aGVsbG8=",
    "!!int abc",
    "!!float abc",
    "!!str 5",
    "!!set {a}",
    "!!omap [a: 1]",
    "!!python/name:os.getpid",
    '"\\u200b"',
    '"tab\\there"',
    '"line\\nbreak"',
    '"\\x1b[31mred"',
    "é",
    "𝔘𝔫𝔦",
    "'" + "x" * 3000 + "'",
]
TYPED = [None, True, False, "text", "", [], {}, [1, 2], {"a": 1}, dt.date(2025, 1, 1), 7, 0.25]
WORDS = ["tempo", "tempoo", "Tempo", "kind", "kinds", "base", "sweep", "file", "x", "from", "men"]


@dataclass
class Case:
    """Files of one fuzz case (relative path → text, bytes or a special file), the scenario
    to check and its --set overrides."""

    label: str
    files: dict[str, str | bytes] = field(default_factory=dict)
    main: str = "case.yaml"
    sets: list[str] = field(default_factory=list)

    def write(self, folder: Path) -> Path:
        for rel, content in self.files.items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if content == FIFO:
                os.mkfifo(path)
            elif content == FOLDER:
                path.mkdir()
            elif content == DEVICE:
                path.symlink_to("/dev/zero")
            elif isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        return folder / self.main


# ---------------------------------------------------------------------------- text and data


def _shipped() -> dict[str, Any]:
    """Every shipped scenario's data; a GeoJSON map as its ASCII export (a case is written
    alone into a folder of its own, without the GeoJSON files beside the scenario)."""
    out = {}
    for path in sorted(SCENARIOS.rglob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if "geo" in data.get("map", {}):
            data = export.ascii_data(load(path))
        out[str(path.relative_to(SCENARIOS))] = data
    return out


SHIPPED = _shipped()


def dump(data: Any) -> str:
    """YAML text of data; strings marked RAW are written as they are (impossible dates …)."""
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10_000)
    while RAW in text:  # the marked string is dumped quoted: replace the quotes and marker
        at = text.index(RAW)
        quote = text[at - 1]
        end = text.index(quote, at)
        raw = text[at + len(RAW) : end].replace("''", "'")
        text = text[: at - 1] + raw + text[end + 1 :]
    return text


def raw(text: str) -> str:
    return RAW + text


def paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every path into the data (keys and list indices), parents before children."""
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from paths(v, (*prefix, i))


def at(data: Any, path: tuple) -> Any:
    for p in path:
        data = data[p]
    return data


def dotted(path: tuple) -> str:
    return ".".join(str(p) for p in path)


# ---------------------------------------------------------------------------- mutations

Mutation = Callable[[random.Random, dict, Case], str]


def _pick(rng: random.Random, data: dict, leaf: bool | None = None) -> tuple:
    found = [p for p in paths(data) if p]
    if leaf is not None:
        found = [p for p in found if isinstance(at(data, p), dict | list) != leaf] or found
    return rng.choice(found)


def _value(rng: random.Random) -> Any:
    kind = rng.random()
    if kind < 0.3:
        return rng.choice(NUMBERS)
    if kind < 0.45:
        return raw(rng.choice(RAW_NUMBERS))
    if kind < 0.6:
        return raw(rng.choice(RAW_DATES))
    if kind < 0.8:
        return raw(rng.choice(RAW_OTHER))
    return copy.deepcopy(rng.choice(TYPED))


def delete_key(rng, data, case) -> str:
    path = _pick(rng, data)
    parent = at(data, path[:-1])
    del parent[path[-1]]
    return f"delete {dotted(path)}"


def rename_key(rng, data, case) -> str:
    path = _pick(rng, data)
    parent = at(data, path[:-1])
    if not isinstance(parent, dict):
        return retype(rng, data, case)
    old = path[-1]
    new = rng.choice(
        [
            f"{old}s",
            str(old).upper(),
            str(old)[:-1],
            rng.choice(WORDS),
            "".join(rng.choices(string.ascii_letters + "_-. é\u200b", k=rng.randint(1, 12))),
            "k" * rng.choice([100, 5000]),
            rng.choice([1, 2.5, True, None]),
        ]
    )
    parent[new] = parent.pop(old)
    return f"rename {dotted(path)} → {str(new)[:20]}"


def retype(rng, data, case) -> str:
    path = _pick(rng, data, leaf=rng.random() < 0.8)
    parent = at(data, path[:-1])
    value = _value(rng)
    parent[path[-1]] = value
    return f"set {dotted(path)} = {str(value)[:30]}"


def number(rng, data, case) -> str:
    found = [
        p
        for p in paths(data)
        if p and isinstance(at(data, p), int | float) and not isinstance(at(data, p), bool)
    ]
    if not found:
        return retype(rng, data, case)
    path = rng.choice(found)
    old = at(data, path)
    value = rng.choice(
        [*NUMBERS, -old, old * 1000, old + 1, raw(rng.choice(RAW_NUMBERS)), str(old), True]
    )
    at(data, path[:-1])[path[-1]] = value
    return f"number {dotted(path)} = {str(value)[:20]}"


def date(rng, data, case) -> str:
    found = [p for p in paths(data) if p and isinstance(at(data, p), dt.date)]
    if not found:
        return retype(rng, data, case)
    path = rng.choice(found)
    old = at(data, path)
    value = rng.choice(
        [
            raw(rng.choice(RAW_DATES)),
            old + dt.timedelta(days=rng.choice([-3650, -400, -1, 1, 400, 3650])),
            dt.date(9999, 12, 31),
            dt.date(1, 1, 1),
            dt.date(1900, 1, 1),
            str(old),
            old.year,
        ]
    )
    at(data, path[:-1])[path[-1]] = value
    return f"date {dotted(path)} = {value}"


def _layers(data: dict) -> dict | None:
    layers = data.get("map", {}).get("layers") if isinstance(data.get("map"), dict) else None
    return layers if isinstance(layers, dict) else None


def broken_map(rng, data, case) -> str:
    layers = _layers(data)
    if layers is None:
        spec = data.get("map", {}).get("generate") if isinstance(data.get("map"), dict) else None
        if not isinstance(spec, dict):
            return retype(rng, data, case)
        key = rng.choice([*spec, "area_km2", "depth_km", "border_km"])
        spec[key] = rng.choice([1e-9, 0.01, 1, 1000, 100_000, 1e6, raw(".nan"), -5, "wide"])
        if rng.random() < 0.3:
            data["map"]["cell_km"] = rng.choice([0.1, 0.01, 50, 1000])
        return f"generate.{key}"
    name = rng.choice([n for n in ("terrain", "owner", "homeland", "roads") if n in layers])
    text = layers[name] if isinstance(layers[name], str) else ""
    rows = text.strip("\n").split("\n")
    op = rng.choice(["ragged", "char", "rows", "empty", "huge", "legend", "file", "special"])
    if op == "ragged" and rows:
        i = rng.randrange(len(rows))
        rows[i] = rows[i][: rng.randrange(max(1, len(rows[i])))]
    elif op == "char" and rows:
        i = rng.randrange(len(rows))
        j = rng.randrange(max(1, len(rows[i])))
        rows[i] = rows[i][:j] + rng.choice("X?\t é\u200b#AD.fu~") + rows[i][j + 1 :]
    elif op == "rows":
        rows = rows[: rng.randrange(len(rows) + 1)] or rows + rows
    elif op == "empty":
        rows = [""]
    elif op == "huge":
        h, w = rng.choice([(200, 200), (201, 200), (1, 40_001), (300, 300)])
        fill = {"terrain": ".", "owner": "D", "homeland": "A", "roads": "#"}[name]
        rows = [fill * w] * h
    elif op == "legend":
        layers["legend"] = rng.choice(
            [{}, {".": "open"}, {".": "lava"}, {"..": "open"}, {"": "open"}, {".": None}]
        )
        return f"legend of {name}"
    elif op in ("file", "special"):
        content = "\n".join(rows) + "\n"
        special = (
            [FIFO, FOLDER, DEVICE, b"\xff\xfe", "", "A" * 2_000_000] if op == "special" else []
        )
        case.files[f"{name}.txt"] = rng.choice(special) if special else content
        layers[name] = {"file": f"{name}.txt"}
        if rng.random() < 0.1:
            layers[name] = {"file": rng.choice(["../x.txt", "/etc/hostname", "nope.txt", 5])}
        return f"layer {name} {op}"
    layers[name] = "\n".join(rows)
    return f"layer {name} {op}"


def _sweep(data: dict) -> dict:
    sweep = data.setdefault("sweep", {})
    if not isinstance(sweep, dict):
        data["sweep"] = sweep = {}
    params = sweep.setdefault("parameters", {})
    if not isinstance(params, dict):
        sweep["parameters"] = {}
    return sweep


SWEEP_PATHS = [
    "sides.attacker.tempo",
    "sides.defender.intelligence",
    "sides.defender.replacements",
    "sides.attacker.drone_range_km",
    "rules.breakthrough_ratio",
    "rules.support",
    "sides.attacker.kinds.{kind}.firepower",
    "sides.attacker.units.0.strength",
    "sides.attacker.units.0.count",
    "sides.attacker.reinforcements.{rf}.date",
    "sides.attacker.reinforcements.{rf}.men",
    "sides.attacker.reinforcements.{rf}.unit_strength",
    "sides.attacker.reinforcements.{rf}.cells.0.1",
    "sides.attacker.name",
    "sides.attacker.advance",
    "map.cell_km",
    "places.0.cell.0",
    "sides.attacker",
    "seed",
    "days",
    "sides.nope.tempo",
    "sides.attacker.tempo.0.value",
    "sides.defender.units.0.zone",
]


def _sweep_path(rng: random.Random, data: dict) -> str:
    attacker = data.get("sides", {}).get("attacker", {}) if isinstance(data, dict) else {}
    if not isinstance(attacker, dict):
        attacker = {}
    kinds = list(attacker.get("kinds") or {"infantry": 0}) if isinstance(attacker, dict) else []
    rfs = list(attacker.get("reinforcements") or {"second_echelon": 0})
    return rng.choice(SWEEP_PATHS).format(kind=rng.choice(kinds or ["x"]), rf=rng.choice(rfs))


def _levels(rng: random.Random) -> Any:
    return rng.choice(
        [
            [],
            [0.2],
            [0.2, 0.3, 0.5],
            [True, 0.3, 0.5],
            [0.2, "fast"],
            [0.1, raw("2025-01-02")],
            [raw("2024-09-28"), raw("2025-02-30")],
            [1, 2.5],
            [[0.1], [0.2]],
            [{"a": 1}],
            [None],
            [raw(".nan"), 0.2],
            [round(i / 1000, 4) for i in range(rng.choice([10, 1000, 5000]))],
            list(range(rng.choice([3, 100, 10_000, 100_000]))),
            {"from": raw(rng.choice(["2025-03-02", "2024-12-01", "2099-01-01"])), "values": [0.1]},
            {"range": [0.1, 0.3]},
            {"range": [0.3, 0.1]},
            {"range": [True, 0.5]},
            {"range": [raw("2025-01-10"), raw("2025-02-10")]},
            {"values": [0.1], "range": [0.1, 0.2]},
            {"values": []},
            {"from": "soon", "values": [0.1]},
            "0.3",
            0.3,
        ]
    )


def bad_sweep(rng, data, case) -> str:
    sweep = _sweep(data)
    params = sweep["parameters"]
    op = rng.random()
    if op < 0.6 or not params:
        name = _sweep_path(rng, data)
        params[name] = _levels(rng)
        what = f"sweep {name}"
    elif op < 0.75:
        sweep["design"] = rng.choice(["grid", "lhs", "sobol", "LHS", "random", None])
        what = f"design {sweep['design']}"
    elif op < 0.9:
        sweep["points"] = rng.choice([1, 3, 4, 64, 1024, 4096, 65536, 100_000, 0, -1, 2.5])
        what = f"points {sweep['points']}"
    else:
        sweep["replicates"] = rng.choice([0, 1, 10**6, 10**7, "many"])
        what = f"sweep.replicates {sweep['replicates']}"
    if rng.random() < 0.3:  # many axes
        for _ in range(rng.randint(2, 8)):
            params[_sweep_path(rng, data)] = [0.1, 0.2, 0.3, 0.4]
    return what


def huge(rng, data, case) -> str:
    sides = data.get("sides")
    side = sides.get(rng.choice(["attacker", "defender"])) if isinstance(sides, dict) else None
    if not isinstance(side, dict):
        data[rng.choice(["days", "replicates"])] = rng.choice([3650, 3651, 10**6, 10**9])
        return "huge top"
    op = rng.choice(["count", "reinforcements", "tiny", "days", "kinds", "units", "places"])
    units = side.get("units") if isinstance(side.get("units"), list) else []
    kind = next(iter(side.get("kinds") or {"x": 0}), "x")
    if op == "count" and units and isinstance(units[0], dict):
        units[0].update(count=rng.choice([10_000, 40_000, 10**6]), zone="front")
        units[0].pop("cells", None)
    elif op in ("reinforcements", "tiny"):
        n = rng.choice([1, 5, 20, 100])
        side["reinforcements"] = {
            f"w{i}": {
                "date": data.get("start", dt.date(2025, 1, 1)),
                "men": rng.choice([10**6, 999_999, 100_000]),
                "unit_strength": rng.choice([1, 0.5, 1e-9, 1.5]) if op == "tiny" else 500,
                "kind": kind,
            }
            for i in range(n)
        }
    elif op == "days":
        data["days"] = rng.choice([3650, 10**5])
        data["replicates"] = rng.choice([1, 10**6])
    elif op == "kinds":
        side["kinds"] = {f"k{i}": {} for i in range(rng.choice([100, 10_000]))}
    elif op == "places":
        data["places"] = [
            {"name": f"p{i}", "cell": [0, i % 10], "value": 1}
            for i in range(rng.choice([1000, 40_000]))
        ]
    else:
        side["units"] = [
            {"kind": kind, "strength": 100, "count": 10_000, "zone": "front"}
        ] * rng.choice([5, 50, 500])
    return f"huge {op}"


def special_base(rng, data, case) -> str:
    if "base" not in data:
        case.files[case.main] = rng.choice([FIFO, FOLDER, DEVICE, b"\xff" * 10, ""])
        return "scenario is special"
    choice = rng.choice([FIFO, FOLDER, DEVICE, "self", "base of base", "missing", "absolute", "x"])
    if choice == "self":
        data["base"] = Path(case.main).name
    elif choice == "base of base":
        case.files["b2.yaml"] = dump({"base": "case.yaml"})
        data["base"] = "b2.yaml"
    elif choice == "missing":
        data["base"] = "nope.yaml"
    elif choice == "absolute":
        data["base"] = "/dev/null.yaml"
    elif choice == "x":
        data["base"] = rng.choice([5, None, ["a.yaml"], "a.txt", "../" * 30 + "x.yaml"])
    else:
        case.files["special.yaml"] = choice
        data["base"] = "special.yaml"
    return f"base {choice!s:.20}"


def override(rng, data, case) -> str:
    flat = [p for p in paths(data) if p and not isinstance(at(data, p), dict)]
    path = rng.choice(flat) if flat and rng.random() < 0.8 else ("sides", "attacker", "x")
    if rng.random() < 0.2:
        path = (*path[:-1], rng.choice([*WORDS, "0", "²", "-1"]))
    value = rng.choice(
        [
            *RAW_DATES,
            *RAW_NUMBERS,
            *RAW_OTHER[:25],
            "0",
            "null",
            "",
            "[{from: 2025-01-05, value: 0.2}, {from: 2025-01-02, value: 0.3}]",
            "[1",
            "a: b: c",
            "---\n---",
            "&a [*a]",
        ]
    )
    case.sets.append(f"{dotted(path)}={value}")
    return f"--set {case.sets[-1][:40]}"


MUTATIONS: list[tuple[Mutation, float]] = [
    (delete_key, 2),
    (rename_key, 1.5),
    (retype, 3),
    (number, 3),
    (date, 1.5),
    (broken_map, 1.5),
    (bad_sweep, 2.5),
    (huge, 1),
    (special_base, 0.5),
    (override, 2),
]


def _text_damage(rng: random.Random, text: str) -> tuple[str, str]:
    op = rng.choice(["truncate", "junk", "dup", "indent"])
    lines = text.split("\n")
    i = rng.randrange(len(lines))
    if op == "truncate":
        return text[: rng.randrange(len(text) + 1)], "truncate"
    if op == "junk":
        at_ = rng.randrange(len(text) + 1)
        junk = rng.choice(["\t", "[", "{", ": ", "- ", "&a ", "*a", "\x00", "\ufeff", "? ", "|"])
        return text[:at_] + junk + text[at_:], f"junk {junk!r}"
    if op == "dup":
        lines.insert(i, lines[i])
    else:
        lines[i] = " " + lines[i]
    return "\n".join(lines), op


def make_case(seed: int) -> Case:
    """The case numbered `seed`: one shipped file, one to three mutations."""
    rng = random.Random(seed)
    name = rng.choice(sorted(SHIPPED))
    data = copy.deepcopy(SHIPPED[name])
    folder = Path(name).parent
    case = Case(label="", main=str(folder / "case.yaml"))
    labels = [name]
    if isinstance(data.get("base"), str):  # a study: its base where it says, as shipped
        base = os.path.normpath(folder / data["base"])
        case.files[base] = dump(SHIPPED[base])
    elif rng.random() < 0.3:  # a study made on the spot from this scenario
        case.files[str(folder / "scenario.yaml")] = dump(data)
        data = {"base": "scenario.yaml", "name": "fuzz", "sweep": {"parameters": {}}}
        bad_sweep(rng, data, case)
        labels.append("study")
    mutations, weights = zip(*MUTATIONS, strict=True)
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        try:
            labels.append(rng.choices(mutations, weights)[0](rng, data, case))
        except (KeyError, IndexError, TypeError, AttributeError, ValueError, OverflowError):
            labels.append("(mutation skipped)")
    if case.main not in case.files:
        text = dump(data)
        if rng.random() < 0.1:
            text, what = _text_damage(rng, text)
            labels.append(what)
        case.files[case.main] = text
    case.label = "; ".join(labels)
    return case


# ---------------------------------------------------------------------------- running


class Hang(Exception):
    """Raised by the alarm of the hang guard."""


@contextlib.contextmanager
def hang_guard(seconds: float) -> Iterator[None]:
    def alarm(*_):
        raise Hang(f"no answer in {seconds:g} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@contextlib.contextmanager
def memory_cap(extra_bytes: int) -> Iterator[None]:
    """Allocations beyond the current address space plus `extra_bytes` fail with MemoryError
    instead of calling the kernel's OOM killer onto a shared machine."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as f:
        size = int(f.read().split()[0]) * resource.getpagesize()
    cap = size + extra_bytes
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@dataclass
class Outcome:
    command: str
    code: int | None
    output: str
    seconds: float
    crash: str = ""  # the exception's type when it escaped


def invoke(args: list[str], seconds: float = HANG_SECONDS) -> Outcome:
    from click.testing import CliRunner

    from sim.cli import main

    start = time.perf_counter()
    try:
        with hang_guard(seconds):
            result = CliRunner().invoke(main, args)
    except Hang as exc:
        return Outcome(args[0], None, str(exc), time.perf_counter() - start, "Hang")
    crash = ""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        crash = type(result.exception).__name__
    return Outcome(args[0], result.exit_code, result.output, time.perf_counter() - start, crash)


def check_case(case: Case, folder: Path, seconds: float = HANG_SECONDS) -> list[Outcome]:
    """`sim validate` and `sim run --dry-run` on the case written into `folder`."""
    path = case.write(folder)
    sets = [a for s in case.sets for a in ("--set", s)]
    out = str(folder / "results")
    return [
        invoke(["validate", str(path), *sets], seconds),
        invoke(["run", str(path), "--dry-run", "--workers", "1", "--out", out, *sets], seconds),
    ]


def problems(case: Case, folder: Path, outcomes: list[Outcome]) -> list[str]:
    """What breaks the contract in these outcomes (empty if nothing)."""
    found = []
    files = [os.path.normpath(folder / rel) for rel in case.files]
    for o in outcomes:
        if o.crash or o.code not in (0, 2):
            found.append(f"{o.command}: crash {o.crash or o.code}: {o.output[-300:]}")
            continue
        if "Traceback" in o.output:
            found.append(f"{o.command}: traceback")
        if o.code == 2:
            lines = o.output.strip("\n").split("\n")
            line = lines[-1]
            if len(lines) != 1:
                found.append(f"{o.command}: {len(lines)} lines: {o.output[:300]!r}")
            named = [f for f in files if line.startswith(f"error: {f}")]
            if not (named or line.startswith("error: --set ")):
                found.append(f"{o.command}: names no file: {line[:200]}")
            ours = len(line) - len(max(named, key=len, default=""))  # the path is the user's
            if ours > MAX_LINE:
                found.append(f"{o.command}: {ours} characters besides the path: {line[:200]}…")
    validate, run = outcomes
    if validate.code != run.code:
        found.append(
            f"validate exits {validate.code}, run --dry-run {run.code}: {run.output[:200]}"
        )
    elif validate.code == 2 and validate.output != run.output:
        found.append(f"messages differ: {validate.output[:150]} | {run.output[:150]}")
    return found


def classify(outcomes: list[Outcome]) -> str:
    v, r = outcomes
    if v.crash == "Hang" or r.crash == "Hang":
        return "hang"
    if v.crash or r.crash or {v.code, r.code} - {0, 2}:
        return "crash"
    if v.code == 0 and r.code == 2:
        return "validate accepts, run refuses"
    if v.code == 2 and r.code == 0:
        return "validate refuses, run accepts"
    return "valid" if v.code == 0 else "refused"


def run_for_real(case: Case, folder: Path, seconds: float) -> Outcome:
    """A valid case run for real, small: 2 replicates of each design point."""
    path = folder / case.main
    sets = [a for s in case.sets for a in ("--set", s)]
    out = str(folder / "results")
    args = ["run", str(path), "--replicates", "2", "--workers", "1", "--quiet", "--out", out]
    return invoke([*args, *sets], seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0, help="first case number")
    parser.add_argument("--real", type=int, default=0, help="valid cases to run for real")
    parser.add_argument("--seconds", type=float, default=HANG_SECONDS, help="hang guard")
    parser.add_argument("--keep", type=Path, help="copy failing cases into this folder")
    parser.add_argument("--memory-gb", type=float, default=8.0, help="address space cap")
    args = parser.parse_args(argv)
    tally: Counter[str] = Counter()
    causes: Counter[str] = Counter()
    slow: list[tuple[float, float, int, str]] = []
    valid: list[int] = []
    start = time.perf_counter()
    with memory_cap(int(args.memory_gb * 2**30)):
        for n in range(args.seed, args.seed + args.cases):
            case = make_case(n)
            with tempfile.TemporaryDirectory() as tmp:
                outcomes = check_case(case, Path(tmp), args.seconds)
                kind = classify(outcomes)
                tally[kind] += 1
                found = problems(case, Path(tmp), outcomes)
                slow.append((outcomes[0].seconds, outcomes[1].seconds, n, case.label))
                if kind == "valid":
                    valid.append(n)
                if found:
                    for f in found:
                        causes[_cause(f)] += 1
                    print(f"case {n} [{case.label}]: " + " | ".join(found)[:600], flush=True)
                    if args.keep:
                        shutil.copytree(tmp, args.keep / f"case-{n}", symlinks=True)
    total = time.perf_counter() - start
    print(f"\n{args.cases} cases in {total:.0f} s: {dict(tally)}")
    print("problems by cause:", json.dumps(causes.most_common(), ensure_ascii=False, indent=1))
    for i, command in enumerate(("validate", "run --dry-run")):
        print(f"slowest {command}:")
        for row in sorted(slow, key=lambda r: -r[i])[:5]:
            print(f"  {row[i]:.1f} s case {row[2]}: {row[3][:110]}")
    if args.real:
        _real(valid, args)
    return 1 if causes else 0


def _cause(problem: str) -> str:
    text = problem.split(": ", 1)[-1]
    for line in reversed(text.strip().split("\n")):
        if "Error" in line or "Hang" in line:
            return line.strip()[:120]
    return text[:80]


def _real(valid: list[int], args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    sample = rng.sample(valid, min(args.real, len(valid)))
    tally: Counter[str] = Counter()
    with memory_cap(int(args.memory_gb * 2**30)):
        for n in sample:
            case = make_case(n)
            with tempfile.TemporaryDirectory() as tmp:
                case.write(Path(tmp))
                o = run_for_real(case, Path(tmp), args.seconds * 5)
                kind = "ran" if o.code == 0 and not o.crash else o.crash or "refused"
                tally[kind] += 1
                if kind != "ran":  # validate accepted it: a refusal breaks the contract too
                    print(f"real run of case {n} [{case.label}]: {kind} {o.output[-400:]}")
    print(f"{len(sample)} valid cases run for real: {dict(tally)}")


if __name__ == "__main__":
    raise SystemExit(main())
