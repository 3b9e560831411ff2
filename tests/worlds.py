"""Tiny hand-built worlds for rule tests, and one interface over both engines.

`tiny(...)` takes ASCII owner rows ('A'/'D') and units as (side, row, col, strength[, kind]);
everything else is neutral unless a test says otherwise. `Engine` lets a test drive one
phase at a time on either engine and read the state back in slot order.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from sim.model import batch, reference
from sim.model.world import World, compile_world
from sim.scenario.load import Source, validate

NEUTRAL_RULES = {
    "terrain_defence": {"open": 1.0, "forest": 1.0, "urban": 1.0, "marsh": 1.0},
    "support": 0.0,
    "warning_bonus": 0.0,
    "shock": 0.0,
    "assault_fatigue": 0.0,
    "recovery": 0.0,
    "assault_cohesion": 0.0,
    "withdraw_cohesion": 0.0,
    "retreat_shock": 0.0,
    "min_strength": 0.0,
    "offroad_supply": 1.0,
}
KIND = {"firepower": 0.01, "speed_km": 0.0, "sensor_km": 0.0}


def scenario_dict(
    owner: list[str],
    units=(),
    homeland: list[str] | None = None,
    roads: list[str] | None = None,
    terrain: list[str] | None = None,
    rules: dict | None = None,
    days: int = 10,
    deterministic: bool = True,
    **side_fields: Any,
) -> dict:
    """A scenario as data. `side_fields` like attacker_tempo=0.5, defender_kinds={...}.
    Deterministic by default (casualties and every draw at their expectation), with no
    positional fire: a rule test asks for the one rule it checks."""
    h, w = len(owner), len(owner[0])
    layers = {
        "terrain": "\n".join(terrain or ["." * w] * h),
        "owner": "\n".join(owner),
        "homeland": "\n".join(homeland or owner),
    }
    if roads:
        layers["roads"] = "\n".join(roads)
    sides = {}
    for side in ("attacker", "defender"):
        spec = {
            "name": side.title(),
            "tempo": 0.0,
            "intelligence": 1.0,
            "fire_intensity": 0.0,
            "kinds": {"inf": dict(KIND), "art": {**KIND, "fires": 0.01, "fires_km": 6.0}},
            "units": [],
        }
        for key, value in side_fields.items():
            if key.startswith(side + "_"):
                spec[key[len(side) + 1 :]] = copy.deepcopy(value)
        sides[side] = spec
    for u in units:
        side, row, col, strength, *kind = u
        name = "attacker" if side in ("A", 0, "attacker") else "defender"
        sides[name]["units"].append(
            {"kind": kind[0] if kind else "inf", "strength": strength, "cells": [[row, col]]}
        )
    return {
        "name": "tiny",
        "start": "2025-01-01",
        "days": days,
        "seed": 1,
        "replicates": 1,
        "deterministic": deterministic,
        "map": {"cell_km": 2.0, "layers": layers},
        "rules": {**NEUTRAL_RULES, **(rules or {})},
        "sides": sides,
    }


def compile_dict(data: dict) -> World:
    return compile_world(validate(copy.deepcopy(data), Source("<test>")))


def tiny(owner: list[str], units=(), **kwargs: Any) -> World:
    return compile_dict(scenario_dict(owner, units, **kwargs))


class Engine:
    """Drive either engine one phase at a time (replicate 0) and read its state."""

    def __init__(self, kind: str, world: World, replicate: int = 0) -> None:
        self.kind, self.world = kind, world
        if kind == "reference":
            self.m = reference.SalientModel(world, replicate, trace=True)
        else:
            self.m = batch.Batch([(world, [replicate])], trace=True)

    def begin_day(self) -> None:
        m = self.m
        if self.kind == "reference":
            m.today = reference.Day()
            m.start_owner = m.owner.copy()
        else:
            m.begin_day()

    def phase(self, name: str) -> None:
        getattr(self.m, name)()

    def phases(self, *names: str) -> None:
        self.begin_day()
        for name in names:
            self.phase(name)

    def step(self, days: int = 1) -> None:
        for _ in range(days):
            self.m.step()

    def state(self) -> dict[str, np.ndarray]:
        s = self.m.snapshot()
        return {k: (v[0] if self.kind == "batch" else v) for k, v in s.items()}

    @property
    def detected(self) -> set[int]:
        if self.kind == "reference":
            return set(self.m.today.detected)
        return set(np.flatnonzero(self.m.detected[0]).tolist())

    @property
    def assaulted(self) -> set[int]:
        if self.kind == "reference":
            return set(self.m.today.assaulted)
        return set(np.flatnonzero(self.m.assaulted[0]).tolist())

    def events(self) -> list[tuple[int, str, int]]:
        if self.kind == "reference":
            return list(self.m.events)
        return self.m.results()[0].event_list(0)

    def series(self, name: str) -> np.ndarray:
        if self.kind == "reference":
            return self.m.datacollector.get_model_vars_dataframe()[name].to_numpy()
        return self.m.series[name][0, : self.m.day]
