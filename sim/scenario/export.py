"""A scenario with its map written as ASCII layers: the file that no longer needs the
GeoJSON it was built from (`sim map --ascii`), and gives the same World."""

from __future__ import annotations

from typing import Any

import numpy as np
import yaml

from sim.scenario.load import FieldError, Loaded
from sim.scenario.maps import MapArrays
from sim.scenario.schema import TERRAINS, Layers

LEGEND = {v: k for k, v in Layers.model_fields["legend"].default_factory().items()}  # type: ignore[misc]


def layers(m: MapArrays) -> dict[str, str]:
    """The four ASCII layers of map arrays, in the default legend."""

    def text(grid: np.ndarray, chars: dict[int, str]) -> str:
        return "\n".join("".join(chars[int(v)] for v in row) for row in grid) + "\n"

    out = {
        "terrain": text(m.terrain, {i: LEGEND[t] for i, t in enumerate(TERRAINS)}),
        "owner": text(m.owner, {0: "A", 1: "D"}),
        "homeland": text(m.homeland, {0: "A", 1: "D"}),
    }
    if m.road.any():
        out["roads"] = text(m.road.astype(np.int8), {0: ".", 1: "#"})
    return out


def ascii_data(loaded: Loaded) -> dict[str, Any]:
    """The scenario's data as written, its map as ASCII layers and the map's own places
    (GeoJSON points, a generated hub) listed among its places at their cells."""
    s = loaded.scenario
    if s.sweep and any(p.split(".")[0] == "map" for p in s.sweep.parameters):
        raise FieldError(("sweep", "parameters"), "sweeps the map: export its base scenario")
    data = s.model_dump(mode="json", by_alias=True, exclude_unset=True)
    data["map"] = {"cell_km": s.map.cell_km, "layers": layers(loaded.map)}
    named = {p.name for p in s.places}
    extra = [
        {"name": name, "cell": list(cell), "value": value}
        for name, cell, value in loaded.map.places
        if name not in named
    ]
    if extra:
        data["places"] = [*data.get("places", []), *extra]
    if data.get("observed_maps"):  # the maps themselves, not the file they were read from
        data["observed_maps"] = {"maps": data["observed_maps"]["maps"]}
    return data


class _Dumper(yaml.SafeDumper):
    """Layers as literal blocks, one map row a line; small lists on one line."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _list(dumper: yaml.SafeDumper, value: list) -> yaml.Node:
    flat = not any(isinstance(v, dict) for v in value)  # cells, steps' values: one line
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flat)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(list, _list)


def dump(data: dict[str, Any], header: str) -> str:
    """YAML text of a scenario's data, `header` as its opening comment."""
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return "".join(f"# {line}\n" for line in header.splitlines()) + body
