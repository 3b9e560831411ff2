"""The `sim` command end to end: results folder contents, the printed table, resume, and bad
input (one message with file, line and field; exit code 2; results already written intact)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from sim.cli import main
from sim.model.result import SERIES

ROOT = Path(__file__).parent.parent
CLASSROOM = ROOT / "scenarios" / "classroom_small.yaml"


def sim(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def classroom_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    result = sim("run", str(CLASSROOM), "--replicates", "30", "--out", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    (folder,) = out.iterdir()
    return out, folder, result.output


def test_run_writes_the_results_layout(classroom_run):
    _, folder, _ = classroom_run
    assert folder.name.startswith("classroom-small-")
    for name in ("manifest.json", "design.parquet", "summary.parquet", "report.html"):
        assert (folder / name).is_file(), name
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["scenario"]["replicates"] == 30
    assert manifest["versions"]["mesa"].startswith("3.3")
    series = pd.concat(pd.read_parquet(p) for p in (folder / "series").glob("part-*.parquet"))
    assert sorted(series["replicate"].unique()) == list(range(30))
    assert set(SERIES) <= set(series.columns)
    assert len(series) == 30 * 120
    summary = pd.read_parquet(folder / "summary.parquet")
    assert (summary["q10"] <= summary["q50"]).all() and (summary["q50"] <= summary["q90"]).all()


def test_run_prints_the_key_figures(classroom_run):
    _, _, output = classroom_run
    assert "Territory on 2025-03-01" in output
    assert "P(hold ≥ 100 km² on 2025-03-01)" in output
    assert "Median day below 20 km²" in output


def test_report_is_self_contained_and_escapes_user_text(tmp_path):
    text = CLASSROOM.read_text().replace(
        "description: >", 'description: >\n  <script>alert("x")</script>', 1
    )
    scenario = tmp_path / "evil.yaml"
    scenario.write_text(text)
    result = sim("run", str(scenario), "--replicates", "3", "--out", str(tmp_path / "r"), "--quiet")
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "r").iterdir()
    html = (folder / "report.html").read_text()
    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert 'src="http' not in html  # plotly.js is embedded, nothing is fetched
    assert "Plotly.newPlot" in html


def test_rerun_resumes_and_gives_identical_results(classroom_run, tmp_path):
    _, folder, _ = classroom_run
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)
    parts = sorted((copy / "series").glob("part-*.parquet"))
    parts[-1].unlink()  # as if the run had died before its last block
    result = sim("run", str(CLASSROOM), "--replicates", "30", "--out", str(tmp_path), "--quiet")
    assert result.exit_code == 0, result.output
    for part in sorted((folder / "series").glob("part-*.parquet")):
        assert pd.read_parquet(part).equals(pd.read_parquet(copy / "series" / part.name))


def test_engines_give_the_same_results_folder_contents(tmp_path):
    frames = []
    for engine in ("batch", "reference"):
        out = tmp_path / engine
        result = sim(
            "run",
            str(CLASSROOM),
            "--replicates",
            "4",
            "--out",
            str(out),
            "--engine",
            engine,
            "--quiet",
            "--set",
            "days=40",
        )
        assert result.exit_code == 0, result.output
        (folder,) = out.iterdir()
        frames.append(pd.read_parquet(folder / "summary.parquet"))
    pd.testing.assert_frame_equal(frames[0], frames[1], rtol=1e-12)


def bad_variant(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    text = CLASSROOM.read_text()
    assert old in text
    text = text.replace(old, new, 1)
    line = text[: text.index(new)].count("\n") + 1
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return path, line


@pytest.mark.parametrize(
    "old,new,field,expected",
    [
        ("days: 120", "days: -120", "days", "greater than or equal to 1"),
        ("    tempo: 0.3 ", "    tempoo: 0.3 ", "sides.attacker.tempoo", "unknown field"),
        (
            "strength: 500, count: 20",
            "strength: -500, count: 20",
            "sides.attacker.units.0.strength",
            "greater than 0",
        ),
        ("border_km: 40 ", "border_km: 1000000 ", "map.generate.border_km", "less than or equal"),
        ("name: classroom-small", "name: ../../etc", "name", "should match pattern"),
        (
            "kind: infantry, strength: 500, count: 20",
            "kind: cavalry, strength: 500, count: 20",
            "sides.attacker.units.0.kind",
            "unknown kind 'cavalry'",
        ),
        ("start: 2025-01-01", "start: [2025", None, "started on line"),
        (
            "    advance: homeland ",
            "    axes: {north: {areas: [[[0, 0], [99, 3]]], tempo: 0.5}}\n    advance: homeland ",
            "sides.attacker.axes.north.areas.0.1",
            "cell [99, 3] is outside the 15×20 map",
        ),
    ],
)
def test_bad_input_is_one_clear_message_and_exit_2(tmp_path, old, new, field, expected):
    path, line = bad_variant(tmp_path, old, new)
    for command in ("validate", "run"):
        result = CliRunner().invoke(
            main,
            [command, str(path), "--out", str(tmp_path / "r")]
            if command == "run"
            else [command, str(path)],
        )
        assert result.exit_code == 2, result.output
        message = result.output.strip()
        assert message.count("\n") == 0, message
        shown = line + 1 if expected == "started on line" else line  # YAML sees it a line on
        assert message.startswith(f"error: {path}:{shown}:"), message
        if field:
            assert f": {field}:" in message
        assert expected in message
        assert "Traceback" not in message
    assert not (tmp_path / "r").exists()  # nothing was written


def test_huge_ascii_grid_is_refused(tmp_path):
    from worlds import scenario_dict

    data = scenario_dict(["A" * 1000] * 25 + ["D" * 1000] * 25)
    path = tmp_path / "huge.yaml"
    path.write_text(yaml.safe_dump(data))
    result = sim("validate", str(path))
    assert result.exit_code == 2
    assert "map.layers.terrain" in result.output and "more than 40000" in result.output


def test_set_override_errors_name_the_command_line(tmp_path):
    result = sim("validate", str(CLASSROOM), "--set", "sides.attacker.tempo=2")
    assert result.exit_code == 2
    assert result.output.startswith("error: --set sides.attacker.tempo=2")
    result = sim("validate", str(CLASSROOM), "--set", "sides.attacker.tempo=0.4")
    assert result.exit_code == 0, result.output


def test_bad_input_never_damages_results_already_written(classroom_run, tmp_path):
    out, folder, _ = classroom_run
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    path, _ = bad_variant(tmp_path, "days: 120", "days: 0")
    result = sim("run", str(path), "--replicates", "30", "--out", str(out))
    assert result.exit_code == 2
    result = sim(
        "run",
        str(CLASSROOM),
        "--replicates",
        "30",
        "--out",
        str(out),
        "--set",
        "sides.attacker.tempo=oops",
    )
    assert result.exit_code == 2
    after = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert before == after


def test_missing_file_and_schema_command():
    result = sim("validate", "no/such/file.yaml")
    assert result.exit_code == 2 and "no such file" in result.output
    schema = json.loads(sim("schema").output)
    tempo = schema["$defs"]["Side"]["properties"]["tempo"]
    assert "Offensive tempo" in tempo["description"]


def test_console_script_runs_as_a_process(tmp_path):
    exe = Path(sys.executable).with_name("sim")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nbogus: 1\n")
    proc = subprocess.run([str(exe), "validate", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: {bad}:")
    assert "Traceback" not in proc.stderr


def test_rerun_with_another_chunk_neither_duplicates_nor_loses_runs(tmp_path):
    args = [
        "run",
        str(CLASSROOM),
        "--replicates",
        "12",
        "--out",
        str(tmp_path),
        "--quiet",
        "--set",
        "days=20",
    ]
    assert sim(*args, "--chunk", "5").exit_code == 0
    (folder,) = tmp_path.iterdir()
    first = sorted((folder / "series").glob("part-*.parquet"))
    first[-1].unlink()  # replicates 10–11 lost, as if the run had died
    (folder / "events" / first[-1].name).unlink()
    assert sim(*args, "--chunk", "4").exit_code == 0
    from sim.experiment.store import ResultsDir

    series = ResultsDir(folder).series()
    counts = series.groupby("replicate").size()
    assert sorted(counts.index) == list(range(12)) and (counts == 20).all()
    fresh = tmp_path / "fresh"
    assert sim(*args[:-5], "--out", str(fresh), "--quiet", "--set", "days=20").exit_code == 0
    (other,) = fresh.iterdir()
    pd.testing.assert_frame_equal(series, ResultsDir(other).series())


@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_keeps_finished_tasks_and_the_rerun_completes(tmp_path, workers):
    """Ctrl-C in the middle of the compiled engine: one line, exit 130, parts kept, and the
    hint repeats the command without --fresh (which would throw the parts away). The run is
    200 chunks long so that it is still going when the signal lands after the first part,
    however fast the engine gets."""
    import signal
    import time

    exe = str(Path(sys.executable).with_name("sim"))
    args = [
        exe, "run", str(CLASSROOM), "--replicates", "2000", "--chunk", "10", "--set", "days=30",
        "--quiet", "--out", str(tmp_path), "--workers", workers,
    ]  # fmt: skip
    proc = subprocess.Popen([*args, "--fresh"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob("*/series/part-*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    err = err.decode()
    assert proc.returncode == 130, err
    assert err.strip().count("\n") == 0 and "Traceback" not in err and "Error" not in err, err
    assert err.strip().startswith("interrupted: finished runs are kept; to resume, run: sim run")
    assert "--fresh" not in err
    assert subprocess.run(args, capture_output=True, text=True).returncode == 0
    (folder,) = tmp_path.iterdir()
    from sim.experiment.store import ResultsDir

    counts = ResultsDir(folder).series(["point", "replicate", "day"]).groupby("replicate").size()
    assert sorted(counts.index) == list(range(2000)) and (counts == 30).all()


def test_killing_the_workers_while_one_sends_a_result_does_not_hold_the_exit():
    """CI once hung after Ctrl-C's line was printed: a worker killed in the middle of sending
    its result left the pool's thread waiting for the rest, and the exit waited on that
    thread. Here the kill lands while a 300 MB result is on its way."""
    code = textwrap.dedent("""
        import time
        from sim.experiment.execute import ProcessPool
        pool = ProcessPool(2)
        results = pool.pool._result_queue
        pool.submit(bytes, 300_000_000)
        while not results._reader.poll():
            time.sleep(0.001)
        time.sleep(0.05)
        pool.kill()
        print("killed")
    """)  # fmt: skip
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the process did not exit after its pool was killed")
    assert proc.returncode == 0 and proc.stdout.strip() == "killed", proc.stderr


def test_ctrl_c_while_starting_is_one_line_and_exit_130(tmp_path):
    import signal
    import time

    args = [sys.executable, "-m", "sim.cli", "run", str(CLASSROOM), "--out", str(tmp_path)]
    proc = subprocess.Popen(
        [*args, "--replicates", "20000"],  # still loading or running when the signal lands
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.6)  # loading its modules: before this was click's "Aborted!", exit 1
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().startswith("interrupted") and err.strip().count("\n") == 0, err


def test_fresh_removes_what_was_derived_from_the_old_runs(classroom_run, tmp_path):
    from sim.experiment import execute
    from sim.experiment.execute import plan
    from sim.experiment.store import DERIVED, ResultsDir
    from sim.scenario.load import load

    _, folder, _ = classroom_run
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)
    study = plan(load(CLASSROOM, ["replicates=30"]))
    s = study.loaded.scenario
    resolved = execute.resolved_scenario(s)
    store = ResultsDir.open(tmp_path, s.name, resolved, study.design.table, s.seed, "batch", True)
    store.close()
    assert store.path == copy  # the same folder, started over
    assert not any((copy / name).exists() for name in DERIVED)
    assert not list(copy.glob("*/part-*.parquet"))


def test_a_run_already_made_by_the_other_engine_says_so(classroom_run):
    out, folder, _ = classroom_run
    before = {p: p.stat().st_mtime_ns for p in folder.glob("series/*")}
    result = CliRunner().invoke(
        main, ["run", str(CLASSROOM), "--replicates", "30", "--out", str(out), "--quiet",
               "--engine", "reference"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"All 30 runs are already in {folder}" in result.output
    assert "made by the batch engine" in result.output and "--fresh" in result.output
    assert "(batch engine)" in result.output and "(reference engine)" not in result.output
    assert {p: p.stat().st_mtime_ns for p in folder.glob("series/*")} == before


def test_runs_made_with_set_or_label_are_named_by_it(tmp_path):
    tempo = ["--set", "sides.attacker.tempo=0.4"]
    args = ["run", str(CLASSROOM), "--replicates", "4", "--quiet", "--set", "days=20"]
    one = sim(*args, *tempo, "--out", str(tmp_path / "a"))
    assert one.exit_code == 0, one.output
    assert "classroom-small · days=20, sides.attacker.tempo=0.4:" in one.output
    (folder,) = (tmp_path / "a").iterdir()
    assert folder.name.startswith("classroom-small-days=20-sides.attacker.tempo=0.4-")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["label"] == "classroom-small · days=20, sides.attacker.tempo=0.4"
    two = sim(*args, *tempo, "--label", "Red pushes harder", "--out", str(tmp_path / "b"))
    assert "classroom-small · Red pushes harder:" in two.output
    (folder,) = (tmp_path / "b").iterdir()
    assert folder.name.startswith("classroom-small-red-pushes-harder-")
    report = sim("report", str(folder))
    assert report.exit_code == 0, report.output
    assert "Red pushes harder" in (folder / "report.html").read_text()


def test_a_batch_run_on_a_warm_cache_does_not_announce_a_compile(monkeypatch):
    """Only what the batch engine calls from Python counts: the reference engine's dilation,
    never compiled by a batch-only process, used to make every `sim run` say "compiling"."""
    from sim.experiment.execute import compile_checked, warm_up
    from sim.model import fields, kernels
    from sim.scenario.load import load

    kursk = compile_checked(load(CLASSROOM.parent / "kursk_2024.yaml"))  # pursuit, drones
    warm_up(kursk, "batch")
    assert kernels.on_disk(kursk)
    world = compile_checked(load(CLASSROOM))
    warm_up(world, "batch")  # on disk from here on
    assert kernels.on_disk(world)
    cache = fields.dilate_map._cache._cache_file
    monkeypatch.setattr(cache, "_load_index", lambda: {})  # as if never compiled
    assert kernels.on_disk(world)
    cache = kernels.pursuit._cache._cache_file  # a rule the classroom leaves off
    monkeypatch.setattr(cache, "_load_index", lambda: {})
    assert kernels.on_disk(world)
    assert not kernels.on_disk(compile_checked(load(CLASSROOM, ["rules.pursuit=true"])))
    cache = kernels.buildup._cache._cache_file  # the classroom's attacker has no axes
    monkeypatch.setattr(cache, "_load_index", lambda: {})
    assert kernels.on_disk(world)
    cache = kernels.movement._cache._cache_file
    monkeypatch.setattr(cache, "_load_index", lambda: {})
    assert not kernels.on_disk(world)


def test_the_default_runs_small_work_in_this_process_and_says_when_it_compiles(
    tmp_path, monkeypatch
):
    from sim.experiment import execute
    from sim.scenario.load import load

    said: list[str] = []
    monkeypatch.setattr(execute.kernels, "on_disk", lambda world=None: False)
    monkeypatch.setattr(execute, "ProcessPool", None)  # any attempt to start workers fails
    study = execute.plan(load(CLASSROOM, ["replicates=60", "days=30"]))
    outcome = execute.run_study(
        study, tmp_path, chunk=20, workers=None, progress=False, say=said.append
    )
    assert outcome.ran == 60 and said == [
        f"compiling the engine (once, about {execute.COMPILE_S} s)…"
    ]


def test_the_default_starts_workers_when_the_work_repays_them(tmp_path, monkeypatch):
    from sim.experiment import execute
    from sim.scenario.load import load

    started: list[int] = []
    real = execute.ProcessPool

    def pool(workers: int):
        started.append(workers)
        return real(workers)

    monkeypatch.setattr(execute, "ProcessPool", pool)
    monkeypatch.setattr(execute, "POOL_START_S", 0.0)
    monkeypatch.setattr(execute, "default_workers", lambda: 2)
    study = execute.plan(load(CLASSROOM, ["replicates=60", "days=30"]))
    assert execute.run_study(study, tmp_path, chunk=20, workers=None, progress=False).ran == 60
    assert started == [2]


@pytest.mark.parametrize(
    "parameters,field,expected",
    [
        (
            {"sides.attacker.tempoo": [0.2, 0.3]},
            "sweep.parameters.sides.attacker.tempoo",
            "no such",
        ),
        ({"sides.attacker.tempo": [0.2, 1.3]}, "sides.attacker.tempo", "between 0 and 1"),
    ],
)
def test_validate_refuses_the_studies_run_refuses(tmp_path, parameters, field, expected):
    study = tmp_path / "study.yaml"
    study.write_text(yaml.safe_dump({"base": str(CLASSROOM), "sweep": {"parameters": parameters}}))
    for args in (["validate", str(study)], ["run", str(study), "--dry-run"]):
        result = sim(*args)
        assert result.exit_code == 2, result.output
        assert result.output.startswith(f"error: {study}:") and f"{field}:" in result.output
        assert expected in result.output


def test_compare_names_runs_by_label_warns_across_scenarios_and_shows_points(
    classroom_run, tmp_path
):
    _, folder, _ = classroom_run
    args = ["run", str(CLASSROOM), "--replicates", "30", "--quiet", "--out", str(tmp_path)]
    assert sim(*args, "--set", "sides.attacker.tempo=0.45").exit_code == 0
    (other,) = tmp_path.iterdir()
    page = tmp_path / "compare.html"
    same = CliRunner().invoke(main, ["compare", str(folder), str(other), "-o", str(page)])
    assert same.exit_code == 0 and "warning" not in same.output, same.output
    html = page.read_text()
    assert "classroom-small · sides.attacker.tempo=0.45" in html
    assert re.search(r"<td>[+−-]\d+ pp</td>", html), "P(hold) differences in points"
    assert re.search(r"<td>\d+%</td>", html), "P(hold) as a percentage"
    kursk = tmp_path / "k"
    k = sim("run", str(ROOT / "scenarios" / "kursk_2024.yaml"), "--replicates", "3", "--quiet",
            "--set", "days=20", "--out", str(kursk))  # fmt: skip
    assert k.exit_code == 0, k.output
    (k_folder,) = kursk.iterdir()
    mixed = CliRunner().invoke(main, ["compare", str(folder), str(k_folder), "-o", str(page)])
    assert mixed.exit_code == 0
    assert "warning: these runs are of different scenarios (classroom-small, kursk-2024)" in (
        mixed.output
    )
    assert "different scenarios" in page.read_text()


def test_every_option_of_every_command_says_what_it_is():
    import click

    for name, command in main.commands.items():
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"sim {name} {param.opts[0]} has no help"
    assert "numpy" not in (main.commands["run"].params[5].help or "")


def test_the_study_table_fits_100_columns_and_names_what_it_leaves_out():
    import numpy as np

    from sim.analysis.study import COLLAPSE_MEAN, COLLAPSE_MEDIAN, FALLEN
    from sim.cli import study_table
    from sim.experiment import design as designs
    from sim.scenario.load import load

    loaded = load(ROOT / "scenarios" / "studies" / "kursk_tempo_intel_reinforcement.yaml")
    d = designs.build(loaded)
    dates = ["2024-10-31", "2024-12-31", "2025-02-28", "2025-03-15", "2025-03-31", "2025-04-30"]
    rows = []
    for p in range(d.points):
        row = {"point": p, **d.values(p), **{f"median km² on {x}": 500.0 - p for x in dates}}
        row["P(hold ≥ 400 km² on 2025-02-28)"] = 0.5
        row[COLLAPSE_MEDIAN] = np.nan if p % 2 else 200.0
        row[COLLAPSE_MEAN], row[FALLEN] = 230.0, 0.25 if p % 2 else 0.75
        rows.append(row)
    text = study_table(pd.DataFrame(rows), d)
    assert max(len(line) for line in text.splitlines()) <= 100, text
    assert "not reached in 75%" in text and "NaN" not in text and "nan" not in text
    assert "more columns (km² 2024-10-31" in text and "outcomes.parquet" in text


def test_run_and_report_say_how_many_reinforcement_units_never_entered(tmp_path):
    """A wave due where its side holds no free cell at all: sim run and the report say so."""
    from worlds import scenario_dict

    data = scenario_dict(
        ["ADDDD", "DDDDD", "DDDDD"],
        [("A", 0, 0, 500), ("D", 2, 4, 500)],
        days=5,
        attacker_reinforcements={
            "stuck": {"date": "2025-01-02", "men": 800, "unit_strength": 400, "kind": "inf",
                      "cells": [[0, 0]]},
        },
    )  # fmt: skip
    data["replicates"] = 3
    path = tmp_path / "stuck.yaml"
    path.write_text(yaml.safe_dump(data))
    result = sim("run", str(path), "--quiet", "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "Reinforcement units that never entered  6 in 100% of runs" in result.output
    (folder,) = (tmp_path / "out").iterdir()
    assert "6 in 100% of runs (no free entry cell)" in (folder / "report.html").read_text()


def test_a_chunk_too_large_for_memory_is_refused_before_running(tmp_path, monkeypatch):
    from sim.scenario import load as loader

    monkeypatch.setattr(loader, "available_memory", lambda: 10**9)  # 1 GB
    result = sim("run", str(CLASSROOM), "--chunk", "100000", "--out", str(tmp_path))
    assert result.exit_code == 2 and "--chunk 100000:" in result.output
    assert "give a smaller --chunk" in result.output and not list(tmp_path.iterdir())
