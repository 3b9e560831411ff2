"""The model held to what it claims to reproduce: Lanchester's laws in closed form, the
stochastic square law exactly, and the historical record of Iwo Jima. Each check runs a
scenario of `scenarios/validation/` through the batch engine and returns its figures;
`benchmarks/validate.py` writes them into docs/validation.md and the fast ones are tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis import lanchester, spatial
from sim.experiment.execute import compile_checked
from sim.model import batch
from sim.model.world import World
from sim.scenario.load import load

ROOT = Path(__file__).resolve().parent.parent.parent
CASES = ROOT / "scenarios" / "validation"
RECORD = ROOT / "scenarios" / "data" / "iwo_jima_record.csv"


def world(name: str, overrides: tuple[str, ...] = ()) -> World:
    return compile_checked(load(CASES / f"{name}.yaml", list(overrides)))


def _rates(w: World) -> tuple[float, float, float, float]:
    """A₀, D₀ and the law's a (A's losses per D man) and b of a two-kind duel scenario."""
    a0 = float(w.strength0[w.side == 0].sum())
    d0 = float(w.strength0[w.side == 1].sum())
    acc = 0.5 + 0.5 * w.intelligence[:, 0]  # fires_output's accuracy at day 0's intelligence
    b = float(w.fires[w.side == 0][0] * acc[0])
    a = float(w.fires[w.side == 1][0] * acc[1])
    if w.area_fire.any():
        a, b = a / w.rules.area_density, b / w.rules.area_density
    return a0, d0, a, b


@dataclass(frozen=True)
class LawCheck:
    """A deterministic run against a closed form, over the days the loser keeps 10 %."""

    law: str
    substeps: int
    days: int  # days compared
    max_error: float  # largest relative error of either side's total
    end_day: float | None  # day the loser has no men left (model), or None
    exact_end_day: float | None
    survivors: float | None  # the winner's men then (model)
    exact_survivors: float | None


def law_check(name: str, substeps: int = 1, scale: float = 1.0) -> LawCheck:
    """Run a law's scenario (its fire rates × `scale`, `substeps` fire sub-steps a day) and
    compare both sides' totals with the closed form day by day."""
    w = world(name)
    sides = ("attacker", "defender")
    kinds = [w.kind_names[w.kind[w.side == s][0]].split(".")[1] for s in (0, 1)]
    sets = [
        f"sides.{sides[s]}.kinds.{kinds[s]}.fires={float(w.fires[w.side == s][0]) * scale}"
        for s in (0, 1)
    ] + [f"rules.fire_substeps={substeps}"]
    w = world(name, tuple(sets))
    a0, d0, a, b = _rates(w)
    run = batch.run(w, [0])
    sim_a, sim_d = run.series["strength_attacker"][0], run.series["strength_defender"][0]
    t = np.arange(1, w.days + 1)
    law = lanchester.linear_law if w.area_fire.any() else lanchester.square_law
    exact_a, exact_d = law(t, a0, d0, a, b)
    keep = (exact_a > 0.1 * a0) & (exact_d > 0.1 * d0)
    error = max(
        np.max(np.abs(sim_a - exact_a)[keep] / exact_a[keep]),
        np.max(np.abs(sim_d - exact_d)[keep] / exact_d[keep]),
    )
    end = exact_end = survivors = exact_survivors = None
    if law is lanchester.square_law:
        outcome = lanchester.square_law_end(a0, d0, a, b)
        loser, winner = (sim_d, sim_a) if outcome.winner == "A" else (sim_a, sim_d)
        gone = np.flatnonzero(loser < 0.5)
        if len(gone):
            end, survivors = float(gone[0] + 1), float(winner[gone[0]])
        exact_end, exact_survivors = outcome.time, outcome.survivors
    return LawCheck(
        "linear" if w.area_fire.any() else "square", substeps, int(keep.sum()), float(error),
        end, exact_end, survivors, exact_survivors,
    )  # fmt: skip


@dataclass(frozen=True)
class DuelCheck:
    """A drawn duel's chances against their exact values, with the z-score of each."""

    name: str
    replicates: int
    model: lanchester.Chances
    exact: lanchester.Chances
    z: tuple[float, float, float]  # P(A wins), E[A survivors], E[D survivors]
    unfinished: float  # share of runs with both sides still fighting at the end


def duel_check(name: str, replicates: int | None = None, exact: str = "continuous",
               overrides: tuple[str, ...] = ()) -> DuelCheck:  # fmt: skip
    """Run a soldier-sized duel and compare P(A wins) and both expected survivors with the
    continuous-time stochastic square law (`exact="continuous"`) or with the exact chances of
    the model's own drawn process (`exact="drawn"`, for any rates)."""
    w = world(name, overrides)
    reps = replicates or load(CASES / f"{name}.yaml", list(overrides)).scenario.replicates
    a0, d0, a, b = _rates(w)
    run = batch.run(w, list(range(reps)))
    left_a = run.series["strength_attacker"][:, -1]
    left_d = run.series["strength_defender"][:, -1]
    wins = (left_d == 0) & (left_a > 0)
    model = lanchester.Chances(float(wins.mean()), float(left_a.mean()), float(left_d.mean()))
    if exact == "drawn":
        truth = lanchester.drawn_square_law(int(a0), int(d0), a, b, w.rules.fire_substeps, w.days)
    else:
        truth = lanchester.stochastic_square_law(int(a0), int(d0), a, b)
    se = (
        np.sqrt(max(model.a_wins * (1 - model.a_wins), 1e-12) / reps),
        max(left_a.std(), 1e-12) / np.sqrt(reps),
        max(left_d.std(), 1e-12) / np.sqrt(reps),
    )
    z = (
        (model.a_wins - truth.a_wins) / se[0],
        (model.a_survivors - truth.a_survivors) / se[1],
        (model.d_survivors - truth.d_survivors) / se[2],
    )
    unfinished = float(((left_a > 0) & (left_d > 0)).mean())
    return DuelCheck(name, reps, model, truth, tuple(float(x) for x in z), unfinished)


@dataclass(frozen=True)
class IwoCheck:
    runs: int
    rmse: float  # median US active troops against the record, days 1–35
    bias: float
    engel_rmse: float  # Engel's own fit against the same record
    secured_day: float  # median day the island is below 5 % held (days + 1: not by the end)
    japanese_fire_share: float  # share of Japanese losses by fire (the rest: units overrun)
    days: pd.DataFrame  # day, record, Engel, model median, 10th and 90th percentile


def iwo_jima(runs: int = 200) -> IwoCheck:
    """The Iwo Jima scenario against the record of US active troops (Morehouse, via Engel)."""
    w = world("iwo_jima")
    record = pd.read_csv(RECORD).set_index("day").loc[1:35]
    b = _Tally(w, list(range(runs)))
    active = b.series["strength_attacker"][:, :35]
    median = np.median(active, axis=0)
    error = median - record["us_active"].to_numpy(float)
    engel = record["engel_us_active"] - record["us_active"]
    held = b.series["territory"]
    secure = held <= 0.05 * w.territory0
    day = np.where(secure.any(axis=1), secure.argmax(axis=1) + 1, w.days + 1)
    japanese = b.series["losses_defender"][:, -1].sum()
    days = pd.DataFrame(
        {
            "day": record.index,
            "record": record["us_active"].to_numpy(),
            "engel": record["engel_us_active"].to_numpy(),
            "model": median,
            "q10": np.quantile(active, 0.1, axis=0),
            "q90": np.quantile(active, 0.9, axis=0),
        }
    )
    return IwoCheck(
        runs, float(np.sqrt(np.mean(error**2))), float(error.mean()),
        float(np.sqrt(np.mean(engel.to_numpy(float) ** 2))), float(np.median(day)),
        float(1 - b.overrun / japanese), days,
    )  # fmt: skip


class _Tally(batch.Batch):
    """The batch engine, run to the end, counting the defender's men lost with units overrun
    (removed in the assault phase) apart from those lost to fire."""

    def __init__(self, world: World, replicates: list[int]) -> None:
        super().__init__([(world, replicates)])
        self.overrun, self._assault = 0.0, False
        for _ in range(world.days):
            self.step()

    def assault(self) -> None:
        self._assault = True
        super().assault()
        self._assault = False

    def remove(self, which: np.ndarray) -> None:
        if self._assault:
            self.overrun += float(np.where(which & (self.w.side == 1), self.strength, 0).sum())
        super().remove(which)


@dataclass(frozen=True)
class KurskCheck:
    runs: int
    window_rmse: float  # median territory against every observation up to 2025-02-28 (km²)
    window_bias: float
    observations: int
    march_6: tuple[float, float, float]  # median, q10, q90 km² on 2025-03-06 (~300 reported)
    april_26: tuple[float, float, float]  # on 2025-04-26 (Russia declared the region retaken)
    sudzha_day: float | None  # median date index Sudzha first fell (None: not in most runs)
    losses: tuple[float, float]  # median men lost by Russia and by Ukraine over the run
    days: pd.DataFrame  # date, median, q10, q90 territory
    maps: pd.DataFrame  # the spatial scores against DeepState's maps (sim.analysis.spatial)


def kursk(runs: int = 200) -> KurskCheck:
    """The Kursk scenario against its calibration window (observations up to 2025-02-28,
    fitted by benchmarks/fit_kursk.py) and the out-of-sample facts after it."""
    import datetime as dt

    loaded = load(ROOT / "scenarios" / "kursk_2024.yaml")
    s, w = loaded.scenario, compile_checked(loaded)
    run = batch.run(w, list(range(runs)))
    held = run.series["territory"]
    median = np.median(held, axis=0)
    end = dt.date(2025, 2, 28)
    window = [o for o in s.observed if s.start <= o.date <= end]
    errors = np.array([median[(o.date - s.start).days] - o.km2 for o in window])

    def on(day: str) -> tuple[float, float, float]:
        i = (dt.date.fromisoformat(day) - s.start).days
        return tuple(float(np.quantile(held[:, i], q)) for q in (0.5, 0.1, 0.9))

    sudzha = w.places.index("Sudzha")
    events = run.events
    fell = events[(events[:, 2] == 0) & (events[:, 3] == sudzha)]
    first = {int(r): int(d) for r, d in fell[::-1, :2]}  # the earliest day per replicate
    days = np.array([first.get(k, w.days) for k in range(runs)], float)
    sudzha_day = float(np.median(days)) if (days < w.days).mean() > 0.5 else None
    dates = pd.date_range(s.start, periods=w.days, freq="D")
    table = pd.DataFrame({"date": dates, "median": median,
                          "q10": np.quantile(held, 0.1, axis=0),
                          "q90": np.quantile(held, 0.9, axis=0)})  # fmt: skip
    losses = tuple(
        float(np.median(run.series[f"losses_{k}"][:, -1])) for k in ("attacker", "defender")
    )
    map_dates = pd.DatetimeIndex([dates[d] for d in w.map_days])
    maps = spatial.table(0, map_dates, run.held_maps, runs, s, w.territory_cells.ravel())
    return KurskCheck(
        runs, float(np.sqrt(np.mean(errors**2))), float(errors.mean()), len(window),
        on("2025-03-06"), on("2025-04-26"), sudzha_day, losses, table, maps,
    )  # fmt: skip


KURSK_CHANNELS = (  # (what it changes, --set lines): one channel at a time, the rest as fitted
    ("as in the scenario", ()),
    ("Russian drone reach held at 4 km", ("sides.attacker.drone_range_km=4",)),
    ("Russian drone reach 12 km from the start", ("sides.attacker.drone_range_km=12",)),
    ("no deliveries lost to drones (drone_supply 0)", ("rules.drone_supply=0",)),
    ("Russian drone strikes, 30 men a day", ("sides.attacker.drone_effort=30",)),
    ("no intelligence pause (Ukraine 0.8 throughout)", ("sides.defender.intelligence=0.8",)),
    (
        "a deep pause (Ukraine 0.1 from 2025-03-05 on)",
        (
            "sides.defender.intelligence=[{from: 2024-08-27, value: 0.8}, "
            "{from: 2025-03-05, value: 0.1}]",
        ),
    ),
    ("no pursuit", ("rules.pursuit=false",)),
)


def kursk_channels(runs: int = 200) -> pd.DataFrame:
    """How far each channel moves Kursk's median territory on 2025-02-28 (the end of the
    calibration window) and 2025-03-15 — one at a time, the fitted coefficients unchanged,
    common random numbers."""
    import datetime as dt

    path = ROOT / "scenarios" / "kursk_2024.yaml"
    rows = []
    for what, sets in KURSK_CHANNELS:
        loaded = load(path, list(sets))
        start = loaded.scenario.start
        held = batch.run(compile_checked(loaded), list(range(runs))).series["territory"]
        row = {"setting": what}
        for day in ("2025-02-28", "2025-03-15"):
            row[day] = float(np.median(held[:, (dt.date.fromisoformat(day) - start).days]))
        rows.append(row)
    table = pd.DataFrame(rows)
    for day in ("2025-02-28", "2025-03-15"):
        table[f"Δ {day}"] = table[day] - table[day].iloc[0]
    return table


def _north_pressed(path: Path) -> str:
    """--set line: Kursk's northern axis at tempo 0.8 from 2025-03-06 (Russia's side 0.5),
    its earlier steps the side's fitted ones."""
    steps = [(st.from_, st.value) for st in load(path).scenario.sides.attacker.tempo]
    steps = [(d, 0.8 if str(d) >= "2025-03-06" else v) for d, v in steps]
    return (
        "sides.attacker.axes.north.tempo=["
        + ", ".join(f"{{from: {d}, value: {v}}}" for d, v in steps)
        + "]"
    )


KURSK_FACTORS = (  # (factor, --set lines at its high level); low: the scenario as written
    ("Russian drone reach 12 km throughout", ("sides.attacker.drone_range_km=12",)),
    ("Russian drone strikes, 30 men a day", ("sides.attacker.drone_effort=30",)),
    ("no intelligence pause in March", ("sides.defender.intelligence=0.8",)),
    ("northern axis pressed in March (tempo 0.8)", None),  # built from the scenario
)


def kursk_study(runs: int = 100) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A 2⁴ factorial on Kursk over Russian drone reach × drone strikes × Ukrainian
    intelligence in March × the northern axis's tempo (KURSK_FACTORS, each at the scenario's
    value or its high level), `runs` replicates a point with common random numbers. Returns
    the points' mean territory on 2025-02-28 and 2025-03-15, and the effects: each factor's
    main effect and each pair's interaction (mean at high minus mean at low, over the design)."""
    import datetime as dt
    import itertools

    path = ROOT / "scenarios" / "kursk_2024.yaml"
    days = ("2025-02-28", "2025-03-15")
    factors = [(n, sets or (_north_pressed(path),)) for n, sets in KURSK_FACTORS]
    points = []
    for levels in itertools.product((0, 1), repeat=len(factors)):
        sets = [
            line for (_, lines), on in zip(factors, levels, strict=True) if on for line in lines
        ]
        loaded = load(path, sets)
        held = batch.run(compile_checked(loaded), list(range(runs))).series["territory"]
        start = loaded.scenario.start
        row = dict(zip([n for n, _ in factors], levels, strict=True))
        for day in days:
            row[day] = float(held[:, (dt.date.fromisoformat(day) - start).days].mean())
        points.append(row)
    table = pd.DataFrame(points)
    signs = 2 * table[[n for n, _ in factors]] - 1  # ±1 coding
    effects = []
    names = [n for n, _ in factors]
    terms = [(n,) for n in names] + list(itertools.combinations(names, 2))
    for term in terms:
        sign = np.prod([signs[n] for n in term], axis=0)
        row = {"effect": " × ".join(term)}
        for day in days:
            row[day] = float((sign * table[day]).sum() / (len(table) / 2))
        effects.append(row)
    return table, pd.DataFrame(effects)


def culmination(tempos=(0.1, 0.2, 0.3, 0.45, 0.6, 0.8), runs: int = 200) -> pd.DataFrame:
    """Mean territory on the classroom scenario's last day by attacker tempo, with the rules'
    fatigue per assault and without it: the culminating point of section 8.4 of docs/model.md."""
    rows = []
    path = ROOT / "scenarios" / "classroom_small.yaml"
    for tempo in tempos:
        row = {"tempo": tempo}
        for label, extra in (("km²", []), ("km², no fatigue", ["rules.assault_fatigue=0"])):
            w = compile_checked(load(path, [f"sides.attacker.tempo={tempo}", *extra]))
            row[label] = float(batch.run(w, list(range(runs))).series["territory"][:, -1].mean())
        rows.append(row)
    return pd.DataFrame(rows)


def front(runs: int = 200) -> pd.DataFrame:
    """How fast a straight front gives way (`scenarios/validation/front.yaml`), held and broken
    (its defenders removed), with pursuit and without: the mean depth lost, in cells a day,
    over the first 5 and the 20 days, beside the attackers' speed."""
    rows = []
    for case, extra in (("held", ()), ("broken", ("sides.defender.units=[]",))):
        for pursuit in (False, True):
            w = world("front", (*extra, f"rules.pursuit={str(pursuit).lower()}"))
            territory = batch.run(w, list(range(runs))).series["territory"]
            held = ((w.owner == 1) & w.territory_cells).sum() * w.cell_area  # on day 0
            depth = (held - territory) / w.cell_area / w.shape[0]  # cells, over all rows
            rows.append(
                {
                    "front": case,
                    "pursuit": pursuit,
                    "cells/day, days 1–5": float(depth[:, 4].mean() / 5),
                    "cells/day, days 1–20": float(depth[:, 19].mean() / 20),
                    "speed": float(w.speed[w.side == 0].max()),
                }
            )
    return pd.DataFrame(rows)


MARCH_LANES = ("open", "forest", "marsh", "road")  # rows 0, 2, 4, 6 of march.yaml


def march(speeds_km=(2.0, 4.0), runs: int = 200, days: int = 12) -> pd.DataFrame:
    """The movement costs against their closed form (`scenarios/validation/march.yaml`): the
    mean pace, in cells a day over `days` days (before the fastest reaches the enemy), of a
    battalion marching over ground of one cost c at a speed s (cells a day), beside s / c,
    the exact expected pace of the rule (full steps while the day's movement covers them, the
    last part-step with the share of its cost left), and the z of the difference in standard
    errors of the mean."""
    rows = []
    for speed_km in speeds_km:
        w = world("march", (f"sides.attacker.kinds.infantry.speed_km={speed_km}",))
        run = batch.run(w, list(range(runs)), trace=True)
        cells = np.array(run.states[days - 1]["pos"]) % w.shape[1]  # (runs, 4): column reached
        for k, lane in enumerate(MARCH_LANES):
            cost = float(w.move_cost.ravel()[w.cell0[k] + 1])
            pace = cells[:, k] / days
            exact = float(w.speed[k]) / cost
            se = pace.std(ddof=1) / np.sqrt(runs)
            rows.append(
                {
                    "ground": lane,
                    "cost": cost,
                    "speed": float(w.speed[k]),
                    "exact": exact,
                    "model": float(pace.mean()),
                    "z": float((pace.mean() - exact) / se) if se > 0 else 0.0,
                }
            )
    return pd.DataFrame(rows)
