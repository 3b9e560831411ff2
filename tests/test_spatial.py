"""Spatial validation: the scores against hand-computed values, both engines counting the same
held maps, the results folder (maps parts, spatial.parquet, outcomes, report, compare), and
bad observed maps."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sim.analysis.spatial import score
from sim.cli import main
from sim.model import batch, reference
from sim.model.world import compile_world
from sim.scenario.load import ScenarioError, load

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "scenarios" / "examples" / "riverbend_geo.yaml"


def test_scores_by_hand():
    domain = np.array([True, True, True, True, False])
    observed = np.array([True, True, False, False, True])
    # Certain and right everywhere on the domain (the fifth cell is outside it).
    assert score(np.array([1.0, 1, 0, 0, 0]), observed, domain) == {
        "share right": 1.0,
        "IoU": 1.0,
        "Brier": 0.0,
    }
    # Majority on cells 0 and 2: one right held, one wrong held, one missed, one right empty.
    p = np.array([0.8, 0.4, 0.6, 0.0, 1.0])
    got = score(p, observed, domain)
    assert got["share right"] == 0.5
    assert got["IoU"] == pytest.approx(1 / 3)
    assert got["Brier"] == pytest.approx((0.04 + 0.36 + 0.36 + 0.0) / 4)
    # A coin everywhere: Brier 0.25 whatever the map; both empty: IoU 1.
    assert score(np.full(5, 0.5), observed, domain)["Brier"] == pytest.approx(0.25)
    assert score(np.zeros(5), np.zeros(5, bool), domain)["IoU"] == 1.0


@pytest.mark.parametrize("name", ["examples/riverbend_geo.yaml", "classroom_small.yaml"])
def test_both_engines_count_the_same_held_maps(name):
    world = compile_world(load(ROOT / "scenarios" / name))
    world = replace(world, map_days=np.array([0, 7, 29, world.days - 1]))
    a, b = batch.run(world, range(5)), reference.run(world, range(5))
    assert a.held_maps.shape == (4, world.owner.size)
    assert np.array_equal(a.held_maps, b.held_maps)
    # Day 0's count matches the territory series: every run's held cells.
    held0 = (a.held_maps[0] * world.territory_cells.ravel()).sum() * world.cell_area
    assert held0 == pytest.approx(a.series["territory"][:, 0].sum())
    assert a.held_maps.max() <= 5


def _run(out: Path, *extra: str) -> Path:
    result = CliRunner().invoke(
        main, ["run", str(EXAMPLE), "--replicates", "24", "--out", str(out), "--quiet", *extra]
    )
    assert result.exit_code == 0, result.output
    (folder,) = out.iterdir()
    return folder


def test_results_hold_the_spatial_scores_whatever_the_chunks(tmp_path):
    one = _run(tmp_path / "one")
    many = _run(tmp_path / "many", "--chunk", "5")  # five parts a point, summed
    assert len(list((many / "maps").glob("part-*.parquet"))) == 5
    a, b = pd.read_parquet(one / "spatial.parquet"), pd.read_parquet(many / "spatial.parquet")
    pd.testing.assert_frame_equal(a, b)
    assert list(a["date"].dt.strftime("%Y-%m-%d")) == ["2026-03-31", "2026-04-30"]
    assert a["observed cells"].tolist() == [25, 14]
    assert ((a["share right"] > 0.5) & (a["share right"] <= 1)).all()
    outcomes = pd.read_parquet(one / "outcomes.parquet")
    assert outcomes["IoU (maps, mean)"].iloc[0] == pytest.approx(a["IoU"].mean())
    report = (one / "report.html").read_text()
    assert "The model&#x27;s map against the observed map" in report
    assert "observed: held" in report
    page = tmp_path / "compare.html"
    result = CliRunner().invoke(main, ["compare", str(one), str(many), "-o", str(page)])
    assert result.exit_code == 0, result.output
    assert "A IoU" in page.read_text() and "B Brier" in page.read_text()


def _copy(tmp_path: Path, csv: str) -> Path:
    shutil.copytree(EXAMPLE.parent / "riverbend_geo", tmp_path / "riverbend_geo")
    (tmp_path / "riverbend_geo" / "observed_maps.csv").write_text(csv)
    path = tmp_path / EXAMPLE.name
    path.write_text(EXAMPLE.read_text())
    return path


def test_observed_map_of_another_grid_is_refused(tmp_path):
    path = _copy(tmp_path, "date,held,source\n2026-03-31,DD./.D.,x\n")
    with pytest.raises(ScenarioError) as info:
        load(path)
    err = info.value
    assert err.field == "observed_maps.maps.0.held" and "2×3 cells" in str(err)
    assert err.line == next(
        i for i, t in enumerate(path.read_text().splitlines(), 1) if t.startswith("observed_maps")
    )


def test_observed_maps_without_their_columns_are_refused(tmp_path):
    with pytest.raises(ScenarioError) as info:
        load(_copy(tmp_path, "day,cells\n1,2\n"))
    assert info.value.field == "observed_maps.file" and "date, held" in str(info.value)


def test_observed_maps_outside_the_run_are_kept_and_not_scored(tmp_path):
    """A shorter run (`--set days=40`) is no error: the map of day 60 is simply not scored."""
    loaded = load(EXAMPLE, ["days=40"])
    assert len(loaded.scenario.observed_maps.maps) == 2
    world = compile_world(loaded)
    assert world.map_days.tolist() == [30]
    assert batch.run(world, range(3)).held_maps.shape == (1, world.owner.size)


def test_observed_maps_csv_from_excel_and_with_a_date_twice(tmp_path):
    rows = (EXAMPLE.parent / "riverbend_geo" / "observed_maps.csv").read_text()
    assert load(_copy(tmp_path / "bom", "\ufeff" + rows)).scenario.observed_maps.maps
    twice = rows + rows.splitlines()[1] + "\n"
    with pytest.raises(ScenarioError, match="row 4: a second map of 2026-03-31"):
        load(_copy(tmp_path / "twice", twice))


def test_observed_maps_csv_that_the_csv_module_refuses(tmp_path):
    with pytest.raises(ScenarioError, match="not CSV a map can use"):
        load(_copy(tmp_path, "date,held,source\n2026-03-31," + "D" * 200_000 + ",x\n"))
