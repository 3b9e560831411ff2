"""What users write: the scenario schema (pydantic v2, unknown fields refused).

Every field carries a description with its unit and range, so `sim schema` gives editors
the same documentation the model guide gives readers. The three headline inputs live at
stable paths used by docs, sweeps and sliders alike: ``sides.<side>.tempo``,
``sides.<side>.intelligence`` and ``sides.<side>.reinforcements.<name>``.
"""

from __future__ import annotations

import datetime as dt
import math
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

MAX_CELLS = 40_000  # 200 × 200: beyond this a battalion-scale grid is a typo, not a scenario
MAX_SLOTS = 100_000  # unit slots, reinforcements included: 2.5 × the largest map's cells
TERRAINS = ("open", "forest", "urban", "marsh", "water")
Terrain = Literal["open", "forest", "urban", "marsh", "water"]
SIDES = ("attacker", "defender")
SCHEDULE_RANGES = {
    "tempo": (0.0, 1.0),
    "intelligence": (0.0, 1.0),
    "drone_range_km": (0.0, 200.0),
    "drone_effort": (0.0, 100_000.0),
    "replacements": (0.0, 100_000.0),
    "fire_intensity": (0.0, 1.0),
}

Cell = tuple[Annotated[int, Field(ge=0)], Annotated[int, Field(ge=0)]]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class Strict(BaseModel):
    """Unknown fields are refused, and so are infinite and not-a-number values."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Step(Strict):
    """One dated step of a schedule: the value holds from this date until the next step."""

    from_: dt.date = Field(alias="from", description="First day the value applies (date).")
    value: float = Field(description="The value from that day on (unit of the schedule).")

    model_config = ConfigDict(populate_by_name=True)  # merged with Strict's


Schedule = float | list[Step]
"""A constant, or dated steps; before the first step's date the first value applies."""


def _check_schedule(value: Schedule, low: float, high: float, what: str) -> Schedule:
    values = [value] if isinstance(value, float | int) else [s.value for s in value]
    if isinstance(value, list):
        if not value:
            raise ValueError("a schedule needs at least one step")
        for i in range(1, len(value)):
            before, after = value[i - 1].from_, value[i].from_
            if after <= before:
                raise ValueError(
                    f"steps need increasing dates: step {i + 1} ({after}) "
                    f"comes {'on' if after == before else 'before'} step {i} ({before})"
                )
    for v in values:
        if not low <= v <= high:
            raise ValueError(f"{what} must be between {low:g} and {high:g}, got {v:g}")
    return value


LAYER_FILE = {
    "type": "object",
    "properties": {"file": {"type": "string", "description": "A file beside the scenario."}},
    "required": ["file"],
    "additionalProperties": False,
}
LayerText = Annotated[str, WithJsonSchema({"anyOf": [{"type": "string"}, LAYER_FILE]})]
"""A layer's text, or in the file `{file: name}` naming a file beside it (read by the loader)."""


class Layers(Strict):
    """ASCII layers, one character per cell, rows top (north) to bottom (south)."""

    terrain: LayerText = Field(description="Terrain, one legend character per cell.")
    owner: LayerText = Field(
        description="Who holds each cell at the start: A attacker, D defender."
    )
    homeland: LayerText = Field(description="Whose homeland each cell is (the border): A or D.")
    roads: LayerText | None = Field(
        None, description="Road overlay: '#' road, any other char none."
    )
    legend: dict[str, Terrain] = Field(
        default_factory=lambda: {
            ".": "open", "f": "forest", "u": "urban", "~": "marsh", "w": "water"
        },
        description="Terrain legend: one character → open | forest | urban | marsh | water "
        "(water — sea, lake — is impassable: no unit enters it, no supply crosses it).",
    )  # fmt: skip


class Generated(Strict):
    """A generated salient: a half-ellipse of defender-held cells across a straight border."""

    area_km2: float = Field(gt=0, le=100_000, description="Salient area (km², > 0).")
    depth_km: float = Field(gt=0, le=1_000, description="Salient depth from the border (km).")
    border_km: float = Field(gt=0, le=1_000, description="Map width along the border (km).")
    margin_km: float = Field(
        10.0, ge=0, le=1_000, description="Attacker ground beyond the salient's tip (km)."
    )
    homeland_km: float = Field(
        8.0, gt=0, le=1_000, description="Depth of the defender's homeland strip (km)."
    )
    forest: Fraction = Field(0.2, description="Share of forest cells (0–1).")
    urban: Fraction = Field(0.03, description="Share of urban cells (0–1).")
    marsh: Fraction = Field(0.05, description="Share of marsh/river cells (0–1).")
    seed: int = Field(0, ge=0, description="Seed of the terrain draw (integer ≥ 0).")

    @model_validator(mode="after")
    def _mix(self) -> Generated:
        if self.forest + self.urban + self.marsh > 1.0:
            raise ValueError("forest + urban + marsh must not exceed 1")
        if self.depth_km > self.border_km * 4:
            raise ValueError("depth_km is more than four times border_km: not a salient")
        return self


class Vector(Strict):
    """A GeoJSON layer (WGS84 lon/lat): `{file: name}` beside the scenario, which the loader
    reads into `geojson` so that the scenario carries its geometry wherever it travels."""

    file: str | None = Field(None, description="A GeoJSON file beside the scenario.")
    geojson: Any = Field(
        None, description="The GeoJSON itself (filled in from `file` by the loader)."
    )

    @model_validator(mode="after")
    def _given(self) -> Vector:
        if self.geojson is None:
            raise ValueError("expected {file: NAME.geojson} naming a file beside the scenario")
        return self


class Homeland(Vector):
    """The border: a line with a point on the defender's side, or the defender's homeland as
    polygons (then `defender_at` is not needed)."""

    defender_at: tuple[float, float] | None = Field(
        None, description="[lon, lat] of a point in the defender's homeland (with a line)."
    )


class River(Vector):
    terrain: Terrain = Field("marsh", description="Terrain of the cells a river crosses.")


class Geo(Strict):
    """A map rasterised from GeoJSON layers on an equal-area grid (docs/scenarios.md)."""

    box: tuple[float, float, float, float] = Field(
        description="[west, south, east, north]: the map's lon/lat box (degrees, WGS84)."
    )
    share: float | None = Field(
        None,
        gt=0,
        le=1,
        description="Rasterisation: a cell takes a polygon's value when the polygon covers at "
        "least this share of it (0–1); omitted: when it holds the cell's centre.",
    )
    homeland: Homeland = Field(description="The border, or the defender's homeland polygons.")
    held: Vector | None = Field(
        None, description="Polygons of the attacker's homeland the defender holds at the start."
    )
    terrain: dict[Terrain, Vector] = Field(
        default_factory=dict,
        description="Polygons per terrain (forest, urban, marsh, water), laid in the order "
        "listed; the rest is open.",
    )
    rivers: River | None = Field(None, description="River lines (valleys: marsh by default).")
    roads: Vector | None = Field(None, description="Road lines.")
    places: Vector | None = Field(
        None, description="Points with properties `name` and `value` (default 1)."
    )

    @field_validator("box")
    @classmethod
    def _box(cls, box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        west, south, east, north = box
        if not (-180 <= west < east <= 180):
            raise ValueError("expected west < east, both longitudes in -180..180")
        if not (-85 <= south < north <= 85):
            raise ValueError("expected south < north, both latitudes in -85..85")
        return box


class Map(Strict):
    cell_km: float = Field(2.0, ge=0.1, le=50, description="Width of a square cell (km).")
    layers: Layers | None = Field(None, description="ASCII layers (exclusive with the others).")
    generate: Generated | None = Field(None, description="A generated salient (exclusive).")
    geo: Geo | None = Field(None, description="GeoJSON layers (exclusive).")

    @model_validator(mode="after")
    def _one_source(self) -> Map:
        if sum(x is not None for x in (self.layers, self.generate, self.geo)) != 1:
            raise ValueError("give exactly one of map.layers, map.generate or map.geo")
        return self


class Place(Strict):
    name: str = Field(min_length=1, max_length=64, description="Name shown on maps and events.")
    cell: Cell = Field(description="[row, col] of the place (cells, from the top-left).")
    value: float = Field(1.0, ge=0, le=1_000, description="Relative importance (≥ 0).")


class Kind(Strict):
    """Coefficients of a unit kind; ranges are in km and converted to cells at compile."""

    firepower: float = Field(
        0.01, ge=0, le=1, description="Direct-fire casualties per man per day in contact (0–1)."
    )
    attack: float = Field(1.0, ge=0, le=100, description="Relative assault power (≥ 0).")
    defence: float = Field(1.0, ge=0, le=100, description="Relative defensive power (≥ 0).")
    speed_km: float = Field(2.0, ge=0, le=100, description="Movement per day out of contact (km).")
    sensor_km: float = Field(4.0, ge=0, le=200, description="Range at which it may detect (km).")
    fires: float = Field(
        0.0, ge=0, le=1, description="Indirect-fire casualties per man per day on targets (0–1)."
    )
    fires_km: float = Field(0.0, ge=0, le=200, description="Range of its indirect fires (km).")
    area_fire: bool = Field(
        False,
        description="Indirect fire on an area: each target in range suffers in proportion to "
        "its men (Lanchester's linear law), not an equal share of the output (aimed).",
    )


class OnAxis(Strict):
    """Units placed by zone may be assigned to one of their side's axes of effort."""

    axis: str | None = Field(
        None,
        description="An axis of effort of the side: only the zone's cells on it (assigns the "
        "units to that axis; with a zone, not with cells).",
    )

    @model_validator(mode="after")
    def _axis_zone(self) -> OnAxis:
        if self.axis is not None and getattr(self, "cells", None) is not None:
            raise ValueError("an axis places units in a zone: give a zone, not cells")
        return self


class UnitGroup(OnAxis):
    """Units of one kind and strength, on listed cells or spread over a zone."""

    kind: str = Field(description="Name of a kind of this side.")
    strength: float = Field(gt=0, le=100_000, description="Personnel per unit (men, > 0).")
    count: int | None = Field(None, ge=1, le=10_000, description="How many units (with zone).")
    cells: list[Cell] | None = Field(None, min_length=1, description="[row, col] of each unit.")
    zone: Literal["front", "reserve", "edge"] | None = Field(
        None,
        description="front: own cells nearest the enemy; reserve: 3+ cells behind the front; "
        "edge: own-homeland cells on the map edge (supply sources).",
    )

    @model_validator(mode="after")
    def _placement(self) -> UnitGroup:
        if (self.cells is None) == (self.zone is None):
            raise ValueError("give exactly one of cells or zone")
        if self.zone is not None and self.count is None:
            raise ValueError("a zone needs a count")
        if self.cells is not None and self.count not in (None, len(self.cells)):
            raise ValueError("count must equal the number of cells")
        return self

    @property
    def n(self) -> int:
        return len(self.cells) if self.cells is not None else int(self.count or 0)


class Reinforcement(OnAxis):
    """A scheduled arrival: `men` split into units of `unit_strength` entering on `date`."""

    date: dt.date = Field(description="Day the units start to arrive (date).")
    men: int = Field(
        ge=0,
        le=1_000_000,
        description="Personnel arriving (men); 0: the reinforcement does not come (e.g. "
        "--set sides.attacker.reinforcements.<name>.men=0).",
    )
    unit_strength: float = Field(
        500.0, gt=0, le=100_000, description="Personnel per arriving unit (men)."
    )
    kind: str = Field(description="Name of a kind of this side.")
    cells: list[Cell] | None = Field(
        None, min_length=1, description="Entry cells [row, col], used in turn."
    )
    zone: Literal["front", "reserve", "edge"] | None = Field(
        "edge", description="Entry zone when no cells are listed (see units)."
    )

    @property
    def n(self) -> int:
        """Units arriving: men / unit_strength rounded up (0 when no men come)."""
        return -(-self.men // int(self.unit_strength)) if self.unit_strength >= 1 else self.men


class SupplySource(Strict):
    """Cells a side draws supply from besides its own homeland on the map edge — a port, a
    beach, a depot — while it holds them, from `from` until `until` (both optional)."""

    cells: list[Cell] = Field(min_length=1, description="[row, col] of each source cell.")
    from_: dt.date | None = Field(
        None, alias="from", description="First day the source works (date; default: start)."
    )
    until: dt.date | None = Field(
        None, description="Last day the source works (date; default: the end)."
    )

    model_config = ConfigDict(populate_by_name=True)  # merged with Strict's

    @model_validator(mode="after")
    def _order(self) -> SupplySource:
        if self.from_ and self.until and self.until < self.from_:
            raise ValueError("until comes before from")
        return self


class Axis(Strict):
    """An axis of effort: an area of the map where a side attacks at a tempo of its own."""

    areas: list[tuple[Cell, Cell]] = Field(
        min_length=1,
        description="Rectangles the axis covers, each two opposite corner cells "
        "[[row, col], [row, col]], both included.",
    )
    tempo: Schedule | None = Field(
        None,
        description="The side's offensive tempo for its units on the axis (0–1; omitted: the "
        "side's `tempo`, which also applies off its axes).",
    )

    fire_intensity: Schedule | None = Field(
        None,
        description="How hard the side presses the positional fighting from the axis (0–1; "
        "omitted: the side's `fire_intensity`).",
    )

    @field_validator("tempo", "fire_intensity")
    @classmethod
    def _schedule_range(cls, value: Schedule | None, info: ValidationInfo) -> Schedule | None:
        if value is None:
            return None
        return _check_schedule(value, *SCHEDULE_RANGES[info.field_name], info.field_name)


class Side(Strict):
    name: str = Field(min_length=1, max_length=64, description="Display name, e.g. Russia.")
    tempo: Schedule = Field(
        0.0, description="Offensive tempo: daily probability a unit in contact assaults (0–1)."
    )
    intelligence: Schedule = Field(
        1.0, description="Intelligence availability: chance of detecting beyond contact (0–1)."
    )
    drone_range_km: Schedule = Field(
        0.0,
        description="Drone reach: roads within this range of this side's ground are interdicted "
        "for the enemy, and enemy units within it are struck and short of supply (km).",
    )
    drone_effort: Schedule = Field(
        0.0,
        description="Men a day this side's drone strikes put out of action at full intelligence, "
        "shared among the enemy units within its drone reach (men/day).",
    )
    replacements: Schedule = Field(0.0, description="Replacements sent to the line (men/day).")
    fire_intensity: Schedule = Field(
        0.2,
        description="How hard this side presses the positional fighting: share of a day's full "
        "firepower spent on the enemy units in contact (0–1; the contact is as intense as the "
        "side pressing harder makes it; an assault spends it all).",
    )
    advance: Literal["anywhere", "homeland"] = Field(
        "anywhere",
        description="Where it may assault and advance: anywhere, or only into its own homeland "
        "(retaking ground, not invading).",
    )
    axes: dict[str, Axis] = Field(
        default_factory=dict,
        description="Axes of effort by name: areas where the side's units assault at the axis's "
        "tempo instead of the side's (where axes overlap, the first listed covers the cell).",
    )
    supply_sources: list[SupplySource] = Field(
        default_factory=list,
        description="Supply sources besides own homeland on the map edge: ports, beaches, "
        "depots, with the dates they work.",
    )
    kinds: dict[str, Kind] = Field(description="Unit kinds of this side by name.")
    units: list[UnitGroup] = Field(default_factory=list, description="Units at the start.")
    reinforcements: dict[str, Reinforcement] = Field(
        default_factory=dict, description="Scheduled arrivals by name."
    )

    @field_validator(
        "tempo", "intelligence", "drone_range_km", "drone_effort", "replacements", "fire_intensity"
    )
    @classmethod
    def _schedule_range(cls, value: Schedule, info: ValidationInfo) -> Schedule:
        low, high = SCHEDULE_RANGES[info.field_name]
        return _check_schedule(value, low, high, info.field_name)
        # unit kinds are checked by the loader, which can name the exact field


class Sides(Strict):
    attacker: Side = Field(description="The side pushing the salient back.")
    defender: Side = Field(description="The side holding the salient.")


class Rules(Strict):
    """Coefficients of the rulebook shared by all units (see docs/model.md for the why)."""

    terrain_defence: dict[Terrain, float] = Field(
        default_factory=lambda: {"open": 1.0, "forest": 1.5, "urban": 2.0, "marsh": 1.3},
        description="Defence multiplier of the cell a unit holds (0.1–10).",
    )
    breakthrough_ratio: float = Field(
        3.0, gt=0, le=1e9, description="Force ratio at which a capture is an even chance."
    )
    support: Fraction = Field(0.25, description="Share of a unit's defence covering neighbours.")
    ground_defence: float = Field(
        100.0,
        ge=0,
        le=100_000,
        description="Defence of any held cell before units: mines, drones, outposts (men).",
    )
    warning_bonus: float = Field(
        0.5, ge=0, le=5, description="Defence × (1 + bonus × intelligence) (≥ 0)."
    )
    shock: float = Field(2.0, ge=0, le=20, description="Cohesion lost per share of men lost.")
    assault_fatigue: float = Field(0.03, ge=0, le=1, description="Cohesion lost per assault.")
    recovery: float = Field(0.05, ge=0, le=1, description="Cohesion regained per quiet day.")
    assault_cohesion: Fraction = Field(0.3, description="Cohesion needed to assault (0–1).")
    withdraw_cohesion: Fraction = Field(0.2, description="Below this a unit pulls back (0–1).")
    retreat_shock: Fraction = Field(0.1, description="Cohesion lost when driven off a cell.")
    breakout_km: float = Field(
        6.0,
        ge=0,
        le=200,
        description="How far a unit overrun with no free neighbour can break out to a free, "
        "supplied cell its side holds (km).",
    )
    overrun_loss: Fraction = Field(
        0.5, description="Share of its men a unit loses breaking out (drawn: captured, scattered)."
    )
    drone_supply: Fraction = Field(
        0.0,
        description="Share of the deliveries lost to drones per km of a unit's supply route "
        "within the enemy's drone reach (0–1).",
    )
    move_cost: dict[Terrain, float] = Field(
        default_factory=lambda: {"open": 1.0, "forest": 1.0, "urban": 1.0, "marsh": 1.0},
        description="Share of a unit's daily speed (in cells) that entering a cell of each "
        "terrain costs (0.1–10; 1 everywhere: terrain does not slow anyone).",
    )
    road_cost: float = Field(
        1.0,
        ge=0.1,
        le=10,
        description="Movement cost of a road cell whatever its terrain — a bridge where the "
        "road crosses a river valley (marsh) (0.1–10).",
    )
    pursuit: bool = Field(
        False,
        description="A unit that takes a cell presses on through empty enemy ground up to its "
        "speed, each cell falling with its capture chance (off: one cell per capture a day).",
    )
    area_density: float = Field(
        500.0,
        gt=0,
        le=100_000,
        description="Men on a cell at which area fire inflicts its whole output (men).",
    )
    fire_substeps: int = Field(
        1, ge=1, le=24, description="Sub-steps a day's fire is split into (1–24; see docs)."
    )
    min_strength: float = Field(50, ge=0, le=100_000, description="Below this a unit is gone.")
    supply_recovery: Fraction = Field(0.25, description="Supply regained per day (0–1).")
    supply_decay: Fraction = Field(0.1, description="Supply lost per day when short (0–1).")
    offroad_supply: Fraction = Field(0.6, description="Supply level away from an open road.")

    @model_validator(mode="after")
    def _terrain(self) -> Rules:
        for table in ("terrain_defence", "move_cost"):
            for name, v in getattr(self, table).items():
                if not 0.1 <= v <= 10:
                    raise ValueError(f"{table}.{name} must be between 0.1 and 10")
        if "water" in self.move_cost:
            raise ValueError("move_cost.water: water is impassable, it has no movement cost")
        return self


class Threshold(Strict):
    date: dt.date = Field(description="Key date (date).")
    km2: float = Field(ge=0, description="Territory the defender still holds at least (km²).")


class Report(Strict):
    key_dates: list[dt.date] = Field(default_factory=list, description="Dates of the table.")
    thresholds: list[Threshold] = Field(default_factory=list, description="P(hold ≥ km²).")
    collapse_fraction: float = Field(
        0.1, gt=0, lt=1, description="The salient has fallen below this share of its start."
    )


class Observation(Strict):
    date: dt.date = Field(description="Date of the report (date).")
    km2: float = Field(ge=0, description="Territory reported held (km²).")
    low: float | None = Field(None, ge=0, description="Lower estimate (km²).")
    high: float | None = Field(None, ge=0, description="Upper estimate (km²).")
    source: str = Field("", max_length=500, description="Who said it, where.")


class ObservedMap(Strict):
    date: dt.date = Field(description="Date of the map (date).")
    held: str = Field(
        description="The defender's cells on the map's grid, rows north to south joined by "
        "'/': 'D' held by the defender, '.' not."
    )
    source: str = Field("", max_length=500, description="Who drew it, where.")


class ObservedMaps(Strict):
    """Observed held maps by date, for the spatial scores: `{file: NAME.csv}` beside the
    scenario (columns date, held, source), read into `maps` by the loader."""

    file: str | None = Field(None, description="A CSV file beside the scenario.")
    maps: list[ObservedMap] = Field(
        default_factory=list, description="The maps (filled in from `file` by the loader)."
    )

    @model_validator(mode="after")
    def _given(self) -> ObservedMaps:
        if not self.maps:
            raise ValueError("expected {file: NAME.csv} naming a file of maps beside the scenario")
        return self


SweepValue = bool | int | float | dt.date | str
MAX_POINTS = 100_000  # a design beyond this is a typo, not a study
MAX_LEVELS = 100  # grid levels of one parameter: each is checked in a compiled scenario of its own
Levels = Annotated[list[SweepValue], Field(min_length=1, max_length=MAX_LEVELS)]


class Parameter(Strict):
    """One swept input in its long form: values (grid) or a range (LHS, Sobol), optionally
    for the step of a schedule that starts on `from`."""

    values: Levels | None = Field(None, description="Grid levels.")
    range: tuple[SweepValue, SweepValue] | None = Field(
        None, description="[low, high] sampled by LHS or Sobol (numbers or dates)."
    )
    from_: dt.date | None = Field(
        None,
        alias="from",
        description="Sweep the schedule's value from this date until its next step (date).",
    )

    model_config = ConfigDict(populate_by_name=True)  # merged with Strict's

    @model_validator(mode="after")
    def _one(self) -> Parameter:
        if (self.values is None) == (self.range is None):
            raise ValueError("give exactly one of values (grid) or range (lhs, sobol)")
        return self


class Sweep(Strict):
    """A Monte Carlo study: every design point runs `replicates` times with the same seeds
    (common random numbers), so points differ only by their inputs."""

    design: Literal["grid", "lhs", "sobol"] = Field(
        "grid", description="grid: every combination; lhs: Latin hypercube; sobol: Saltelli."
    )
    replicates: int | None = Field(
        None, ge=1, le=1_000_000, description="Runs per design point (default: replicates)."
    )
    points: int | None = Field(
        None,
        ge=1,
        le=MAX_POINTS,
        description="lhs: number of points; sobol: base sample N (a power of 2), giving "
        "N·(k+2) points for k parameters.",
    )
    parameters: dict[str, Levels | Parameter] = Field(
        min_length=1,
        description="Dotted scenario path → levels [..], or {values|range, from}.",
    )
    # how parameters fit the design is checked by sim.experiment.design, which names the line


class Prior(Strict):
    """One calibrated input: a uniform prior on [low, high]. A schedule's step is named
    `path@date` (sides.attacker.tempo@2024-09-10): its value from that date on."""

    range: tuple[float, float] = Field(description="[low, high] of the uniform prior.")


class Calibrate(Strict):
    """How `sim calibrate` fits the scenario to `observed:` (docs/calibration.md): waves of
    history matching rule out inputs that cannot reproduce the observations, then
    generations of sequential Monte Carlo move the sets to the posterior."""

    parameters: dict[str, Prior] = Field(
        min_length=1,
        description="Dotted scenario path (path@date for a schedule's step) → {range: [a, b]}.",
    )
    until: dt.date = Field(description="Fit the observations up to this date only (date).")
    discrepancy: float = Field(
        ge=0,
        description="Model discrepancy: the standard deviation (km²) of what the model cannot "
        "represent, added to the observations' own error.",
    )
    correlation_days: float = Field(
        30,
        gt=0,
        description="How long (days) the discrepancy persists: observations closer than this "
        "are not independent evidence.",
    )
    waves: int = Field(3, ge=1, le=20, description="Waves of history matching.")
    generations: int = Field(
        2,
        ge=0,
        le=50,
        description="Generations of sequential Monte Carlo after the waves, at most: they stop "
        "once the temperature reaches 1 (the posterior).",
    )
    points: int = Field(200, ge=10, le=MAX_POINTS, description="Parameter sets per wave.")
    replicates: int = Field(
        4, ge=2, le=1000, description="Runs per parameter set (their spread is the model's)."
    )
    cutoff: float = Field(3.0, gt=0, description="Implausibility above which a set is ruled out.")


class Posterior(Strict):
    """Parameter sets the runs draw from, one set per run, by weight: a calibration's
    posterior (docs/calibration.md), so that the bands carry parameter uncertainty as well as
    chance. `{file: NAME.csv}` beside the scenario — a column per parameter, named as in
    `calibrate:` (path@date for a schedule's step), and `weight` — read by the loader."""

    file: str | None = Field(None, description="A CSV file beside the scenario.")
    parameters: list[str] = Field(
        default_factory=list, description="Parameter names (filled in from `file`)."
    )
    sets: list[list[float]] = Field(
        default_factory=list,
        description="Each set's values in the order of `parameters` (filled in from `file`).",
    )
    weights: list[float] = Field(
        default_factory=list, description="Each set's weight (filled in from `file`)."
    )

    @model_validator(mode="after")
    def _given(self) -> Posterior:
        if not self.sets:
            raise ValueError("expected {file: NAME.csv} naming a posterior beside the scenario")
        if len(self.weights) != len(self.sets):
            raise ValueError("one weight per set")
        if any(len(s) != len(self.parameters) for s in self.sets):
            raise ValueError("every set needs one value per parameter")
        if not all(math.isfinite(w) and w >= 0 for w in self.weights) or not sum(self.weights):
            raise ValueError("weights must be finite, ≥ 0, and not all 0")
        return self


class Scenario(Strict):
    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$",
        description="Short name: lower-case letters, digits, - and _ (names the results folder).",
    )
    description: str = Field("", max_length=10_000, description="What the scenario is about.")
    start: dt.date = Field(description="First day of the run (date).")
    days: int = Field(ge=1, le=3650, description="Number of days simulated (1–3650).")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Random seed (0–2³²−1).")
    replicates: int = Field(100, ge=1, le=1_000_000, description="Monte Carlo runs (≥ 1).")
    deterministic: bool = Field(
        False, description="Replace every random draw by its expectation (0.5)."
    )
    map: Map
    places: list[Place] = Field(default_factory=list, description="Named places.")
    rules: Rules = Field(default_factory=Rules)
    sides: Sides
    report: Report = Field(default_factory=Report)
    observed: list[Observation] = Field(default_factory=list, description="Territory history.")
    observed_maps: ObservedMaps | None = Field(
        None, description="Observed held maps by date (the spatial scores of the report)."
    )
    sweep: Sweep | None = Field(None, description="Design of a Monte Carlo study (optional).")
    calibrate: Calibrate | None = Field(
        None, description="How `sim calibrate` fits the scenario (optional)."
    )
    posterior: Posterior | None = Field(
        None, description="Parameter sets each run draws its own from (a calibration's)."
    )

    @field_validator("days")
    @classmethod
    def _ends(cls, days: int, info: ValidationInfo) -> int:
        start = info.data.get("start")  # validated first: it is declared first
        if start is not None and (dt.date.max - start).days < days - 1:
            raise ValueError(f"{days} days from {start} run past 9999-12-31, the last date")
        return days

    @property
    def end(self) -> dt.date:
        return self.start + dt.timedelta(days=self.days - 1)


def field_type(path: tuple[str | int, ...]) -> Any:
    """The type of the field at `path` in a scenario, with its constraints, to read a value
    as that field would (a swept level); None if no field is there."""
    node: Any = Scenario
    for part in path:
        node = _inner(node, part)
        if node is None:
            return None
    return node


def _inner(node: Any, part: str | int) -> Any:
    """The type of `part` (a field name or a list index) inside a value of type `node`."""
    origin, args = get_origin(node), get_args(node)
    if origin is Annotated:
        return _inner(args[0], part)
    if origin in (Union, UnionType):
        found = [_inner(a, part) for a in args if a is not type(None)]
        return next((t for t in found if t is not None), None)
    if isinstance(node, type) and issubclass(node, BaseModel):
        for name, info in node.model_fields.items():
            if part in (name, info.alias):
                return (
                    Annotated[(info.annotation, *info.metadata)]
                    if info.metadata
                    else (info.annotation)
                )
        return None
    if origin is dict and isinstance(part, str):
        return args[1]
    if origin is list and isinstance(part, int):
        return args[0]
    if origin is tuple and isinstance(part, int) and part < len(args):
        return args[part]
    return None


BASE = {
    "type": "string",
    "description": "The scenario this study varies (a .yaml path relative to this file); "
    "the fields given here replace or, for sections, merge into the base's.",
}


def json_schema() -> dict:
    """The JSON Schema `sim schema` prints, for editors: a scenario, or a study (`base:` and
    any part of a scenario, at any depth, since its sections merge into the base's; a list
    replaces the base's, so its items stay complete). Unknown fields are refused in both."""
    full = Scenario.model_json_schema(by_alias=True)
    defs = full.pop("$defs")
    study = _partial(full, defs)
    study["properties"] = {"base": BASE, **study["properties"]}
    study["required"] = ["base"]
    study["title"] = "Study"
    return {"title": "Scenario or study", "anyOf": [full, study], "$defs": defs}


def _partial(node: Any, defs: dict[str, Any], section: bool = True) -> Any:
    """`node` with no field required in it (if it is a section: a model) or in the sections
    it refers to (a `<Name>Partial` definition is added to `defs` for each); the items of a
    list, and values such as `{file: name}` that replace rather than merge, stay complete."""
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if f"{name}Partial" not in defs:
            defs[f"{name}Partial"] = {}  # reserved first: a definition may refer to itself
            defs[f"{name}Partial"] = _partial(defs[name], defs)
        return {**node, "$ref": f"#/$defs/{name}Partial"}
    out = {k: v for k, v in node.items() if not (section and k == "required")}
    for key in ("anyOf", "oneOf", "allOf"):
        if key in node:
            out[key] = [_partial(n, defs, False) for n in node[key]]
    if "properties" in node:
        out["properties"] = {k: _partial(v, defs, False) for k, v in node["properties"].items()}
    if isinstance(node.get("additionalProperties"), dict):
        out["additionalProperties"] = _partial(node["additionalProperties"], defs, False)
    return out
