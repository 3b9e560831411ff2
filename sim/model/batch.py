"""The batch engine: the reference engine's rules for R replicates at once.

State is slot arrays (R, U) for units and flat arrays (R, H·W) for cells. A day is the
phases of rules.PHASES in order, each one call over all replicates: the phases that walk
units and cells are compiled (sim/model/kernels.py) and follow the reference engine's
procedure replicate by replicate; the rest are numpy passes over the same `rules` formulas.
Draws, visiting order and the order of every sum are the reference engine's, so replicate k
comes out the same here as there, to the bit, and the same whatever batch it runs in.
A batch may hold several parts — worlds that differ only in their schedules
(world.PER_REPLICATE), each with its replicates — so that a calibration's many parameter sets
of few replicates each run as one batch: the schedules are then read per replicate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from sim.model import fields, kernels, rules
from sim.model.result import EVENT_KINDS, SERIES, RunResult
from sim.model.world import PER_REPLICATE, World, same_but_schedules

ATTACKER, DEFENDER = 0, 1


Part = tuple[World, Sequence[int]]  # a world and the replicate numbers to run on it


class Batch:
    """State of R replicates, the replicates of each part one after another, advanced one day
    at a time. The parts share the first one's world but for their schedules."""

    def __init__(self, parts: Sequence[Part], trace: bool = False) -> None:
        self.w = w = parts[0][0]
        if not all(same_but_schedules(w, other) for other, _ in parts[1:]):
            raise ValueError("the worlds of one batch may differ only in their schedules")
        counts = [len(reps) for _, reps in parts]
        self.bounds = np.cumsum([0, *counts])  # part i holds rows bounds[i]:bounds[i + 1]
        self.reps = np.concatenate([np.asarray(reps, np.int64) for _, reps in parts])
        self.trace = trace
        # each part's schedules, day first, spread over its rows day by day (`today`)
        self.counts = np.array(counts)
        self.plans = {
            name: np.stack([np.moveaxis(getattr(pw, name), -1, 0) for pw, _ in parts], axis=1)
            for name in PER_REPLICATE
        }
        r, u = len(self.reps), w.n_units
        self.h, self.wd = w.shape
        self.cells = self.h * self.wd
        self.nbr = fields.neighbour_table(w.shape)
        self.window = fields.window_table(w.shape)
        self.objective = w.objective.reshape(2, -1)
        self.cover = w.cover.ravel()
        self.source = w.sources(0)
        self.land = w.land.ravel()
        self.move_cost = w.move_cost.ravel()
        self.road_cells = np.flatnonzero(w.road)
        self.territory = w.territory_cells.ravel()
        self.owner = np.broadcast_to(w.owner.ravel(), (r, self.cells)).copy()
        self.map_row = {int(d): i for i, d in enumerate(w.map_days)}
        self.held_maps = np.zeros((len(parts), len(w.map_days), self.cells), np.int64)
        initial = np.array([g == "initial" for g in w.group], bool)
        self.arrived = np.broadcast_to(initial, (r, u)).copy()
        self.alive = np.ones((r, u), bool)
        self.pos = np.where(self.arrived, w.cell0[None, :], -1)
        self.strength = np.broadcast_to(w.strength0, (r, u)).copy()
        self.cohesion = np.ones((r, u))
        self.supply_level = np.ones((r, u))
        self.cut_off = np.zeros((r, u), bool)
        self.losses = np.zeros((r, 2))
        self.exposure = np.zeros((r, u), np.int64)  # cells of its supply route in drone reach
        self.entered = np.zeros((r, u), bool)  # reinforcements that entered today
        self.firers = np.flatnonzero((w.fires > 0) & (w.fires_range >= 1))
        self.fed = np.zeros((2, r, self.cells), bool)
        self.road_net = np.zeros((2, r, self.cells), bool)
        self.road_watch = np.zeros((2, r, len(self.road_cells)), np.int32)
        # movement's distance fields that depend on the ground alone, kept from day to day
        self.ground = np.zeros((4, r, self.cells), np.int32)
        self.ground_built = np.zeros((4, r), bool)
        self.ground_seen = self.owner.copy()
        # the defender's territory cells and the front length, and the map they were counted on
        self.held = np.full(r, (w.owner.ravel()[self.territory] == DEFENDER).sum(), np.int64)
        self.front = np.full(r, fields.front_map(w.owner.ravel(), self.land, self.h, self.wd))
        self.counted = self.owner.copy()
        self.aims = np.full((r, u, 4), -1, np.int64)  # what each unit found there (movement)
        self.belief = np.zeros(r, np.int64)  # the attacker axis the defender believes main
        self._networks_owner: np.ndarray | None = None
        self._networks_drones = np.zeros(2, np.int64)
        self.day = 0
        self.series = {name: np.zeros((r, w.days)) for name in SERIES}
        self.events: list[np.ndarray] = []
        self.states: list[dict] = []

    # ---- helpers -------------------------------------------------------------------------
    @property
    def present(self) -> np.ndarray:
        return self.alive & self.arrived

    def grid(self, flat: np.ndarray) -> np.ndarray:
        return flat.reshape(-1, self.h, self.wd)

    def today(self, name: str) -> np.ndarray:
        """(R, …) a PER_REPLICATE schedule's value today, row by row."""
        return np.repeat(self.plans[name][self.day], self.counts, axis=0)

    def log(self, kind: str, rows: np.ndarray, index: np.ndarray) -> None:
        if len(rows):  # rows, not replicate numbers, which parts may share (results() maps them)
            n = len(rows)
            code = EVENT_KINDS.index(kind)
            self.events.append(np.stack([rows, np.full(n, self.day), np.full(n, code), index], 1))

    def log_mask(self, kind: str, which: np.ndarray) -> None:
        self.log(kind, *np.nonzero(which))

    def remove(self, which: np.ndarray) -> None:
        self.losses += kernels.side_sums(self.strength, which, self.w.side)
        self.log_mask("unit_destroyed", which)
        self.alive &= ~which
        self.strength = np.where(which, 0.0, self.strength)
        self.pos = np.where(which, -1, self.pos)

    # ---- the day -------------------------------------------------------------------------
    def begin_day(self) -> None:
        """What every phase of the day reads: the map at its start, today's intelligence and
        the warning it gives, and no men lost yet."""
        self.start_owner = self.owner.copy()
        self.intelligence = self.today("intelligence")
        self.warn = rules.warning(self.w.rules.warning_bonus, self.intelligence)
        self.lost = np.zeros_like(self.strength)

    def step(self) -> None:
        self.begin_day()
        for phase in rules.PHASES:
            getattr(self, phase)()
        self.day += 1

    def arrivals(self) -> None:
        w = self.w
        if ((w.arrival <= self.day) & ~self.arrived & self.alive).any():
            entered = kernels.arrivals(
                self.owner, self.pos, self.alive, self.arrived, w.side, w.arrival, self.day,
                w.cell0, w.entry_first, w.entry_count, w.entry_offset, w.entries, w.edge_cells,
                self.wd,
            )  # fmt: skip
            self.log_mask("reinforcement_arrived", entered)
            self.entered = entered
        else:
            self.entered[:] = False
        kernels.replacements(
            self.strength, self.present, w.side, w.strength0, self.today("replacements"),
            self.exposure, w.drone_loss, w.seed, self.reps, self.day, w.deterministic,
        )  # fmt: skip

    def sensing(self) -> None:
        w = self.w
        self.detected = kernels.sensing(
            self.pos, self.present, w.side, w.sensor, self.intelligence, w.seed,
            self.reps, self.day, w.deterministic, self.h, self.wd,
        )  # fmt: skip
        if w.axis_names[ATTACKER]:
            kernels.buildup(
                self.belief, self.pos, self.present, self.strength, w.side,
                w.axis_of[ATTACKER], np.ascontiguousarray(self.today("axis_tempo")[:, ATTACKER]),
                np.ascontiguousarray(self.intelligence[:, DEFENDER]), w.seed, self.reps,
                self.day, w.deterministic,
            )  # fmt: skip

    def drones(self) -> None:
        w = self.w
        effort = self.today("drone_effort")
        if not effort.any() and w.drone_loss == 0:
            return
        self.exposure = kernels.drones(
            self.owner, self.pos, self.present, self.strength, w.side,
            w.drone_range[:, self.day].astype(np.int64), effort, self.intelligence,
            w.drone_loss, self.entered, w.sources(self.day), self.land, self.nbr, self.h, self.wd,
            self.lost, self.losses, w.seed, self.reps, self.day, w.deterministic,
        )  # fmt: skip

    def networks(self) -> None:
        """Each side's supply reach and open road net, updated from the cells that changed
        since the last day (computed afresh on the first day and when a drone range or a
        supply source changes)."""
        w = self.w
        drones = w.drone_range[:, self.day]
        sources = w.sources(self.day) if len(w.depots) else self.source
        before = self._networks_owner
        if before is not None and (
            (drones != self._networks_drones).any() or not np.array_equal(sources, self.source)
        ):
            before = None
        self.source = sources
        kernels.networks(
            self.owner, before, self.source, self.land, self.road_cells, drones.astype(np.int64),
            self.nbr, self.h, self.wd, self.fed, self.road_net, self.road_watch,
        )  # fmt: skip
        self._networks_owner, self._networks_drones = self.owner.copy(), drones

    def supply(self) -> None:
        w, r = self.w, self.w.rules
        self.networks()
        pocket = kernels.supply(
            self.pos, self.present, w.side, self.fed, self.road_net, self.nbr,
            self.supply_level, self.cut_off, r.offroad_supply, r.supply_recovery, r.supply_decay,
            self.exposure, w.drone_loss,
        )  # fmt: skip
        self.log_mask("pocket_formed", pocket)

    def fires(self) -> None:
        """Positional fire between units in contact and indirect fire on detected targets,
        in `fire_substeps` steps, each drawn on its own counters (kernels.fires)."""
        w = self.w
        f = self.firers
        kernels.fires(
            self.owner, self.pos, self.present, self.strength, self.cohesion, self.supply_level,
            self.detected, w.side, w.firepower, w.fires, f, w.fires_range[f], w.area_fire[f],
            self.today("axis_fire"), w.axis_of, self.intelligence,
            w.rules.fire_substeps, self.nbr,
            self.cover, w.rules.area_density, self.wd, self.lost, self.losses, w.seed,
            self.reps, self.day, w.deterministic,
        )  # fmt: skip

    def assault(self) -> None:
        w, r = self.w, self.w.rules
        coefficients = np.array(
            [r.assault_cohesion, r.support, r.ground_defence, r.breakthrough_ratio,
             r.retreat_shock, w.breakout, r.overrun_loss]
        )  # fmt: skip
        self.came_from = self.pos.copy() if r.pursuit else self.pos  # pursuit's directions
        self.engaged, self.assaulted, lost, self.advanced = kernels.assault(
            self.owner, self.pos, self.present, self.strength, self.cohesion, self.supply_level,
            w.defence, w.firepower, w.attack, self.fed, w.side, self.objective, self.nbr,
            self.window, self.cover, self.warn, self.today("axis_tempo"), w.axis_of, w.seed,
            self.reps, self.day,
            w.deterministic, coefficients,
            self.h, self.wd, self.lost, self.losses,
        )  # fmt: skip
        self.remove(lost)

    def pursuit(self) -> None:
        w, r = self.w, self.w.rules
        if not r.pursuit or not self.advanced.any():
            return
        kernels.pursuit(
            self.owner, self.pos, self.present, self.strength, self.cohesion, self.supply_level,
            w.defence, w.attack, self.advanced, self.came_from, w.side, w.speed, self.move_cost,
            self.objective,
            self.window, self.cover, self.warn,
            np.array([r.assault_cohesion, r.support, r.ground_defence, r.breakthrough_ratio]),
            w.seed, self.reps, self.day, w.deterministic, self.h, self.wd,
        )  # fmt: skip

    def movement(self) -> None:
        w = self.w
        kernels.movement(
            self.owner, self.pos, self.present, self.cohesion, self.detected, w.side,
            w.speed, w.move_steps, self.move_cost, self.objective, self.land, self.nbr, self.h,
            self.wd, w.rules.withdraw_cohesion, self.ground, self.ground_built, self.ground_seen,
            self.aims, w.seed, self.reps, self.day, w.deterministic, self.belief,
            w.axis_of[ATTACKER],
        )  # fmt: skip

    def recovery(self) -> None:
        r = self.w.rules
        present = self.present
        kernels.recovery(
            self.cohesion, self.strength, self.lost, self.assaulted, self.engaged,
            self.supply_level, present, r.shock, r.assault_fatigue, r.recovery,
        )  # fmt: skip
        self.remove(present & (self.strength < r.min_strength))

    def record(self) -> None:
        w, d = self.w, self.day
        present = self.present
        kernels.ground(
            self.owner, self.counted, self.territory, self.land, self.h, self.wd, self.held,
            self.front,
        )  # fmt: skip
        self.series["territory"][:, d] = self.held * w.cell_area
        strength = kernels.side_sums(self.strength, present, w.side)
        for s, name in ((ATTACKER, "attacker"), (DEFENDER, "defender")):
            self.series[f"strength_{name}"][:, d] = strength[:, s]
            self.series[f"losses_{name}"][:, d] = self.losses[:, s]
        self.series["front_km"][:, d] = self.front * w.cell_km
        mine = present & (w.side == DEFENDER)
        count = mine.sum(1)
        fed = (mine & (self.supply_level >= 0.5)).sum(1)
        self.series["supplied_defender"][:, d] = np.where(count > 0, fed / np.maximum(count, 1), 0)
        self.series["waiting"][:, d] = ((w.arrival <= d) & ~self.arrived).sum(1)
        changed = self.owner[:, w.place_cell] != self.start_owner[:, w.place_cell]
        self.log_mask("place_captured", changed)
        if d in self.map_row:
            for i, (a, b) in enumerate(zip(self.bounds[:-1], self.bounds[1:], strict=True)):
                self.held_maps[i, self.map_row[d]] = (self.owner[a:b] == DEFENDER).sum(0)
        if self.trace:
            self.states.append(self.snapshot())

    def snapshot(self) -> dict[str, np.ndarray]:
        dead = ~self.alive
        return {
            "owner": self.grid(self.owner).copy(),
            "pos": self.pos.copy(),
            "alive": self.alive.copy(),
            "arrived": self.arrived.copy(),
            "strength": np.where(dead, 0.0, self.strength),
            "cohesion": np.where(dead, 0.0, self.cohesion),
            "supply": np.where(dead, 0.0, self.supply_level),
        }

    def results(self) -> list[RunResult]:
        """One result per part, its events keyed by replicate number."""
        logged = np.concatenate(self.events) if self.events else np.zeros((0, 4), np.int64)
        out = []
        for i, (a, b) in enumerate(zip(self.bounds[:-1], self.bounds[1:], strict=True)):
            rows = logged[(logged[:, 0] >= a) & (logged[:, 0] < b)].copy()
            rows[:, 0] = self.reps[rows[:, 0]]
            out.append(
                RunResult(
                    self.reps[a:b],
                    {name: values[a:b] for name, values in self.series.items()},
                    in_order(rows),
                    [{k: v[a:b] for k, v in s.items()} for s in self.states]
                    if self.trace
                    else None,
                    self.held_maps[i],
                    self.w.map_days,
                )
            )
        return out


def in_order(rows: np.ndarray) -> np.ndarray:
    """The event rows sorted by replicate, day, kind and index."""
    order = np.lexsort((rows[:, 3], rows[:, 2], rows[:, 1], rows[:, 0]))
    return rows[order].astype(np.int64)


def run_each(
    parts: Sequence[Part], trace: bool = False, tick: Callable[[], None] | None = None
) -> list[RunResult]:
    """Run every part's replicates as one batch, day by day, to the end (one result per
    part); `tick` (progress, interruption) is called after each day."""
    batch = Batch(parts, trace)
    for _ in range(batch.w.days):
        batch.step()
        if tick is not None:
            tick()
    return batch.results()


def run(
    world: World, replicates, trace: bool = False, tick: Callable[[], None] | None = None
) -> RunResult:
    """Run the given replicate numbers of one world together (run_each of one part)."""
    return run_each([(world, replicates)], trace, tick)[0]
