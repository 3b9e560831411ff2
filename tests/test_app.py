"""The classroom app: sliders → scenario, the model, page and figures of every shipped scenario,
the Monte Carlo panel's chunks and table, the lessons' tables, and the real app in a real
browser — every scenario a lesson uses, each lesson walked step by step at projector size."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import solara
import yaml
from mesa.visualization.solara_viz import _check_model_params
from mesa.visualization.utils import force_update
from playwright.sync_api import Page, expect, sync_playwright
from solara.comm import DummyComm

from sim import app
from sim.analysis.summary import key_figures
from sim.model import batch
from sim.model.world import schedule
from tests.study_runs import ROOT, free_port, listening, wait_for

SCENARIOS = sorted((ROOT / "scenarios").rglob("*.yaml"))
CLASSROOM = ROOT / "scenarios" / "classroom_small.yaml"
KURSK = ROOT / "scenarios" / "kursk_2024.yaml"


def _tables():
    """docs/teaching/tables.py, the script that writes the lessons' tables."""
    spec = importlib.util.spec_from_file_location("tables", ROOT / "docs/teaching/tables.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["tables"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


tables = _tables()


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_scenario_builds_its_model_and_page(path, monkeypatch):
    model, params = app.build(path)
    _check_model_params(app.ClassroomModel.__init__, params)  # every slider is an argument
    for spec in params.values():
        if isinstance(spec, dict):
            assert spec["min"] <= spec["value"] <= spec["max"], spec
    model.step()
    assert model.day == 1 and "Day 1" in app.day_text(model)
    assert app.map_figure(model).data and app.territory_figure(model).data
    monkeypatch.setenv(app.SCENARIO_ENV, str(path))
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


def test_an_axis_of_effort_has_its_own_tempo_slider(tmp_path):
    data = yaml.safe_load(CLASSROOM.read_text())
    data["sides"]["attacker"]["axes"] = {"north": {"areas": [[[0, 0], [5, 19]]], "tempo": 0.6}}
    path = tmp_path / "axes.yaml"
    path.write_text(yaml.safe_dump(data))
    _, params = app.build(path)
    _check_model_params(app.ClassroomModel.__init__, params)
    assert params["attacker_axis_north"]["value"] == 0.6
    moved = app.ClassroomModel(scenario=str(path), attacker_axis_north=0.9)
    assert moved.scenario.sides.attacker.axes["north"].tempo == 0.9
    assert moved.world.axis_tempo[0, 1, 0] == 0.9
    # an axis without a tempo of its own starts at the side's; moving the side's alone moves it
    del data["sides"]["attacker"]["axes"]["north"]["tempo"]
    path.write_text(yaml.safe_dump(data))
    _, params = app.build(path)
    side_tempo = data["sides"]["attacker"]["tempo"]
    assert params["attacker_axis_north"]["value"] == side_tempo
    both = app.ClassroomModel(scenario=str(path), attacker_tempo=0.7, attacker_axis_north=0.2)
    assert both.world.axis_tempo[0, :2, 0].tolist() == [0.7, 0.2]
    side = app.ClassroomModel(scenario=str(path), attacker_tempo=0.7)
    assert side.world.axis_tempo[0, :2, 0].tolist() == [0.7, 0.7]


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


def test_a_typed_value_lands_on_its_slider():
    tempo = {"type": "SliderFloat", "min": 0.0, "max": 1.0, "step": 0.05}
    assert app.snap(tempo, 0.33) == 0.35 and app.snap(tempo, 7) == 1.0
    assert app.snap(tempo, -1) == 0.0 and app.snap(tempo, 0.45) == 0.45
    men = {"type": "SliderInt", "min": 0, "max": 24000, "step": 500}
    assert app.snap(men, 12345) == 12500 and isinstance(app.snap(men, 12345), int)


def test_each_day_has_its_own_date():
    m = app.ClassroomModel(scenario=str(CLASSROOM))
    texts = [app.day_text(m)]
    for _ in range(3):
        m.step()
        texts.append(app.day_text(m))
    assert [t.split(" · ")[:2] for t in texts] == [
        ["Day 0 of 120", "start of 2025-01-01"],
        ["Day 1 of 120", "end of 2025-01-01"],
        ["Day 2 of 120", "end of 2025-01-02"],
        ["Day 3 of 120", "end of 2025-01-03"],
    ]


def test_the_live_run_is_replicate_0_of_the_monte_carlo_band():
    m = app.ClassroomModel(scenario=str(CLASSROOM), seed=5)
    while m.running:
        m.advance()
    live = m.datacollector.get_model_vars_dataframe()["territory"].to_numpy()
    alone = batch.run(m.world, [0]).series["territory"][0]
    assert np.array_equal(live, alone)
    m.monte_carlo(40)
    runs = batch.run(m.world, list(range(40))).series["territory"]
    assert np.array_equal(m.band["q50"], np.quantile(runs, 0.5, axis=0))
    fig = app.territory_figure(m)
    assert {"this run", "median of the runs"} <= {t.name for t in fig.data}
    assert "The run has finished (day 120, end of 2025-04-30)" in app.finished_text(m)


def test_the_monte_carlo_runs_in_chunks_and_tables_the_key_dates():
    m = app.ClassroomModel(scenario=str(CLASSROOM))
    assert list(m.monte_carlo_chunks(120, chunk=50)) == [50, 100, 120]  # progress
    whole = batch.run(m.world, list(range(120))).series
    assert np.array_equal(m.band["q50"], np.quantile(whole["territory"], 0.5, axis=0))
    s = m.scenario
    k = key_figures(whole["territory"], s.start, m.world.territory0, s.report)
    rows = {line.what: line for line in m.lines}
    (_, median, q10, q90) = k.dates[1]  # 2025-03-01: the state after day index 59
    assert median == np.quantile(whole["territory"][:, 59], 0.5)
    line = rows["end of 2025-03-01 (day 60)"]
    assert (line.value, line.band) == (f"{median:,.0f} km²", f"{q10:,.0f}–{q90:,.0f}")
    p = (whole["territory"][:, 119] >= 40).mean()
    assert rows["P(hold ≥ 40 km² on 2025-04-30)"].value == f"{p:.0%}"
    lost = np.median(whole["losses_attacker"][:, -1])
    assert rows["Red men lost by the end"].value == f"{lost:,.0f}"
    assert [line.what for line in m.lines][:3] == [
        "end of 2025-01-31 (day 31)",
        "end of 2025-03-01 (day 60)",
        "end of 2025-04-30 (day 120)",
    ]


def test_every_figure_the_app_sends_is_plain_json(monkeypatch):
    """What crosses Solara's websocket must be JSON: Kursk's observed history holds dates."""
    sent: list = []

    def publish(self, msg_type, data=None, metadata=None, buffers=None, **keys):
        sent.append(data)

    monkeypatch.setattr(DummyComm, "publish_msg", publish)
    m = app.ClassroomModel(scenario=str(KURSK))
    m.monte_carlo(20)
    _, rc = solara.render(solara.Column(children=[app.MapPanel(m), app.CurvePanel(m)]))
    m.advance()
    force_update()
    names = {t.name for w in rc.find(app._Figure).widgets for t in w.data}
    assert {"observed", "this run", "median of the runs", "Russia"} <= names
    assert sent
    for data in sent:
        json.dumps(data, allow_nan=False)  # strict: Solara's first try, before any fallback
    rc.close()


def test_the_lessons_tables_are_current():
    """Lesson 1's table against a fresh run of the app's code (Kursk's tables take about a
    minute: the lesson walks in the browser check them against the app)."""
    (tempo,) = [t for t in tables.TABLES if t.scenario == tables.CLASSROOM]
    assert tables.written(tempo) == tables.markdown(tempo), "run python docs/teaching/tables.py"
    for table in tables.TABLES:  # every row of every table is there to be checked
        assert list(tables.parse(tables.written(table))) == [r.label for r in table.rows]


# ---- the real app in a real browser -------------------------------------------------------


RED = "<b>Red</b>"  # scenario text the page must show as text
TRAP = "<img src=x onerror=window.__pwned=1>"
SERVER_TROUBLE = re.compile(r"Traceback|Error|Exception|Invalid JSON|not JSON serializable")


class Server:
    """`sim app SCENARIO` on a free port, its output in `log`. Stopping it checks that its
    log holds no exception."""

    def __init__(self, scenario: Path, log: Path) -> None:
        self.port, self.log = free_port(), log
        self.url = f"http://127.0.0.1:{self.port}/"
        with log.open("w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "sim.cli", "app", str(scenario), "--port", str(self.port)],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "True"},  # the app: off
            )

    def wait_up(self) -> str:
        def up() -> bool:
            try:
                return urllib.request.urlopen(self.url, timeout=2).status == 200
            except OSError:
                assert self.proc.poll() is None, self.log.read_text()
                return False

        wait_for(up, 120, "the app to listen")
        return self.url

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        wait_for(lambda: not listening(self.port), 30, "the server to stop")  # solara too

    def trouble(self) -> list[str]:
        """Lines of the server's log that report an exception."""
        return [line for line in self.log.read_text().splitlines() if SERVER_TROUBLE.search(line)]


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[dict[str, Server]]:
    """The apps the browser tests use, started together: a hostile copy of the classroom
    scenario (32 days), the classroom (lesson 1) and Kursk (lessons 2 and 3)."""
    tmp = tmp_path_factory.mktemp("apps")
    hostile = tmp / "hostile.yaml"
    rf = {"date": "2025-01-20", "men": 500, "kind": "infantry", "zone": "edge"}
    hostile.write_text(
        yaml.safe_dump(
            {
                "base": str(CLASSROOM),
                "days": 32,
                "sides": {"attacker": {"name": RED, "reinforcements": {TRAP: rf}}},
            }
        )
    )
    paths = {"hostile": hostile, "classroom": CLASSROOM, "kursk": KURSK}
    running: dict[str, Server] = {}
    try:
        for name, path in paths.items():
            running[name] = Server(path, tmp / f"{name}.log")
        for server in running.values():
            server.wait_up()
        yield running
    finally:
        for server in running.values():
            server.stop()


@pytest.fixture
def clean_log(servers) -> Iterator[None]:
    """Each browser test ends with no new exception in any server's log."""
    yield
    for name, server in servers.items():
        assert not server.trouble(), f"{name}: {server.log.read_text()}"


class Browser:
    """A chromium page that records page errors, console errors and every request that
    leaves this machine (blocked)."""

    def __init__(self, playwright, width: int, height: int) -> None:
        self.browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        self.page: Page = self.browser.new_page(viewport={"width": width, "height": height})
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.route("**/*", self._route)

    def _route(self, r) -> None:
        if r.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1")):
            r.continue_()
        else:
            self.outside.append(r.request.url)
            r.abort()

    def open(self, url: str) -> Page:
        self.page.goto(url)
        self.page.get_by_text("Day 0 of", exact=False).first.wait_for(timeout=90_000)
        return self.page

    def close(self) -> None:
        assert not self.errors, self.errors
        assert not self.outside, f"the app asked the network for {self.outside}"
        self.browser.close()


TRACE_POINTS = """name => {
    for (const gd of document.querySelectorAll('.js-plotly-plot'))
        for (const t of gd.data || []) if (t.name === name) return t.x.length;
    return 0; }"""


def _points(page: Page, name: str) -> int:
    """How many points the trace `name` has in the browser (0: not drawn)."""
    return page.evaluate(TRACE_POINTS, name)


def _wait_points(page: Page, name: str, n: int) -> None:
    page.wait_for_function(f"() => ({TRACE_POINTS})({json.dumps(name)}) === {n}", timeout=60_000)


def _setting(page: Page, label: str):
    """The box that shows (and takes) a slider's value."""
    box = page.locator(".salient-setting").filter(has=page.get_by_text(label, exact=True))
    return box.locator("input[type=text]")


def _type(page: Page, label: str, value: float) -> None:
    field = _setting(page, label)
    field.fill(str(value))
    field.press("Enter")


def _button(page: Page, name: str):
    return page.get_by_role("button", name=name, exact=True)


def _monte_carlo(page: Page) -> dict[str, str]:
    """Press Run, wait for the table of this run's settings, read it as {row: cell}."""
    page.locator(".salient-table").wait_for(state="detached", timeout=60_000)
    page.get_by_role("button", name=re.compile(r"^Run \d+ replicates$")).click()
    table = page.locator(".salient-table")
    table.wait_for(timeout=120_000)
    rows = table.locator("tbody tr").evaluate_all(
        "trs => trs.map(tr => [...tr.querySelectorAll('td')].map(td => td.innerText))"
    )
    return {what: f"{value} ({band})" if band else value for what, value, band in rows}


PROGRESS = """() => { window.__progress = [];
    new MutationObserver(() => {
        const text = document.body.innerText.match(/[\\d,]+ of [\\d,]+ runs done…/);
        const bar = document.querySelector('.salient-progress .v-progress-linear__determinate');
        if (text) window.__progress.push([text[0], bar ? bar.style.width : '']);
    }).observe(document.body, {subtree: true, childList: true, characterData: true,
                               attributes: true}); }"""  # every progress the page shows


def _plots_fill_their_cards(page: Page, columns: int) -> None:
    """Every plot drawn as wide as its card's inside, none wider, and the map showing all its
    columns (nothing cut off)."""
    page.wait_for_function(
        """() => { const gds = [...document.querySelectorAll('.js-plotly-plot')];
        return gds.length >= 2 && gds.every(gd => gd._fullLayout &&
            Math.abs(gd._fullLayout.width - gd.closest('.salient-plot').clientWidth) <= 2); }""",
        timeout=30_000,
    )
    sizes = page.evaluate(
        """() => [...document.querySelectorAll('.js-plotly-plot')].map(gd => {
            const card = gd.closest('.v-card'), style = getComputedStyle(card.lastElementChild);
            const inside = card.lastElementChild.clientWidth - parseFloat(style.paddingLeft)
                - parseFloat(style.paddingRight);
            const svg = gd.querySelector('.main-svg').getBoundingClientRect();
            const box = card.getBoundingClientRect();
            return {drawn: svg.width, inside, left: svg.left - box.left,
                    right: box.right - svg.right}; })"""
    )
    for s in sizes:
        assert 0.9 * s["inside"] <= s["drawn"] <= s["inside"] + 2, sizes
        assert s["left"] >= 0 and s["right"] >= 0, sizes
    shown = page.evaluate(
        """() => { for (const gd of document.querySelectorAll('.js-plotly-plot'))
            if ((gd.data || []).some(t => t.name === 'places')) return gd._fullLayout.xaxis.range;
        }"""
    )
    assert shown[0] <= -0.5 and shown[1] >= columns - 0.5, shown  # every column of the map


def test_the_app_in_a_browser_steps_and_follows_the_sliders(servers, clean_log):
    with sync_playwright() as p:
        b = Browser(p, 1366, 768)
        page = b.open(servers["hostile"].url)
        assert f"{RED}: tempo 0.30" in page.inner_text("body")
        for hidden in ("Page 0", "Render Interval", "Use Threads"):  # Mesa's, not a class's
            assert hidden.lower() not in page.inner_text("body").lower()
        expect(_setting(page, f"{RED} tempo")).to_have_value("0.3")  # shown, not only dragged
        tempo = page.locator(".salient-setting", has_text=f"{RED} tempo").get_by_role("slider")
        tempo.focus()
        for _ in range(3):  # three steps of 0.05
            page.keyboard.press("ArrowRight")
        expect(_setting(page, f"{RED} tempo")).to_have_value("0.45", timeout=30_000)
        page.get_by_text("press Reset to apply", exact=True).wait_for(timeout=30_000)
        _button(page, "Reset").click()
        page.get_by_text(f"{RED}: tempo 0.45", exact=False).wait_for(timeout=30_000)
        expect(page.get_by_text("press Reset to apply")).to_have_count(0)
        for _ in range(3):
            _button(page, "Step").click()
            page.wait_for_timeout(200)
        page.get_by_text("Day 3 of 32 · end of 2025-01-03", exact=False).wait_for(timeout=30_000)
        _wait_points(page, "this run", 3)  # wait on what is asserted
        assert _points(page, "this run") == 3
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
        assert _button(page, "Run 200 replicates").is_visible()  # the lessons' number
        page.evaluate(PROGRESS)
        _type(page, "runs", 1000)
        _button(page, "Run 1000 replicates").wait_for()
        table = _monte_carlo(page)  # names in the table are text too
        seen = page.evaluate("window.__progress")
        ends = {"0 of 1,000 runs done…", "1,000 of 1,000 runs done…"}
        assert {text for text, _ in seen} - ends, seen  # the count moved as the runs ran …
        assert any(0 < float(bar.rstrip("%") or 0) < 100 for _, bar in seen), seen  # … the bar
        assert next(iter(table)) == "end of 2025-01-31 (day 31)"
        assert f"{RED} men lost by the end" in table
        _type(page, "pause between days (ms)", 0)
        _button(page, "▶").click()  # play to the end
        page.locator(".salient-finished").wait_for(timeout=90_000)
        assert "The run has finished (day 32, end of 2025-02-01). Reset starts again." in (
            page.inner_text("body")
        )
        assert _button(page, "▶").is_disabled() and _button(page, "Step").is_disabled()
        assert _button(page, "❚❚").count() == 0  # not stuck as a greyed pause
        _button(page, "Reset").click()
        page.get_by_text("Day 0 of 32 · start of 2025-01-01", exact=False).wait_for()
        assert _button(page, "▶").is_enabled() and _button(page, "Step").is_enabled()
        assert "Traceback" not in page.inner_text("body")
        assert TRAP in page.inner_text("body")  # shown as text …
        assert page.evaluate("window.__pwned") is None  # … and never run
        b.close()


LESSONS = {
    "classroom": [t for t in tables.TABLES if t.scenario == CLASSROOM],
    "kursk": [t for t in tables.TABLES if t.scenario == KURSK],
}


@pytest.mark.parametrize("scenario", list(LESSONS))
def test_each_lesson_in_the_app_on_a_projector(servers, clean_log, scenario):
    """At 1024×768: the plots fit their cards, the curve draws (with Kursk's observed dates),
    then every step of the lessons on this scenario: its sliders, Reset, Run, and the
    table the app shows must be the lesson's."""
    with sync_playwright() as p:
        b = Browser(p, 1024, 768)
        page = b.open(servers[scenario].url)
        _button(page, "Step").click()
        _wait_points(page, "this run", 1)
        if scenario == "kursk":
            assert _points(page, "observed") == len(app.load(KURSK).scenario.observed)
        _plots_fill_their_cards(page, app.build(LESSONS[scenario][0].scenario)[0].world.shape[1])
        seen: dict[tuple, dict[str, str]] = {}
        for table in LESSONS[scenario]:
            quoted = tables.parse(tables.written(table))
            for row in table.rows:
                key = tuple(sorted(row.sliders.items()))
                if key not in seen:
                    seen[key] = _walk(page, table.scenario, row.sliders)
                shown = seen[key]
                for what, cell in quoted[row.label].items():
                    assert shown[what] == cell, (table.lesson, row.label, what)
        b.close()


def _walk(page: Page, scenario: Path, sliders: dict[str, float]) -> dict[str, str]:
    """One step of a lesson in the app: the scenario's values, the step's sliders, Reset,
    Run; the table the app then shows. Run is pressed once the page says the run on screen
    was built with the step's settings: the server may still be drawing the last step's
    table when the sliders are typed, and a Run of the previous settings must not pass."""
    _button(page, "Scenario's values").click()
    labels = app.controls(app.load(scenario))
    for key, value in sliders.items():
        _type(page, labels[key]["label"], value)
    _button(page, "Reset").click()
    page.get_by_text("Settings changed", exact=False).wait_for(state="detached", timeout=30_000)
    built = app.settings_text(app.ClassroomModel(str(scenario), **sliders))
    expect(page.get_by_text(built, exact=True)).to_be_visible(timeout=30_000)
    return _monte_carlo(page)


def test_bad_input_to_sim_app_is_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\n")
    result = subprocess.run(
        [sys.executable, "-m", "sim.cli", "app", str(bad)], capture_output=True, text=True
    )
    assert result.returncode == 2 and result.stderr.startswith(f"error: {bad}")
    assert isinstance(Path(bad), Path)
