"""Maps from GeoJSON: the rasterisation rule on hand-made vectors whose right answer is known,
the ASCII export giving the same World, the shipped GeoJSON example, and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyproj
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.experiment import design, execute
from sim.experiment.store import scenario_hash
from sim.model import batch
from sim.model.world import compile_world
from sim.scenario import export
from sim.scenario.geo import Frame, build
from sim.scenario.load import ScenarioError, Source, load, validate
from sim.scenario.schema import Geo

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "scenarios" / "examples" / "riverbend_geo.yaml"
BOX = (30.0, 50.0, 30.3, 50.2)
CELL_KM = 2.0
FRAME = Frame.of(BOX, CELL_KM)
TO_LONLAT = pyproj.Transformer.from_crs(FRAME.proj, "EPSG:4326", always_xy=True)
H, W = FRAME.shape


def lonlat(cells: list[tuple[float, float]]) -> list[list[float]]:
    """[lon, lat] of points given in cell units: (row, col) from the grid's north-west
    corner, so (2, 3) is the north-west corner of cell [2, 3] and (2.5, 3.5) its centre."""
    x = [FRAME.west + c * FRAME.cell_m for _, c in cells]
    y = [FRAME.north - r * FRAME.cell_m for r, _ in cells]
    lon, lat = TO_LONLAT.transform(np.array(x), np.array(y))
    return [[float(a), float(b)] for a, b in zip(lon, lat, strict=True)]


def polygon(top: float, left: float, bottom: float, right: float) -> dict:
    ring = [(top, left), (top, right), (bottom, right), (bottom, left), (top, left)]
    return {"type": "Polygon", "coordinates": [lonlat(ring)]}


def line(*cells: tuple[float, float]) -> dict:
    return {"type": "LineString", "coordinates": lonlat(list(cells))}


def points(**named: tuple[float, float]) -> dict:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": n, "value": 2},
                "geometry": {"type": "Point", "coordinates": lonlat([c])[0]},
            }
            for n, c in named.items()
        ],
    }


BORDER = line((7.5, -1), (7.5, W + 1))  # between rows 7 and 8: rows 8… are the defender's
SOUTH = lonlat([(H - 0.5, 2.5)])[0]


def geo(**layers) -> Geo:
    spec = {"box": list(BOX), "homeland": {"geojson": BORDER, "defender_at": SOUTH}}
    return Geo.model_validate({**spec, **layers})


def test_grid_is_equal_area_and_covers_the_box():
    # 0.3° × 0.2° at 50° N: about 21.5 × 22.2 km, so 11 × 12 cells of 2 km.
    assert FRAME.shape == (12, 11)
    x, y = FRAME.centres()
    lon, _ = TO_LONLAT.transform(x, y)
    geod = pyproj.Geod(ellps="WGS84")  # a cell is 4 km² on the ground wherever it is
    for r, c in [(0, 0), (H - 1, W - 1), (5, 5)]:
        cx, cy = FRAME.west + c * FRAME.cell_m, FRAME.north - r * FRAME.cell_m
        xs = [cx, cx + FRAME.cell_m, cx + FRAME.cell_m, cx]
        ys = [cy, cy, cy - FRAME.cell_m, cy - FRAME.cell_m]
        lons, lats = TO_LONLAT.transform(np.array(xs), np.array(ys))
        area, _ = geod.polygon_area_perimeter(lons, lats)
        assert abs(abs(area) / 4e6 - 1) < 1e-3
    assert lon.min() < BOX[0] + 0.02 and lon.max() > BOX[2] - 0.02


def test_border_line_splits_the_homelands_from_the_defender_point():
    m = build(geo(), CELL_KM)
    expected = np.zeros((H, W), np.int8)
    expected[8:] = 1
    assert np.array_equal(m.homeland, expected)
    assert np.array_equal(m.owner, expected)


def test_border_crossing_twice_gives_alternate_sides():
    # A border that dips south and comes back: the pocket north of the dip is the attacker's.
    border = line((7.5, -1), (7.5, 3), (10.5, 3), (10.5, 7), (7.5, 7), (7.5, W + 1))
    spec = geo(homeland={"geojson": border, "defender_at": SOUTH})
    m = build(spec, CELL_KM)
    expected = np.zeros((H, W), np.int8)
    expected[8:] = 1
    expected[8:11, 3:7] = 0
    assert np.array_equal(m.homeland, expected)


def test_homeland_polygons_are_the_defenders():
    spec = geo(homeland={"geojson": polygon(8, -1, H + 1, W + 1)})
    assert np.array_equal(build(spec, CELL_KM).homeland, build(geo(), CELL_KM).homeland)


def test_held_polygon_by_cell_centre():
    m = build(geo(held={"geojson": polygon(2.05, 3.05, 4.95, 5.95)}), CELL_KM)
    assert {tuple(c) for c in np.argwhere(m.owner[:8] == 1)} == {
        (r, c) for r in range(2, 5) for c in range(3, 6)
    }


@pytest.mark.parametrize(("share", "taken"), [(None, True), (0.5, True), (0.7, False)])
def test_share_rule_takes_a_cell_at_its_covered_share(share, taken):
    # The polygon covers 60 % of cell [3, 3] and holds its centre.
    spec = geo(terrain={"forest": {"geojson": polygon(3.0, 2.9, 4.0, 3.6)}})
    if share is not None:
        spec = spec.model_copy(update={"share": share})
    assert (build(spec, CELL_KM).terrain[3, 3] == 1) == taken


@settings(max_examples=25, deadline=None)
@given(
    st.integers(0, H - 1),
    st.integers(0, W - 1),
    st.integers(1, 4),
    st.integers(1, 4),
    st.floats(0.01, 0.45),
)
def test_any_rectangle_of_cells_rasterises_to_exactly_its_cells(top, left, rows, cols, inset):
    """A polygon drawn on cell edges, inset by less than half a cell, takes exactly the cells
    it was drawn on, by either rule, wherever it lies on the grid."""
    bottom, right = min(top + rows, H), min(left + cols, W)
    rect = polygon(top + inset, left + inset, bottom - inset, right - inset)
    expected = np.zeros((H, W), bool)
    expected[top:bottom, left:right] = True
    terrain = {"forest": {"geojson": rect}}
    least = np.prod([1 - inset * (1 + (n == 1)) for n in (bottom - top, right - left)])
    for share in (None, 0.99 * least):  # the least covered cell: a corner, or a lone cell
        spec = geo(terrain=terrain)
        if share is not None:
            spec = spec.model_copy(update={"share": share})
        assert np.array_equal(build(spec, CELL_KM).terrain == 1, expected)


def test_lines_take_the_cells_they_run_through_connected():
    road = line((5.5, 0.2), (5.5, 4.5), (9.5, 8.5))  # along row 5, then diagonally
    river = line((0.5, 9.5), (3.5, 9.5))
    m = build(geo(roads={"geojson": road}, rivers={"geojson": river}), CELL_KM)
    on = {tuple(c) for c in np.argwhere(m.road)}
    assert {(5, c) for c in range(5)} <= on
    assert {(6, 5), (7, 6), (8, 7), (9, 8)} <= on
    assert len(on) <= 5 + 2 * 4 + 1  # the diagonal crosses at most one more cell a step
    for r, c in on - {(5, 0)}:  # every road cell touches another (8-neighbours)
        assert any((r + dr, c + dc) in on for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc)
    assert {tuple(c) for c in np.argwhere(m.terrain == 3)} == {(r, 9) for r in range(4)}


def test_places_from_points_at_their_cells():
    m = build(geo(places={"geojson": points(Town=(3.5, 4.5), Ford=(9.2, 0.7))}), CELL_KM)
    assert m.places == (("Town", (3, 4), 2.0), ("Ford", (9, 0), 2.0))


# ----------------------------------------------------------------------------- the example


def test_example_ascii_export_gives_the_same_world_and_runs():
    loaded = load(EXAMPLE)
    again = validate(yaml.safe_load(export.dump(export.ascii_data(loaded), "x")), Source("x"))
    assert again.scenario.map.geo is None and again.scenario.map.layers is not None
    one, two = compile_world(loaded), compile_world(again)
    for name, value in vars(one).items():
        if isinstance(value, np.ndarray):
            assert np.array_equal(value, getattr(two, name)), name
    assert one.places == two.places
    a, b = batch.run(one, range(20)), batch.run(two, range(20))
    for name in a.series:
        assert np.array_equal(a.series[name], b.series[name]), name
    # The example is a salient that falls back: North retakes ground in most runs.
    assert a.series["territory"][:, -1].mean() < 0.8 * a.series["territory"][:, 0].mean()


def test_geojson_travels_in_the_scenario_data_and_its_hash(tmp_path):
    """Workers and the app revalidate the scenario's data without its folder; the results'
    hash changes when a GeoJSON file does."""
    folder = tmp_path / "s"
    shutil.copytree(EXAMPLE.parent / "riverbend_geo", folder / "riverbend_geo")
    shutil.copy(EXAMPLE, folder / EXAMPLE.name)
    loaded = load(folder / EXAMPLE.name)
    revalidated = validate(design.data_of(loaded), Source("elsewhere"))
    assert np.array_equal(revalidated.map.owner, loaded.map.owner)
    before = _hash(loaded)
    held = folder / "riverbend_geo" / "held.geojson"
    data = json.loads(held.read_text())
    data["features"][0]["geometry"]["coordinates"][0][1][1] += 0.01
    held.write_text(json.dumps(data))
    changed = _hash(load(folder / EXAMPLE.name))
    assert changed != before
    # Terrain layers are laid in the order written: another order is another map.
    text = (folder / EXAMPLE.name).read_text()
    forest = "      forest: {file: riverbend_geo/forest.geojson}\n"
    water = "      water: {file: riverbend_geo/water.geojson}\n"
    assert forest in text and water in text
    (folder / EXAMPLE.name).write_text(text.replace(forest, "").replace(water, water + forest))
    assert _hash(load(folder / EXAMPLE.name)) != changed


def _hash(loaded) -> str:
    resolved = execute.resolved_scenario(loaded.scenario)  # as `sim run` has it
    return scenario_hash(resolved, execute.plan(loaded).design.table)


def test_sim_map_writes_the_picture_and_the_ascii_scenario(tmp_path):
    runner = CliRunner()
    page = tmp_path / "map.html"
    result = runner.invoke(main, ["map", str(EXAMPLE), "-o", str(page)])
    assert result.exit_code == 0, result.output
    text = page.read_text()
    assert "border (GeoJSON)" in text and "held at the start (GeoJSON)" in text
    assert "+proj=laea" in text
    out = tmp_path / "ascii.yaml"
    result = runner.invoke(main, ["map", "--ascii", str(EXAMPLE), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "riverbend_geo" not in yaml.safe_load(out.read_text())["map"]
    assert load(out).scenario.map.layers is not None


# ----------------------------------------------------------------------------- bad input


def _scenario(tmp_path: Path, layer: str, data: object, raw: str | None = None) -> Path:
    """The example in tmp_path with one GeoJSON file replaced."""
    shutil.copytree(EXAMPLE.parent / "riverbend_geo", tmp_path / "riverbend_geo")
    target = tmp_path / "riverbend_geo" / f"{layer}.geojson"
    target.write_text(raw if raw is not None else json.dumps(data))
    path = tmp_path / EXAMPLE.name
    path.write_text(EXAMPLE.read_text())
    return path


def _refused(path: Path, *sets: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load(path, sets)
    return info.value


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, t in enumerate(path.read_text().splitlines(), 1) if needle in t)


def test_invalid_json_names_file_line_and_field(tmp_path):
    path = _scenario(tmp_path, "held", None, raw='{"type": "FeatureCollection",\n "features": [}')
    err = _refused(path)
    assert (err.file, err.field) == (str(path), "map.geo.held.file")
    assert err.line == _line_of(path, "held.geojson")
    assert "not JSON" in str(err) and "line 2" in str(err)


def test_lat_lon_swapped_is_named(tmp_path):
    held = json.loads((EXAMPLE.parent / "riverbend_geo" / "held.geojson").read_text())
    ring = held["features"][0]["geometry"]["coordinates"][0]
    held["features"][0]["geometry"]["coordinates"][0] = [[b, a] for a, b in ring]
    err = _refused(_scenario(tmp_path, "held", held))
    assert err.field == "map.geo.held.file" and "[lat, lon]" in str(err)


def test_polygon_outside_the_box_is_refused(tmp_path):
    far = {"type": "Polygon", "coordinates": [[[9, 9], [9.1, 9], [9.1, 9.1], [9, 9]]]}
    err = _refused(_scenario(tmp_path, "forest", far))
    assert err.field == "map.geo.terrain.forest.file" and "outside the map's box" in str(err)


def test_wrong_geometry_kind_is_refused(tmp_path):
    err = _refused(_scenario(tmp_path, "roads", {"type": "Point", "coordinates": [5.2, 0.1]}))
    assert err.field == "map.geo.roads.file" and "expected lines" in str(err)


def test_box_too_large_for_the_grid_is_refused(tmp_path):
    path = _scenario(
        tmp_path, "held", None, raw=(EXAMPLE.parent / "riverbend_geo" / "held.geojson").read_text()
    )
    err = _refused(path, "map.cell_km=0.1")
    assert err.field == "map.geo.box" and "40,000" in str(err)


def test_border_line_without_its_side_is_refused(tmp_path):
    path = _scenario(
        tmp_path, "held", None, raw=(EXAMPLE.parent / "riverbend_geo" / "held.geojson").read_text()
    )
    text = path.read_text().replace(
        "      defender_at: [5.2, 0.02]         # a point in South's homeland\n", ""
    )
    path.write_text(text)
    err = _refused(path)
    assert err.field == "map.geo.homeland.defender_at" and "defender_at" in str(err)


def test_not_geojson_is_refused(tmp_path):
    err = _refused(_scenario(tmp_path, "places", {"kind": "points"}))
    assert err.field == "map.geo.places.file" and "expected GeoJSON" in str(err)


def test_cli_exit_code_2_and_one_line(tmp_path):
    path = _scenario(tmp_path, "held", None, raw="[1, 2")
    result = CliRunner().invoke(main, ["map", str(path)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "map.geo.held.file" in lines[0] and str(path) in lines[0]


JSON = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
COORD = st.lists(st.floats(-200, 200) | st.just(float("nan")), min_size=0, max_size=3)
GEOMETRY = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["Point", "LineString", "Polygon", "MultiPolygon", "Feature"]),
        "coordinates": st.lists(COORD, max_size=5) | st.lists(st.lists(COORD, max_size=5)),
    }
)


@settings(max_examples=60, deadline=None)
@given(st.one_of(JSON, GEOMETRY), st.sampled_from(["held", "roads", "places", "homeland"]))
def test_any_geojson_is_used_or_refused_in_one_message(value, layer):
    """Whatever a GeoJSON file holds, the loader builds the map or names the field: no
    other exception escapes (the hypothesis fuzz of the vector layers)."""
    data = design.data_of(load(EXAMPLE))
    data["map"]["geo"][layer]["geojson"] = value
    try:
        validate(data, Source("fuzz.yaml"))
    except ScenarioError as err:
        assert err.field.startswith(f"map.geo.{layer}") and "\n" not in str(err)


def test_kursk_salient_rasterised_within_3_percent_of_its_polygon():
    """The issue's target: the rasterised salient of 2024-08-27 against the polygon's area
    (both on the scenario's equal-area grid), and the territory the model starts from."""
    from shapely.geometry import shape

    from sim.scenario import geo

    path = ROOT / "scenarios" / "kursk_2024.yaml"
    loaded = load(path)
    spec, frame = loaded.scenario.map.geo, loaded.map.frame
    polygons = [shape(f["geometry"]) for f in spec.held.geojson["features"]]
    km2 = geo.project(polygons[0], frame.proj).area / 1e6
    held = geo.polygon_cells(geo.project(polygons[0], frame.proj), frame, None)
    assert km2 == pytest.approx(1239, abs=1)  # DeepState's held + grey, main salient
    assert abs(held.sum() * 4.0 / km2 - 1) < 0.03
    assert abs(compile_world(loaded).territory0 / km2 - 1) < 0.03


def test_a_border_drawn_to_the_box_edge_reaches_past_the_grid():
    """The grid covers the box in whole cells, so a line ending on the box's edge stops short
    of the grid's: it is carried on (the reviewer's case: refused before)."""
    x0, _, x1, _ = BOX
    _, y = TO_LONLAT.transform(FRAME.west, FRAME.north - 7.5 * FRAME.cell_m)
    border = {"type": "LineString", "coordinates": [[x0, y], [x1, y]]}
    m = build(geo(homeland={"geojson": border, "defender_at": SOUTH}), CELL_KM)
    assert np.array_equal(m.homeland, build(geo(), CELL_KM).homeland)


OFF_THE_GLOBE = {
    "roads": {"type": "LineString", "coordinates": [[30.1, 50.1], [30.1, 95]]},
    "held": {
        "type": "Polygon",
        "coordinates": [[[30.1, 50.1], [30.2, 50.1], [30.2, 91], [30.1, 50.1]]],
    },
}


@pytest.mark.parametrize("layer", sorted(OFF_THE_GLOBE))
def test_coordinates_off_the_globe_are_refused(layer):
    """A latitude of 91 projected to infinity: a road crashed, a polygon vanished."""
    with pytest.raises(ValueError, match="±90"):
        build(geo(**{layer: {"geojson": OFF_THE_GLOBE[layer]}}), CELL_KM)


def test_a_border_that_branches_is_refused():
    """Three branches meeting cannot divide the grid into alternating sides."""
    main_line = line((4.5, -1), (4.5, 5), (9, 5), (9, W + 1))["coordinates"]
    branch = line((4.5, 5), (0, 5))["coordinates"]
    border = {"type": "MultiLineString", "coordinates": [main_line, branch]}
    with pytest.raises(ValueError, match="branches"):
        build(geo(homeland={"geojson": border, "defender_at": SOUTH}), CELL_KM)


def test_defender_point_on_the_border_is_refused():
    on = lonlat([(7.5, 3.0)])[0]
    with pytest.raises(ValueError, match="lies on the border"):
        build(geo(homeland={"geojson": BORDER, "defender_at": on}), CELL_KM)


def test_a_spike_mended_by_make_valid_keeps_the_polygon():
    ring = [(2.05, 3.05), (2.05, 5.95), (4.95, 5.95), (4.95, 3.05), (2.05, 3.05)]
    spike = [*ring[:2], (2.05, 9.0), *ring[1:]]  # out and back along the same edge
    held = {"type": "Polygon", "coordinates": [lonlat(spike)]}
    m = build(geo(held={"geojson": held}), CELL_KM)
    assert int(m.owner[:8].sum()) == 9


def test_the_reference_engine_runs_a_scenario_with_maps_in_a_short_warm_up(tmp_path):
    """warm_up and the estimate run a 2- or 20-day world that keeps the maps' days: the
    reference engine crashed reshaping the maps it never recorded (found in review)."""
    args = ["run", str(EXAMPLE), "--engine", "reference", "--replicates", "2", "--workers", "1"]
    result = CliRunner().invoke(
        main, [*args, "--set", "days=35", "--quiet", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output


def test_a_file_cannot_be_set_or_swept(tmp_path):
    """Files are read with the scenario, before overrides: --set and sweeps naming one were
    silently ignored (found in review); now they are refused in one message."""
    with pytest.raises(ScenarioError, match="a file is read with the scenario"):
        load(EXAMPLE, ["map.geo.held.file=other.geojson"])
    with pytest.raises(ScenarioError, match="a file is read with the scenario"):
        load(EXAMPLE, ["map.geo.held={file: other.geojson}"])
    study = tmp_path / "study.yaml"
    shutil.copytree(EXAMPLE.parent / "riverbend_geo", tmp_path / "riverbend_geo")
    shutil.copy(EXAMPLE, tmp_path / EXAMPLE.name)
    sweep = {"parameters": {"map.geo.held.file": {"values": ["a.geojson", "b.geojson"]}}}
    study.write_text(yaml.safe_dump({"base": EXAMPLE.name, "name": "s", "sweep": sweep}))
    with pytest.raises(ScenarioError, match="a file is read with the scenario"):
        execute.plan(load(study))


def test_ascii_export_of_a_study_sweeping_the_map_is_refused(tmp_path):
    shutil.copytree(EXAMPLE.parent / "riverbend_geo", tmp_path / "riverbend_geo")
    shutil.copy(EXAMPLE, tmp_path / EXAMPLE.name)
    sweep = {"parameters": {"map.cell_km": {"values": [2.0, 1.0]}}}
    study = tmp_path / "study.yaml"
    study.write_text(yaml.safe_dump({"base": EXAMPLE.name, "name": "s", "sweep": sweep}))
    result = CliRunner().invoke(main, ["map", "--ascii", str(study), "-o", str(tmp_path / "x")])
    assert result.exit_code == 2 and "sweeps the map" in result.output
    result = CliRunner().invoke(
        main,
        ["map", "--ascii", str(EXAMPLE), "--set", "observed_maps=null", "-o", str(tmp_path / "y")],
    )
    assert result.exit_code == 0, result.output


def test_held_polygons_that_take_no_attacker_cell_are_refused():
    """A held area wholly in the defender's own homeland leaves no salient (a new user's
    case: it ran, with 'median day below 0 km²')."""
    with pytest.raises(ValueError, match="the salient is empty"):
        build(geo(held={"geojson": polygon(8.2, 2.2, 10.8, 4.8)}), CELL_KM)
