"""Runs on a posterior (`sim run --posterior`, `posterior:`): each replicate runs on the set
it drew by weight, exactly as that set's scenario would; bad posteriors are refused in one
line before anything runs."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from sim.cli import main
from sim.experiment import design as designs
from sim.experiment import execute
from sim.experiment.posterior import with_posterior
from sim.model import batch
from sim.scenario.load import load
from tests.study_runs import ROOT

CLASSROOM = ROOT / "scenarios" / "classroom_small.yaml"
TEMPO, INTEL = "sides.attacker.tempo", "sides.defender.intelligence@2025-02-01"


def write(tmp_path, rows, header=(TEMPO, INTEL, "weight"), name="posterior.csv"):
    path = tmp_path / name
    path.write_text("\n".join(",".join(map(str, r)) for r in [header, *rows]) + "\n")
    return path


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.parametrize("param", [TEMPO, "sides.attacker.kinds.infantry.firepower"])
def test_each_run_is_the_run_of_the_set_it_drew(tmp_path, param):
    # A schedule (runs of many sets share a batch) and a coefficient (a batch per set).
    low, high = (0.2, 0.6) if param == TEMPO else (0.005, 0.03)
    path = write(tmp_path, [(low, 1), (high, 3)], header=(param, "weight"))
    loaded = with_posterior(load(CLASSROOM, ["replicates=12"]), path)
    study = execute.plan(loaded)
    store = execute.run_study(study, tmp_path / "out", progress=False, workers=1).store
    got = store.territory(0)
    drawn = [study.draws.set_of(k) for k in range(12)]
    assert set(drawn) == {0, 1}
    for j, value in enumerate((low, high)):
        alone = execute.compile_checked(load(CLASSROOM, [f"{param}={value}"]))
        reps = [k for k in range(12) if drawn[k] == j]
        expected = batch.run(alone, reps).series["territory"]
        assert np.array_equal(got[reps], expected), value


def test_blank_lines_of_a_posterior_file_are_skipped(tmp_path):
    path = write(tmp_path, [(0.2, 0.5, 1), (0.4, 0.5, 3)])
    path.write_text(path.read_text() + "\n\n")
    draws = execute.plan(with_posterior(load(CLASSROOM), path)).draws
    assert draws.sets.tolist() == [[0.2, 0.5], [0.4, 0.5]]


def test_sets_are_drawn_by_weight_and_a_replicate_keeps_its_set(tmp_path):
    path = write(tmp_path, [(0.2, 0.5, 1), (0.4, 0.5, 0), (0.6, 0.5, 3)])
    draws = execute.plan(with_posterior(load(CLASSROOM), path)).draws
    drawn = np.array([draws.set_of(k) for k in range(4000)])
    assert not (drawn == 1).any()  # weight 0: never drawn
    assert abs((drawn == 2).mean() - 0.75) < 0.03
    again = execute.plan(with_posterior(load(CLASSROOM, ["replicates=7"]), path)).draws
    assert [again.set_of(k) for k in range(50)] == list(drawn[:50])


def test_cli_runs_on_a_calibration_folder_and_the_report_says_so(tmp_path):
    folder = tmp_path / "classroom-calibration"
    folder.mkdir()
    write(folder, [(0.2, 0.5, 1), (0.5, 0.1, 3)])
    out = tmp_path / "out"
    args = ("run", CLASSROOM, "--replicates", "20", "--quiet", "--out", out)
    result = cli(*args, "--posterior", folder)
    assert result.exit_code == 0, result.output
    assert "from a posterior of 2 sets" in result.output
    [run] = [p for p in out.iterdir() if "posterior" in p.name]
    assert "parameter uncertainty" in (run / "report.html").read_text()
    assert cli("report", run).exit_code == 0  # reopened from its manifest
    plain = cli(*args)
    assert plain.exit_code == 0 and len(list(out.iterdir())) == 2  # another folder
    write(folder, [(0.2, 0.5, 3), (0.5, 0.1, 1)])  # other weights: other runs
    assert cli(*args, "--posterior", folder).exit_code == 0
    assert len(list(out.iterdir())) == 3


def test_a_posterior_beside_the_scenario_is_read_by_the_loader(tmp_path):
    write(tmp_path, [(0.3, 0.5, 1)], name="fit.csv")
    data = yaml.safe_load(CLASSROOM.read_text())  # a generated map: no file to carry
    data["posterior"] = {"file": "fit.csv"}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
    posterior = load(tmp_path / "s.yaml").scenario.posterior
    assert posterior.parameters == [TEMPO, INTEL]
    assert posterior.sets == [[0.3, 0.5]] and posterior.weights == [1.0]


@pytest.mark.parametrize(
    ("rows", "header", "message"),
    [
        ([(0.2, "x", 1)], None, "row 2: expected numbers"),
        ([(0.2, 1)], None, "row 2: expected 3 finite numbers"),
        ([(0.2, 0.5)], (TEMPO, INTEL), "a weight column"),
        ([(0.2, 0.5, 0)], None, "not all 0"),
        ([(0.2, 1)], ("sides.attacker.pace", "weight"), "no such field"),
        ([(1.5, 1)], (TEMPO, "weight"), "posterior's extreme sets"),
        ([(0.2, 1)], ("sides.attacker.tempo@1999-01-01", "weight"), "within the run"),
    ],
)
def test_a_bad_posterior_is_one_line_exit_2_and_writes_nothing(tmp_path, rows, header, message):
    path = write(tmp_path, rows, header or (TEMPO, INTEL, "weight"))
    out = tmp_path / "out"
    result = cli("run", CLASSROOM, "--quiet", "--out", out, "--posterior", path)
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not out.exists()


def test_a_missing_posterior_is_one_line_exit_2(tmp_path):
    result = cli("run", CLASSROOM, "--quiet", "--posterior", tmp_path)
    assert result.exit_code == 2 and "posterior.csv" in result.output


def test_a_posterior_file_cannot_be_set_from_the_command_line(tmp_path):
    result = cli("run", CLASSROOM, "--quiet", "--set", "posterior.file=x.csv")
    assert result.exit_code == 2 and "a file is read with the scenario" in result.output


def test_the_sets_apply_over_a_sweep_point(tmp_path):
    study = tmp_path / "study.yaml"
    levels = {"sides.defender.replacements": [0, 50]}
    sweep = {"design": "grid", "replicates": 4, "parameters": levels}
    study.write_text(yaml.safe_dump({"base": str(CLASSROOM), "name": "t", "sweep": sweep}))
    path = write(tmp_path, [(0.3, 1), (0.7, 1)], header=(TEMPO, "weight"))
    s = execute.plan(with_posterior(load(study), path))
    for k in range(4):
        j = s.draws.set_of(k)
        point = designs.point_loaded(s.loaded, s.design, 1).scenario
        world = s.world(1, k)
        assert world.tempo[0, 0] == (0.3, 0.7)[j]
        assert world.replacements[1, 0] == point.sides.defender.replacements == 50


def test_a_point_of_a_schedule_sweep_never_takes_a_draws_coefficient(tmp_path):
    study = tmp_path / "study.yaml"
    sweep = {"design": "grid", "replicates": 4, "parameters": {"sides.attacker.tempo": [0.2, 0.4]}}
    study.write_text(yaml.safe_dump({"base": str(CLASSROOM), "name": "t", "sweep": sweep}))
    fire = "sides.attacker.kinds.infantry.firepower"
    path = write(tmp_path, [(0.03, 1)], header=(fire, "weight"))
    s = execute.plan(with_posterior(load(study), path))
    drawn = s.world(0, 0)  # a draw's world first: its own compile
    assert drawn.firepower[drawn.side == 0][0] == 0.03
    plain = s.world(1)  # the point's own world, built on a point's, not on the draw's
    assert plain.firepower[plain.side == 0][0] == 0.012 and plain.tempo[0, 0] == 0.4
