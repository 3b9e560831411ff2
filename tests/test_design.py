"""Sweep designs from bad or extreme input: refused with one located message before anything
is built or run, levels read as the field they set, and checking that stays fast whatever
the size of the design."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml

from sim.experiment import design as designs
from sim.experiment import execute
from sim.scenario import maps
from sim.scenario.load import ScenarioError, load
from sim.scenario.schema import MAX_LEVELS, MAX_POINTS

ROOT = Path(__file__).parent.parent
CLASSROOM = ROOT / "scenarios" / "classroom_small.yaml"
CLASSROOM_STUDY = ROOT / "scenarios" / "studies" / "classroom_tempo_intel.yaml"


def study(tmp_path: Path, sweep: dict) -> Path:
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump({"base": str(CLASSROOM), "name": "t", "sweep": sweep}))
    return path


def refused(path: Path, *overrides: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        execute.plan(load(path, overrides))
    err = info.value
    assert "\n" not in str(err) and len(str(err)) <= 300, str(err)
    return err


@pytest.mark.parametrize("spec", [[], {"values": []}])
def test_a_parameter_without_levels_is_refused_at_its_line(tmp_path, spec):
    path = study(tmp_path, {"parameters": {"sides.attacker.tempo": spec}})
    err = refused(path)
    lines = path.read_text().split("\n")
    line = next(i + 1 for i, text in enumerate(lines) if "[]" in text)
    assert (err.file, err.line) == (str(path), line)
    assert err.field.startswith("sweep.parameters.sides.attacker.tempo")
    assert "at least 1 item" in err.message


def test_levels_of_mixed_types_are_read_as_the_field_reads_them(tmp_path):
    levels = [True, "0.3", 0.5]
    path = study(tmp_path, {"parameters": {"sides.attacker.tempo": levels}})
    table = execute.plan(load(path)).design.table
    assert table["sides.attacker.tempo"].tolist() == [1.0, 0.3, 0.5]
    table.to_parquet(io.BytesIO(), index=False)  # the column has one type


def test_levels_of_the_shipped_study_with_true_are_written(tmp_path):
    design = execute.plan(
        load(CLASSROOM_STUDY, ["sweep.parameters.sides.attacker.tempo=[true, 0.3, 0.5]"])
    ).design
    design.table.to_parquet(io.BytesIO(), index=False)


def test_a_level_the_field_refuses_names_its_design_point(tmp_path):
    path = study(tmp_path, {"parameters": {"sides.attacker.tempo": [0.2, "fast"]}})
    err = refused(path)
    assert err.field == "sides.attacker.tempo" and "design point 1" in err.message
    assert "'fast'" in err.message


def test_an_lhs_design_is_named_in_english(tmp_path):
    path = study(tmp_path, {"design": "lhs", "points": 4, "parameters": {"rules.support": [0.1]}})
    assert "an LHS design needs range" in refused(path).message


def test_more_levels_than_the_cap_are_refused_before_building(tmp_path):
    levels = [i / (MAX_LEVELS + 1) for i in range(MAX_LEVELS + 1)]
    path = study(tmp_path, {"parameters": {"rules.support": levels}})
    err = refused(path)
    assert err.field == "sweep.parameters.rules.support" and f"at most {MAX_LEVELS}" in err.message


def test_a_grid_beyond_the_cap_is_refused_before_building(tmp_path):
    levels = [i / 100 for i in range(100)]
    names = ["rules.support", "rules.shock", "rules.recovery"]
    path = study(tmp_path, {"parameters": dict.fromkeys(names, levels)})
    err = refused(path)
    assert "1,000,000 grid points" in err.message and f"{MAX_POINTS:,}" in err.message


def test_a_large_grid_is_checked_one_scenario_per_level_with_the_map_built_once(
    tmp_path, monkeypatch
):
    names = ["rules.support", "rules.shock", "rules.recovery", "rules.assault_fatigue"]
    levels = [round(i / 20, 2) for i in range(1, 11)]  # 10 levels each: 10,000 points
    loaded = load(study(tmp_path, {"parameters": dict.fromkeys(names, levels)}))
    built = []
    monkeypatch.setattr(maps, "build", lambda spec: built.append(spec) or pytest.fail("rebuilt"))
    checked = list(designs.checkpoints(loaded, designs.build(loaded)))
    assert len(checked) == 10 and not built
    assert execute.plan(loaded).design.points == 10_000


def test_a_swept_map_is_built_for_each_of_its_levels(tmp_path):
    path = study(tmp_path, {"parameters": {"map.generate.seed": [1, 2]}})
    worlds = execute.plan(load(path))._worlds
    assert (worlds[0, None].terrain != worlds[1, None].terrain).any()


def test_a_from_date_of_a_run_that_ends_past_the_calendar_is_refused(tmp_path):
    sweep = {"parameters": {"sides.attacker.tempo": {"from": "9999-12-30", "values": [0.1]}}}
    path = study(tmp_path, sweep)
    err = refused(path, "start=9999-12-01")
    assert err.field == "days" and "9999-12-31" in err.message
