"""Rerun every validation case and rewrite docs/validation.md with the figures it measures,
and the Kursk sensitivity table of docs/model.md.

Nothing in docs/validation.md is typed by hand: the text around the figures lives here, the
figures come from sim.analysis.validation. In docs/model.md only the block between
`<!-- validate.py: kursk-study -->` and `<!-- /validate.py -->` is rewritten. The fast cases
are also tests (tests/test_validation.py); this script runs them all at full size.

    python benchmarks/validate.py            # about 4 minutes on a 2-core machine
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from sim import __version__
from sim.analysis import validation as v
from sim.model import RULEBOOK

ROOT = Path(__file__).parent.parent
OUT = ROOT / "docs" / "validation.md"
MODEL = ROOT / "docs" / "model.md"
STUDY = "<!-- validate.py: kursk-study -->"
STUDY_END = "<!-- /validate.py -->"
FAST = (  # the drawn duel at rates where the exact chances of the drawn process are needed
    "sides.attacker.kinds.soldier.fires=0.04", "sides.defender.kinds.soldier.fires=0.05",
    "rules.fire_substeps=1", "days=60", "seed=1",
)  # fmt: skip


def markdown_table(columns: list[str], rows: list[str]) -> str:
    """A Markdown table: the header of `columns`, its rule, then the formatted `rows`."""
    return "\n".join(["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns), *rows])


def pct(x: float) -> str:
    return f"{100 * x:.2f} %"


def laws() -> str:
    rows = []
    for name in ("square_law", "linear_law"):
        for scale in (1, 10):
            for steps in (1, 10):
                c = v.law_check(name, steps, scale)
                end = (
                    f"{c.end_day:.0f} (exact {c.exact_end_day:.1f})"
                    if c.end_day is not None
                    else "–"
                )
                kept = (
                    f"{c.survivors:,.0f} (exact {c.exact_survivors:,.0f})"
                    if c.survivors is not None
                    else "–"
                )
                rows.append(
                    f"| {c.law} | ×{scale} | {steps} | {c.days} | {pct(c.max_error)} | {end} "
                    f"| {kept} |"
                )
    columns = ["law", "rates", "fire sub-steps a day", "days compared"]
    columns += ["largest error of a side's total", "day the loser has no men left"]
    return markdown_table([*columns, "the winner's men then"], rows)


def duels() -> str:
    rows = []
    cases = [(n, None, "continuous", ()) for n in ("duel_20v15", "duel_30v30")]
    cases.append(("duel_20v15", 4000, "drawn", FAST))
    for name, reps, exact, overrides in cases:
        c = v.duel_check(name, reps, exact, overrides)
        what = (
            "continuous-time Markov chain (small rates, 8 sub-steps)"
            if exact == "continuous"
            else "the drawn process itself (5× the rates, 1 step a day)"
        )
        rows.append(
            f"| {name.split('_')[1]} | {what} | {c.replicates:,} "
            f"| {c.model.a_wins:.4f} / {c.exact.a_wins:.4f} ({c.z[0]:+.2f}) "
            f"| {c.model.a_survivors:.3f} / {c.exact.a_survivors:.3f} ({c.z[1]:+.2f}) "
            f"| {c.model.d_survivors:.3f} / {c.exact.d_survivors:.3f} ({c.z[2]:+.2f}) "
            f"| {pct(c.unfinished)} |"
        )
    columns = ["duel", "exact value of", "runs", "P(A wins): model / exact (z)"]
    return markdown_table(
        [*columns, "E[A left]", "E[D left]", "runs still fighting at the end"], rows
    )


def iwo() -> tuple[str, v.IwoCheck]:
    c = v.iwo_jima(200)
    rows = [
        f"| {int(r.day)} | {r.record:,.0f} | {r.engel:,.0f} | {r.model:,.0f} "
        f"| {r.q10:,.0f}–{r.q90:,.0f} |"
        for r in c.days.itertuples()
        if r.day in (1, 2, 3, 4, 5, 6, 7, 10, 15, 20, 25, 30, 35)
    ]
    columns = ["day", "record: US active", "Engel's fit", "model: median", "model: 80 % band"]
    return markdown_table(columns, rows), c


def observed_spread() -> float:
    """The largest gap between two sources' figures for one date in Kursk's observations."""
    from sim.scenario.load import load

    by_date: dict[dt.date, list[float]] = {}
    for o in load(ROOT / "scenarios" / "kursk_2024.yaml").scenario.observed:
        by_date.setdefault(o.date, []).append(o.km2)
    return max(max(x) - min(x) for x in by_date.values())


def kursk() -> v.KurskCheck:
    return v.kursk(200)


def kursk_maps(maps) -> str:
    """The spatial scores on the last map of each month and of the window."""
    last = maps.groupby(maps["date"].dt.to_period("M")).tail(1)
    rows = [
        f"| {r.date:%Y-%m-%d} | {r[4]:,} | {r[3]:,.0f} | {r[5]:.2f} | {r[6]:.2f} | {r[7]:.3f} |"
        for r in last.itertuples()
    ]
    columns = ["map of", "DeepState's cells", "model's cells (mean)", "share right", "IoU"]
    return markdown_table([*columns, "Brier"], rows)


def culmination() -> str:
    table = v.culmination()
    rows = [f"| {r.tempo:g} | {r[2]:.0f} | {r[3]:.0f} |" for r in table.itertuples()]
    columns = ["attacker tempo", "mean km² held on day 120", "the same, no fatigue per assault"]
    return markdown_table(columns, rows)


def front() -> tuple[str, float]:
    """The table of section 6, and how many times faster a held front gives way with pursuit
    than without (days 1–20)."""
    table = v.front()
    held = table[table.front == "held"].set_index("pursuit")["cells/day, days 1–20"]
    rows = [
        f"| {r.front} | {'on' if r.pursuit else 'off'} | {r[3]:.2f} | {r[4]:.2f} |"
        for r in table.itertuples()
    ]
    columns = ["front", "pursuit", "cells a day, days 1–5", "cells a day, days 1–20"]
    return markdown_table(columns, rows), float(held[True] / held[False])


def march() -> str:
    table = v.march()
    rows = [
        f"| {r.ground} | {r.cost:g} | {r.speed:g} | {r.exact:.3f} | {r.model:.3f} | {r.z:+.2f} |"
        for r in table.itertuples()
    ]
    columns = ["ground", "cost", "speed (cells a day)", "exact pace, speed / cost", "model", "z"]
    return markdown_table(columns, rows)


def channels() -> str:
    table = v.kursk_channels()
    rows = [
        f"| {r.setting} | {r[2]:,.0f} | {r[4]:+,.0f} | {r[3]:,.0f} | {r[5]:+,.0f} |"
        for r in table.itertuples()
    ]
    return markdown_table(["setting", "2025-02-28 km²", "Δ", "2025-03-15 km²", "Δ"], rows)


def page() -> str:
    culmination_table = culmination()
    channels_table = channels()
    march_table = march()
    front_table, held_ratio = front()
    law_table, duel_table = laws(), duels()
    iwo_table, i = iwo()
    k = kursk()
    maps_table = kursk_maps(k.maps)
    secured = f"day {i.secured_day:.0f}" if i.secured_day <= 45 else "not by day 45"
    spread = observed_spread()
    start = dt.date(2024, 8, 27)
    sudzha = (
        f"{start + dt.timedelta(days=int(k.sudzha_day))} (median day {k.sudzha_day:.0f})"
        if k.sudzha_day is not None
        else "not in most runs"
    )
    return f"""# Validation

The model held to what it claims to reproduce: Lanchester's laws in closed form, the stochastic
square law exactly, the record of Iwo Jima, and the Kursk salient inside and after its
calibration window. **Every figure on this page is written by `python benchmarks/validate.py`**
(rulebook {RULEBOOK}, salient {__version__}); the cases are the scenarios of
`scenarios/validation/`, the checks are `sim/analysis/validation.py`, and the fast ones are
tests (`tests/test_validation.py`). Where the model misses, this page says so.

## 1. Lanchester's laws in closed form, and the daily time step

Two forces of eight units (600 and 500 men) fire across the map at each other, every other
effect neutral, casualties at their expectation (`deterministic: true`):
`scenarios/validation/square_law.yaml` (aimed fire: dA/dt = −a·D, dD/dt = −b·A with a = 0.01
and b = 0.008 men per enemy man a day) and `linear_law.yaml` (area fire: dA/dt = −a·A·D). The
model steps its fire once a day — forward Euler — or in `rules.fire_substeps` steps. Errors are
of each side's total against the closed form (`sim/analysis/lanchester.py`), over the days the
loser keeps at least 10 % of its men; ×10 multiplies both rates by ten (a fast, bloody fight).

{law_table}

The daily step is Euler's: its error grows with the rates and ten sub-steps divide it by about
ten. At the rates of the shipped scenarios' positional fire (a few men in a thousand a day) a
daily step will do; a fight ten times as bloody needs `fire_substeps`.

## 2. The stochastic square law

Soldier-sized units — one man each — fire aimed fire at every enemy soldier they see;
casualties are drawn, each man lost with his share of the enemy's fire as his chance
(`scenarios/validation/duel_20v15.yaml`, `duel_30v30.yaml`, unequal rates). The exact chances
of the stochastic square law (a continuous-time Markov chain on whole men) come from dynamic
programming over its jump chain (`lanchester.stochastic_square_law`); with small daily rates
and eight fire sub-steps a day the model's daily process approximates that chain. The last row
compares the model with the exact chances of its own drawn process
(`lanchester.drawn_square_law`, which steps the distribution of the model's binomial draws),
which holds for any rates: a check of the sampler and the fire sharing themselves. Each cell:
model / exact (z, in standard errors of the model's mean).

{duel_table}

Target: every checked value within 3 standard errors of the exact one.

## 3. Iwo Jima (Engel 1954)

`scenarios/validation/iwo_jima.yaml`: the island on 0.4 km cells (137 land cells, ~22 km²) with
the sea impassable, landings of 54,000 men on day 1, 6,000 on day 3 and 13,000 on day 6 at the
beaches (a supply source from the landing), 21,500 defenders in prepared positions supplied
from their caves, 36 days of record and nine more. The fire coefficients, the US assault power
and tempo and the breakthrough ratio are fitted to the record by
`benchmarks/fit_iwo_jima.py` — as Engel fitted his two coefficients — and written in the
scenario; the rules are the general ones. The record is US active troops (landed − cumulative
casualties; Morehouse, via Engel; `scenarios/data/iwo_jima_record.csv`), compared with the
median of 200 runs:

{iwo_table}

- RMSE over days 1–35: **{i.rmse:,.0f} men** (bias {i.bias:+,.0f}); Engel's own two-coefficient
  fit of the square law: {i.engel_rmse:,.0f} men. Target ≤ 1,500.
- The island is secured (below 5 % held) on **{secured}** in the median run (record: day 36;
  target: between day 26 and day 40).
- {100 * i.japanese_fire_share:.0f} % of the garrison's losses are to fire and
  {100 - 100 * i.japanese_fire_share:.0f} % to units overrun with nowhere to break out to (under
  the first rulebook, with no positional fire, up to 90 % were overrun).

## 4. Kursk

`scenarios/kursk_2024.yaml`, fitted by `benchmarks/fit_kursk.py` on the territory observed up
to **2025-02-28 only** (the Russian tempo steps inside the window, the intensity Russia
presses the positional fighting with, both sides' replacements and the share of deliveries
drones take per km of route — which the territory curve hardly identifies: the fit leaves it
near its start); the step of 2025-03-06 and everything after the window are not fitted. The
rules include pursuit, drones on supply routes (deliveries, replacements and arriving men),
movement costs, and Russia's three axes of effort, on which Ukraine reads the build-up with its
intelligence (docs/model.md, sections 7.5b, 7.2b, 7.6, 7.2 and 10.1).

- Fit: RMSE **{k.window_rmse:.0f} km²** (bias {k.window_bias:+.0f}) of the median against the
  {k.observations} observations up to 2025-02-28 — which disagree among themselves by up to
  {spread:,.0f} km² on one date.
- Out of sample: on 2025-03-06 the model holds {k.march_6[0]:,.0f} km² (80 %:
  {k.march_6[1]:,.0f}–{k.march_6[2]:,.0f}; reported: about 300 km², "a 115-square-mile
  salient" in early March); Sudzha falls on {sudzha} (reported: 12–13 March 2025); on 2025-04-26,
  when Russia declared the region retaken, the model holds {k.april_26[0]:,.0f} km² (80 %:
  {k.april_26[1]:,.0f}–{k.april_26[2]:,.0f}).
- The map (docs/model.md section 10; docs/scenarios.md §10): on each of DeepState's
  {len(k.maps)} maps from the start to 2025-02-28, the model's probability that Ukraine holds
  each cell of Kursk oblast against the cells DeepState shows held or grey. Over all of them the
  model's majority is right on {pct(k.maps["share right"].mean())} of the cells, the IoU of the
  held area is {k.maps["IoU"].mean():.2f} and the Brier score {k.maps["Brier"].mean():.3f}
  (0.25 is a coin); at the end of each month, and on the window's last map:

{maps_table}

  Most of the map lies far from the salient and is right in every run, so the share right
  flatters the model; the IoU of the held area is the score to read — the overlap of the
  model's salient with DeepState's, date by date.

- Losses over the run, median: Russia {k.losses[0]:,.0f} men, Ukraine {k.losses[1]:,.0f}. The
  facts file gives only **claims**, each side's about the other, not measurements: Russian
  losses of 62,400 by 2025-04-26 (a Ukrainian claim) and Ukrainian losses above 76,000 (a
  Russian claim). The model's losses are far below both claims and its exchange ratio runs the
  other way; neither claim is evidence enough to fit to, so the model's casualty figures remain
  a weak point (docs/model.md, Limitations).

## 5. An emergent finding: the culminating point of tempo

The classroom scenario (`scenarios/classroom_small.yaml`, 200 km² at the start) over a range of
attacker tempos, 200 runs each, with the rules' fatigue per assault (`assault_fatigue` 0.03)
and with none (docs/model.md, section 8.4):

{culmination_table}

Where the first column stops falling as tempo rises, the attacker has passed its culminating
point: it exhausts itself faster than it wears the defender down. The second column shows how
much of that the fatigue per assault makes.

## 6. Breakthrough and pursuit

`scenarios/validation/front.yaml`: nine attacking battalions of 600 men, all assaulting every
day (tempo 1) and moving three cells a day, along a straight front 9 cells wide against nine
defending battalions of 500 (held) or against nobody (broken: `sides.defender.units=[]`; the
ground itself does not defend, `ground_defence` 0), in a salient 16 cells deep. The depth
lost, averaged over the front's rows and 200 runs, with `rules.pursuit` and without
(docs/model.md, section 7.5b):

{front_table}

A broken front gives way at the attackers' speed with pursuit (target: 3 cells a day) and at
one cell a day without it; it is 16 cells deep, so it is gone well within the 20 days either
way and the 20-day column only says so. A held front grinds at a small fraction of that (target:
under a fifth of the broken front's rate with pursuit) — but pursuit makes it give way
{held_ratio:.1f} times as fast as without over 20 days, since every breach is exploited before
the defenders can close it.

## 7. What moves Kursk: one channel at a time

The Kursk scenario's median territory (200 runs, common random numbers) on the last day of its
calibration window and on 15 March 2025, with one channel changed at a time and every fitted
coefficient as fitted (so the changed rows are not refitted: they say how much the channel
matters under the scenario's fit, not what a fit without it would give). Δ is against the
scenario.

{channels_table}

Drones act on both sides' supply routes: a longer Russian reach thins what reaches the
Ukrainian units, while switching the channel off altogether also spares the many Russian
units whose routes cross Ukraine's reach — which way the row goes says which side's drones
weigh more in this fit. The intelligence pause acts only from March, when the attacks come;
pursuit acts whenever a line breaks. None of these rows was used to set anything: the
scenario's drone coefficient was fitted on the territory up to 2025-02-28 only, with the
reach and the pause as the facts give them.

## 8. Movement over ground: the closed form of the pace

`scenarios/validation/march.yaml`: four battalions march east, each along a lane of one kind
of ground — open, forest (cost 1.5), marsh (2) and a road (0.5) — separated by water, at 2 and
4 km a day (1 and 2 cells), 200 runs, the mean pace over the first 12 days (before the
fastest reaches the enemy). A unit spends its day's movement cell by cell and takes the last
part-step with the share of its cost left (docs/model.md, section 7.6), so its expected pace
over ground of cost c is exactly its speed over c; z is the difference in standard errors of
the model's mean (0 where whole steps leave nothing to draw).

{march_table}
"""


def study(runs: int = 100) -> str:
    """The 2⁴ factorial's effects on Kursk (sim.analysis.validation.kursk_study), as the
    block of docs/model.md §10.1."""
    points, effects = v.kursk_study(runs)
    base = points.iloc[0]
    rows = [f"| {r.effect} | {r[2]:+,.0f} | {r[3]:+,.0f} |" for r in effects.itertuples()]
    return "\n".join(
        [
            STUDY,
            f"The scenario as written holds {base['2025-02-28']:,.0f} km² on 2025-02-28 and "
            f"{base['2025-03-15']:,.0f} km² on 2025-03-15 (mean of {runs} runs). Effects in km² "
            f"of territory held (high level minus low, averaged over the other factors' "
            f"{len(points) // 2} combinations; an interaction is half the difference between "
            "one factor's effect with the other high and with it low):",
            "",
            markdown_table(["effect", "2025-02-28", "2025-03-15"], rows),
            STUDY_END,
        ]
    )


def write_study(runs: int = 100) -> None:
    text = MODEL.read_text(encoding="utf-8")
    head, found, rest = text.partition(STUDY)
    if not found:
        raise SystemExit(f"{MODEL} has no {STUDY} block")
    _, _, tail = rest.partition(STUDY_END)
    MODEL.write_text(head + study(runs) + tail, encoding="utf-8")
    print(f"wrote the Kursk study into {MODEL}")


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    OUT.write_text(page(), encoding="utf-8")
    print(f"wrote {OUT}")
    write_study()


if __name__ == "__main__":
    main()
