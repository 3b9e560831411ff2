"""The fast validation cases of docs/validation.md, as tests: Lanchester's laws in closed form
(and the daily step's error), the drawn duel against the exact chances of its own process,
Iwo Jima against the record and Kursk against its calibration window. The slow cases (the
continuous-time stochastic square law at 4,000 runs) run in `benchmarks/validate.py`."""

from __future__ import annotations

import pytest

from sim.analysis import validation as v


@pytest.mark.parametrize(
    "name,daily,fine", [("square_law", 0.01, 0.001), ("linear_law", 0.05, 0.005)]
)
def test_laws_follow_their_closed_forms_and_sub_steps_converge(name, daily, fine):
    one, ten = v.law_check(name, 1), v.law_check(name, 10)
    assert one.days > 50  # long enough to tell the laws apart
    assert one.max_error < daily and ten.max_error < fine
    assert ten.max_error < one.max_error / 5  # Euler: ten steps, about a tenth of the error


def test_a_fast_bloody_fight_needs_sub_steps():
    assert v.law_check("square_law", 1, scale=10).max_error > 0.05
    assert v.law_check("square_law", 10, scale=10).max_error < 0.01


def test_the_square_law_ends_on_the_day_and_with_the_survivors_of_the_closed_form():
    c = v.law_check("square_law", 10)
    assert abs(c.end_day - c.exact_end_day) <= 1
    assert c.survivors == pytest.approx(c.exact_survivors, rel=0.01)


def test_the_drawn_duel_matches_the_exact_chances_of_its_own_process():
    fast = (
        "sides.attacker.kinds.soldier.fires=0.04", "sides.defender.kinds.soldier.fires=0.05",
        "rules.fire_substeps=1", "days=60", "seed=1",
    )  # fmt: skip
    c = v.duel_check("duel_20v15", 4000, "drawn", fast)
    assert all(abs(z) < 3 for z in c.z), c


def test_iwo_jima_follows_the_record_and_falls_on_time():
    c = v.iwo_jima(200)
    assert c.rmse <= 1500
    assert 26 <= c.secured_day <= 40


def test_kursk_fits_its_window():
    c = v.kursk(100)
    assert c.observations >= 20 and c.window_rmse < 120


def test_a_broken_front_gives_way_at_the_attackers_speed_and_a_held_one_grinds():
    table = v.front(runs=100).set_index(["front", "pursuit"])
    rate = table["cells/day, days 1–5"]
    speed = float(table["speed"].iloc[0])
    assert rate["broken", True] == pytest.approx(speed, rel=0.05)
    assert rate["broken", False] == pytest.approx(1.0, rel=0.05)
    assert rate["held", True] < rate["broken", True] / 5
    assert rate["held", False] <= rate["held", True]


def test_a_march_keeps_the_closed_form_pace_of_its_ground():
    table = v.march(runs=100)
    assert table["exact"].tolist() == [1, 2 / 3, 0.5, 2, 2, 4 / 3, 1, 4]
    assert (table["z"].abs() < 3).all()
    deterministic = table[table["exact"].isin([1, 2, 4])]  # whole steps: no draw
    assert (deterministic["model"] == deterministic["exact"]).all()
