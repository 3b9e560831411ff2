"""The scenarios that ship with Salient, found in a checkout and in an installed package alike.

A checkout (or an editable install) has them in the repository's `scenarios/`; `pip install .`
copies the same files into the package as `sim/scenarios/` (pyproject.toml's package data).
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent
PLACES = (_HERE.parent.parent / "scenarios", _HERE.parent / "scenarios")  # tree, package


def folder() -> Path:
    """The folder of the shipped scenarios."""
    for place in PLACES:
        if (place / "classroom_small.yaml").is_file():
            return place
    raise FileNotFoundError("the shipped scenarios are missing from this installation")


def find(name: str | Path) -> Path:
    """A scenario file: `name` itself when it exists, else the shipped scenario of that name
    (`kursk_2024` or `kursk_2024.yaml`, `studies/classroom_tempo_intel`)."""
    path = Path(name)
    if path.exists():
        return path
    stem = path.with_suffix("") if path.suffix in (".yaml", ".yml") else path
    try:
        shipped = folder() / stem.with_suffix(".yaml")
    except FileNotFoundError:
        return path
    return shipped if not path.is_absolute() and shipped.is_file() else path
