"""Backtests: the CRPS against its definition, scores by horizon, and `sim backtest` end to
end on a small calibration (forecasts only past each origin, a page, a resume that runs
nothing), with bad origins refused in one line."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from sim.cli import main
from sim.experiment import backtest
from tests.test_calibrate import GOOD, START, made_by_the_engine, scenario


def test_crps_of_an_ensemble_is_its_definition():
    rng = np.random.default_rng(0)
    x, y = rng.normal(5, 2, 40), 6.3
    spread = np.abs(x[:, None] - x[None, :]).mean()
    assert backtest.crps(x, y) == pytest.approx(np.abs(x - y).mean() - spread / 2)
    assert backtest.crps(np.full(10, 3.0), 5.0) == pytest.approx(2.0)  # a point: |error|


def test_scores_count_what_falls_inside_the_bands_by_horizon():
    f = pd.DataFrame(
        {
            "horizon": [3, 10, 20, 40],
            "observed": [5.0, 9.0, 5.0, 100.0],
            "q10": [0.0] * 4, "q25": [4.0] * 4, "q50": [5.0] * 4, "q75": [6.0] * 4,
            "q90": [8.0] * 4, "crps": [1.0, 2.0, 3.0, 4.0],
        }
    )  # fmt: skip
    s = backtest.scores(f).set_index("horizon")
    assert s.loc["1–14 days", "forecasts"] == 2
    assert s.loc["1–14 days", "coverage_50"] == 0.5 and s.loc["1–14 days", "coverage_80"] == 0.5
    assert s.loc["1–14 days", "crps_km2"] == 1.5
    assert s.loc["1–14 days", "median_error_km2"] == pytest.approx(-2.0)
    assert s.loc["31–60 days", "coverage_80"] == 0.0


def test_a_backtest_forecasts_past_each_origin_and_resumes(tmp_path):
    observed = made_by_the_engine(days=range(10, 81, 10))
    path = scenario(tmp_path, {**GOOD, "until": START + dt.timedelta(days=40)}, observed)
    out = tmp_path / "out"
    args = ["backtest", str(path), "--origin", "2025-01-21", "--origin", "2025-02-10",
            "--out", str(out), "--workers", "1", "--quiet", "--set", "replicates=20"]  # fmt: skip
    first = CliRunner().invoke(main, args, catch_exceptions=False)
    assert first.exit_code == 0, first.output
    folder = out / "classroom-small-backtest"
    f = pd.read_parquet(folder / "forecasts.parquet")
    by_origin = f.groupby(f["origin"].dt.date)["date"].min()
    assert by_origin.to_dict() == {dt.date(2025, 1, 21): pd.Timestamp("2025-01-31"),
                                   dt.date(2025, 2, 10): pd.Timestamp("2025-02-20")}  # fmt: skip
    assert len(f) == 6 + 4 and (f["horizon"] > 0).all()
    assert ((f["q10"] <= f["q50"]) & (f["q50"] <= f["q90"])).all()
    page = (folder / "backtest.html").read_text()
    assert "Scores by horizon" in page and "from 2025-01-21" in page
    parts = sorted(folder.glob("**/series/part-*.parquet"))
    stamps = [p.stat().st_mtime_ns for p in parts]
    again = CliRunner().invoke(main, args, catch_exceptions=False)
    assert again.exit_code == 0 and again.output == first.output
    assert [p.stat().st_mtime_ns for p in parts] == stamps  # nothing ran again


@pytest.mark.parametrize(
    ("origin", "says"),
    [("2024-12-01", "no observation on or before it"), ("2025-03-01", "no observation after")],
)
def test_an_origin_without_data_around_it_is_one_line_exit_2(tmp_path, origin, says):
    path = scenario(tmp_path, GOOD)
    out = tmp_path / "out"
    args = ["backtest", str(path), "--origin", origin, "--out", str(out), "--quiet"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and says in result.output
    assert len(result.output.strip().splitlines()) == 1 and not out.exists()


def test_at_an_origin_the_calibrated_schedules_lose_their_later_steps(tmp_path):
    # Persistence: the tempo fitted last before the origin holds; later steps leave the
    # calibration; schedules not calibrated stay as written.
    from sim.scenario.load import load

    steps = [{"from": START, "value": 0.3}, {"from": START + dt.timedelta(days=20), "value": 0.1},
             {"from": START + dt.timedelta(days=50), "value": 0.6}]  # fmt: skip
    tempo = "sides.attacker.tempo@"
    priors = {f"{tempo}{d}": {"range": [0.05, 0.6]} for d in ("2025-01-01", "2025-01-21",
                                                                "2025-02-20")}  # fmt: skip
    section = {**GOOD, "parameters": priors}
    path = scenario(tmp_path, section, made_by_the_engine(days=range(10, 81, 10)))
    data = yaml.safe_load(path.read_text())
    data["sides"]["attacker"]["tempo"] = steps
    data["sides"]["defender"]["intelligence"] = [
        {"from": START, "value": 0.5}, {"from": dt.date(2025, 3, 1), "value": 0.1}
    ]  # fmt: skip
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    loaded = load(path)
    then = backtest.at_origin(loaded, dt.date(2025, 1, 31)).scenario
    assert [s.from_ for s in then.sides.attacker.tempo] == [START, START + dt.timedelta(days=20)]
    assert set(then.calibrate.parameters) == {
        "sides.attacker.tempo@2025-01-01", "sides.attacker.tempo@2025-01-21"
    }  # fmt: skip
    assert len(then.sides.defender.intelligence) == 2  # not calibrated: as written
    assert then.calibrate.until == dt.date(2025, 1, 31)
