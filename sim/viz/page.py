"""Self-contained HTML pages: plotly.js embedded once, every piece of user text escaped."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import Any

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
class Script:
    """Our own JavaScript, run once its figure is drawn and the page parsed. `code` is a
    constant of this package, never user text; it sees the figure's div as `plot`, and `data`
    as `data` (written as HTML-safe JSON, so no string in it can end the script)."""

    code: str
    data: Any = None


@dataclass(frozen=True)
class Beside:
    """A main block with a scrolling side panel to its right (e.g. a map and its log); the
    script, if any, runs after the main figure is drawn (e.g. to make the log follow it)."""

    main: go.Figure | Table
    side: Table
    script: Script | None = None


Block = go.Figure | Table | Heading | Beside

# The viewport line makes a phone lay the page out at its own width instead of 980 px
# scaled down; below 800 px the side panel goes under its figure.
VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'
STYLE = """body{font-family:system-ui,sans-serif;max-width:1500px;margin:2em auto;color:#222;
padding:0 1em}table{border-collapse:collapse;margin:1em 0}caption{text-align:left;
font-weight:600;padding:.4em 0}th,td{padding:.3em .8em;border-bottom:1px solid #ddd;
text-align:left;vertical-align:top}.meta{color:#555;font-size:.9em}.desc{white-space:pre-wrap}
.figure{margin:1.5em 0}.wide{overflow-x:auto}.beside{display:grid;
grid-template-columns:minmax(0,1fr) 340px;gap:1em;align-items:start}
.beside>.side{max-height:720px;overflow-y:auto;font-size:.85em;position:relative}
tr.later td{color:#aaa}tr.now td{background:#fff3c4}.side tbody tr{cursor:pointer}
@media (max-width:800px){.beside{grid-template-columns:minmax(0,1fr)}
.beside>.side{max-height:420px}body{margin:1em auto}h1{font-size:1.5em}}"""


def safe_json(data: Any) -> str:
    """JSON that cannot close a <script> or open a comment, and holds no `{plot_id}` for
    plotly to rewrite: <, > and & (found only inside strings) and the brace of a `{plot_id}`
    in a string become \\u escapes."""
    text = json.dumps(data)  # ASCII only: no line separator can end a JS string either
    for ch, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(ch, code)
    return text.replace("{plot_id}", "\\u007bplot_id}")


def _table(t: Table) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in t.header)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in t.rows)
    return (
        f'<div class="wide"><table><caption>{esc(t.caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _post_script(script: Script | None) -> str | None:
    if script is None:
        return None
    run = (  # once the whole page is parsed: the script may reach past its figure
        f"function () {{ (function (plot, data) {{\n{script.code}\n}})"
        f"(document.getElementById('{{plot_id}}'), {safe_json(script.data)}); }}"
    )
    return (
        f"var run = {run};\n"
        'if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);'
        "\nelse run();"
    )


def _figure(fig: go.Figure, with_js: bool, script: Script | None = None) -> str:
    body = fig.to_html(
        full_html=False,
        include_plotlyjs=with_js,
        default_width="100%",
        default_height="540px",
        config={"displaylogo": False, "responsive": True},
        auto_play=False,  # an animation starts on its play button
        post_script=_post_script(script),
    )
    return f'<div class="figure">{body}</div>'


def page(title: str, description: str, meta: dict[str, str], blocks: list[Block]) -> str:
    """A full HTML page of tables, headings and figures, in order; plotly.js goes into the
    first figure only."""
    esc = html.escape
    parts, first = [], True

    def one(b: go.Figure | Table, script: Script | None = None) -> str:
        nonlocal first
        if isinstance(b, Table):
            return _table(b)
        out, first = _figure(b, first, script), False
        return out

    for b in blocks:
        if isinstance(b, Heading):
            parts.append(f"<h2>{esc(b.text)}</h2>")
        elif isinstance(b, Beside):
            parts.append(
                f'<div class="beside"><div class="main">{one(b.main, b.script)}</div>'
                f'<div class="side">{one(b.side)}</div></div>'
            )
        else:
            parts.append(one(b))
    meta_html = " · ".join(f"{esc(k)}: {esc(str(v))}" for k, v in meta.items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">{VIEWPORT}<title>{esc(title)}</title>
<style>{STYLE}</style></head>
<body><h1>{esc(title)}</h1><p class="desc">{esc(description)}</p>
<p class="meta">{meta_html}</p>{"".join(parts)}</body></html>"""
