"""`sim schema`: the JSON Schema an editor checks scenario and study files against. It must
accept every file the project ships (scenarios, studies with `base:` and partial overrides,
layers read from files) and refuse unknown keys, as the loader does."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from sim.cli import main

ROOT = Path(__file__).parent.parent
SHIPPED = sorted((ROOT / "scenarios").rglob("*.yaml"))


def as_json(value):
    """A YAML document as JSON sees it: dates become ISO strings."""
    return json.loads(json.dumps(value, default=lambda v: v.isoformat()))


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(CliRunner().invoke(main, ["schema"]).output)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def shipped(name: str) -> dict:
    return as_json(yaml.safe_load((ROOT / "scenarios" / name).read_text(encoding="utf-8")))


def test_the_project_ships_studies_and_scenarios():
    names = {p.name for p in SHIPPED}
    assert {"kursk_2024.yaml", "classroom_small.yaml", "classroom_tempo_intel.yaml"} <= names
    assert any("base" in yaml.safe_load(p.read_text(encoding="utf-8")) for p in SHIPPED)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_file_is_valid(validator, path):
    data = as_json(yaml.safe_load(path.read_text(encoding="utf-8")))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
    assert not errors, errors[:3]


def test_a_layer_read_from_a_file_is_valid(validator):
    data = shipped("examples/riverbend.yaml")
    data["map"]["layers"]["owner"] = {"file": "owner.txt"}
    assert validator.is_valid(data)


def test_a_study_may_override_any_part_at_any_depth(validator):
    study = {
        "base": "../kursk_2024.yaml",
        "sides": {"attacker": {"reinforcements": {"nk_contingent": {"men": 0}}}},
        "rules": {"terrain_defence": {"urban": 3.0}},
        "map": {"layers": {"roads": {"file": "roads.txt"}}},
    }
    assert validator.is_valid(study)


def without(data: dict, *path: str) -> dict:
    node = data
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return data


def with_key(data: dict, value, *path: str) -> dict:
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return data


@pytest.mark.parametrize(
    "make",
    [
        lambda: with_key(shipped("kursk_2024.yaml"), 1, "sides", "attacker", "tempoo"),
        lambda: with_key(shipped("kursk_2024.yaml"), 1, "bogus"),
        lambda: without(shipped("kursk_2024.yaml"), "start"),  # a scenario is complete
        lambda: with_key(
            shipped("examples/riverbend.yaml"), {"file": "x", "y": 1}, "map", "layers", "owner"
        ),
        lambda: with_key(shipped("kursk_2024.yaml"), {"file": "x", "y": 1}, "map", "geo", "held"),
        lambda: with_key(shipped("studies/classroom_tempo_intel.yaml"), 1, "sweep", "typo"),
        lambda: with_key(shipped("studies/classroom_tempo_intel.yaml"), "x", "sides"),
        lambda: with_key(
            shipped("studies/classroom_tempo_intel.yaml"), {"terrain_dfence": 1}, "rules"
        ),
        lambda: {"base": "x.yaml", "map": {"layers": {"owner": {}}}},  # a file names one
        lambda: {  # a list replaces the base's: its items stay complete
            "base": "x.yaml",
            "sides": {"attacker": {"tempo": [{"value": 0.3}]}},
        },
    ],
    ids=[
        "unknown side field",
        "unknown top-level field",
        "missing start",
        "layer file with extra key",
        "GeoJSON layer with extra key",
        "unknown sweep field",
        "section as text",
        "unknown rules field in a study",
        "layer file without its name in a study",
        "incomplete step in a study",
    ],
)
def test_files_with_unknown_or_missing_keys_are_refused(validator, make):
    assert not validator.is_valid(make())


def test_the_study_schema_keeps_the_field_documentation():
    from sim.scenario.schema import json_schema

    defs = json_schema()["$defs"]
    assert "Offensive tempo" in defs["SidePartial"]["properties"]["tempo"]["description"]
    assert "required" not in defs["ReinforcementPartial"]
    assert defs["Reinforcement"]["required"] == ["date", "men", "kind"]
