"""Derive the Kursk scenario's map layers and observed maps from the DeepState geodata.

    python scripts/derive_kursk_geo.py PATH/TO/kursk_geo

PATH/TO/kursk_geo holds `kursk_held.geojson`, `border.geojson` and `places.csv` as described
in scenarios/data/README.md (DeepStateMap.live snapshots archived in
github.com/DanielRose2310/deepstatemaps-history; the border from geoBoundaries, ODbL). The
raw polygons are not in this repository (their licence is unclear); what this writes into
scenarios/kursk_2024/ is derived from them:

- `salient.geojson`: the salient on 2024-08-27, DeepState's held and grey zone together, the
  main salient only (east of 34.73° E), simplified by 250 m;
- `border.geojson`: the state border inside the scenario's box (ODbL: share-alike applies);
- `places.geojson`, `towns.geojson`, `roads.geojson`, `rivers.geojson`: the scenario's ten
  places at their coordinates, towns as 1 km discs around them, roads and rivers as lines
  through the places they pass (schematic between places);
- `observed_maps.csv`: on every snapshot date up to 2025-02-28, the cells of the scenario's
  grid DeepState shows held or grey (the same rule as the start), for the spatial scores, and
  the held and the held + grey area of the salient (km², from the simplified polygons, within
  1 % of the unsimplified ones), copied as low/high into the scenario's `observed:`.

Every output carries its source and licence in its properties; the command is rerun whenever
the grid (box, cell_km) changes.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path

import numpy as np
import pyproj
import shapely
from shapely.geometry import mapping, shape

from sim.scenario.geo import Frame, polygon_cells, project

ROOT = Path(__file__).parent.parent
OUT = ROOT / "scenarios" / "kursk_2024"
BOX = (34.60, 50.93, 35.80, 51.50)  # west, south, east, north: the scenario's map
CELL_KM = 2.0
START = "2024-08-27"
WINDOW_END = "2025-02-28"
SALIENT_WEST = 34.73  # DeepState's main salient lies east of this (data README)
DEEPSTATE = (
    "DeepStateMap.live, snapshots archived in github.com/DanielRose2310/deepstatemaps-history; "
    "licence unknown (attribute DeepStateMap.live); derived: held + grey, main salient, "
    "simplified 250 m"
)
FACTS = "scenarios/data/kursk_facts.md"

# The scenario's places, name → value (the hub weight and the strongpoints, as the
# hand-drawn map had them); the other points of places.csv only place towns and roads.
VALUES = {
    "Sudzha": 10,
    "Korenevo": 3,
    "Berdin": 2,
    "Malaya Loknya": 3,
    "Martynovka": 3,
    "Sverdlikovo": 2,
    "Guevo": 2,
    "Oleshnya": 2,
    "Gornal": 3,
    "Yunakivka": 2,
}
# Places places.csv has no coordinates for: placed by the distance and bearing from Sudzha
# the facts give (approximate, ±2 km).
ESTIMATED = {
    "Sverdlikovo": (9.0, 225.0, "~9 km SW of Sudzha, west of the Sumy–Sudzha road (facts)"),
    "Oleshnya": (12.0, 170.0, "border hamlet next to Gornal, S/SE of Sudzha (facts)"),
}
TOWNS = ("Sudzha", "Korenevo", "Glushkovo", "Malaya Loknya", "Martynovka", "Gornal", "Yunakivka")
TOWNS += ("Bolshoe Soldatskoe",)
# Lines through places ([lon, lat] for points off the list), from the facts' descriptions.
ROADS = {
    "H07 / R-200, Sumy–Yunakivka–Sudzha (facts: the one main road)": [
        "Sumy",
        "Yunakivka",
        "Sudzha",
    ],
    "the second route in, from the south through Guevo (facts: two routes in and out)": [
        [35.30, 50.90],
        "Guevo",
        "Sudzha",
    ],
    "Sudzha–Martynovka–Berdin–Bolshoe Soldatskoe, towards Oboyan (facts)": [
        "Sudzha",
        "Martynovka",
        "Berdin",
        "Bolshoe Soldatskoe",
        [35.85, 51.36],
    ],
    "Sudzha–Korenevo–Rylsk (facts)": ["Sudzha", "Korenevo", "Rylsk"],
    "Korenevo–Glushkovo (facts)": ["Korenevo", "Glushkovo"],
    "Lgov–Malaya Loknya–Sudzha (facts: the Russian road from the north)": [
        "Lgov",
        "Malaya Loknya",
        "Sudzha",
    ],
    "Sudzha–Oleshnya–Gornal, along the border, towards Belgorod oblast (facts)": [
        "Sudzha",
        "Oleshnya",
        "Gornal",
        [35.85, 51.02],
    ],
}
RIVERS = {  # schematic: through the places on their banks (facts; places.csv notes)
    "Seym (Lgov–Rylsk–Glushkovo)": ["Lgov", "Rylsk", "Glushkovo", [34.55, 51.30]],
    "Loknya (Malaya Loknya–Sudzha)": ["Malaya Loknya", "Sudzha"],
    "Sudzha river (north–Sudzha–Psel)": [[35.30, 51.55], "Sudzha", "Guevo"],
    "Psel (Belgorod oblast–Guevo–Gornal–Sumy oblast)": [
        [35.85, 51.08],
        "Plekhovo",
        "Guevo",
        "Gornal",
        [35.05, 50.90],
    ],
}


def _places(data: Path) -> dict[str, tuple[float, float, str]]:
    """name → (lon, lat, source) of every place with coordinates, and the estimated ones."""
    out = {}
    with open(data / "places.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["lat"]:
                out[row["name"]] = (float(row["lon"]), float(row["lat"]), row["source"])
    lon0, lat0, _ = out["Sudzha"]
    for name, (km, bearing, why) in ESTIMATED.items():
        b = math.radians(bearing)
        lat = lat0 + km * math.cos(b) / 111.2
        lon = lon0 + km * math.sin(b) / (111.32 * math.cos(math.radians(lat0)))
        out[name] = (round(lon, 4), round(lat, 4), f"estimated from {why}")
    return out


def _collection(features: list[dict], name: str, source: str) -> dict:
    return {"type": "FeatureCollection", "name": name, "source": source, "features": features}


def _feature(geometry, **props) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def _rounded(geometry: shapely.Geometry) -> dict:
    return mapping(shapely.set_precision(geometry, 1e-5))


def _lines(spec: dict, places: dict, source: str) -> dict:
    features = []
    for name, stops in spec.items():
        xy = [list(s) if isinstance(s, list) else list(places[s][:2]) for s in stops]
        features.append(_feature({"type": "LineString", "coordinates": xy}, name=name))
    return _collection(features, "lines", source)


def _salient(
    features: list[dict], date: str, status: tuple[str, ...] = ("held", "grey")
) -> shapely.Geometry:
    """DeepState held and grey (or `status` only) on a date, the main salient only, lon/lat."""
    parts = [
        shape(f["geometry"])
        for f in features
        if f["properties"]["date"] == date
        and f["properties"]["status"] in status
        and f["geometry"] is not None
    ]
    whole = shapely.union_all(parts)
    east = shapely.box(SALIENT_WEST, BOX[1], BOX[2], BOX[3])
    return shapely.intersection(whole, east)


def main(data: Path) -> None:
    OUT.mkdir(exist_ok=True)
    held = json.loads((data / "kursk_held.geojson").read_text())["features"]
    frame = Frame.of(BOX, CELL_KM)
    laea = frame.proj
    salient = _salient(held, START)
    simple = shapely.simplify(project(salient, laea), 250)
    to_lonlat = pyproj.Transformer.from_crs(laea, "EPSG:4326", always_xy=True)
    back = shapely.transform(simple, lambda xy: np.column_stack(to_lonlat.transform(*xy.T)))
    area = shapely.area(project(salient, laea)) / 1e6
    out = {
        "salient.geojson": _collection(
            [_feature(_rounded(back), date=START, status="held+grey", km2=round(area, 1))],
            "salient",
            DEEPSTATE,
        )
    }
    border = json.loads((data / "border.geojson").read_text())["features"][0]
    line = shapely.intersection(shape(border["geometry"]), shapely.box(*BOX).buffer(0.05))
    props = {k: border["properties"][k] for k in ("source", "licence") if k in border["properties"]}
    out["border.geojson"] = _collection(
        [_feature(_rounded(line), name="Russia–Ukraine state border", **props)],
        "border",
        "geoBoundaries gbOpen UKR ADM1 (OpenStreetMap via Wambacher), ODbL 1.0 — © OpenStreetMap "
        "contributors; geoBoundaries (Runfola et al. 2020)",
    )
    places = _places(data)
    inside = shapely.box(*BOX)
    points = [
        _feature(
            {"type": "Point", "coordinates": [lon, lat]}, name=n, value=VALUES.get(n, 1), source=s
        )
        for n, (lon, lat, s) in places.items()
        if n in VALUES and inside.contains(shapely.Point(lon, lat))
    ]
    out["places.geojson"] = _collection(points, "places", "places.csv (Wikipedia; news reports)")
    discs = [
        _feature(_rounded(shapely.Point(*places[t][:2]).buffer(0.012, quad_segs=4)), name=t)
        for t in TOWNS
    ]
    out["towns.geojson"] = _collection(discs, "towns", "1 km discs around places.csv points")
    out["roads.geojson"] = _lines(ROADS, places, f"schematic lines through the places; {FACTS}")
    out["rivers.geojson"] = _lines(RIVERS, places, f"schematic lines through the places; {FACTS}")
    for name, data_ in out.items():
        (OUT / name).write_text(json.dumps(data_, ensure_ascii=False, indent=1) + "\n")
    dates = sorted({f["properties"]["date"] for f in held})
    rows = []
    for date in (d for d in dates if START <= d <= WINDOW_END):
        salient_on = project(_salient(held, date), laea)
        cells = polygon_cells(salient_on, frame, None)
        only_held = project(_salient(held, date, ("held",)), laea)
        rows.append(
            {
                "date": date,
                "held_km2": round(shapely.area(only_held) / 1e6, 1),
                "held_grey_km2": round(shapely.area(salient_on) / 1e6, 1),
                "cells": int(cells.sum()),
                "held": "/".join(_rows(cells)),
                "source": DEEPSTATE,
            }
        )
    with open(OUT / "observed_maps.csv", "w", newline="", encoding="utf-8") as f:
        fields = ["date", "held_km2", "held_grey_km2", "cells", "held", "source"]
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    cells = polygon_cells(project(salient, laea), frame, None)
    print(f"grid {frame.shape}, salient {area:.1f} km², rasterised {cells.sum() * 4:.0f} km²")


def _rows(cells: np.ndarray) -> list[str]:
    return ["".join("D" if c else "." for c in row) for row in cells]


if __name__ == "__main__":
    main(Path(sys.argv[1]))
