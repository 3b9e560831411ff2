"""Calibration: the arithmetic of history matching against closed forms, the refusal of bad
calibrate: input before anything runs, a small calibration end to end (and resumed), and
recovery of a parameter from data the engine made itself."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from scipy.stats import multivariate_normal

from sim.analysis import matching
from sim.cli import main
from sim.experiment import calibrate
from sim.experiment import design as designs
from sim.experiment.execute import compile_checked, simulate
from sim.scenario.load import load
from sim.scenario.schema import Observation
from tests.study_runs import ROOT

CLASSROOM = ROOT / "scenarios" / "classroom_small.yaml"
START = dt.date(2025, 1, 1)


def test_chance_variance_at_a_set_is_the_mean_over_its_nearest_sets():
    rng = np.random.default_rng(3)
    t = matching.Targets(np.array([0, 9]), [], np.array([10.0, 20.0]), np.array([1.0, 1.0]))
    runs = rng.normal(15, 3, size=(6, 4, 2))
    where = np.array([[0.0], [0.01], [0.02], [0.9], [0.91], [0.92]])  # two clusters of 3
    var = runs.var(axis=1, ddof=1)
    local = matching.local_mean(var, where, k=3)
    assert local[:3] == pytest.approx(np.tile(var[:3].mean(0), (3, 1)))
    assert local[3:] == pytest.approx(np.tile(var[3:].mean(0), (3, 1)))
    assert matching.local_mean(var, where, k=1) == pytest.approx(var)  # itself alone
    alone = matching.implausibility(runs, t, 2.0, 10.0)
    pooled = matching.implausibility(runs, t, 2.0, 10.0, where)  # 6 sets: all pooled
    assert not np.allclose(alone[1], pooled[1])
    sd = np.sqrt(var.mean(0))
    z = (t.z - runs.mean(1)) / np.sqrt(t.var + 4.0 + sd**2 * (1 + 1 / 4))
    assert pooled[0] == pytest.approx(np.abs(z).max(1))


def test_sources_of_one_date_are_averaged_and_their_error_adds_spread_and_intervals():
    s = load(CLASSROOM).scenario.model_copy(
        update={
            "observed": [
                Observation(date=START + dt.timedelta(days=10), km2=100.0, low=80.0, high=120.0),
                Observation(date=START + dt.timedelta(days=10), km2=140.0),
                Observation(date=START + dt.timedelta(days=20), km2=90.0),
                Observation(date=START + dt.timedelta(days=300), km2=1.0),  # past the run
            ]
        }
    )
    t = matching.targets(s, START + dt.timedelta(days=400))
    assert list(t.days) == [10, 20]
    assert t.z == pytest.approx([120.0, 90.0])
    within = (40 / (2 * matching.Z90)) ** 2 / 2  # one source of two has an interval
    assert t.var == pytest.approx([within + 400.0, 0.0])


def test_implausibility_and_likelihood_match_their_closed_forms():
    rng = np.random.default_rng(1)
    t = matching.Targets(np.array([0, 7, 30]), [], np.array([10.0, 20.0, 25.0]),
                         np.array([4.0, 1.0, 9.0]))  # fmt: skip
    runs = rng.normal(15, 3, size=(5, 6, 3))
    worst, loglik = matching.implausibility(runs, t, discrepancy=2.0, correlation_days=10.0)
    scaled = [(x - x.mean(axis=0)) / x.std(axis=0, ddof=1) for x in runs]
    corr = np.corrcoef(np.concatenate(scaled), rowvar=False)  # pooled over the sets
    for s in range(5):
        x = runs[s]
        sd = x.std(axis=0, ddof=1)
        chance = np.outer(sd, sd) * corr * (1 + 1 / 6)
        lag = np.abs(t.days[:, None] - t.days[None, :])
        cov = chance + np.diag(t.var) + 4.0 * np.exp(-lag / 10.0)
        mean = x.mean(axis=0)
        assert loglik[s] == pytest.approx(multivariate_normal(mean, cov).logpdf(t.z), rel=1e-6)
        assert worst[s] == pytest.approx(np.max(np.abs(t.z - mean) / np.sqrt(np.diag(cov))))


def test_weights_ess_and_weighted_quantiles():
    w = matching.weights(np.zeros(8))
    assert w == pytest.approx(np.full(8, 1 / 8)) and matching.ess(w) == pytest.approx(8)
    w = matching.weights(np.array([0.0, -1000.0]))
    assert matching.ess(w) == pytest.approx(1)
    values = np.array([[1.0], [2.0], [3.0]])
    assert matching.weighted_quantiles(values, np.full(3, 1 / 3), (0.5,))[0, 0] == 2.0
    heavy = matching.weighted_quantiles(values, np.array([0.0, 0.0, 1.0]), (0.1, 0.9))
    assert heavy[:, 0] == pytest.approx([3.0, 3.0])


def test_the_next_wave_samples_inside_the_survivors_box():
    lo, hi = matching.box(np.array([[0.4, 0.0], [0.6, 0.1]]))
    assert lo == pytest.approx([0.35, 0.0]) and hi == pytest.approx([0.65, 0.15])


def made_by_the_engine(sets: tuple[str, ...] = (), days: range = range(10, 41, 10)):
    """Observations: one run of the classroom scenario (a replicate no calibration runs)."""
    world = compile_checked(load(CLASSROOM, [*sets, f"days={days[-1] + 1}"]))
    held = simulate(world, "batch", [100_000]).series["territory"][0]
    return [{"date": START + dt.timedelta(days=d), "km2": float(held[d])} for d in days]


def scenario(tmp_path, calibrate_section: dict, observed: list[dict] | None = None):
    """The classroom scenario with observations and a calibrate: section, written beside it."""
    data = yaml.safe_load(CLASSROOM.read_text())
    data["observed"] = observed or made_by_the_engine()
    data["calibrate"] = calibrate_section
    path = tmp_path / "calibrated.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


GOOD = {
    "until": START + dt.timedelta(days=40),
    "discrepancy": 20,
    "waves": 2,
    "generations": 1,
    "points": 12,
    "replicates": 3,
    "parameters": {"sides.attacker.tempo": {"range": [0.1, 0.6]}},
}


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"parameters": {"sides.attacker.speed": {"range": [0, 1]}}},
         "calibrate.parameters.sides.attacker.speed", "no such field"),
        ({"parameters": {"sides.attacker.tempo": {"range": [0.5, 0.5]}}},
         "calibrate.parameters.sides.attacker.tempo", "low < high"),
        ({"until": START - dt.timedelta(days=1)}, "calibrate.until", "on or after the start"),
        ({"until": START + dt.timedelta(days=5)}, "calibrate.until", "no observations"),
        ({"parameters": {"sides.attacker.tempo@2025-13-01": {"range": [0, 1]}}},
         "calibrate.parameters", "is no date"),
        ({"parameters": {"sides.attacker.tempo": {"range": [0, 1]},
                         "sides.attacker": {"range": [0, 1]}}},
         "calibrate.parameters.sides.attacker", "overlaps"),
        ({"waves": 0}, "calibrate.waves", "greater than or equal to 1"),
    ],
)  # fmt: skip
def test_bad_calibrate_input_is_one_line_and_exit_2_before_anything_runs(
    tmp_path, change, field, says
):
    path = scenario(tmp_path, {**GOOD, **change})
    result = CliRunner().invoke(main, ["calibrate", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert "\n" not in line and str(path) in line and field in line and says in line, line
    assert not (tmp_path / "out").exists()


def test_without_a_calibrate_section_it_says_how_to_write_one(tmp_path):
    result = CliRunner().invoke(main, ["calibrate", str(CLASSROOM), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "no calibrate: section" in result.output


def test_two_steps_of_one_schedule_are_two_parameters():
    loaded = load(CLASSROOM)
    data = designs.data_of(loaded)
    data["calibrate"] = {**GOOD, "parameters": {
        "sides.attacker.tempo@2025-01-20": {"range": [0.0, 1.0]},
        "sides.attacker.tempo@2025-02-10": {"range": [0.0, 1.0]},
    }}  # fmt: skip
    loaded = designs.validate(data, loaded.source, like=loaded)
    axes = designs.calibrated(loaded)
    assert [a.step for a in axes] == [dt.date(2025, 1, 20), dt.date(2025, 2, 10)]
    table = designs.scaled(axes, np.array([[0.2, 0.7]]))
    design = designs.Design("lhs", axes, table, 2, 0)
    tempo = designs.point_loaded(loaded, design, 0).scenario.sides.attacker.tempo
    assert [(s.from_, s.value) for s in tempo] == [
        (START, 0.3), (dt.date(2025, 1, 20), 0.2), (dt.date(2025, 2, 10), 0.7)
    ]  # fmt: skip


def test_a_small_calibration_writes_its_folder_and_resumes_without_running_again(tmp_path):
    path = scenario(tmp_path, GOOD)
    args = ["calibrate", str(path), "--out", str(tmp_path / "out"), "--workers", "1", "--quiet"]
    first = CliRunner().invoke(main, args, catch_exceptions=False)
    assert first.exit_code == 0, first.output
    folder = tmp_path / "out" / "classroom-small-calibration"
    diagnostics = json.loads((folder / "diagnostics.json").read_text())
    assert [w["sets"] for w in diagnostics["waves"]] == [12, 12, 12]
    assert [("acceptance" in w) for w in diagnostics["waves"]] == [False, False, True]
    assert 0 <= diagnostics["waves"][2]["acceptance"] <= 1
    assert diagnostics["waves"][2]["temperature"] == diagnostics["temperature"]
    assert [w["kind"] for w in diagnostics["waves"]][1:] == [
        "history matching", "sequential Monte Carlo"
    ]  # fmt: skip
    assert diagnostics["simulations"] == 3 * 12 * 3
    parts = sorted(folder.glob("wave-*/*/series/part-*.parquet"))
    assert len(parts) == 3  # a wave of 12 sets × 3 runs: one batch, one part
    stamps = [p.stat().st_mtime_ns for p in parts]
    page = (folder / "calibration.html").read_text()
    assert "Posterior predictive" in page and "sides.attacker.tempo" in page
    second = CliRunner().invoke(main, args, catch_exceptions=False)
    assert second.exit_code == 0  # the same posterior, from the runs on disk
    posterior = [line for line in second.output.splitlines() if line.startswith("  ")]
    assert posterior and posterior == [x for x in first.output.splitlines() if x.startswith("  ")]
    assert [p.stat().st_mtime_ns for p in parts] == stamps
    assert f"--posterior {folder}" in first.output  # what to run next, and it runs
    runs = ["run", str(path), "--posterior", str(folder), "--replicates", "10", "--quiet",
            "--out", str(tmp_path / "runs")]  # fmt: skip
    on = CliRunner().invoke(main, runs, catch_exceptions=False)
    assert on.exit_code == 0 and "from a posterior of 12 sets" in on.output


def test_recovery_of_a_tempo_from_data_the_engine_made(tmp_path):
    """One run at a known tempo (a replicate the calibration never runs) is the history; the
    posterior's 90 % interval must hold that tempo, and the generations of sequential Monte
    Carlo must agree with the posterior computed directly (likelihood weights on a dense
    sample of the prior). The tempo is one the 60-day curve identifies: above about 0.35 the
    classroom front is lost alike whatever the tempo, and the likelihood goes flat.
    benchmarks/recover_calibration.py does this for three parameters over ten seeds."""
    truth = 0.25
    observed = made_by_the_engine((f"sides.attacker.tempo={truth}",), range(5, 60, 5))
    common = {**GOOD, "until": observed[-1]["date"], "discrepancy": 5, "correlation_days": 10,
              "replicates": 8}  # fmt: skip
    medians = []
    for name, section in (
        ("smc", {**common, "points": 60, "waves": 2, "generations": 3}),
        ("direct", {**common, "points": 200, "waves": 1, "generations": 0}),
    ):
        (tmp_path / name).mkdir()
        path = scenario(tmp_path / name, section, observed)
        result = calibrate.calibrate(load(path), tmp_path / name, workers=1, progress=False)
        post = result.posterior
        q = matching.weighted_quantiles(
            post[["sides.attacker.tempo"]].to_numpy(float), post["weight"].to_numpy(),
            (0.05, 0.5, 0.95),
        )[:, 0]  # fmt: skip
        assert q[0] <= truth <= q[2], (name, q)
        assert q[2] - q[0] < 0.5 * (0.6 - 0.1)  # and the data narrowed the prior
        assert result.diagnostics["temperature"] == 1  # the posterior, not a tempered one
        medians.append(q[1])
    assert medians[0] == pytest.approx(medians[1], abs=0.03)


def test_the_docs_calibrate_section_is_valid_on_kursk():
    import re

    text = (ROOT / "docs" / "calibration.md").read_text()
    block = re.search(r"```yaml\n(calibrate:.*?)```", text, re.S).group(1)
    kursk = load(ROOT / "scenarios" / "kursk_2024.yaml")
    data = designs.data_of(kursk)
    data["calibrate"] = yaml.safe_load(block)["calibrate"]
    axes, targets = calibrate.check(designs.validate(data, kursk.source, like=kursk))
    assert [a.name for a in axes] == list(data["calibrate"]["parameters"])
    assert max(targets.dates) <= dt.date(2025, 2, 28)


def test_changing_the_error_model_reuses_the_runs_on_disk(tmp_path):
    """The calibrate: section is no part of what a run is: a new discrepancy rescores the
    same first wave instead of running it again."""
    path = scenario(tmp_path, {**GOOD, "waves": 1, "generations": 0})
    out = tmp_path / "out"
    calibrate.calibrate(load(path), out, workers=1, progress=False)
    parts = sorted(out.glob("*/wave-1/*/series/part-*.parquet"))
    stamps = [p.stat().st_mtime_ns for p in parts]
    path = scenario(tmp_path, {**GOOD, "waves": 1, "generations": 0, "discrepancy": 40})
    calibrate.calibrate(load(path), out, workers=1, progress=False)
    assert sorted(out.glob("*/wave-1/*/series/part-*.parquet")) == parts
    assert [p.stat().st_mtime_ns for p in parts] == stamps


def test_killed_and_rerun_it_ends_with_the_uninterrupted_posterior(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    import pandas as pd

    path = scenario(tmp_path, {**GOOD, "points": 40})
    whole = tmp_path / "whole"
    calibrate.calibrate(load(path), whole, workers=1, progress=False)
    cut = tmp_path / "cut"
    args = [sys.executable, "-m", "sim.cli", "calibrate", str(path), "--out", str(cut),
            "--workers", "1", "--quiet"]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not list(cut.glob("*/wave-1/*/series/part-*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert not (cut / "classroom-small-calibration" / "posterior.parquet").exists()
    done = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    a, b = (d / "classroom-small-calibration" / "posterior.parquet" for d in (whole, cut))
    pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b))


def test_a_walk_stays_inside_the_prior_and_a_resample_follows_the_weights():
    rng = np.random.default_rng(3)
    unit = rng.uniform(0.0, 0.1, size=(500, 2))  # against an edge: reflected, not piled on it
    walked = matching.walked(unit, rng)
    assert ((walked >= 0) & (walked <= 1)).all() and not (walked == 0).any()
    assert abs(walked.mean(axis=0) - unit.mean(axis=0)).max() < 0.03
    w = np.array([0.5, 0.25, 0.25, 0.0])
    counts = np.bincount(matching.resampled(np.repeat(w, 100) / 100, rng) // 100, minlength=4)
    assert list(counts) == [200, 100, 100, 0]


def test_sequential_monte_carlo_finds_a_known_posterior():
    """The generations' arithmetic, as `calibrate` does it, on a model with a closed-form
    posterior: a uniform prior on [0, 1]², data y ~ N(θ, 0.05² I) observed at (0.3, 0.6):
    the posterior is that normal (truncation is negligible), mean (0.3, 0.6), sd 0.05."""
    rng = np.random.default_rng(5)
    y, sd = np.array([0.3, 0.6]), 0.05

    def loglik_of(theta):
        return -0.5 * (((theta - y) / sd) ** 2).sum(axis=1)

    unit = rng.uniform(size=(2000, 2))
    loglik, beta = loglik_of(unit), 0.0
    while beta < 1:
        beta_next, w = matching.tempered(loglik, beta * loglik, beta)
        keep = matching.resampled(w, rng)
        unit, loglik = unit[keep], loglik[keep]
        for _ in range(3):  # a few Metropolis moves per temperature
            tried = matching.walked(unit, rng)
            new = loglik_of(tried)
            moved = np.log(rng.uniform(size=len(unit))) < beta_next * (new - loglik)
            unit = np.where(moved[:, None], tried, unit)
            loglik = np.where(moved, new, loglik)
        beta = beta_next
    assert unit.mean(axis=0) == pytest.approx(y, abs=0.01)
    assert unit.std(axis=0) == pytest.approx([sd, sd], rel=0.1)


def test_tempering_keeps_half_the_sets_in_play_and_stops_at_the_posterior():
    loglik = np.linspace(0, -200, 100)  # a likelihood far sharper than the sets' spacing
    beta, w = matching.tempered(loglik, np.zeros(100), 0.0)
    assert 0 < beta < 1 and matching.ess(w) == pytest.approx(50, rel=0.02)
    assert matching.tempered(loglik / 1000, np.zeros(100), 0.0)[0] == 1.0  # flat enough
    assert matching.tempered(loglik, np.zeros(100), 0.9)[0] == 0.9  # never back down


def test_a_history_the_model_cannot_reach_is_one_line_naming_the_waves(tmp_path):
    far = [{"date": START + dt.timedelta(days=10), "km2": 50_000.0}]
    path = scenario(tmp_path, GOOD, far)
    result = CliRunner().invoke(main, ["calibrate", str(path), "--out", str(tmp_path), "--quiet"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1].startswith("error: every parameter set of wave 1")
    assert (tmp_path / "classroom-small-calibration" / "waves.parquet").exists()
