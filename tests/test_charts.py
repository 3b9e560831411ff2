"""Figure contents: what the charts draw equals what the analysis stored."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from click.testing import CliRunner

from sim.analysis.compare import Run, difference
from sim.cli import main
from sim.experiment.execute import plan, reopen
from sim.model import batch
from sim.scenario.load import load
from sim.viz import charts, replay
from sim.viz.report import blocks, point_labels
from tests.study_runs import ROOT, STUDY

KURSK = ROOT / "scenarios" / "kursk_2024.yaml"


def sim(*args: str):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def reopened(tmp_path_factory, name: str, *args: str):
    """Run `sim run` into a fresh folder and reopen the results folder it wrote."""
    out = tmp_path_factory.mktemp(name)
    sim("run", *args, "--replicates", "12", "--out", str(out), "--quiet")
    (folder,) = out.iterdir()
    return reopen(folder)


@pytest.fixture(scope="module")
def kursk(tmp_path_factory):
    return reopened(tmp_path_factory, "kursk", str(KURSK), "--set", "days=90")


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return reopened(tmp_path_factory, "study", str(STUDY), "--workers", "1")


def test_fan_chart_draws_the_stored_quantiles_on_the_scenario_dates(kursk):
    store, s = kursk
    bands = pd.read_parquet(store.path / "summary.parquet")
    fig = charts.fan_chart(bands, s.loaded.scenario.observed)
    median = next(t for t in fig.data if t.name == "median")
    assert list(median.y) == list(bands["q50"])
    assert list(pd.to_datetime(median.x)) == list(pd.date_range("2024-08-27", periods=90))
    uppers = [t for t in fig.data if t.fill is None and t.name != "median" and t.mode == "lines"]
    lowers = [t for t in fig.data if t.fill == "tonexty"]
    for hi, lo in zip(uppers, lowers, strict=True):  # each band: upper edge ≥ lower edge
        assert (np.asarray(hi.y) >= np.asarray(lo.y)).all()
    for a, b in (("q10", "q25"), ("q25", "q50"), ("q50", "q75"), ("q75", "q90")):
        assert (bands[a] <= bands[b]).all()
    observed = next(t for t in fig.data if t.name == "observed")
    assert list(observed.y) == [o.km2 for o in s.loaded.scenario.observed]
    assert len(observed.x) > 10


def test_the_point_menu_shows_one_point_at_a_time(study):
    store, s = study
    bands = pd.read_parquet(store.path / "summary.parquet")
    fig = charts.fan_selector(bands, point_labels(s.design))
    (menu,) = fig.layout.updatemenus
    assert len(menu.buttons) == 9
    for p, button in enumerate(menu.buttons):
        visible = button.args[0]["visible"]
        shown = [t for t, v in zip(fig.data, visible, strict=True) if v]
        assert len(shown) == 5 and {t.legendgroup for t in shown} == {f"point {p}"}
        median = shown[-1]
        assert list(median.y) == list(bands.loc[bands.point == p, "q50"])


def test_survival_curves_end_at_the_share_never_fallen(study):
    store, s = study
    bands = pd.read_parquet(store.path / "summary.parquet")
    outcomes = pd.read_parquet(store.path / "outcomes.parquet")
    fig = charts.survival_chart(bands, point_labels(s.design), 0.1)
    for p, trace in enumerate(fig.data):
        assert list(trace.y) == list(bands.loc[bands.point == p, "p_holding"])
        fallen = outcomes.loc[outcomes.point == p, "fallen by the end (share)"].item()
        assert trace.y[-1] == pytest.approx(1 - fallen)
        assert "censored" in trace.name


def test_heatmap_cells_are_the_outcome_at_each_pair_of_levels(study):
    store, s = study
    outcomes = pd.read_parquet(store.path / "outcomes.parquet")
    a, b = (x.name for x in s.design.axes)
    name = "median km² on 2025-03-01"
    (fig,) = charts.outcome_maps(outcomes, [a, b], [name])
    (heat,) = fig.data
    for i, yb in enumerate(heat.y):
        for j, xa in enumerate(heat.x):
            row = outcomes[(outcomes[a].astype(str) == xa) & (outcomes[b].astype(str) == yb)]
            assert heat.z[i][j] == row[name].item()


def test_sobol_bars_are_the_indices_with_their_intervals():
    sens = pd.DataFrame(
        {
            "outcome": ["y", "y"],
            "parameter": ["a", "b"],
            "S1": [0.7, 0.1],
            "S1_conf": [0.05, 0.02],
            "ST": [0.8, 0.2],
            "ST_conf": [0.06, 0.03],
        }
    )
    fig = charts.sobol_chart(sens)
    s1, st = fig.data
    assert list(s1.y) == [0.7, 0.1] and list(s1.error_y.array) == [0.05, 0.02]
    assert list(st.y) == [0.8, 0.2] and list(st.x) == ["a", "b"]


def test_a_study_report_has_every_chart(study):
    _, s = study
    store = reopen(study[0].path)[0]
    from sim.analysis.study import summarise
    from sim.analysis.summary import key_figures

    summary = summarise(store, s)
    figures = key_figures(
        store.territory(0), s.loaded.scenario.start, 200.0, s.loaded.scenario.report
    )
    kinds = [type(b).__name__ for b in blocks(s, summary, figures)]
    assert kinds.count("Figure") == 3 and "Table" in kinds  # fans, survival, heatmap


def _run(store, s, point, label):
    reps = np.array(sorted(store.covered(point)))
    return Run(label, "", s, point, reps, store.territory(point))


def test_paired_differences_are_replicate_by_replicate(study):
    store, s = study
    a, b = _run(store, s, 0, "A"), _run(store, s, 8, "B")
    d = difference(a, b)
    assert d.paired and d.runs == 12
    want = np.median(b.territory - a.territory, axis=0)
    assert np.array_equal(d.table["q50"].to_numpy(), want)
    other = Run("C", "", plan(load(STUDY, ["seed=99"])), 8, b.replicates, b.territory)
    unpaired = difference(a, other)
    assert not unpaired.paired and unpaired.table["q10"].isna().all()
    want = np.median(b.territory, 0) - np.median(a.territory, 0)
    assert np.array_equal(unpaired.table["q50"].to_numpy(), want)


@pytest.fixture(scope="module")
def traced():
    """Replicate 4 of 20 days of Kursk, traced day by day."""
    loaded = load(KURSK, ["days=20"])
    world = plan(loaded).world(0)
    return loaded, world, batch.run(world, [4], trace=True)


def test_the_replay_animates_every_day_of_the_run(traced):
    loaded, world, result = traced
    fig = replay.replay_figure(world, loaded.scenario, result)
    assert len(fig.frames) == 20 and len(fig.layout.sliders[0].steps) == 20
    for d in (0, 19):
        frame = fig.frames[d]
        assert np.array_equal(np.asarray(frame.data[0].z), result.states[d]["owner"][0])
        s = result.states[d]
        present = s["alive"][0] & s["arrived"][0]
        assert len(frame.data[1].x) + len(frame.data[2].x) == present.sum()
        assert frame.data[3].y[0] == result.series["territory"][0, d]
    places = next(t for t in fig.data if t.name == "places")
    assert list(places.text) == list(world.places)
    dots = [t.marker.color for t in fig.data if t.type == "scatter" and "markers" in t.mode]
    assert len(dots) == 4 and len(set(dots)) == 4  # the day shown is no side's colour
    entries = replay.event_entries(world, loaded.scenario, result)
    assert sum(e.events for e in entries) == len(result.events)  # grouped, none lost
    assert len(replay.event_rows(world, loaded.scenario, result)) == len(entries)


def test_the_event_log_groups_units_that_arrive_together(traced):
    loaded, world, result = traced
    arrivals = Counter(
        (day, world.group[i])
        for day, kind, i in result.event_list(4)
        if kind == "reinforcement_arrived"
    )
    assert max(arrivals.values()) >= 10  # the September build-up: a dozen battalions a day
    entries = replay.event_entries(world, loaded.scenario, result)
    for (day, group), n in arrivals.items():
        (line,) = [e for e in entries if e.day == day and f" of {group}" in e.text]
        assert line.events == n
        if n > 1:
            assert f"{n} battalions of {group} arrive" in line.text


def test_figures_are_plotly_figures(study):
    store, s = study
    bands = pd.read_parquet(store.path / "summary.parquet")
    assert isinstance(charts.fan_selector(bands, point_labels(s.design)), go.Figure)


def test_short_labels_are_unique_tails():
    from sim.viz.style import short_labels

    names = ["sides.attacker.tempo", "sides.defender.tempo", "sides.defender.intelligence"]
    assert short_labels(names) == {
        "sides.attacker.tempo": "attacker.tempo",
        "sides.defender.tempo": "defender.tempo",
        "sides.defender.intelligence": "intelligence",
    }


def test_no_chart_reuses_a_colour(study):
    from sim.viz.compare import overlay
    from sim.viz.style import OBSERVED, colour

    assert len({colour(i) for i in range(100)} | {OBSERVED}) == 101
    store, s = study
    bands = pd.read_parquet(store.path / "summary.parquet")
    survival = charts.survival_chart(bands, point_labels(s.design), 0.1)
    lines = [t.line.color for t in survival.data]
    assert len(lines) == 9 and len(set(lines)) == 9  # point 8 no longer point 0's blue
    runs = [_run(store, s, p, f"point {p}") for p in range(9)]
    medians = [t for t in overlay(runs).data if t.name in {r.label for r in runs}]
    hues = [t.line.color for t in medians] + [OBSERVED]
    assert len(medians) == 9 and len(set(hues)) == 10


def test_heatmap_cells_of_different_colours_never_share_a_label():
    days = [118.6, 119.0, 119.05, 119.6, 120.0, 120.0]
    table = pd.DataFrame({"a": [1, 1, 2, 2, 3, 3], "b": [1, 2] * 3, "days": days})
    (fig,) = charts.outcome_maps(table, ["a", "b"], ["days"], scales={"days": 120})
    (heat,) = fig.data
    cells = {}
    for zs, labels in zip(heat.z, heat.text, strict=True):
        for z, label in zip(zs, labels, strict=True):
            cells.setdefault(label, set()).add(z)
            assert float(label.replace(",", "")) == pytest.approx(z, abs=0.006)
    assert all(len(zs) == 1 for zs in cells.values()), cells
    assert (heat.zmin, heat.zmax) == (118.6, 120.0)  # the colour scale's range, on its ends
    assert list(heat.colorbar.ticktext) == ["118.60", "120.00"]
    assert "118.60 to 120.00" in fig.layout.title.subtitle.text


@pytest.mark.parametrize(
    ("values", "labels"),
    [
        ([0.25, 0.45, 0.95], ["0.25", "0.45", "0.95"]),
        ([166, 138, 112], ["166", "138", "112"]),
        ([1288.0, 1290.4], ["1,288", "1,290"]),
        ([119.0, 119.4, 119.6], ["119.0", "119.4", "119.6"]),
    ],
)
def test_values_get_the_fewest_decimals_that_tell_them_apart(values, labels):
    fmt = charts.value_format(values)
    assert [format(v, fmt) for v in values] == labels


def _heatmap_of(blocks_: list) -> go.Figure:
    return next(b for b in blocks_ if isinstance(b, go.Figure) and b.data[0].type == "heatmap")


@pytest.fixture(scope="module")
def study_blocks(study):
    from sim.analysis.study import summarise
    from sim.analysis.summary import key_figures

    store, s = study
    summary = summarise(store, s)
    world = s.world(0)
    figures = key_figures(
        store.territory(0), s.loaded.scenario.start, world.territory0, s.loaded.scenario.report
    )
    return summary, blocks(s, summary, figures)


def test_the_study_maps_open_on_the_outcome_that_varies_most_for_its_scale(study, study_blocks):
    from sim.analysis.study import COLLAPSE_MEAN
    from sim.viz.report import outcome_scales

    _, s = study
    summary, made = study_blocks
    heat = _heatmap_of(made)
    names = [t.name for t in heat.data]
    table = summary.outcomes
    world = s.world(0)
    scales = outcome_scales(table, names, world.territory0, world.days)
    assert scales[COLLAPSE_MEAN] == world.days and scales["median km² on 2025-03-01"] == 200
    assert scales["P(hold ≥ 100 km² on 2025-03-01)"] == 1
    spread = {n: charts.relative_spread(table[n], scales[n]) for n in names}
    (shown,) = [t.name for t in heat.data if t.visible]
    assert shown == names[0] and spread[shown] == max(spread.values())
    assert spread[COLLAPSE_MEAN] < spread[shown]  # 118–120 days of 120 said little


def test_a_map_says_when_a_swept_step_starts_after_the_outcomes_date(study_blocks):
    _, made = study_blocks
    heat = _heatmap_of(made)
    (menu,) = heat.layout.updatemenus
    said = {}
    for button in menu.buttons:
        said[button.label] = button.args[1]["title.subtitle.text"]
    warning = "intelligence is swept only from 2025-03-02 on"
    for date in ("2025-01-31", "2025-03-01"):
        assert warning in said[f"median km² on {date}"]
        assert f"the outcome on {date} cannot depend on it" in said[f"median km² on {date}"]
    assert warning not in said["median km² on 2025-04-30"]
    assert warning not in said["days above threshold (mean)"]  # not measured on a date
    assert heat.layout.title.subtitle.text == said[menu.buttons[0].label]


def test_sobol_bars_say_when_a_swept_step_starts_after_the_outcomes_date():
    import datetime as dt

    sens = pd.DataFrame(
        {
            "outcome": ["median km² on 2025-01-31"] * 2 + ["fallen by the end (share)"] * 2,
            "parameter": ["sides.attacker.tempo", "sides.defender.intelligence"] * 2,
            "S1": [0.7, 0.0, 0.5, 0.2],
            "S1_conf": [0.05, 0.01, 0.05, 0.02],
            "ST": [0.8, 0.0, 0.6, 0.3],
            "ST_conf": [0.06, 0.01, 0.06, 0.03],
        }
    )
    steps = {"sides.defender.intelligence": dt.date(2025, 3, 2)}
    dates = {"median km² on 2025-01-31": dt.date(2025, 1, 31)}
    fig = charts.sobol_chart(sens, ["fallen by the end (share)"], dates, steps)
    first, second = fig.layout.updatemenus[0].buttons
    assert first.label == "fallen by the end (share)" and not first.args[1]["title.subtitle.text"]
    assert "intelligence is swept only from 2025-03-02" in second.args[1]["title.subtitle.text"]


def test_sampled_points_pin_their_colour_scale_to_the_range_and_label_its_ends():
    table = pd.DataFrame({"a": [0.1, 0.5, 0.9], "b": [1, 3, 2], "p": [0.2, 0.25, 0.9]})
    (fig,) = charts.outcome_maps(table, ["a", "b"], ["p"], grid=False, scales={"p": 1.0})
    (points,) = fig.data
    assert (points.marker.cmin, points.marker.cmax) == (0.2, 0.9)
    assert list(points.marker.colorbar.ticktext) == ["0.20", "0.90"]
    assert "70% of the outcome's scale" in fig.layout.title.subtitle.text
