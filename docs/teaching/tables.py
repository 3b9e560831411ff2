"""The numbers the lessons quote, computed the way the app computes them, written into them.

    python docs/teaching/tables.py            # recompute every table, rewrite the lessons
    python docs/teaching/tables.py --check    # exit 1, naming the table, if one is out of date

A row of a table is one step of a lesson: the app's model (`sim.app.ClassroomModel`) with the
sliders that step sets, its Monte Carlo of `RUNS` runs (`monte_carlo`: the code of the app's
Run button) and the cells of the table the app's Monte Carlo panel then shows. So a class that
follows a lesson in the app reads the same numbers as the lesson. A table sits in its lesson
between `<!-- tables.py: NAME -->` and `<!-- /tables.py -->`; nothing else is touched.
The engines' rules change, and the numbers with them: rerun this after any change to them.
"""

from __future__ import annotations

import argparse
import re
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the repository's `sim`
warnings.filterwarnings("ignore", module="solara.validate_hooks")  # a hook check inside Mesa

from sim.app import RUNS, ClassroomModel, Line  # noqa: E402

HERE = Path(__file__).resolve().parent
CLASSROOM = ROOT / "scenarios" / "classroom_small.yaml"
KURSK = ROOT / "scenarios" / "kursk_2024.yaml"
END = "<!-- /tables.py -->"


@dataclass(frozen=True)
class Row:
    """One setting of a lesson: its label and the sliders it moves (keyword arguments of
    ClassroomModel, by the app's slider names; none: the scenario as written)."""

    label: str
    sliders: dict[str, float | int] = field(default_factory=dict)


@dataclass(frozen=True)
class Table:
    """A lesson's table: which of the app's Monte Carlo rows it quotes (by how their text
    starts), for which settings."""

    name: str
    lesson: str
    scenario: Path
    setting: str  # the first column's heading
    columns: tuple[str, ...]
    rows: tuple[Row, ...]

    @property
    def path(self) -> Path:
        return HERE / self.lesson


TABLES = (
    Table(
        "tempo",
        "lesson1_tempo.md",
        CLASSROOM,
        "Red tempo",
        ("end of 2025-01-31", "end of 2025-03-01", "end of 2025-04-30", "Red men", "Blue men"),
        tuple(Row(f"{t}", {"attacker_tempo": t}) for t in (0.1, 0.2, 0.3, 0.45, 0.6)),
    ),
    Table(
        "pause",
        "lesson2_intelligence.md",
        KURSK,
        "setting",
        (
            "end of 2025-02-28",
            "end of 2025-03-15",
            "end of 2025-03-31",
            "P(hold ≥ 100 km² on 2025-03-31)",
        ),
        (
            Row("as in the scenario (pause 5–11 March)"),
            Row("no pause (*Ukraine intel in pause* 0.8)", {"pause_intelligence": 0.8}),
            Row(
                "deep pause to the end (0.1 for 57 days)",
                {"pause_intelligence": 0.1, "pause_days": 57},
            ),
            Row("*Russia tempo × schedule* 0.6", {"attacker_tempo": 0.6}),
            Row("*Russia tempo × schedule* 1.4", {"attacker_tempo": 1.4}),
        ),
    ),
    Table(
        "contingent",
        "lesson3_reinforcements.md",
        KURSK,
        "setting",
        (
            "end of 2024-12-31",
            "end of 2025-02-28",
            "end of 2025-03-31",
            "P(hold ≥ 400 km² on 2025-02-28)",
            "P(hold ≥ 100 km² on 2025-03-31)",
        ),
        (
            Row("as in the scenario (12,000 men from day 62, 28 Oct)"),
            Row("no contingent (men 0)", {"reinforcement_men": 0}),
            Row("a month earlier (day 32, 28 Sep)", {"reinforcement_day": 32}),
            Row("two months later (day 123, 28 Dec)", {"reinforcement_day": 123}),
            Row("twice as many (24,000 men)", {"reinforcement_men": 24000}),
        ),
    ),
)


def _key(scenario: Path, row: Row) -> tuple:
    return scenario, tuple(sorted(row.sliders.items()))


def monte_carlo(scenario: Path, row: Row, cache: dict | None = None) -> list[Line]:
    """The app's Monte Carlo table for one setting (each setting computed once per cache)."""
    cache = {} if cache is None else cache
    key = _key(scenario, row)
    if key not in cache:
        cache[key] = ClassroomModel(scenario=str(scenario), **row.sliders).monte_carlo(RUNS)
    return cache[key]


def quoted(table: Table, lines: list[Line]) -> list[Line]:
    """The app's rows the table quotes, in its column order; exactly one per column."""
    out = []
    for start in table.columns:
        found = [line for line in lines if line.what.startswith(start)]
        if len(found) != 1:
            raise ValueError(f"{table.name}: {len(found)} rows of the app start with {start!r}")
        out += found
    return out


def markdown(table: Table, cache: dict | None = None) -> str:
    """The table as the lesson shows it: a row per setting, the app's rows as columns."""
    rows = [quoted(table, monte_carlo(table.scenario, row, cache)) for row in table.rows]
    head = [table.setting, *(line.what for line in rows[0])]
    text = [_row(head), _row(["---"] * len(head))]
    text += [_row([row.label, *(line.cell() for line in lines)]) for row, lines in zip(
        table.rows, rows, strict=True)]  # fmt: skip
    return "\n".join(text)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _span(name: str) -> re.Pattern:
    return re.compile(rf"(<!-- tables\.py: {re.escape(name)} -->)(.*?)({re.escape(END)})", re.S)


def written(table: Table) -> str:
    """The table as it stands in its lesson now."""
    found = _span(table.name).search(table.path.read_text(encoding="utf-8"))
    if not found:
        raise ValueError(f"{table.path}: no <!-- tables.py: {table.name} --> … {END}")
    return found.group(2).strip("\n")


def parse(text: str) -> dict[str, dict[str, str]]:
    """A written table as {setting label: {column heading: cell}} (what the tests compare
    with the app's own table)."""
    lines = [[c.strip() for c in line.strip().strip("|").split("|")] for line in text.splitlines()]
    head, *body = [cells for cells in lines if cells and set(cells[0]) != {"-"}]
    return {cells[0]: dict(zip(head[1:], cells[1:], strict=True)) for cells in body}


def rewrite(table: Table, text: str) -> bool:
    """Put a table into its lesson; True when that changed the file."""
    old = table.path.read_text(encoding="utf-8")
    written(table)  # the markers must be there
    new = _span(table.name).sub(lambda m: f"{m.group(1)}\n{text}\n{m.group(3)}", old)
    if new != old:
        table.path.write_text(new, encoding="utf-8")
    return new != old


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    check = args.parse_args(argv).check
    cache: dict = {}
    stale = []
    for table in TABLES:
        text = markdown(table, cache)
        if check and text != written(table):
            stale.append(table)
        elif not check and rewrite(table, text):
            print(f"rewrote {table.path.relative_to(ROOT)} ({table.name})")
    for table in stale:
        print(
            f"{table.path.relative_to(ROOT)}: table {table.name!r} is out of date", file=sys.stderr
        )
    if stale:
        print("run: python docs/teaching/tables.py", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
