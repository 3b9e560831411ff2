"""Self-contained HTML pages: plotly.js embedded once, every piece of user text escaped."""

from __future__ import annotations

import html
from dataclasses import dataclass

import plotly.graph_objects as go


@dataclass(frozen=True)
class Table:
    caption: str
    header: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Beside:
    """A main block with a scrolling side panel to its right (e.g. a map and its log)."""

    main: go.Figure | Table
    side: Table


Block = go.Figure | Table | Heading | Beside

STYLE = """body{font-family:system-ui,sans-serif;max-width:1500px;margin:2em auto;color:#222;
padding:0 1em}table{border-collapse:collapse;margin:1em 0}caption{text-align:left;
font-weight:600;padding:.4em 0}th,td{padding:.3em .8em;border-bottom:1px solid #ddd;
text-align:left;vertical-align:top}.meta{color:#555;font-size:.9em}.desc{white-space:pre-wrap}
.figure{margin:1.5em 0}.beside{display:grid;grid-template-columns:minmax(0,1fr) 340px;
gap:1em;align-items:start}.beside>.side{max-height:680px;overflow-y:auto;font-size:.85em}"""


def _table(t: Table) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in t.header)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in t.rows)
    return f"<table><caption>{esc(t.caption)}</caption><tr>{head}</tr>{body}</table>"


def _figure(fig: go.Figure, with_js: bool) -> str:
    body = fig.to_html(
        full_html=False,
        include_plotlyjs=with_js,
        default_width="100%",
        default_height="540px",
        config={"displaylogo": False, "responsive": True},
        auto_play=False,  # an animation starts on its play button
    )
    return f'<div class="figure">{body}</div>'


def page(title: str, description: str, meta: dict[str, str], blocks: list[Block]) -> str:
    """A full HTML page of tables, headings and figures, in order; plotly.js goes into the
    first figure only."""
    esc = html.escape
    parts, first = [], True

    def one(b: go.Figure | Table) -> str:
        nonlocal first
        if isinstance(b, Table):
            return _table(b)
        out, first = _figure(b, first), False
        return out

    for b in blocks:
        if isinstance(b, Heading):
            parts.append(f"<h2>{esc(b.text)}</h2>")
        elif isinstance(b, Beside):
            parts.append(
                f'<div class="beside"><div class="main">{one(b.main)}</div>'
                f'<div class="side">{one(b.side)}</div></div>'
            )
        else:
            parts.append(one(b))
    meta_html = " · ".join(f"{esc(k)}: {esc(str(v))}" for k, v in meta.items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>{STYLE}</style></head>
<body><h1>{esc(title)}</h1><p class="desc">{esc(description)}</p>
<p class="meta">{meta_html}</p>{"".join(parts)}</body></html>"""
