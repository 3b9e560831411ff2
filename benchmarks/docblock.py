"""Figures written into the docs by the script that computes them: the text between
`<!-- NAME:begin -->` and `<!-- NAME:end -->` in a Markdown file is replaced."""

from __future__ import annotations

from pathlib import Path


def write(path: Path, name: str, text: str) -> None:
    doc = path.read_text(encoding="utf-8")
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    head, found, rest = doc.partition(begin)
    if not found or end not in rest:
        raise SystemExit(f"{path} has no {begin} … {end} block")
    _, _, tail = rest.partition(end)
    path.write_text(f"{head}{begin}\n{text.strip()}\n{end}{tail}", encoding="utf-8")
    print(f"wrote {name} into {path}")
