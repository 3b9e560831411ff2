"""`sim map`: the grid a scenario's map gives, drawn over the vectors it was rasterised
from, so a modeller sees what each cell became and why."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import shapely

from sim import __version__
from sim.model.world import World
from sim.scenario.load import Loaded
from sim.scenario.schema import TERRAINS
from sim.viz.maps import border_trace, km_axes, places_trace
from sim.viz.page import page
from sim.viz.style import DEFENDER, rgba

TERRAIN_COLOURS = {
    "open": "#F4F1E8",
    "forest": "#9CC59A",
    "urban": "#A9A9A9",
    "marsh": "#D9CBA3",
    "water": "#4F8FC0",
}
VECTOR_STYLE = {  # layer → line colour, width
    "homeland": ("#000000", 2.5),
    "held": (DEFENDER, 2.5),
    "rivers": ("#3A7DC4", 1.2),
    "roads": ("#8C510A", 1.5),
    "forest": ("#2E7D32", 1.0),
    "urban": ("#555555", 1.0),
    "marsh": ("#3A7DC4", 1.0),
    "water": ("#1F4E79", 1.0),
}


def _terrain(world: World) -> go.Heatmap:
    n = len(TERRAINS)
    scale = []
    for i, t in enumerate(TERRAINS):  # one flat band per terrain index
        scale += [[i / n, TERRAIN_COLOURS[t]], [(i + 1) / n, TERRAIN_COLOURS[t]]]
    return go.Heatmap(
        z=world.terrain,
        zmin=-0.5,
        zmax=n - 0.5,
        colorscale=scale,
        showscale=False,
        customdata=np.array(TERRAINS, dtype=object)[world.terrain],
        hovertemplate="row %{y}, column %{x}: %{customdata}<extra></extra>",
        name="terrain",
    )


def _owner(world: World, owner: np.ndarray) -> go.Heatmap:
    held = np.where(owner == 1, 1.0, np.nan)  # the defender's cells, tinted
    held[(owner == 1) & (world.homeland == 1)] = np.nan  # its own homeland stays plain
    return go.Heatmap(
        z=held,
        zmin=0,
        zmax=1,
        colorscale=[[0, rgba(DEFENDER, 0.35)], [1, rgba(DEFENDER, 0.35)]],
        showscale=False,
        hoverinfo="skip",
        name="held by the defender",
    )


def _roads(world: World, road: np.ndarray) -> go.Scatter:
    rows, cols = np.nonzero(road)
    return go.Scatter(
        x=cols,
        y=rows,
        mode="markers",
        marker={"symbol": "square", "size": 4, "color": VECTOR_STYLE["roads"][0]},
        name="road cells",
        hoverinfo="skip",
    )


def _lines(geometry: shapely.Geometry, cell_km: float) -> tuple[list, list]:
    """x, y in cell coordinates of a geometry's lines (polygon rings included)."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    boundary = shapely.boundary(geometry) if shapely.get_dimensions(geometry) == 2 else geometry
    for part in getattr(boundary, "geoms", [boundary]):
        xy = shapely.get_coordinates(part) / cell_km - 0.5
        xs += [*xy[:, 0].tolist(), None]
        ys += [*xy[:, 1].tolist(), None]
    return xs, ys


def _vectors(loaded: Loaded) -> list[go.Scatter]:
    """Each GeoJSON layer, projected onto the grid, as lines over the cells."""
    from sim.scenario import geo

    spec, frame = loaded.scenario.map.geo, loaded.map.frame
    if spec is None or frame is None:
        return []
    layers = [("homeland", "border", spec.homeland), ("held", "held at the start", spec.held)]
    layers += [("rivers", "rivers", spec.rivers), ("roads", "roads", spec.roads)]
    layers += [(t, t, v) for t, v in spec.terrain.items()]
    out = []
    for key, label, layer in layers:
        if layer is None:
            continue
        parts = [g for g, _ in geo.read(layer, geo.POLYGONS + geo.LINES, "", spec.box, ())]
        clipped = shapely.intersection(
            geo.project(shapely.union_all(parts), frame.proj), frame.rect
        )
        xs, ys = _lines(frame.km(clipped), loaded.scenario.map.cell_km)
        colour, width = VECTOR_STYLE.get(key, ("#666666", 1.0))
        out.append(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                line={"color": colour, "width": width},
                name=f"{label} (GeoJSON)",
                hoverinfo="skip",
            )
        )
    return out


def map_figure(loaded: Loaded, world: World) -> go.Figure:
    """The grid — terrain, the defender's held cells, road cells, the rasterised border and
    the places — with the GeoJSON layers drawn over it."""
    fig = go.Figure([_terrain(world), _owner(world, loaded.map.owner)])
    if loaded.map.road.any():
        fig.add_trace(_roads(world, loaded.map.road))
    fig.add_trace(border_trace(world))
    for trace in _vectors(loaded):
        fig.add_trace(trace)
    fig.add_trace(places_trace(world))
    h = world.shape[0]
    fig.update_layout(
        template="plotly_white",
        height=max(420, min(900, 14 * h + 160)),
        margin={"t": 30, "b": 120, "l": 60, "r": 20},
        legend={"orientation": "h", "y": -0.12, "yanchor": "top"},
    )
    km_axes(fig, world)
    return fig


def _held_km2(loaded: Loaded) -> float | None:
    """The area of the `held` polygons in the attacker's homeland, on the grid's projection."""
    from sim.scenario import geo

    spec, frame = loaded.scenario.map.geo, loaded.map.frame
    if spec is None or spec.held is None or frame is None:
        return None
    parts = [g for g, _ in geo.read(spec.held, geo.POLYGONS, "polygons", spec.box, ())]
    held = geo.project(shapely.union_all(parts), frame.proj)
    attacker = frame.rect.difference(geo.homeland_polygon(spec, frame))
    return float(shapely.intersection(held, attacker).area / 1e6)


def map_page(loaded: Loaded, world: World) -> str:
    s = loaded.scenario
    h, w = world.shape
    held = round(world.territory0 / world.cell_area)
    meta = {
        "grid": f"{h}×{w} cells of {s.map.cell_km:g} km",
        "salient": f"{held} cells = {held * world.cell_area:,.0f} km²",
        "version": __version__,
    }
    if loaded.map.frame is not None:
        meta["projection"] = loaded.map.frame.proj
        held = _held_km2(loaded)
        if held is not None:
            meta["held polygons"] = f"{held:,.1f} km² (to compare with the salient's cells)"
    return page(f"{s.name}: the map", s.description, meta, [map_figure(loaded, world)])
