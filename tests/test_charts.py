"""Figure contents: what the charts draw equals what the analysis stored."""

from __future__ import annotations

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


def test_the_replay_animates_every_day_of_the_run():
    loaded = load(KURSK, ["days=20"])
    world = plan(loaded).world(0)
    result = batch.run(world, [4], trace=True)
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
    rows = replay.event_rows(world, loaded.scenario, result)
    assert len(rows) == len(result.events)


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
