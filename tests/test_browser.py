"""The pages in a real browser (Debian's chromium through playwright), with the network
blocked: they load with no console error, draw their plots, the replay plays, and a
description holding a script shows as text and never runs."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from PIL import Image, ImageStat
from playwright.sync_api import sync_playwright

from sim.cli import main
from tests.study_runs import ROOT, STUDY

CHROMIUM = "/usr/bin/chromium"
KURSK = ROOT / "scenarios" / "kursk_2024.yaml"
HOSTILE = "<script>window.__pwned = 1</script><b>bold?</b>"


def sim(*args: str) -> None:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("pages")
    hostile = tmp / "hostile.yaml"
    hostile.write_text(yaml.safe_dump({"base": str(KURSK), "description": HOSTILE, "days": 60}))
    sim("run", str(hostile), "--replicates", "8", "--out", str(tmp / "k"), "--quiet")
    sim(
        "run", str(STUDY), "--replicates", "8", "--workers", "1", "--out", str(tmp / "s"), "--quiet"
    )
    (single,) = (tmp / "k").iterdir()
    (study,) = (tmp / "s").iterdir()
    sim("compare", f"{study}:0", f"{study}:8", str(single), "-o", str(tmp / "compare.html"))
    sim("replay", str(hostile), "--seed", "2", "-o", str(tmp / "replay.html"))
    return {
        "report": single / "report.html",
        "study": study / "report.html",
        "compare": tmp / "compare.html",
        "replay": tmp / "replay.html",
    }


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def open_offline(browser, path: Path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    blocked: list[str] = []

    def route(r):
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(path.as_uri())
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
    return page, errors, blocked


def not_blank(page) -> bool:
    image = Image.open(io.BytesIO(page.screenshot())).convert("L")
    return ImageStat.Stat(image).stddev[0] > 10


@pytest.mark.parametrize(
    ("name", "plots"), [("report", 2), ("study", 3), ("compare", 3), ("replay", 1)]
)
def test_each_page_draws_offline_without_errors(pages, browser, name, plots):
    page, errors, blocked = open_offline(browser, pages[name])
    try:
        assert page.locator(".js-plotly-plot").count() >= plots
        assert page.locator(".js-plotly-plot .scatterlayer .trace").count() > 0
        assert not errors, errors
        assert not blocked, f"the page asked the network for {blocked}"
        assert not_blank(page)
    finally:
        page.close()


def test_the_replay_slider_advances_the_day(pages, browser):
    page, errors, _ = open_offline(browser, pages["replay"])
    try:
        title = page.locator(".js-plotly-plot .gtitle").first
        assert title.text_content().startswith("Day 1 ")
        page.get_by_text("▶ play").click()
        page.wait_for_function(
            "document.querySelector('.js-plotly-plot').layout.sliders[0].active >= 5",
            timeout=30_000,
        )
        # Not paused here: plotly rejects the promise of an interrupted animation without
        # handling it, which the page would report as an error that is plotly's, not ours.
        assert not title.text_content().startswith("Day 1 ")
        assert not errors, errors
    finally:
        page.close()


@pytest.mark.parametrize("name", ["report", "replay"])
def test_a_script_in_the_description_shows_as_text(pages, browser, name):
    html = pages[name].read_text()
    assert HOSTILE not in html and "&lt;script&gt;window.__pwned" in html
    page, _, _ = open_offline(browser, pages[name])
    try:
        assert page.evaluate("window.__pwned") is None
        assert HOSTILE in page.locator(".desc").inner_text()
    finally:
        page.close()
