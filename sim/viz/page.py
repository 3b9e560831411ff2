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


Block = go.Figure | Table | Heading

STYLE = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;color:#222;
padding:0 1em}table{border-collapse:collapse;margin:1em 0}caption{text-align:left;
font-weight:600;padding:.4em 0}th,td{padding:.3em .8em;border-bottom:1px solid #ddd;
text-align:left;vertical-align:top}.meta{color:#555;font-size:.9em}.desc{white-space:pre-wrap}
.figure{margin:1.5em 0}"""


def _table(t: Table) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in t.header)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in t.rows)
    return f"<table><caption>{esc(t.caption)}</caption><tr>{head}</tr>{body}</table>"


def page(title: str, description: str, meta: dict[str, str], blocks: list[Block]) -> str:
    """A full HTML page of tables, headings and figures, in order."""
    esc = html.escape
    parts, first = [], True
    for b in blocks:
        if isinstance(b, Table):
            parts.append(_table(b))
        elif isinstance(b, Heading):
            parts.append(f"<h2>{esc(b.text)}</h2>")
        else:
            body = b.to_html(
                full_html=False,
                include_plotlyjs=first,
                default_width="100%",
                default_height="540px",
                config={"displaylogo": False},
                auto_play=False,  # an animation starts on its play button
            )
            parts.append(f'<div class="figure">{body}</div>')
            first = False
    meta_html = " · ".join(f"{esc(k)}: {esc(str(v))}" for k, v in meta.items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>{STYLE}</style></head>
<body><h1>{esc(title)}</h1><p class="desc">{esc(description)}</p>
<p class="meta">{meta_html}</p>{"".join(parts)}</body></html>"""
