"""GeoJSON layers → map arrays on an equal-area grid.

The grid: a Lambert azimuthal equal-area projection centred on the scenario's lon/lat box
(every cell is `cell_km`² on the ground), the smallest whole number of cells covering the
projected box, centred on it; rows run north to south, columns west to east.

The rasterisation rule, one per kind of geometry:

- polygons: a cell takes the polygon's value when the polygon holds the cell's centre, or,
  with `share`, when it covers at least that share of the cell's area;
- lines (roads, rivers): every cell the line runs through, the line sampled at least every
  quarter of a cell, so that a line stays connected from cell to cell (diagonals included)
  and a corner it merely clips is left out;
- points (places): the cell that holds the point.
- The border line cuts the grid into pieces, alternately the defender's and the attacker's
  homeland starting from `defender_at`; homeland polygons instead are the defender's.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyproj
import shapely
from shapely.geometry import box as lonlat_box
from shapely.geometry import shape
from shapely.ops import split

from sim.scenario.maps import MapArrays, MapError
from sim.scenario.schema import MAX_CELLS, TERRAINS, Geo, Vector

ATTACKER, DEFENDER = 0, 1
POLYGONS = ("Polygon", "MultiPolygon")
LINES = ("LineString", "MultiLineString")
POINTS = ("Point",)


class GeoError(MapError):
    """A GeoJSON layer that cannot be used; `path` is the field under `map.geo`."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(("geo", *path), message)


@dataclass(frozen=True)
class Frame:
    """The grid on the ground: a projection and where its cells lie, in metres."""

    proj: str
    west: float  # x of the grid's west edge (m)
    north: float  # y of the grid's north edge (m)
    cell_m: float
    shape: tuple[int, int]

    @classmethod
    def of(cls, box: tuple[float, float, float, float], cell_km: float) -> Frame:
        west, south, east, north = box
        proj = (
            f"+proj=laea +lat_0={(south + north) / 2:.6f} +lon_0={(west + east) / 2:.6f} "
            "+datum=WGS84 +units=m +no_defs"
        )
        outline = project(shapely.segmentize(lonlat_box(*box), 0.01), proj)
        x0, y0, x1, y1 = outline.bounds
        cell_m = cell_km * 1000.0
        height = int(np.ceil((y1 - y0) / cell_m - 1e-9))
        width = int(np.ceil((x1 - x0) / cell_m - 1e-9))
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        return cls(proj, cx - width * cell_m / 2, cy + height * cell_m / 2, cell_m, (height, width))

    @property
    def rect(self) -> shapely.Polygon:
        height, width = self.shape
        return shapely.box(
            self.west,
            self.north - height * self.cell_m,
            self.west + width * self.cell_m,
            self.north,
        )

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """x and y (m) of every cell's centre, (H, W) each."""
        rows, cols = np.mgrid[0 : self.shape[0], 0 : self.shape[1]]
        return self.west + (cols + 0.5) * self.cell_m, self.north - (rows + 0.5) * self.cell_m

    def cells_of(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row, col) of the cells holding points at x, y (m); may fall off the grid."""
        return (
            np.floor((self.north - np.asarray(y)) / self.cell_m).astype(np.int64),
            np.floor((np.asarray(x) - self.west) / self.cell_m).astype(np.int64),
        )

    def km(self, geometry: shapely.Geometry) -> shapely.Geometry:
        """A projected geometry in km from the grid's north-west corner, y down (as the
        map pictures draw cells: x = column, y = row, times cell_km)."""
        return shapely.transform(
            geometry,
            lambda xy: np.column_stack(((xy[:, 0] - self.west), (self.north - xy[:, 1]))) / 1e3,
        )


def project(geometry: shapely.Geometry, proj: str) -> shapely.Geometry:
    to = pyproj.Transformer.from_crs("EPSG:4326", proj, always_xy=True)
    return shapely.transform(geometry, lambda xy: np.column_stack(to.transform(xy[:, 0], xy[:, 1])))


def _features(data: Any, path: tuple) -> list[tuple[Any, dict]]:
    """(geometry mapping, properties) of each feature of a GeoJSON object."""
    kind = data.get("type") if isinstance(data, dict) else None
    if kind == "FeatureCollection" and not isinstance(data.get("features"), list):
        raise GeoError(path, "a FeatureCollection needs its list of features")
    if kind == "FeatureCollection":
        out = []
        for i, f in enumerate(data["features"]):
            if not (isinstance(f, dict) and f.get("type") == "Feature"):
                raise GeoError(path, f"feature {i + 1} is not a GeoJSON Feature")
            out.append((f.get("geometry"), f.get("properties") or {}))
        return out
    if kind == "Feature":
        return [(data.get("geometry"), data.get("properties") or {})]
    if kind == "GeometryCollection" or (isinstance(kind, str) and "coordinates" in data):
        return [(data, {})]
    raise GeoError(path, "expected GeoJSON: a FeatureCollection, a Feature or a geometry")


def read(
    vector: Vector, kinds: tuple[str, ...], what: str, box: tuple, path: tuple
) -> list[tuple[shapely.Geometry, dict]]:
    """The layer's features as valid lon/lat geometries of the expected kind, each with its
    properties; every feature must reach into the box."""
    out = []
    inside = lonlat_box(*box)
    for i, (geom, props) in enumerate(_features(vector.geojson, path)):
        label = f"feature {i + 1}" + (
            f" ({props['name']})"
            if isinstance(props, dict) and isinstance(props.get("name"), str)
            else ""
        )
        if geom is None:
            continue  # a feature without geometry (GeoJSON allows null): nothing to draw
        try:
            g = shape(geom)
        except Exception as exc:  # shapely raises several kinds on malformed coordinates
            why = " ".join(str(exc).split())[:120]  # GEOS's text may span lines
            raise GeoError(path, f"{label}: not a valid GeoJSON geometry ({why})") from None
        parts = list(g.geoms) if g.geom_type == "GeometryCollection" else [g]
        for part in parts:
            if part.geom_type not in kinds:
                raise GeoError(path, f"{label} is a {part.geom_type}; expected {what}")
            xy = shapely.get_coordinates(part)
            if not (np.isfinite(xy).all() and (abs(xy) <= (180, 90)).all()):
                raise GeoError(path, f"{label}: coordinates must be [lon, lat] degrees (±180, ±90)")
            if not part.is_valid:  # e.g. a self-touching ring from a GIS export: mended, and
                # only the pieces of the expected kind kept (a spike mends into a line)
                mended = shapely.get_parts(shapely.make_valid(part))
                kept = [p for p in mended if p.geom_type in kinds]
                if not kept:
                    continue
                part = shapely.union_all(kept)
            if not part.intersects(inside):
                swapped = shapely.transform(part, lambda xy: xy[:, ::-1])
                if swapped.intersects(inside):
                    raise GeoError(
                        path,
                        f"{label} looks like [lat, lon]: GeoJSON coordinates are [lon, lat] "
                        "(or the box is: it is [west, south, east, north])",
                    )
                raise GeoError(
                    path, f"{label} lies outside the map's box {list(box)} (lon/lat degrees)"
                )
            out.append((part, props if isinstance(props, dict) else {}))
    return out


def _union(
    vector: Vector, kinds: tuple[str, ...], what: str, geo: Geo, path: tuple, frame: Frame
) -> shapely.Geometry:
    """A layer's features merged into one projected geometry; a layer with none is refused."""
    parts = [g for g, _ in read(vector, kinds, what, geo.box, path)]
    if not parts:
        raise GeoError(path, f"the layer has no {what}")
    return project(shapely.union_all(parts), frame.proj)


def polygon_cells(geometry: shapely.Geometry, frame: Frame, share: float | None) -> np.ndarray:
    """(H, W) bool: the cells the polygons take by the rasterisation rule."""
    shapely.prepare(geometry)
    x, y = frame.centres()
    if share is None:
        return shapely.contains_xy(geometry, x, y)
    half = frame.cell_m / 2
    cells = shapely.box(x - half, y - half, x + half, y + half)
    covered = shapely.area(shapely.intersection(cells, geometry))
    return covered >= share * frame.cell_m**2 * (1 - 1e-9)


def line_cells(geometry: shapely.Geometry, frame: Frame) -> np.ndarray:
    """(H, W) bool: the cells a line runs through, sampled at most a quarter cell apart."""
    out = np.zeros(frame.shape, bool)
    dense = shapely.segmentize(geometry, frame.cell_m / 4)
    rows, cols = frame.cells_of(*shapely.get_coordinates(dense).T)
    on = (rows >= 0) & (rows < frame.shape[0]) & (cols >= 0) & (cols < frame.shape[1])
    out[rows[on], cols[on]] = True
    return out


def _reaching(border: shapely.Geometry, frame: Frame) -> shapely.Geometry:
    """The border with each end within two cells of the grid's edge carried on past it: the
    grid covers the box in whole cells, so a line drawn to the box's edge stops short of it."""
    out = []
    for line in shapely.get_parts(shapely.line_merge(border)):
        xy = shapely.get_coordinates(line)
        for end, before in ((0, 1), (-1, -2)):
            point = shapely.Point(xy[end])
            step = xy[end] - xy[before]
            if frame.rect.exterior.distance(point) <= 2 * frame.cell_m and np.hypot(*step) > 0:
                xy[end] = xy[end] + step / np.hypot(*step) * 4 * frame.cell_m
        out.append(shapely.LineString(xy))
    return shapely.union_all(out)


def homeland_polygon(geo: Geo, frame: Frame) -> shapely.Geometry:
    """The defender's homeland, projected: its polygons, or the pieces of the grid on its
    side of the border line."""
    path = ("homeland", "file")
    layer = geo.homeland
    parts = read(layer, POLYGONS + LINES, "polygons or lines", geo.box, path)
    if not parts:
        raise GeoError(path, "the layer has no border line or homeland polygons")
    kinds = {g.geom_type in POLYGONS for g, _ in parts}
    if len(kinds) > 1:
        raise GeoError(path, "mixes polygons and lines; give the border line or the polygons")
    border = project(shapely.union_all([g for g, _ in parts]), frame.proj)
    if kinds == {True}:
        return border
    if layer.defender_at is None:
        raise GeoError(
            ("homeland", "defender_at"),
            "a border line needs defender_at: [lon, lat] of a point in the defender's homeland",
        )
    lon, lat = layer.defender_at
    if not lonlat_box(*geo.box).contains(shapely.Point(lon, lat)):
        raise GeoError(("homeland", "defender_at"), f"[{lon}, {lat}] lies outside the map's box")
    pieces = list(split(frame.rect, _reaching(border, frame)).geoms)
    if len(pieces) < 2:
        raise GeoError(path, "the border line must cross the map's box from edge to edge")
    seed = project(shapely.Point(lon, lat), frame.proj)
    near = [i for i, piece in enumerate(pieces) if piece.distance(seed) < 1.0]
    if len(near) != 1:
        raise GeoError(("homeland", "defender_at"), "lies on the border: a point off the line")
    side = {near[0]: DEFENDER}
    todo = deque(near)
    while todo:  # pieces that share a stretch of border lie on opposite sides
        i = todo.popleft()
        for j, other in enumerate(pieces):
            if j == i or pieces[i].intersection(other).length == 0:
                continue
            if j not in side:
                side[j] = 1 - side[i]
                todo.append(j)
            elif side[j] == side[i]:
                raise GeoError(path, "the border branches: its sides cannot alternate")
    return shapely.union_all([p for i, p in enumerate(pieces) if side.get(i) == DEFENDER])


def _places(geo: Geo, frame: Frame) -> tuple[tuple[str, tuple[int, int], float], ...]:
    path = ("places", "file")
    out, seen = [], set()
    for i, (point, props) in enumerate(read(geo.places, POINTS, "points", geo.box, path)):
        name, value = props.get("name"), props.get("value", 1.0)
        if not (isinstance(name, str) and 1 <= len(name) <= 64):
            raise GeoError(path, f"feature {i + 1} needs a property name: text of 1–64 characters")
        if name in seen:
            raise GeoError(path, f"feature {i + 1}: the place {name!r} is given twice")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1000:
            raise GeoError(path, f"feature {i + 1} ({name}): value must be a number in 0–1000")
        seen.add(name)
        x, y = shapely.get_coordinates(project(point, frame.proj))[0]
        row, col = (int(v) for v in frame.cells_of(x, y))
        if not (0 <= row < frame.shape[0] and 0 <= col < frame.shape[1]):
            raise GeoError(path, f"feature {i + 1} ({name}) lies outside the map")
        out.append((name, (row, col), float(value)))
    return tuple(out)


def build(geo: Geo, cell_km: float) -> MapArrays:
    """The map arrays of a GeoJSON map, with its frame for the pictures."""
    frame = Frame.of(geo.box, cell_km)
    height, width = frame.shape
    if height * width > MAX_CELLS:
        raise GeoError(
            ("box",),
            f"the box is {height}×{width} cells of {cell_km:g} km, more than {MAX_CELLS:,}: "
            "a smaller box or larger cells",
        )
    defender = polygon_cells(homeland_polygon(geo, frame), frame, geo.share)
    homeland = np.where(defender, DEFENDER, ATTACKER).astype(np.int8)
    owner = homeland.copy()
    if geo.held is not None:
        held = _union(geo.held, POLYGONS, "polygons", geo, ("held", "file"), frame)
        owner[polygon_cells(held, frame, geo.share)] = DEFENDER
        if not (owner != homeland).any():
            raise GeoError(
                ("held", "file"), "takes no cell of the attacker's homeland: the salient is empty"
            )
    terrain = np.zeros(frame.shape, np.int8)
    for name, layer in geo.terrain.items():
        polygons = _union(layer, POLYGONS, "polygons", geo, ("terrain", name, "file"), frame)
        terrain[polygon_cells(polygons, frame, geo.share)] = TERRAINS.index(name)
    if geo.rivers is not None:
        rivers = _union(geo.rivers, LINES, "lines", geo, ("rivers", "file"), frame)
        terrain[line_cells(rivers, frame)] = TERRAINS.index(geo.rivers.terrain)
    road = np.zeros(frame.shape, bool)
    if geo.roads is not None:
        road = line_cells(_union(geo.roads, LINES, "lines", geo, ("roads", "file"), frame), frame)
    places = _places(geo, frame) if geo.places is not None else ()
    return MapArrays(terrain, owner, homeland, road, places=places, frame=frame)
