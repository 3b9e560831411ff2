"""Sweeps: designs, refusal of bad parameters before anything runs, executors that agree to
the byte, resume after SIGKILL, and the per-point analysis."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.analysis import study as analysis
from sim.experiment import design as designs
from sim.experiment import execute
from sim.model import batch
from sim.model.world import schedule
from sim.scenario.load import ScenarioError, load
from sim.scenario.schema import Step
from tests.study_runs import (
    ROOT,
    SMALL,
    STUDY,
    assert_same_bytes,
    assert_same_results,
    folder,
    kill,
    parts,
    sim_process,
    sim_run,
    wait_for,
)

CLASSROOM = ROOT / "scenarios" / "classroom_small.yaml"


def study_file(tmp_path, sweep: dict, name: str = "study.yaml"):
    path = tmp_path / name
    text = yaml.safe_dump({"base": str(CLASSROOM), "name": "t", "sweep": sweep})
    path.write_text(text)
    return path


# ---- designs -------------------------------------------------------------------------------


def test_points_that_differ_in_schedules_share_batches_and_keep_their_own_runs(tmp_path):
    # A sweep of schedules packs blocks of several points into one task (one batch); each
    # point's runs are those of its own scenario run alone.
    sweep = {
        "design": "grid",
        "replicates": 3,
        "parameters": {
            "sides.attacker.tempo": [0.2, 0.5, 0.8],
            "sides.defender.intelligence@2025-01-05": [0.1, 0.9],
        },
    }
    study = execute.plan(load(study_file(tmp_path, sweep)))
    assert study.together
    missing = {p: [0, 1, 2] for p in range(study.design.points)}
    packed = execute.tasks(missing, 250, study.together)
    assert len(packed) == 1 and len(packed[0]) == 6
    assert len(execute.tasks(missing, 250, False)) == 6
    assert [len(t) for t in execute.tasks(missing, 7, True)] == [2, 2, 2]
    store = execute.run_study(study, tmp_path / "out", progress=False, workers=1).store
    names = [p.name for p in (store.path / "series").glob("part-*.parquet")]
    assert names == ["part-p00000-00005-r0000000-0000002.parquet"]  # one batch, one part
    assert store.coverage() == {p: {0, 1, 2} for p in range(6)}
    for p in range(study.design.points):
        alone = designs.point_loaded(study.loaded, study.design, p)
        expected = batch.run(execute.compile_checked(alone), [0, 1, 2]).series["territory"]
        assert np.array_equal(store.territory(p), expected), p
    kursk = load(ROOT / "scenarios/studies/kursk_tempo_intel_reinforcement.yaml")
    assert not execute.plan(kursk).together  # a reinforcement's date: a batch per point


def test_grid_is_the_full_factorial_of_the_shipped_studies():
    d = designs.build(load(STUDY))
    assert d.kind == "grid" and d.points == 9 and d.replicates == 100
    combos = set(map(tuple, d.table[list(d.table.columns[1:])].to_numpy().tolist()))
    assert len(combos) == 9
    kursk = designs.build(load(ROOT / "scenarios/studies/kursk_tempo_intel_reinforcement.yaml"))
    assert kursk.points == 27
    dates = kursk.table["sides.attacker.reinforcements.nk_contingent.date"]
    assert set(dates) == {dt.date(2024, 9, 28), dt.date(2024, 10, 28), dt.date(2024, 11, 28)}


def test_lhs_points_fill_each_stratum_once_within_the_ranges(tmp_path):
    sweep = {
        "design": "lhs",
        "points": 40,
        "parameters": {
            "sides.attacker.tempo": {"range": [0.1, 0.5]},
            "sides.attacker.reinforcements.second_echelon.men": {"range": [1000, 5000]},
            "sides.attacker.reinforcements.second_echelon.date": {
                "range": [dt.date(2025, 1, 10), dt.date(2025, 2, 20)]
            },
        },
    }
    d = designs.build(load(study_file(tmp_path, sweep)))
    assert d.points == 40
    tempo = d.table["sides.attacker.tempo"].to_numpy(float)
    assert ((tempo >= 0.1) & (tempo <= 0.5)).all()
    strata = np.floor((tempo - 0.1) / 0.4 * 40).astype(int)
    assert sorted(strata) == list(range(40))  # Latin: one point per stratum
    men = d.table["sides.attacker.reinforcements.second_echelon.men"]
    assert all(isinstance(m, int) and 1000 <= m <= 5000 for m in men)
    days = d.table["sides.attacker.reinforcements.second_echelon.date"]
    assert all(dt.date(2025, 1, 10) <= x <= dt.date(2025, 2, 20) for x in days)
    # every point is a valid scenario with its values in place
    p = designs.point_loaded(load(study_file(tmp_path, sweep)), d, 7)
    assert p.scenario.sides.attacker.tempo == pytest.approx(tempo[7])
    assert p.scenario.sweep is None


def test_sobol_has_n_times_k_plus_2_points_within_ranges(tmp_path):
    sweep = {
        "design": "sobol",
        "points": 16,
        "parameters": {
            "sides.attacker.tempo": {"range": [0.1, 0.5]},
            "sides.defender.intelligence": {"from": dt.date(2025, 3, 2), "range": [0.0, 1.0]},
        },
    }
    d = designs.build(load(study_file(tmp_path, sweep)))
    assert d.points == 16 * (2 + 2)
    assert d.problem["names"] == list(sweep["parameters"])
    intel = d.table["sides.defender.intelligence"]
    assert intel.between(0, 1).all() and d.table["sides.attacker.tempo"].between(0.1, 0.5).all()


@pytest.mark.parametrize(
    ("sweep", "field", "message"),
    [
        ({"parameters": {"sides.attacker.tempoo": [0.1]}}, "tempoo", "no such field"),
        ({"parameters": {"sides.attacker.kinds": [1]}}, "kinds", "a section"),
        ({"parameters": {"seed": [1, 2]}}, "seed", "only fields under"),
        ({"parameters": {"sides.attacker.tempo": [0.2, "fast"]}}, "tempo", "design point 1"),
        ({"parameters": {"sides.attacker.tempo": [0.2, 1.5]}}, "tempo", "between 0 and 1"),
        ({"parameters": {"sides.attacker.name": {"from": "2025-02-01", "values": ["x"]}}},
         "name", "applies to a schedule"),
        ({"design": "lhs", "points": 4, "parameters": {"sides.attacker.tempo": [0.1]}},
         "tempo", "needs range"),
        ({"design": "lhs", "parameters": {"sides.attacker.tempo": {"range": [0.1, 0.3]}}},
         "sweep", "needs points"),
        ({"design": "sobol", "points": 12,
          "parameters": {"sides.attacker.tempo": {"range": [0.1, 0.3]}}}, "points", "power of 2"),
        ({"design": "lhs", "points": 4,
          "parameters": {"sides.attacker.tempo": {"range": [0.3, 0.1]}}}, "tempo", "low < high"),
        ({"parameters": {"sides.attacker.reinforcements.second_echelon.date": ["soon"]}},
         "date", "design point 0"),
        ({"parameters": {"sides.defender.intelligence": {"from": "2024-06-01", "values": [0.1]}}},
         "intelligence", "within the run"),
        ({"parameters": {"sides.defender.intelligence": {"from": "2025-02-01", "values": [0.1]},
                         "sides.defender.intelligence.1.value": [0.5]}},
         "intelligence.1.value", "overlaps"),
        ({"points": 4, "parameters": {"sides.attacker.tempo": [0.1]}}, "points", "no points"),
        ({"parameters": {"places": {"from": "2025-02-01", "values": [1]}}}, "places", "section"),
    ],
)  # fmt: skip
def test_bad_parameters_are_refused_before_anything_runs(tmp_path, sweep, field, message):
    path = study_file(tmp_path, sweep)
    out = tmp_path / "results"
    result = sim_run(str(path), "--out", str(out), "--quiet")
    assert result.returncode == 2, result.stderr
    err = result.stderr.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {path}:")
    assert field in err and message in err, err
    assert not out.exists()  # nothing ran, nothing was written


def test_a_bad_value_names_the_line_of_its_sweep_entry(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        f"base: {CLASSROOM}\nname: t\nsweep:\n  parameters:\n"
        "    sides.attacker.tempo: [0.2, 0.3]\n"
        "    sides.defender.replacements: [10, -5]\n"
    )
    with pytest.raises(ScenarioError) as err:
        execute.plan(load(path))
    assert err.value.line == 6 and err.value.field == "sides.defender.replacements"


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(st.integers(0, 60), min_size=1, max_size=4, unique=True),
    day=st.integers(-5, 70),
    value=st.floats(0, 1),
)
def test_a_swept_schedule_step_changes_only_its_own_days(steps, day, value):
    start = dt.date(2025, 1, 1)
    old = [
        {"from": start + dt.timedelta(days=d), "value": i / 10} for i, d in enumerate(sorted(steps))
    ]
    when = start + dt.timedelta(days=day)
    new = designs.with_step(old, start, when, value)
    days = 80
    before = schedule([Step(**s) for s in old], start, days)
    after = schedule([Step(**s) for s in new], start, days)
    nexts = [d for d in steps if d > day]
    until = min(nexts) if nexts else days
    mine = (np.arange(days) >= max(day, 0)) & (np.arange(days) < until)
    assert (after[mine] == value).all()
    assert (after[~mine] == before[~mine]).all()


# ---- running ------------------------------------------------------------------------------


@pytest.fixture
def uninterrupted(whole_study):
    return whole_study


def test_local_processes_write_the_same_bytes(uninterrupted, tmp_path):
    result = sim_run(str(STUDY), *SMALL, "--workers", "2", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert_same_bytes(uninterrupted, tmp_path)


@pytest.mark.parametrize(("workers", "after"), [("1", 0), ("1", 3), ("1", 30), ("2", 12)])
def test_sigkill_then_rerun_equals_an_uninterrupted_run(uninterrupted, tmp_path, workers, after):
    args = (str(STUDY), *SMALL, "--workers", workers, "--out", str(tmp_path))
    proc = sim_process("run", *args)
    if after == 0:  # killed while setting up
        wait_for(lambda: any(tmp_path.glob("*/manifest.json")), what="the manifest")
    else:
        wait_for(lambda: len(parts(tmp_path)) >= after, what=f"{after} parts")
    kill(proc)
    assert proc.returncode == -signal.SIGKILL
    assert len(parts(tmp_path)) < 36, "the run finished before it could be killed"
    result = sim_run(*args)
    assert result.returncode == 0, result.stderr
    assert_same_results(uninterrupted, tmp_path)
    assert not list(tmp_path.rglob("*.tmp"))


def test_a_rerun_of_a_finished_study_runs_nothing(uninterrupted):
    before = {p: p.stat().st_mtime_ns for p in parts(uninterrupted)}
    result = sim_run(str(STUDY), *SMALL, "--workers", "1", "--out", str(uninterrupted))
    assert result.returncode == 0, result.stderr
    assert {p: p.stat().st_mtime_ns for p in parts(uninterrupted)} == before


def test_dry_run_prints_the_design_and_an_estimate(tmp_path):
    result = sim_run(str(STUDY), "--dry-run", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "grid design: 9 points × 100 replicates" in result.stdout
    assert "900 runs of 120 days" in result.stdout and "MB on disk" in result.stdout
    assert not list(tmp_path.iterdir())


def test_the_manifest_lists_the_tasks_done(uninterrupted):
    import json

    manifest = json.loads((folder(uninterrupted) / "manifest.json").read_text())
    assert len(manifest["done"]) == 36 and manifest["status"] == "complete"
    assert manifest["design"][0]["sides.attacker.tempo"] == 0.2


# ---- analysis -------------------------------------------------------------------------------


def test_outcomes_count_runs_that_never_fall_as_censored():
    study = execute.plan(load(CLASSROOM, ["days=10", "replicates=4"]))
    start = study.world(0).territory0
    t = np.full((4, 10), start)
    t[0, 3:] = 0.0  # one run falls on day 3, the others hold to the end
    out = analysis.outcomes(t, study, 0)
    assert out[analysis.FALLEN] == 0.25
    assert out[analysis.COLLAPSE_MEAN] == (3 + 10 + 10 + 10) / 4  # censored at the end, kept
    assert np.isnan(out[analysis.COLLAPSE_MEDIAN])  # half or more never fell


def test_main_effects_are_means_over_the_other_parameters(uninterrupted):
    f = folder(uninterrupted)
    table = pd.read_parquet(f / "outcomes.parquet")
    effects = pd.read_parquet(f / "sensitivity.parquet")
    name = "median km² on 2025-03-01"
    got = effects[(effects.parameter == "sides.attacker.tempo") & (effects.outcome == name)]
    want = table.groupby("sides.attacker.tempo")[name].mean()
    assert list(got["value"]) == list(want.to_numpy())
    bands = pd.read_parquet(f / "summary.parquet")
    assert sorted(bands["point"].unique()) == list(range(9))
    assert (bands["q10"] <= bands["q50"]).all() and (bands["q50"] <= bands["q90"]).all()
    for p, one in bands.groupby("point"):  # survival: from 1, never rising
        holding = one.sort_values("day")["p_holding"].to_numpy()
        assert holding[0] <= 1 and (np.diff(holding) <= 0).all()
        fallen = table.loc[table.point == p, "fallen by the end (share)"].item()
        assert holding[-1] == pytest.approx(1 - fallen)


def test_sobol_indices_find_the_parameter_that_matters(tmp_path):
    sweep = {
        "design": "sobol",
        "points": 256,
        "parameters": {
            "sides.attacker.tempo": {"range": [0.0, 1.0]},
            "sides.defender.tempo": {"range": [0.0, 1.0]},
        },
    }
    d = designs.build(load(study_file(tmp_path, sweep)))
    x = d.table["sides.attacker.tempo"].to_numpy(float)
    table = d.table.assign(y=4 * x + 0.01 * d.table["sides.defender.tempo"])
    si = analysis.sobol_indices(table, d, ["y"]).set_index("parameter")
    assert si.at["sides.attacker.tempo", "S1"] == pytest.approx(1, abs=0.05)
    assert si.at["sides.defender.tempo", "ST"] == pytest.approx(0, abs=0.01)
    assert (si["S1_conf"] > 0).all()


def test_a_study_with_a_date_range_reopens(tmp_path):
    """The manifest is JSON: dates come back as text and must still make the same design."""
    sweep = {
        "design": "lhs",
        "points": 3,
        "replicates": 3,
        "parameters": {
            "sides.attacker.reinforcements.second_echelon.date": {
                "range": [dt.date(2025, 1, 10), dt.date(2025, 2, 20)]
            }
        },
    }
    out = tmp_path / "r"
    result = sim_run(
        str(study_file(tmp_path, sweep)), "--workers", "1", "--out", str(out), "--quiet"
    )
    assert result.returncode == 0, result.stderr
    before = (folder(out) / "outcomes.parquet").read_bytes()
    rebuilt = subprocess.run(
        [sys.executable, "-m", "sim.cli", "report", str(folder(out))],
        capture_output=True,
        text=True,
    )
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert (folder(out) / "outcomes.parquet").read_bytes() == before


def test_report_refuses_an_unfinished_study(uninterrupted, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(folder(uninterrupted), copy)
    for part in copy.glob("*/part-p00004-*.parquet"):
        part.unlink()
    result = subprocess.run(
        [sys.executable, "-m", "sim.cli", "report", str(copy)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "20 of 180 runs are not on disk" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args",
    [
        ("report", "/nonexistent/folder"),
        ("compare", "/nonexistent/folder"),
        ("run", str(STUDY), "--scheduler", "notaurl", "--out", "{tmp}/r"),
        ("replay", str(STUDY), "--point", "9", "-o", "{tmp}/x.html"),
        ("replay", str(STUDY), "-o", "{tmp}/no/such/dir/x.html"),
    ],
)
def test_cli_failures_are_one_line_and_write_nothing(tmp_path, args):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = subprocess.run(
        [sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


def test_results_of_another_numpy_never_share_a_folder(monkeypatch):
    from sim.experiment import store

    table = pd.DataFrame({"point": [0]})
    here = store.scenario_hash({"a": 1}, table)
    real = store.versions
    monkeypatch.setattr(store, "versions", lambda: {**real(), "numpy": "0.0"})
    assert store.scenario_hash({"a": 1}, table) != here


def test_main_effects_are_undefined_where_a_point_lacks_the_outcome():
    d = designs.build(load(STUDY))
    table = d.table.assign(y=np.where(d.table.index == 0, np.nan, 1.0))
    effects = analysis.main_effects(table, d, ["y"])
    first = d.table.at[0, "sides.attacker.tempo"]
    row = effects[(effects.parameter == "sides.attacker.tempo") & (effects.level == str(first))]
    assert row["value"].isna().all()
    assert effects["value"].notna().sum() == 4  # the levels without point 0


def test_two_runs_never_write_one_folder_at_once(tmp_path):
    from sim.experiment.store import ResultsDir, StoreError

    s = execute.plan(load(STUDY, ["sweep.replicates=2"]))
    resolved = execute.resolved_scenario(s.loaded.scenario)
    args = (tmp_path, s.name, resolved, s.design.table, 0, "batch")
    first = ResultsDir.open(*args)
    with pytest.raises(StoreError, match="being written by another sim run"):
        ResultsDir.open(*args)
    first.close()
    ResultsDir.open(*args).close()  # free again
    manifest = first.path / "manifest.json"  # a folder of another numpy is refused …
    manifest.write_text(manifest.read_text().replace('"numpy": "', '"numpy": "0.'))
    for _ in range(2):  # … and the refusal leaves it unlocked
        with pytest.raises(StoreError, match="another scenario or version"):
            ResultsDir.open(*args)
