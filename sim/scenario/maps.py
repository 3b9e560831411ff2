"""Map layers → arrays: ASCII layers as written, a generated half-ellipse salient, or
GeoJSON layers rasterised (sim/scenario/geo.py).

Rows run north to south, columns west to east; side codes are 0 = attacker, 1 = defender.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.scenario.schema import MAX_CELLS, TERRAINS, Generated, Layers, Map

if TYPE_CHECKING:
    from sim.scenario.geo import Frame

ATTACKER, DEFENDER = 0, 1


class MapError(ValueError):
    """A map that cannot be read; `field` names the layer, or the field path under `map`."""

    def __init__(self, field: str | tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = ("layers", field) if isinstance(field, str) else field


@dataclass(frozen=True)
class MapArrays:
    terrain: np.ndarray  # (H, W) int8, index into TERRAINS
    owner: np.ndarray  # (H, W) int8, side holding the cell at the start
    homeland: np.ndarray  # (H, W) int8, side whose homeland the cell is
    road: np.ndarray  # (H, W) bool
    places: tuple[tuple[str, tuple[int, int], float], ...] = ()  # generated or GeoJSON places
    frame: Frame | None = None  # where the cells lie on the ground (GeoJSON maps)

    @property
    def shape(self) -> tuple[int, int]:
        return self.terrain.shape


def _rows(text: str, field: str) -> list[str]:
    rows = [r.rstrip() for r in text.strip("\n").splitlines()]
    rows = [r.strip() for r in rows if r.strip()]
    if not rows:
        raise MapError(field, "the layer is empty")
    width = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            raise MapError(field, f"row {i + 1} has {len(row)} characters, row 1 has {width}")
    if len(rows) * width > MAX_CELLS:
        raise MapError(field, f"{len(rows)}×{width} cells is more than {MAX_CELLS}")
    return rows


def _sides(rows: list[str], field: str) -> np.ndarray:
    codes = {"A": ATTACKER, "D": DEFENDER}
    out = np.zeros((len(rows), len(rows[0])), np.int8)
    for i, row in enumerate(rows):
        for j, ch in enumerate(row):
            if ch not in codes:
                raise MapError(field, f"row {i + 1}, column {j + 1}: {ch!r} is not A or D")
            out[i, j] = codes[ch]
    return out


def from_layers(layers: Layers) -> MapArrays:
    terrain_rows = _rows(layers.terrain, "terrain")
    shape = (len(terrain_rows), len(terrain_rows[0]))
    terrain = np.zeros(shape, np.int8)
    for i, row in enumerate(terrain_rows):
        for j, ch in enumerate(row):
            if ch not in layers.legend:
                raise MapError(
                    "terrain", f"row {i + 1}, column {j + 1}: {ch!r} is not in the legend"
                )
            terrain[i, j] = TERRAINS.index(layers.legend[ch])
    layer_rows = {"owner": layers.owner, "homeland": layers.homeland}
    if layers.roads is not None:
        layer_rows["roads"] = layers.roads
    parsed = {}
    for field, text in layer_rows.items():
        rows = _rows(text, field)
        if (len(rows), len(rows[0])) != shape:
            raise MapError(
                field, f"{len(rows)}×{len(rows[0])} cells, but terrain is {shape[0]}×{shape[1]}"
            )
        parsed[field] = rows
    owner = _sides(parsed["owner"], "owner")
    homeland = _sides(parsed["homeland"], "homeland")
    road = np.zeros(shape, bool)
    if "roads" in parsed:
        road = np.array([[ch == "#" for ch in row] for row in parsed["roads"]], bool)
    return MapArrays(terrain, owner, homeland, road)


def cells(km, cell_km: float):
    """Distances in km to whole cells, halves rounded up (5 km at 2 km cells is 3 cells)."""
    return np.floor(np.asarray(km) / cell_km + 0.5).astype(np.int64)


def generate(spec: Generated, cell_km: float) -> MapArrays:
    """A straight east–west border with the defender's homeland to the south and a
    half-ellipse salient of `area_km2` and `depth_km` pushed north into the attacker's side."""
    width = max(3, int(cells(spec.border_km, cell_km)))
    depth = max(1, int(cells(spec.depth_km, cell_km)))
    border_row = depth + max(1, int(cells(spec.margin_km, cell_km)))
    height = border_row + max(1, int(cells(spec.homeland_km, cell_km)))
    if width * height > MAX_CELLS:
        raise MapError(("generate",), f"{height}×{width} cells is more than {MAX_CELLS}")
    # Half-ellipse of semi-axes (a, depth) cells with area_km2: a = 2·area / (π·depth).
    a = 2 * spec.area_km2 / (np.pi * spec.depth_km * cell_km)
    rows, cols = np.mgrid[0:height, 0:width]
    centre = (width - 1) / 2
    y = (border_row - rows - 0.5) / depth  # 0 at the border, 1 at the tip
    x = (cols - centre) / max(a, 0.5)
    homeland = np.where(rows >= border_row, DEFENDER, ATTACKER).astype(np.int8)
    owner = homeland.copy()
    owner[(y >= 0) & (x * x + y * y <= 1.0)] = DEFENDER
    if not (owner != homeland).any():
        raise MapError(("generate",), "the salient is smaller than one cell")
    rng = np.random.default_rng(spec.seed)
    u = rng.random((height, width))
    terrain = np.zeros((height, width), np.int8)
    terrain[u < spec.forest + spec.urban + spec.marsh] = TERRAINS.index("marsh")
    terrain[u < spec.forest + spec.urban] = TERRAINS.index("forest")
    terrain[u < spec.urban] = TERRAINS.index("urban")
    # One road from the defender's rear edge to the salient's hub, one cell north of the border.
    col = round(centre)
    hub = (border_row - max(1, depth // 3), col)
    road = np.zeros((height, width), bool)
    road[hub[0] :, col] = True
    terrain[hub] = TERRAINS.index("urban")
    return MapArrays(terrain, owner, homeland, road, places=(("Hub", hub, 10.0),))


def build(spec: Map) -> MapArrays:
    """The map's arrays; MapError names the field (GeoError, under map.geo, for GeoJSON)."""
    if spec.layers is not None:
        return from_layers(spec.layers)
    if spec.geo is not None:
        from sim.scenario import geo  # shapely and pyproj load only for GeoJSON maps

        return geo.build(spec.geo, spec.cell_km)
    assert spec.generate is not None
    return generate(spec.generate, spec.cell_km)
