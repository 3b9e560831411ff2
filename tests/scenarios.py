"""Random small scenarios (a hypothesis strategy) and the comparison of two engine runs."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from sim.model.result import RunResult

KIND = {"firepower": 0.012, "speed_km": 2.0, "sensor_km": 4.0}
ARTILLERY = {
    "firepower": 0.002,
    "attack": 0.2,
    "speed_km": 2.0,
    "sensor_km": 4.0,
    "fires": 0.01,
    "fires_km": 8.0,
}


@st.composite
def random_scenarios(draw) -> dict:
    """A generated salient with random forces, schedules and rules, small enough to run."""
    area = draw(st.floats(40, 160))
    depth = draw(st.floats(6, 12))
    days = draw(st.integers(5, 40))

    def schedule(low=0.0, high=1.0):
        if draw(st.booleans()):
            return draw(st.floats(low, high))
        day = draw(st.integers(1, days))
        return [
            {"from": "2025-01-01", "value": draw(st.floats(low, high))},
            {"from": f"2025-01-{1 + min(day, 27):02d}", "value": draw(st.floats(low, high))},
        ]

    def side(name, count):
        return {
            "name": name,
            "tempo": schedule(),
            "intelligence": schedule(),
            "drone_range_km": schedule(0, 8),
            "drone_effort": draw(st.sampled_from([0.0, 0.0, 30.0])),
            "replacements": draw(st.sampled_from([0.0, 20.0])),
            "kinds": {
                "inf": {**KIND, "speed_km": draw(st.sampled_from([2.0, 4.0, 6.0]))},
                "art": ARTILLERY,
            },
            "units": [
                {
                    "kind": "inf",
                    "strength": draw(st.floats(100, 800)),
                    "count": count,
                    "zone": "front",
                },
                {
                    "kind": "art",
                    "strength": 300,
                    "count": draw(st.integers(0, 2)) or 1,
                    "zone": "reserve",
                },
            ],
        }

    attacker = side("Red", draw(st.integers(3, 10)))
    defender = side("Blue", draw(st.integers(2, 6)))
    if draw(st.booleans()):  # axes of effort in the map's first rows (maps are ≥ 9 × 12)
        attacker["axes"] = {
            "north": {
                "areas": [[[0, 0], [4, 6]]],
                "tempo": schedule(),
                "fire_intensity": draw(st.sampled_from([0.1, 0.6])),
            },
            "east": {"areas": [[[0, 7], [8, 11]]]},  # the side's tempo and intensity
        }
    if draw(st.booleans()):
        defender["axes"] = {"hold": {"areas": [[[3, 0], [8, 8]]], "fire_intensity": 0.5}}
    for spec in (attacker, defender):
        if draw(st.booleans()):
            spec["reinforcements"] = {
                "wave": {
                    "date": f"2025-01-{draw(st.integers(1, 20)):02d}",
                    "men": draw(st.integers(300, 3000)),
                    "kind": "inf",
                    "zone": "edge",
                }
            }
    return {
        "name": "random",
        "start": "2025-01-01",
        "days": days,
        "seed": draw(st.integers(0, 2**32 - 1)),
        "replicates": 2,
        "deterministic": draw(st.sampled_from([False, False, False, True])),
        "map": {
            "cell_km": 2.0,
            "generate": {
                "area_km2": area,
                "depth_km": depth,
                "border_km": draw(st.floats(24, 36)),
                "margin_km": 6,
                "homeland_km": 6,
                "seed": draw(st.integers(0, 100)),
            },
        },
        "rules": {
            "breakthrough_ratio": draw(st.floats(0.5, 5)),
            "support": draw(st.floats(0, 0.5)),
            "withdraw_cohesion": draw(st.floats(0, 0.4)),
            "min_strength": draw(st.sampled_from([0.0, 50.0, 150.0])),
            "pursuit": draw(st.booleans()),
            "drone_supply": draw(st.sampled_from([0.0, 0.3])),
            "move_cost": {
                "forest": draw(st.sampled_from([1.0, 2.0])),
                "marsh": draw(st.sampled_from([1.0, 1.5, 3.0])),
            },
            "road_cost": draw(st.sampled_from([1.0, 0.5])),
        },
        "sides": {"attacker": attacker, "defender": defender},
    }


def assert_same_run(a: RunResult, b: RunResult, tol: float = 1e-9) -> None:
    """Discrete state equal every day, continuous state within `tol` (relative for series)."""
    assert (a.events.shape == b.events.shape) and (a.events == b.events).all(), "events differ"
    for name in a.series:
        np.testing.assert_allclose(a.series[name], b.series[name], rtol=tol, atol=tol, err_msg=name)
    if a.states is None or b.states is None:
        return
    for day, (sa, sb) in enumerate(zip(a.states, b.states, strict=True)):
        for key in ("owner", "pos", "alive", "arrived"):
            assert np.array_equal(sa[key], sb[key]), f"{key} differs on day {day}"
        for key in ("strength", "cohesion", "supply"):
            np.testing.assert_allclose(
                sa[key], sb[key], rtol=0, atol=tol, err_msg=f"{key} on day {day}"
            )
