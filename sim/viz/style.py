"""One look for every chart: a colour-blind-safe palette (Okabe–Ito), one set of labels with
their units, and one layout."""

from __future__ import annotations

import colorsys

import plotly.graph_objects as go

# Okabe–Ito without its black, kept for the observed figures, and with its pale yellow last:
# a thin yellow line is the hardest to see on white.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")
# Then Paul Tol's dark and muted colours, so a chart of up to 17 series never repeats one.
EXTRA = (
    "#332288",
    "#882255",
    "#999933",
    "#117733",
    "#8C510A",
    "#AA4499",
    "#44AA99",
    "#88CCEE",
    "#DDCC77",
    "#CC6677",
)
OBSERVED = "#000000"
ATTACKER, DEFENDER = "#D55E00", "#0072B2"  # owner colours on maps: vermillion and blue
TERRITORY = "Territory held by the defender (km²)"
DIFFERENCE = "Difference in territory held (km²)"
HOLDING = "P(defender still holds the salient)"
DATE = "Date"


def colour(i: int) -> str:
    """The i-th series colour, never the observed figures' black and never one an earlier
    index had (checked for the first 500): two curves of one chart must not look alike."""
    named = PALETTE + EXTRA
    if i < len(named):
        return named[i]
    k = i - len(named)  # beyond the named ones: golden-angle hues at three lightnesses
    r, g, b = colorsys.hls_to_rgb((k * 0.618034) % 1, (0.35, 0.5, 0.65)[k % 3], 0.75)
    return f"#{round(r * 255):02X}{round(g * 255):02X}{round(b * 255):02X}"


def rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def finish(fig: go.Figure, title: str, y: str, x: str = DATE, **layout) -> go.Figure:
    fig.update_layout(
        title=title,
        xaxis_title=x,
        yaxis_title=y,
        template="plotly_white",
        legend={"orientation": "h", "y": -0.2},
        **layout,
    )
    return fig


def short_labels(paths: list[str]) -> dict[str, str]:
    """The shortest tail of each dotted path that no other path shares ('attacker.tempo' and
    'defender.tempo', not 'tempo' twice), for legends and table headers."""
    out = {}
    for p in paths:
        parts = p.split(".")
        for n in range(1, len(parts) + 1):
            tail = ".".join(parts[-n:])
            if all(not q.endswith("." + tail) and q != tail for q in paths if q != p):
                break
        out[p] = tail
    return out
