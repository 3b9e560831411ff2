"""Bad input through `sim validate` and `sim run --dry-run`, in this process: the crashes and
hangs a tester's fuzzing found, each as a scenario of its kind, then a few hundred seeded
mutations of the shipped files (tests/fuzz.py). Every one must exit 0 or 2, without a
traceback, with one line of at most 300 characters naming the file on refusal, and the two
commands must agree. `python -m tests.fuzz --cases 5000 --real 300` is the larger run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from sim.experiment import execute
from tests import fuzz
from tests.fuzz import FIFO, FOLDER, Case

CASES = int(os.environ.get("SALIENT_FUZZ_CASES", "500"))  # about 40 s
HANG_SECONDS = 60  # a guard against blocking, far above any answer (the slowest: ~2 s)
KURSK = fuzz.dump(fuzz.SHIPPED["kursk_2024.yaml"])  # its map as ASCII layers: a file alone
CLASSROOM = (fuzz.SCENARIOS / "classroom_small.yaml").read_text(encoding="utf-8")
STUDY = (fuzz.SCENARIOS / "studies" / "classroom_tempo_intel.yaml").read_text(encoding="utf-8")


@pytest.fixture
def no_pilot(monkeypatch):
    """`run --dry-run` without its pilot run: the pilot of a valid scenario takes as long as
    the scenario is big (25 s for 25,000 units), which the larger run measures instead."""

    def estimate(study: execute.Study, engine: str, slots: int) -> execute.Estimate:
        study.world(0)
        return execute.Estimate(0.0, 0)

    monkeypatch.setattr(execute, "estimate", estimate)


def checked(case: Case, folder: Path) -> list[fuzz.Outcome]:
    with fuzz.memory_cap(4 * 2**30):
        outcomes = fuzz.check_case(case, folder, HANG_SECONDS)
    assert not fuzz.problems(case, folder, outcomes), fuzz.problems(case, folder, outcomes)
    return outcomes


def with_waves(n: int, men: int, strength: float) -> str:
    data = yaml.safe_load(CLASSROOM)
    data["sides"]["attacker"]["reinforcements"] = {
        f"w{i}": {"date": data["start"], "men": men, "unit_strength": strength, "kind": "infantry"}
        for i in range(n)
    }
    return fuzz.dump(data)


def study_with(parameters: dict) -> str:
    return fuzz.dump(
        {"base": "../classroom_small.yaml", "name": "s", "sweep": {"parameters": parameters}}
    )


def layer_from(name: str, text: str = KURSK) -> str:
    data = yaml.safe_load(text)
    data["map"]["layers"][name] = {"file": f"{name}.txt"}
    return fuzz.dump(data)


def kursk(*sets: str) -> Case:
    return Case("kursk", {"case.yaml": KURSK}, sets=list(sets))


def classroom(text: str = CLASSROOM, *sets: str) -> Case:
    return Case("classroom", {"case.yaml": text}, sets=list(sets))


def study(parameters: dict, *sets: str) -> Case:
    files = {"classroom_small.yaml": CLASSROOM, "studies/case.yaml": study_with(parameters)}
    return Case("study", files, "studies/case.yaml", list(sets))


NK = "sides.attacker.reinforcements.nk_contingent"
SECOND = "sides.attacker.reinforcements.second_echelon"
STEPS = "[{from: 2025-01-05, value: 0.2}, {from: 2025-01-02, value: 0.3}]"
TEN = [round(0.1 * i, 1) for i in range(1, 11)]
RULES = ("support", "recovery", "assault_fatigue", "offroad_supply", "supply_decay")
FOUND = {  # what crashed or hung, as a scenario of its kind → the exit code it must give
    "a bad date on the command line": (kursk(f"{NK}.date=2025-02-30"), 2),
    "tempo steps out of order on the command line": (kursk(f"sides.attacker.tempo={STEPS}"), 2),
    "a reinforcement switched off": (kursk(f"{NK}.men=0"), 0),
    "a sweep parameter without levels": (study({"sides.attacker.tempo": []}), 2),
    "levels of mixed types": (study({"sides.attacker.tempo": [True, 0.3, 0.5]}), 0),
    "a reinforcement with no entry cells": (kursk(f"{NK}.cells=[]"), 2),
    "20 reinforcements of a million one-man units": (classroom(with_waves(20, 10**6, 1)), 2),
    "a million men in tiny units": (
        classroom(CLASSROOM, f"{SECOND}.men=1000000", f"{SECOND}.unit_strength=0.5"),
        2,
    ),
    "a run ending past 9999-12-31": (kursk("start=9999-12-31"), 2),
    "a swept step from 9999-12-30": (
        study(
            {"sides.attacker.tempo": {"from": "9999-12-30", "values": [0.1]}}, "start=9999-12-01"
        ),
        2,
    ),
    "a base that is a named pipe": (
        Case("", {"classroom_small.yaml": FIFO, "studies/case.yaml": STUDY}, "studies/case.yaml"),
        2,
    ),
    "a layer file that is a named pipe": (
        Case("", {"owner.txt": FIFO, "case.yaml": layer_from("owner")}),
        2,
    ),
    "a scenario that is a named pipe": (Case("", {"case.yaml": FIFO}), 2),
    "a grid of 100,000 points": (study({f"rules.{r}": TEN for r in RULES}), 0),
    "a file of a million values": (classroom(CLASSROOM + "junk: [" + "1, " * 600_000 + "1]\n"), 2),
    "a reinforcement set to null": (kursk(f"{NK}=null"), 2),
    "a kind named with 3,000 characters": (kursk("sides.attacker.units.0.kind=" + "k" * 3000), 2),
}


@pytest.mark.parametrize("name", FOUND)
def test_what_the_tester_found_is_run_or_refused_in_one_line(tmp_path, no_pilot, name):
    case, code = FOUND[name]
    outcomes = checked(case, tmp_path)
    assert [o.code for o in outcomes] == [code, code], outcomes[0].output


def test_mutated_scenarios_are_run_or_refused_in_one_line(tmp_path, no_pilot):
    found = {}
    for n in range(CASES):
        case = fuzz.make_case(n)
        if case.files.get(case.main) == FOLDER:
            continue  # test_a_folder_given_as_the_scenario_is_one_line
        folder = tmp_path / f"case-{n}"
        folder.mkdir()
        with fuzz.memory_cap(4 * 2**30):
            outcomes = fuzz.check_case(case, folder, HANG_SECONDS)
        if problems := fuzz.problems(case, folder, outcomes):
            found[n] = f"{case.label}: {problems}"
    assert not found, found


def test_a_folder_given_as_the_scenario_is_one_line(tmp_path, no_pilot):
    checked(Case("", {"case.yaml": FOLDER}), tmp_path)
