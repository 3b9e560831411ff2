"""Scenario → World: the engine-neutral compiled form (arrays, coefficients, schedules).

Every unit that will ever exist, reinforcements included, gets a fixed slot here; slots are
ordered attacker first, then defender, initial units before reinforcements, so "lower slot
first" is a rule a reader can apply by hand. Schedules become one value per day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from dataclasses import fields as fields_of

import numpy as np

from sim.model import fields
from sim.scenario import maps
from sim.scenario.load import FieldError, Loaded
from sim.scenario.maps import MapArrays
from sim.scenario.schema import SIDES, TERRAINS, Rules, Scenario, Schedule

_PHI = (5**0.5 - 1) / 2


@dataclass(frozen=True, eq=False)
class World:
    name: str
    start: dt.date
    days: int
    seed: int
    deterministic: bool
    cell_km: float
    rules: Rules
    # cells (H, W)
    terrain: np.ndarray
    cover: np.ndarray  # terrain defence multiplier of each cell
    owner: np.ndarray
    homeland: np.ndarray
    road: np.ndarray
    move_cost: np.ndarray  # (H, W): share of a day's speed entering the cell costs (water: inf)
    land: np.ndarray  # (H, W) bool: not water (units, supply and captures stay on land)
    source: np.ndarray  # (2, H, W): each side's supply sources (own homeland on the map edge)
    depots: np.ndarray  # (K, 4): side, flat cell, first and last day of a dated supply source
    objective: np.ndarray  # (2, H, W): cells each side may assault or advance into
    places: tuple[str, ...]
    place_cell: np.ndarray  # (P,) flat cell index
    place_value: np.ndarray
    # unit slots (U,)
    side: np.ndarray
    kind: np.ndarray
    kind_names: tuple[str, ...]
    group: tuple[str, ...]  # "initial" or the reinforcement's name
    strength0: np.ndarray
    cell0: np.ndarray  # flat cell index (a reinforcement's own entry cell)
    arrival: np.ndarray  # day index the unit may first enter (0 for initial units)
    # a reinforcement's entry list: entries[entry_first : entry_first + entry_count], tried
    # from position entry_offset on, cyclically (empty for initial units)
    entry_first: np.ndarray
    entry_count: np.ndarray
    entry_offset: np.ndarray
    entries: np.ndarray  # (E,) flat cells: every reinforcement's entry list, one after another
    edge_cells: np.ndarray  # flat cells on the map edge, in flat order (the last resort)
    firepower: np.ndarray
    attack: np.ndarray
    defence: np.ndarray
    speed: np.ndarray  # cells per day on ground of cost 1
    move_steps: np.ndarray  # sub-steps of movement a unit may use in a day (speed / cheapest)
    sensor: np.ndarray  # cells
    fires: np.ndarray
    fires_range: np.ndarray  # cells
    area_fire: np.ndarray  # bool: its indirect fire falls on an area, by target density
    # schedules (2, days)
    tempo: np.ndarray  # the side's tempo off its axes
    intelligence: np.ndarray
    drone_range: np.ndarray  # cells
    drone_effort: np.ndarray  # men a day struck at full intelligence
    replacements: np.ndarray
    fire_intensity: np.ndarray
    breakout: int  # cells an overrun unit can break out to
    drone_loss: float  # share of deliveries lost per cell of route within enemy drone reach
    axis_of: np.ndarray  # (2, H·W) int64: each side's axis of effort on a cell, 1-based; 0 none
    axis_tempo: np.ndarray  # (2, 1 + axes, days): tempo off the axes (0), then on each axis
    axis_fire: np.ndarray  # (2, 1 + axes, days): fire intensity off the axes (0), then on each
    axis_names: tuple[tuple[str, ...], tuple[str, ...]]  # each side's axes, in order
    map_days: np.ndarray  # (M,) days with an observed map: the engines count who holds each cell

    @property
    def shape(self) -> tuple[int, int]:
        return self.terrain.shape

    @property
    def n_units(self) -> int:
        return len(self.side)

    @property
    def cell_area(self) -> float:
        return self.cell_km * self.cell_km

    @property
    def territory_cells(self) -> np.ndarray:
        """Cells that count as territory when the defender holds them: attacker homeland
        (its land)."""
        return (self.homeland == 0) & self.land

    @property
    def territory0(self) -> float:
        return float(((self.owner == 1) & self.territory_cells).sum() * self.cell_area)

    def sources(self, day: int) -> np.ndarray:
        """(2, H·W) each side's supply sources on `day`: its map edge and its open depots."""
        out = self.source.reshape(2, -1).copy()
        for side, cell, first, last in self.depots:
            if first <= day <= last:
                out[side, cell] = True
        return out

    def date(self, day: int) -> dt.date:
        return self.start + dt.timedelta(days=day)


def schedule(value: Schedule, start: dt.date, days: int) -> np.ndarray:
    """One value per day: a constant, or the step in force (the first before any date)."""
    if isinstance(value, float | int):
        return np.full(days, float(value))
    out = np.full(days, float(value[0].value))
    for step in value:
        first = (step.from_ - start).days
        out[max(first, 0) :] = step.value
    return out


km_to_cells = maps.cells


WATER = TERRAINS.index("water")


def zone_cells(m: MapArrays, side: int, zone: str, on: np.ndarray | None = None) -> list[int]:
    """Own cells of a zone (only those `on` an axis's area, if given), nearest the enemy
    first; cells at one distance are spread along the front by a golden-ratio order rather
    than filled from the top-left corner. Water is in no zone."""
    land = m.terrain != WATER
    own = (m.owner == side) & land
    dist = fields.distance((m.owner != side) & land, cap=sum(m.shape))
    if zone == "front":
        pick = own
    elif zone == "reserve":
        pick = own & (dist >= 3)
    else:
        pick = own & (m.homeland == side) & fields.edge(m.shape)
    if on is not None:
        pick &= on
    flat = np.flatnonzero(pick)
    d = dist.ravel()[flat]
    rank = np.zeros(len(flat))
    for value in np.unique(d):
        at = d == value
        rank[at] = (np.arange(at.sum()) * _PHI) % 1.0
    return [int(flat[i]) for i in np.lexsort((rank, d))]


def compile_world(loaded: Loaded) -> World:
    s: Scenario = loaded.scenario
    m = loaded.map
    w = m.shape[1]
    r = s.rules
    slots: dict[str, list] = {
        k: []
        for k in ("side", "kind", "group", "strength", "cell", "day", "first", "count", "offset")
    }
    entries: list[int] = []
    kinds: list[tuple[int, str]] = []
    occupied: set[int] = set()

    def men(strength: float) -> float:
        """Whole men when casualties are drawn (at least one); as written when deterministic."""
        return strength if s.deterministic else max(1.0, float(np.floor(strength + 0.5)))

    def kind_index(side: int, name: str) -> int:
        if (side, name) not in kinds:
            kinds.append((side, name))
        return kinds.index((side, name))

    def add(
        side: int, kind: str, group: str, strength: float, cell: int, day: int, entry=(0, 0, 0)
    ) -> None:
        values = (side, kind_index(side, kind), group, strength, cell, day, *entry)
        for key, value in zip(slots, values, strict=True):
            slots[key].append(value)

    def listed(cells, side_index: int, path: tuple, held: bool = True) -> list[int]:
        """Flat indices of listed [row, col] cells: land, and held by the side at the start."""
        flat = [c[0] * w + c[1] for c in cells]
        for j, c in enumerate(flat):
            if m.terrain.ravel()[c] == WATER:
                raise FieldError((*path, "cells", j), "cell is water")
            if held and m.owner.ravel()[c] != side_index:
                raise FieldError(
                    (*path, "cells", j), f"cell is not held by the {SIDES[side_index]}"
                )
        return flat

    axis_of = axis_maps(s, m.shape)

    def on_axis(side_index: int, name: str | None, path: tuple) -> np.ndarray | None:
        """The cells of a side's axis, for units assigned to it (None: not assigned)."""
        if name is None:
            return None
        names = list(getattr(s.sides, SIDES[side_index]).axes)
        if name not in names:
            known = ", ".join(names) or "none"
            raise FieldError((*path, "axis"), f"no axis {name!r} (this side's axes: {known})")
        return axis_of[side_index] == names.index(name) + 1

    def zone_text(zone: str | None, axis: str | None) -> str:
        return f"zone {zone!r}" + (f" on axis {axis!r}" if axis else "")

    for side_index, side_name in enumerate(SIDES):
        spec = getattr(s.sides, side_name)
        for gi, g in enumerate(spec.units):
            path = ("sides", side_name, "units", gi)
            if g.cells is not None:
                cells = listed(g.cells, side_index, path)
                for j, c in enumerate(cells):
                    if c in occupied:
                        raise FieldError((*path, "cells", j), "another unit is already there")
                    occupied.add(c)
            else:
                on = on_axis(side_index, g.axis, path)
                free = [c for c in zone_cells(m, side_index, g.zone, on) if c not in occupied]
                if len(free) < g.n:
                    where = zone_text(g.zone, g.axis)
                    raise FieldError((*path, "count"), f"only {len(free)} free cells in {where}")
                cells = free[: g.n]
                occupied.update(cells)
            for c in cells:
                add(side_index, g.kind, "initial", men(g.strength), c, 0)

    for side_index, side_name in enumerate(SIDES):
        spec = getattr(s.sides, side_name)
        for name, rf in spec.reinforcements.items():
            path = ("sides", side_name, "reinforcements", name)
            if rf.n == 0:  # men: 0, it does not come: where it would enter does not matter
                continue
            if rf.cells is not None:
                entry = listed(rf.cells, side_index, path)
            else:
                entry = zone_cells(
                    m, side_index, rf.zone or "edge", on_axis(side_index, rf.axis, path)
                )
                if not entry:
                    raise FieldError((*path, "zone"), f"{zone_text(rf.zone, rf.axis)} has no cells")
            day = max(0, (rf.date - s.start).days)
            n, first = rf.n, len(entries)
            entries.extend(entry)
            for k in range(n):
                own = (first, len(entry), k % len(entry))
                share = rf.men // n + (k < rf.men % n)  # whole men, the first units one more
                add(side_index, rf.kind, name, share, entry[k % len(entry)], day, own)

    depots: list[tuple[int, int, int, int]] = []  # side, cell, first day, last day
    for side_index, side_name in enumerate(SIDES):
        for i, source in enumerate(getattr(s.sides, side_name).supply_sources):
            path = ("sides", side_name, "supply_sources", i)
            first = (source.from_ - s.start).days if source.from_ else 0
            last = (source.until - s.start).days if source.until else s.days - 1
            for c in listed(source.cells, side_index, path, held=False):
                depots.append((side_index, c, first, last))

    side = np.array(slots["side"], np.int8)
    kind = np.array(slots["kind"], np.int16)

    def coefficient(attr: str, as_cells: bool = False) -> np.ndarray:
        values = []
        for side_index, name in kinds:
            k = getattr(getattr(s.sides, SIDES[side_index]).kinds[name], attr)
            values.append(int(km_to_cells(k, s.map.cell_km)) if as_cells else k)
        table = np.array(values, np.int64 if as_cells else np.float64)
        return table[kind] if len(kind) else table[:0]

    edge = fields.edge(m.shape)
    land = m.terrain != WATER
    by_terrain = np.array([r.move_cost.get(t, 1.0) for t in TERRAINS])[m.terrain]
    move_cost = np.where(land, np.where(m.road, r.road_cost, by_terrain), np.inf)
    speed = coefficient("speed_km", as_cells=True)
    places = [(p.name, p.cell, p.value) for p in s.places] + [
        gp for gp in m.places if gp[0] not in {p.name for p in s.places}
    ]
    return World(
        name=s.name,
        start=s.start,
        days=s.days,
        seed=s.seed,
        deterministic=s.deterministic,
        cell_km=s.map.cell_km,
        rules=r,
        terrain=m.terrain,
        cover=np.array([r.terrain_defence.get(t, 1.0) for t in TERRAINS])[m.terrain],
        owner=m.owner,
        homeland=m.homeland,
        road=m.road,
        move_cost=move_cost,
        land=land,
        source=np.stack([edge & (m.homeland == i) & land for i in (0, 1)]),
        depots=np.array(depots, np.int64).reshape(-1, 4),
        objective=np.stack(
            [
                ((m.homeland == i) | (getattr(s.sides, n).advance == "anywhere")) & land
                for i, n in enumerate(SIDES)
            ]
        ),
        places=tuple(p[0] for p in places),
        place_cell=np.array([p[1][0] * w + p[1][1] for p in places], np.int64),
        place_value=np.array([p[2] for p in places], np.float64),
        side=side,
        kind=kind,
        kind_names=tuple(f"{SIDES[i]}.{n}" for i, n in kinds),
        group=tuple(slots["group"]),
        strength0=np.array(slots["strength"], np.float64),
        cell0=np.array(slots["cell"], np.int64),
        arrival=np.array(slots["day"], np.int64),
        entry_first=np.array(slots["first"], np.int64),
        entry_count=np.array(slots["count"], np.int64),
        entry_offset=np.array(slots["offset"], np.int64),
        entries=np.array(entries, np.int64),
        edge_cells=np.flatnonzero(edge & land),
        firepower=coefficient("firepower"),
        attack=coefficient("attack"),
        defence=coefficient("defence"),
        speed=speed,
        move_steps=np.ceil(speed / move_cost.min(initial=1.0)).astype(np.int64),
        sensor=coefficient("sensor_km", as_cells=True),
        fires=coefficient("fires"),
        fires_range=coefficient("fires_km", as_cells=True),
        area_fire=coefficient("area_fire").astype(bool),
        drone_range=km_to_cells(per_side(s, "drone_range_km"), s.map.cell_km),
        breakout=int(km_to_cells(r.breakout_km, s.map.cell_km)),
        drone_loss=1.0 - (1.0 - r.drone_supply) ** s.map.cell_km,
        axis_of=axis_of.reshape(2, -1),
        axis_names=tuple(tuple(getattr(s.sides, n).axes) for n in SIDES),
        map_days=map_days(s),
        **schedules(s),
    )


def per_side(s: Scenario, attr: str) -> np.ndarray:
    """(2, days): both sides' schedule of `attr`, one value per day."""
    return np.stack([schedule(getattr(getattr(s.sides, n), attr), s.start, s.days) for n in SIDES])


# The sides' schedules the engines read day by day: these may differ between the replicates of
# one batch (a calibration's parameter sets). Not the drone range, which shapes the supply
# network the replicates of a batch share, nor anything that places units or shapes the map.
SCHEDULES = ("tempo", "intelligence", "drone_effort", "replacements", "fire_intensity")
AXIS_SCHEDULES = ("tempo", "fire_intensity")
PER_REPLICATE = (*SCHEDULES, "axis_tempo", "axis_fire")  # the World fields schedules() makes


def per_replicate(path: tuple) -> bool:
    """Whether the scenario field at `path` only sets a schedule of PER_REPLICATE: a side's
    (sides.attacker.tempo) or an axis's (sides.attacker.axes.north.tempo)."""
    if len(path) == 3 and path[0] == "sides":
        return path[2] in SCHEDULES
    return len(path) == 5 and path[0] == "sides" and path[2] == "axes" and path[4] in AXIS_SCHEDULES


def schedules(s: Scenario) -> dict[str, np.ndarray]:
    """World's PER_REPLICATE fields: each side's schedules, and the tempo and fire intensity
    tables (2, 1 + axes, days) the assault and fires read with `axis_of` (row 0 off the axes:
    the side's; an axis without one of its own: the side's)."""
    out = {attr: per_side(s, attr) for attr in SCHEDULES}
    names = [getattr(s.sides, n).axes for n in SIDES]
    for field, attr in (("axis_tempo", "tempo"), ("axis_fire", "fire_intensity")):
        table = np.zeros((2, 1 + max(map(len, names)), s.days))
        table[:, 0] = out[attr]
        for side_index, side_axes in enumerate(names):
            for k, axis in enumerate(side_axes.values(), start=1):
                own = getattr(axis, attr)
                table[side_index, k] = (
                    out[attr][side_index] if own is None else schedule(own, s.start, s.days)
                )
        out[field] = table
    return out


def with_schedules(world: World, s: Scenario) -> World:
    """`world` running the schedules of `s`, a scenario that differs from the one `world` was
    compiled from only in fields that are `per_replicate` (cheap: nothing else is rebuilt)."""
    return replace(world, **schedules(s))


def same_but_schedules(a: World, b: World) -> bool:
    """Whether two worlds differ at most in their PER_REPLICATE fields (may share a batch)."""
    for f in fields_of(World):
        if f.name in PER_REPLICATE:
            continue
        x, y = getattr(a, f.name), getattr(b, f.name)
        if x is not y and not (np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y):
            return False
    return True


def map_days(s: Scenario) -> np.ndarray:
    """The days of the run with an observed map (maps before or after it are not scored)."""
    days = [(m.date - s.start).days for m in (s.observed_maps.maps if s.observed_maps else [])]
    return np.unique([d for d in days if 0 <= d < s.days]).astype(np.int64)


def axis_maps(s: Scenario, shape: tuple[int, int]) -> np.ndarray:
    """(2, H, W): which axis of each side covers each cell, 1-based in the order written (the
    first listed where they overlap); 0 where none."""
    axis_of = np.zeros((2, *shape), np.int64)
    for side_index, side_name in enumerate(SIDES):
        for k, axis in enumerate(getattr(s.sides, side_name).axes.values(), start=1):
            for (r0, c0), (r1, c1) in axis.areas:
                rows = slice(min(r0, r1), max(r0, r1) + 1)
                cols = slice(min(c0, c1), max(c0, c1) + 1)
                free = axis_of[side_index, rows, cols] == 0
                axis_of[side_index, rows, cols][free] = k
    return axis_of
