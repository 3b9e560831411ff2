"""Shared test helpers: `minimal_scenario()` gives the smallest valid scenario as data."""

from __future__ import annotations

import pytest

MINIMAL_OWNER = ["AAAAAA", "AAAAAA", "DDDDDD", "DDDDDD"]
MINIMAL_HOMELAND = ["AAAAAA", "AAAAAA", "AAAAAA", "DDDDDD"]  # row 2 is the salient


def minimal_scenario() -> dict:
    """A fresh, valid scenario dict: a 4×6 ASCII map (rows 0–1 attacker-held, rows 2–3
    defender-held, row 2 on the attacker's homeland, i.e. a 6-cell salient), one kind `inf`
    per side and one unit each (attacker at [1, 2], defender at [2, 2])."""
    return {
        "name": "minimal",
        "start": "2025-01-01",
        "days": 5,
        "seed": 1,
        "replicates": 2,
        "map": {
            "cell_km": 2.0,
            "layers": {
                "terrain": "\n".join(["......"] * 4),
                "owner": "\n".join(MINIMAL_OWNER),
                "homeland": "\n".join(MINIMAL_HOMELAND),
            },
        },
        "sides": {
            "attacker": {
                "name": "Red",
                "tempo": 0.2,
                "intelligence": 1.0,
                "kinds": {"inf": {"firepower": 0.01}},
                "units": [{"kind": "inf", "strength": 500, "cells": [[1, 2]]}],
            },
            "defender": {
                "name": "Blue",
                "tempo": 0.0,
                "intelligence": 1.0,
                "kinds": {"inf": {"firepower": 0.01}},
                "units": [{"kind": "inf", "strength": 500, "cells": [[2, 2]]}],
            },
        },
    }


@pytest.fixture
def minimal_scenario_dict() -> dict:
    """`minimal_scenario()` as a fixture (a fresh copy for each test)."""
    return minimal_scenario()


@pytest.fixture(scope="session")
def whole_study(tmp_path_factory):
    """The small classroom study run once, uninterrupted, in-process: what every other way
    of running it (processes, Dask, killed and resumed) must reproduce."""
    from tests.study_runs import SMALL, STUDY, sim_run

    out = tmp_path_factory.mktemp("whole")
    result = sim_run(str(STUDY), *SMALL, "--workers", "1", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out
