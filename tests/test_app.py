"""The classroom app: sliders → scenario, the model and page of every shipped scenario, and
the real app in a real browser (slider moved, steps taken, day and chart change)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import solara
import yaml
from mesa.visualization.solara_viz import _check_model_params
from playwright.sync_api import sync_playwright

from sim import app
from sim.model import batch
from sim.model.world import schedule
from tests.study_runs import ROOT, free_port, listening, wait_for

SCENARIOS = sorted((ROOT / "scenarios").rglob("*.yaml"))
CLASSROOM = ROOT / "scenarios" / "classroom_small.yaml"
KURSK = ROOT / "scenarios" / "kursk_2024.yaml"


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_scenario_builds_its_model_and_page(path, monkeypatch):
    model, params = app.build(path)
    _check_model_params(app.ClassroomModel.__init__, params)  # what SolaraViz checks
    for spec in params.values():
        if isinstance(spec, dict):
            assert spec["min"] <= spec["value"] <= spec["max"], spec
    model.step()
    assert model.day == 1 and "Day 1" in app.day_text(model)
    assert app.map_figure(model).data and app.territory_figure(model).data
    monkeypatch.setenv(app.SCENARIO_ENV, str(path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a hook check inside Mesa's SolaraViz
        _, rc = solara.render(app.Page(), handle_error=False)
    rc.close()


def test_untouched_sliders_leave_the_scenario_as_written():
    model, params = app.build(KURSK)
    values = {k: v["value"] for k, v in params.items() if isinstance(v, dict)}
    again = app.ClassroomModel(scenario=str(KURSK), **values)
    written = app.load(KURSK).scenario.model_dump()
    assert again.scenario.model_dump() == written
    assert model.scenario.model_dump() == written


def test_tempo_sliders_set_a_constant_or_scale_a_schedule():
    red = app.ClassroomModel(scenario=str(CLASSROOM), attacker_tempo=0.55)
    assert red.scenario.sides.attacker.tempo == 0.55
    russia = app.ClassroomModel(scenario=str(KURSK), attacker_tempo=1.5)
    written = app.load(KURSK).scenario.sides.attacker.tempo
    scaled = russia.scenario.sides.attacker.tempo
    assert [s.from_ for s in scaled] == [s.from_ for s in written]
    assert [s.value for s in scaled] == [min(1.0, 1.5 * s.value) for s in written]


def test_the_pause_is_one_level_for_its_days():
    m = app.ClassroomModel(
        scenario=str(CLASSROOM), defender_intelligence=0.9, pause_intelligence=0.1,
        pause_day=20, pause_days=15,
    )  # fmt: skip
    s = m.scenario
    per_day = schedule(s.sides.defender.intelligence, s.start, s.days)
    assert (per_day[:20] == 0.9).all() and (per_day[20:35] == 0.1).all()
    assert (per_day[35:] == 0.9).all()
    assert np.array_equal(m.world.intelligence[1], per_day)


def test_the_reinforcement_sliders_move_or_remove_it():
    later = app.ClassroomModel(
        scenario=str(CLASSROOM), reinforcement_day=50, reinforcement_men=1000
    )
    rf = later.scenario.sides.attacker.reinforcements["second_echelon"]
    assert (rf.date - later.scenario.start).days == 50 and rf.men == 1000
    none = app.ClassroomModel(scenario=str(CLASSROOM), reinforcement_men=0)
    assert "second_echelon" not in none.scenario.sides.attacker.reinforcements


def test_the_live_run_is_replicate_0_of_the_monte_carlo_band():
    m = app.ClassroomModel(scenario=str(CLASSROOM), seed=5)
    while m.running:
        m.step()
    live = m.datacollector.get_model_vars_dataframe()["territory"].to_numpy()
    alone = batch.run(m.world, [0]).series["territory"][0]
    assert np.array_equal(live, alone)
    m.monte_carlo(40)
    runs = batch.run(m.world, list(range(40))).series["territory"]
    assert np.array_equal(m.band["q50"], np.quantile(runs, 0.5, axis=0))
    fig = app.territory_figure(m)
    assert {"this run", "median of the runs"} <= {t.name for t in fig.data}


# ---- the real app in a real browser -------------------------------------------------------


RED = "<b>Red</b>"  # scenario text the page must show as text
TRAP = "<img src=x onerror=window.__pwned=1>"


@pytest.fixture
def running_app(tmp_path):
    hostile = tmp_path / "hostile.yaml"
    rf = {"date": "2025-01-20", "men": 500, "kind": "infantry", "zone": "edge"}
    hostile.write_text(
        yaml.safe_dump(
            {
                "base": str(CLASSROOM),
                "sides": {"attacker": {"name": RED, "reinforcements": {TRAP: rf}}},
            }
        )
    )
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "app", str(hostile), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env={**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "True"},  # the app turns it off
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        import urllib.request

        def up() -> bool:
            try:
                return urllib.request.urlopen(url, timeout=2).status == 200
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                return False

        wait_for(up, 90, "the app to listen")
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    assert proc.poll() is not None
    wait_for(lambda: not listening(port), 30, "the server to stop")  # solara too, not just sim


def _this_run_points(page) -> int:
    return page.evaluate(
        """() => {
        for (const gd of document.querySelectorAll('.js-plotly-plot')) {
            for (const t of gd.data || []) if (t.name === 'this run') return t.x.length;
        }
        return 0; }"""
    )


def test_the_app_in_a_browser_steps_and_follows_the_sliders(running_app):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        outside: list[str] = []

        def route(r):
            if r.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1")):
                r.continue_()
            else:
                outside.append(r.request.url)
                r.abort()

        page.route("**/*", route)
        page.goto(running_app)
        page.get_by_text("Day 0", exact=False).first.wait_for(timeout=60_000)
        assert f"{RED}: tempo 0.30" in page.inner_text("body")
        tempo = page.locator(".v-input", has_text=f"{RED} tempo").get_by_role("slider")
        tempo.focus()
        for _ in range(3):  # three steps of 0.05
            page.keyboard.press("ArrowRight")
        page.get_by_role("button", name="Reset", exact=True).click()
        page.get_by_text(f"{RED}: tempo 0.45", exact=False).wait_for(timeout=30_000)
        step = page.get_by_role("button", name="Step", exact=True)
        for _ in range(3):
            step.click()
            page.wait_for_timeout(300)
        page.get_by_text("Day 3", exact=False).first.wait_for(timeout=30_000)
        page.wait_for_function(
            """() => [...document.querySelectorAll('.js-plotly-plot')].some(
                gd => (gd.data || []).some(t => t.name === 'this run' && t.x.length === 3))""",
            timeout=30_000,
        )
        assert _this_run_points(page) == 3
        assert "No unit selected." in page.inner_text("body")
        x, y = page.evaluate(
            """() => {
            for (const gd of document.querySelectorAll('.js-plotly-plot')) {
                const t = (gd.data || []).findIndex(t => t.name === 'Blue');
                if (t < 0) continue;
                const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
                const box = gd.getBoundingClientRect();
                return [box.left + xa._offset + xa.l2p(gd.data[t].x[0]),
                        box.top + ya._offset + ya.l2p(gd.data[t].y[0])];
            } }"""
        )
        page.mouse.click(x, y)  # a student clicks a unit and reads it
        page.get_by_text("No unit selected.").wait_for(state="detached", timeout=30_000)
        assert "men · cohesion" in page.inner_text("body")
        assert "Traceback" not in page.inner_text("body")
        assert TRAP in page.inner_text("body")  # shown as text …
        assert page.evaluate("window.__pwned") is None  # … and never run
        assert not errors, errors
        assert not outside, f"the app asked the network for {outside}"
        browser.close()


def test_bad_input_to_sim_app_is_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\n")
    result = subprocess.run(
        [sys.executable, "-m", "sim.cli", "app", str(bad)], capture_output=True, text=True
    )
    assert result.returncode == 2 and result.stderr.startswith(f"error: {bad}")
    assert isinstance(Path(bad), Path)
