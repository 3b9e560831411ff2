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
    from tests.test_calibrate import GOOD, scenario

    calibrated = scenario(tmp, {**GOOD, "parameters": {
        "sides.attacker.tempo": {"range": [0.1, 0.6]},
        "sides.attacker.fire_intensity": {"range": [0.2, 1.0]},
    }})  # fmt: skip
    data = yaml.safe_load(calibrated.read_text())
    calibrated.write_text(yaml.safe_dump({**data, "description": HOSTILE}, sort_keys=False))
    sim("calibrate", str(calibrated), "--workers", "1", "--out", str(tmp / "c"), "--quiet")
    return {
        "report": single / "report.html",
        "study": study / "report.html",
        "compare": tmp / "compare.html",
        "replay": tmp / "replay.html",
        "calibration": tmp / "c" / "classroom-small-calibration" / "calibration.html",
    }


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def open_offline(browser, path: Path, width: int = 1280, phone: bool = False):
    """The page, its console errors and uncaught exceptions as they come, and every
    network request it tried (all refused). `phone`: a touch screen `width` px wide."""
    size = {"width": width, "height": 844 if phone else 900}
    page = browser.new_page(viewport=size, is_mobile=phone, has_touch=phone)
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
    ("name", "plots"),
    [("report", 2), ("study", 3), ("compare", 3), ("replay", 1), ("calibration", 4)],
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


ACTIVE = "document.querySelector('.js-plotly-plot').layout.sliders[0].active"


def test_the_replay_plays_and_pauses(pages, browser):
    page, errors, _ = open_offline(browser, pages["replay"])
    try:
        title = page.locator(".js-plotly-plot .gtitle").first
        assert title.text_content().startswith("Day 1 ")
        page.get_by_text("▶ play").click()
        page.wait_for_function(f"{ACTIVE} >= 5", timeout=30_000)
        page.get_by_text("❚❚ pause").click()  # interrupts the animation: no page error
        page.wait_for_timeout(300)
        stopped = page.evaluate(ACTIVE)
        page.wait_for_timeout(600)
        assert page.evaluate(ACTIVE) == stopped
        assert title.text_content().startswith(f"Day {stopped + 1} ")
        assert not errors, errors
    finally:
        page.close()


def drag_slider(page, to: float) -> None:
    """Press the slider's grip and drag it with the mouse to `to` (0–1) of its rail."""
    page.locator(".slider-container").first.scroll_into_view_if_needed()
    rail = page.locator(".slider-rail-rect").first.bounding_box()
    grip = page.locator(".slider-grip-rect").first.bounding_box()
    y = grip["y"] + grip["height"] / 2
    page.mouse.move(grip["x"] + grip["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(rail["x"] + rail["width"] * to, y, steps=12)
    page.mouse.up()


def log_state(page) -> tuple[list[int], list[str]]:
    """Each event log row's day and its class ('', 'now' or 'later')."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.side tbody tr')].map(
            r => [Number(r.cells[0].textContent), r.className])"""
    )


def test_dragging_the_replay_slider_moves_the_day_and_the_event_log(pages, browser):
    page, errors, _ = open_offline(browser, pages["replay"])
    try:
        title = page.locator(".js-plotly-plot .gtitle").first
        assert all(c == "later" or d == 1 for d, c in log_state(page))  # day 1: all to come
        page.get_by_text("▶ play").click()
        page.wait_for_function(f"{ACTIVE} >= 3", timeout=30_000)
        drag_slider(page, 0.6)  # during play: the drag takes over
        page.wait_for_timeout(500)
        assert not errors, errors  # plotly's own slider left the interrupted play unhandled
        days = log_state(page)
        first, last = days[0][0], days[-1][0]
        steps = page.evaluate(ACTIVE.replace(".active", ".steps.length"))
        drag_slider(page, ((first + last) / 2 - 1) / (steps - 1))  # paused, mid-log
        page.wait_for_timeout(500)
        shown = page.evaluate(ACTIVE) + 1
        assert shown > 3 and title.text_content().startswith(f"Day {shown} ")
        rows = log_state(page)
        assert [c for d, c in rows] == [
            "later" if d > shown else "now" if d == shown else "" for d, _ in rows
        ]
        assert any(c == "" for _, c in rows) and any(c == "later" for _, c in rows)
        side = page.locator(".side").bounding_box()
        last = page.locator(".side tbody tr:not(.later)").last.bounding_box()
        assert side["y"] <= last["y"] and last["y"] + last["height"] <= side["y"] + side["height"]
        page.locator(".side tbody tr.later").first.click()  # an event: the map shows its day
        day = next(d for d, c in rows if c == "later")
        page.wait_for_function(f"{ACTIVE} === {day - 1}", timeout=10_000)
        assert title.text_content().startswith(f"Day {day} ")
        assert ("now", day) in {(c, d) for d, c in log_state(page)}
        assert not errors, errors
    finally:
        page.close()


def overlapping(boxes: list[dict]) -> list[tuple[dict, dict]]:
    return [
        (a, b)
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
        if a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    ]


@pytest.mark.parametrize(("width", "phone"), [(1280, False), (390, True)])
def test_nothing_covers_the_replay_controls_or_place_labels(pages, browser, width, phone):
    page, errors, _ = open_offline(browser, pages["replay"], width, phone)
    try:
        controls = page.locator(
            ".updatemenu-button, .slider-group > .slider-label, .slider-rail-rect"
        )
        boxes = [controls.nth(i).bounding_box() for i in range(controls.count())]
        assert len(boxes) == 4 and not overlapping(boxes)  # play, pause, day shown, slider
        if not phone:  # a phone's map is a third as wide: labels placed for 9 px cells crowd
            labels = page.locator(".js-plotly-plot .scatterlayer .textpoint text")
            boxes = [labels.nth(i).bounding_box() for i in range(labels.count())]
            assert len(boxes) == 10 and not overlapping(boxes)
        assert not errors, errors
    finally:
        page.close()


def test_a_phone_lays_each_page_out_at_its_own_width(pages, browser):
    for name in pages:
        html = pages[name].read_text()
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    for name in ("study", "replay"):  # the widest tables; the map beside its log
        page, errors, _ = open_offline(browser, pages[name], 390, phone=True)
        try:  # without the viewport line a phone lays pages out at 980 px and shrinks them
            assert page.evaluate("document.documentElement.clientWidth") == 390
            assert page.evaluate("document.body.getBoundingClientRect().width") <= 390
            assert not errors, errors
        finally:
            page.close()


@pytest.mark.parametrize("name", ["report", "replay", "calibration"])
def test_a_script_in_the_description_shows_as_text(pages, browser, name):
    html = pages[name].read_text()
    assert HOSTILE not in html and "&lt;script&gt;window.__pwned" in html
    page, _, _ = open_offline(browser, pages[name])
    try:
        assert page.evaluate("window.__pwned") is None
        assert HOSTILE in page.locator(".desc").inner_text()
    finally:
        page.close()
