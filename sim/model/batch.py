"""The batch engine: the reference engine's rules over arrays with a leading replicate axis.

Units are slot arrays (R, U), cells flat arrays (R, H·W). A day is a fixed sequence of array
passes; there is no Python loop over units or replicates. Where the reference engine adds
numbers one unit at a time, this engine adds them in the same (slot) order, so replicate k
comes out the same here as there, and the same whatever batch it runs in.
"""

from __future__ import annotations

import numpy as np

from sim.model import fields, rng, rules
from sim.model.result import EVENT_KINDS, SERIES, RunResult
from sim.model.world import World

ATTACKER, DEFENDER = 0, 1
_FAR = np.iinfo(np.int32).max


def ordered_sum(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Sum adding terms one after another in index order (as a Python loop would), not
    numpy's pairwise order: the reference engine's totals, to the bit."""
    if x.shape[axis] == 0:
        return np.zeros(np.delete(x.shape, axis))
    return np.cumsum(x, axis=axis).take(-1, axis=axis)


def neighbour_table(shape: tuple[int, int]) -> np.ndarray:
    """(H·W, 8) flat index of each cell's neighbours in the tie order, -1 off the map."""
    h, w = shape
    r, c = np.divmod(np.arange(h * w), w)
    out = np.full((h * w, 8), -1, np.int64)
    for k, (dy, dx) in enumerate(fields.NEIGHBOURS):
        rr, cc = r + dy, c + dx
        ok = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
        out[ok, k] = rr[ok] * w + cc[ok]
    return out


class Batch:
    """State of R replicates of one world, advanced one day at a time."""

    def __init__(self, world: World, replicates, trace: bool = False) -> None:
        self.w = w = world
        self.reps = np.asarray(replicates, np.int64)
        self.trace = trace
        r, u = len(self.reps), w.n_units
        self.h, self.wd = w.shape
        self.cells = self.h * self.wd
        self.nbr = neighbour_table(w.shape)
        self.objective = w.objective.reshape(2, -1)
        self.rows = np.arange(r)[:, None]
        self.slots = np.arange(u)
        self.owner = np.broadcast_to(w.owner.ravel(), (r, self.cells)).copy()
        initial = np.array([g == "initial" for g in w.group], bool)
        self.arrived = np.broadcast_to(initial, (r, u)).copy()
        self.alive = np.ones((r, u), bool)
        self.pos = np.where(self.arrived, w.cell0[None, :], -1)
        self.strength = np.broadcast_to(w.strength0, (r, u)).copy()
        self.cohesion = np.ones((r, u))
        self.supply = np.ones((r, u))
        self.cut_off = np.zeros((r, u), bool)
        self.losses = np.zeros((r, 2))
        self.firers = np.flatnonzero((w.fires > 0) & (w.fires_range >= 1))
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

    def at(self, cells: np.ndarray, where: np.ndarray, fill=-1) -> np.ndarray:
        """Value of a (R, cells) array at each unit's cell; `fill` where the unit is absent."""
        idx = np.where(where, self.pos, 0)
        return np.where(where, np.take_along_axis(cells, idx, 1), fill)

    def occupancy(self) -> np.ndarray:
        occ = np.full((len(self.reps), self.cells), -1, np.int64)
        rr, uu = np.nonzero(self.present)
        occ[rr, self.pos[rr, uu]] = uu
        return occ

    def unit_mask(self, which: np.ndarray) -> np.ndarray:
        """(R, cells) True where a unit selected by `which` (R, U) stands."""
        m = np.zeros((len(self.reps), self.cells), bool)
        rr, uu = np.nonzero(which & self.present)
        m[rr, self.pos[rr, uu]] = True
        return m

    def draws(self, phase: int, index: np.ndarray) -> np.ndarray:
        w = self.w
        return rng.draws(w.seed, self.reps[:, None], self.day, phase, index, w.deterministic)

    def resolve(self, wish: np.ndarray) -> np.ndarray:
        """(R, U) wanted cell or -1 → (R, U) granted: lower slot first on each cell."""
        best = np.full((len(self.reps), self.cells), len(self.slots), np.int64)
        rr, uu = np.nonzero(wish >= 0)
        np.minimum.at(best, (rr, wish[rr, uu]), uu)
        granted = np.zeros(wish.shape, bool)
        granted[rr, uu] = best[rr, wish[rr, uu]] == uu
        return granted

    def neighbour_cells(self) -> np.ndarray:
        """(R, U, 8) flat neighbour cells of each present unit, -1 off the map or absent."""
        nb = self.nbr[np.where(self.present, self.pos, 0)]
        return np.where(self.present[..., None], nb, -1)

    def gather(self, cells: np.ndarray, nb: np.ndarray, fill) -> np.ndarray:
        """Values of a (R, cells) array at (R, U, 8) neighbour cells; `fill` off the map."""
        r = len(self.reps)
        flat = np.take_along_axis(cells, np.where(nb >= 0, nb, 0).reshape(r, -1), 1)
        return np.where(nb >= 0, flat.reshape(nb.shape), fill)

    def side_field(self, per_side: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """Each unit reads its own side's field (2, R, cells) at (R, U, k) cells."""
        ours = self.w.side[None, :, None] == ATTACKER
        return np.where(
            ours, self.gather(per_side[0], cells, 0), self.gather(per_side[1], cells, 0)
        )

    def takeable(self, nb: np.ndarray) -> np.ndarray:
        """(R, U, 8): neighbour cells held by the enemy that the unit's side may assault."""
        side = self.w.side[None, :, None]
        owner = self.gather(self.owner, nb, -1)
        cell = np.where(nb >= 0, nb, 0)
        allowed = np.where(side == ATTACKER, self.objective[0][cell], self.objective[1][cell])
        return (owner >= 0) & (owner != side) & allowed

    def contact(self) -> np.ndarray:
        return self.present & self.takeable(self.neighbour_cells()).any(-1)

    def log(self, kind: str, which: np.ndarray) -> None:
        rr, idx = np.nonzero(which)
        if len(rr):
            code = EVENT_KINDS.index(kind)
            self.events.append(
                np.stack(
                    [self.reps[rr], np.full(len(rr), self.day), np.full(len(rr), code), idx], 1
                )
            )

    def lose(self, men: np.ndarray, hit: np.ndarray) -> None:
        """Apply losses (R, U) to the units in `hit`, capped at their strength."""
        men = np.where(hit, np.minimum(men, self.strength), 0.0)
        self.strength = self.strength - men
        self.lost = self.lost + men
        for s in (ATTACKER, DEFENDER):
            self.losses[:, s] += ordered_sum(np.where(self.w.side == s, men, 0.0))

    def remove(self, which: np.ndarray) -> None:
        for s in (ATTACKER, DEFENDER):
            self.losses[:, s] += ordered_sum(np.where(which & (self.w.side == s), self.strength, 0))
        self.log("unit_destroyed", which)
        self.alive &= ~which
        self.strength = np.where(which, 0.0, self.strength)
        self.pos = np.where(which, -1, self.pos)

    # ---- the day -------------------------------------------------------------------------
    def step(self) -> None:
        self.start_owner = self.owner.copy()
        self.lost = np.zeros_like(self.strength)
        self.arrivals()
        self.sensing()
        self.supply_phase()
        self.fires()
        self.assault()
        self.movement()
        self.recovery()
        self.record()
        self.day += 1

    def arrivals(self) -> None:
        w = self.w
        occ = self.occupancy()
        due = self.alive & ~self.arrived & (w.arrival <= self.day)[None, :]
        entry = np.broadcast_to(w.cell0, due.shape)
        free = np.take_along_axis(occ, entry, 1) == -1
        held = np.take_along_axis(self.owner, entry, 1) == w.side[None, :]
        granted = self.resolve(np.where(due & free & held, entry, -1))
        self.arrived |= granted
        self.pos = np.where(granted, entry, self.pos)
        self.log("reinforcement_arrived", granted)
        for s in (ATTACKER, DEFENDER):
            men = w.replacements[s, self.day]
            mine = self.present & (w.side == s)
            missing = np.where(mine, w.strength0 - self.strength, 0.0)
            total = ordered_sum(missing)
            ok = (total > 0) & (men > 0)
            share = np.minimum(1.0, men / np.where(ok, total, 1.0))
            self.strength = np.where(
                mine & ok[:, None], self.strength + missing * share[:, None], self.strength
            )

    def sensing(self) -> None:
        w = self.w
        detected = np.zeros(self.strength.shape, bool)
        u_draw = self.draws(rng.SENSE, self.slots[None, :])
        for s in (ATTACKER, DEFENDER):
            mine = w.side == s
            near = fields.dilate(self.grid(self.unit_mask(mine[None, :])), 1)
            cover = np.zeros_like(near)
            for r in np.unique(w.sensor[mine]):
                ranged = self.unit_mask((mine & (w.sensor == r))[None, :])
                cover |= fields.dilate(self.grid(ranged), int(r))
            enemy = self.present & ~mine[None, :]
            seen = self.at(near.reshape(len(self.reps), -1), enemy, False).astype(bool)
            sensed = self.at(cover.reshape(len(self.reps), -1), enemy, False).astype(bool)
            detected |= enemy & (seen | (sensed & (u_draw < w.intelligence[s, self.day])))
        self.detected = detected

    def supply_phase(self) -> None:
        w, r = self.w, self.w.rules
        self.fed = np.zeros((2, len(self.reps), self.cells), bool)
        for s in (ATTACKER, DEFENDER):
            own = self.grid(self.owner == s)
            fed = fields.reach(own, w.source[s], True)
            drones = fields.dilate(~own, int(w.drone_range[1 - s, self.day]))
            roads = w.road & own & ~drones
            near_road = fields.dilate(fields.reach(roads, w.source[s] & w.road, True), 1)
            self.fed[s] = fed.reshape(len(self.reps), -1)
            mine = self.present & (w.side == s)
            on_fed = self.at(self.fed[s], mine, False).astype(bool)
            on_road = self.at(near_road.reshape(len(self.reps), -1), mine, False).astype(bool)
            target = np.where(on_fed, np.where(on_road, 1.0, r.offroad_supply), 0.0)
            stepped = rules.supply_step(self.supply, target, r.supply_recovery, r.supply_decay)
            self.supply = np.where(mine, stepped, self.supply)
            cut = mine & ~on_fed
            self.log("pocket_formed", cut & ~self.cut_off)
            self.cut_off = np.where(mine, cut, self.cut_off)

    def fires(self) -> None:
        w = self.w
        f = self.firers
        if len(f) == 0:
            return
        fpos, tpos = self.pos[:, f], self.pos
        dist = np.maximum(
            abs(fpos[:, :, None] // self.wd - tpos[:, None, :] // self.wd),
            abs(fpos[:, :, None] % self.wd - tpos[:, None, :] % self.wd),
        )
        valid = (
            self.present[:, f, None]
            & self.present[:, None, :]
            & (w.side[f, None] != w.side[None, :])[None]
            & self.detected[:, None, :]
            & (dist <= w.fires_range[f][None, :, None])
        )
        n = valid.sum(2)
        eff = rules.effectiveness(self.cohesion[:, f], self.supply[:, f])
        out = rules.fires_output(
            w.fires[f], self.strength[:, f], eff, w.intelligence[w.side[f], self.day]
        )
        share = out / np.maximum(n, 1)
        damage = ordered_sum(np.where(valid, share[:, :, None], 0.0), axis=1)
        hit = valid.any(1)
        cover = w.cover.ravel()[np.where(hit, self.pos, 0)]
        self.lose(damage / cover, hit)

    def assault(self) -> None:
        w, r = self.w, self.w.rules
        R = len(self.reps)
        present, side = self.present, w.side[None, :]
        occ = self.occupancy()
        eff = rules.effectiveness(self.cohesion, self.supply)
        warn = rules.warning(r.warning_bonus, w.intelligence[:, self.day])  # (2,)
        held = np.zeros((2, R, self.cells))
        for s in (ATTACKER, DEFENDER):
            mine = present & (side == s)
            rr, uu = np.nonzero(mine)
            held[s, rr, self.pos[rr, uu]] = (self.strength * eff * w.defence)[rr, uu]
        defence = np.where(
            self.grid(self.owner) == ATTACKER,
            rules.defence_field(self.grid(held[0]), w.cover, warn[0], r.support, r.ground_defence),
            rules.defence_field(self.grid(held[1]), w.cover, warn[1], r.support, r.ground_defence),
        ).reshape(R, -1)
        nb = self.neighbour_cells()
        enemy = self.takeable(nb)
        contact = present & enemy.any(-1)
        go = (
            contact
            & (self.cohesion >= r.assault_cohesion)
            & (self.draws(rng.ASSAULT, self.slots[None, :]) < w.tempo[w.side, self.day][None, :])
        )
        nb_def = np.where(enemy, self.gather(defence, nb, np.inf), np.inf)
        target = np.take_along_axis(nb, nb_def.argmin(-1)[..., None], -1)[..., 0]
        target = np.where(go, target, -1)
        # Fire along each assault.
        fire = w.firepower * self.strength * eff
        victim = np.where(go, np.take_along_axis(occ, np.where(go, target, 0), 1), -1)
        out_edge = victim >= 0
        rr, ii = np.nonzero(out_edge)
        key = rr * len(self.slots) + victim[rr, ii]
        size = R * len(self.slots)
        n_in = np.bincount(key, minlength=size).reshape(R, -1)
        engaged = out_edge.astype(np.int64) + n_in
        share = np.where(engaged > 0, fire / np.maximum(engaged, 1), 0.0)
        incoming = np.bincount(key, weights=share[rr, ii], minlength=size).reshape(R, -1)
        cover = w.cover.ravel()[np.where(present, self.pos, 0)]
        total = incoming / (cover * warn[w.side][None, :])
        back = np.take_along_axis(share, np.where(out_edge, victim, 0), 1)
        back = rules.return_fire(
            back, w.cover.ravel()[np.where(out_edge, target, 0)], warn[1 - w.side][None, :]
        )
        total = np.where(out_edge, total + back, total)
        # Capture chances from the pre-combat snapshot.
        rr, ii = np.nonzero(go)
        cell_key = rr * self.cells + target[rr, ii]
        power = (w.attack * self.strength * eff)[rr, ii]
        attack = np.bincount(cell_key, weights=power, minlength=R * self.cells).reshape(R, -1)
        aimed = np.bincount(cell_key, minlength=R * self.cells).reshape(R, -1) > 0
        p = rules.capture_probability(attack, defence, r.breakthrough_ratio)
        draw = self.draws(rng.CAPTURE, np.arange(self.cells)[None, :])
        captured = aimed & (draw < p)
        self.assaulted = go
        self.lose(total, engaged > 0)
        self.owner = np.where(captured, 1 - self.owner, self.owner).astype(np.int8)
        # Holders of captured cells fall back to the first free, held, supplied neighbour.
        ousted = present & self.at(captured, present, False).astype(bool)
        fed = np.where(
            side[..., None] == ATTACKER,
            self.gather(self.fed[0], nb, False),
            self.gather(self.fed[1], nb, False),
        )
        nb_owner = self.gather(self.owner, nb, -1)
        ok = (nb_owner == side[..., None]) & (self.gather(occ, nb, 0) == -1) & fed.astype(bool)
        taken = np.zeros((R, self.cells), bool)
        pending, moved = ousted.copy(), np.zeros_like(ousted)
        for _ in fields.NEIGHBOURS:  # a loser tries its next neighbour in the next round
            free = ok & ~self.gather(taken, nb, True)
            wish = np.where(
                pending & free.any(-1),
                np.take_along_axis(nb, free.argmax(-1)[..., None], -1)[..., 0],
                -1,
            )
            granted = self.resolve(wish)
            self.pos = np.where(granted, wish, self.pos)
            rr, uu = np.nonzero(granted)
            taken[rr, wish[rr, uu]] = True
            moved |= granted
            pending &= ~granted & free.any(-1)
        self.cohesion = np.where(
            moved, np.maximum(0.0, self.cohesion - r.retreat_shock), self.cohesion
        )
        self.remove(ousted & ~moved)
        taken = go & ~ousted & np.take_along_axis(captured, np.where(go, target, 0), 1)
        advance = self.resolve(np.where(taken, target, -1))
        self.pos = np.where(advance, target, self.pos)

    def movement(self) -> None:
        w, r = self.w, self.w.rules
        R = len(self.reps)
        cap = self.h + self.wd
        own = [self.grid(self.owner == s) for s in (ATTACKER, DEFENDER)]
        to_enemy = np.stack([fields.distance(~own[s], cap).reshape(R, -1) for s in (0, 1)])
        to_take = [fields.distance(~own[s] & w.objective[s], cap).reshape(R, -1) for s in (0, 1)]
        known = self.unit_mask(self.detected & (w.side == ATTACKER)[None, :])
        threat = fields.dilate(self.grid(known), 1) & own[DEFENDER]
        any_threat = threat.any(axis=(1, 2))
        goal_def = np.where(
            any_threat[:, None], fields.distance(threat, cap).reshape(R, -1), to_take[DEFENDER]
        )
        goal = np.stack([to_take[ATTACKER], goal_def])
        side = w.side[None, :]
        worn = self.cohesion < r.withdraw_cohesion
        for k in range(1, int(w.speed.max(initial=0)) + 1):
            occ = self.occupancy()
            nb = self.neighbour_cells()
            movers = self.present & (w.speed >= k)[None, :] & (worn | ~self.contact())
            nb_owner = self.gather(self.owner, nb, -1)
            free = (nb_owner == side[..., None]) & (self.gather(occ, nb, 0) == -1)
            here = np.where(self.present, self.pos, 0)[..., None]
            away, away_here = self.side_field(to_enemy, nb), self.side_field(to_enemy, here)[..., 0]
            near, near_here = self.side_field(goal, nb), self.side_field(goal, here)[..., 0]
            back_v = np.where(free, away, -1)
            back_k = back_v.argmax(-1)
            fwd_v = np.where(free, near, _FAR)
            fwd_k = fwd_v.argmin(-1)
            go_back = worn & (np.take_along_axis(back_v, back_k[..., None], -1)[..., 0] > away_here)
            go_fwd = ~worn & (np.take_along_axis(fwd_v, fwd_k[..., None], -1)[..., 0] < near_here)
            choice = np.where(worn, back_k, fwd_k)
            cell = np.take_along_axis(nb, choice[..., None], -1)[..., 0]
            wish = np.where(movers & (go_back | go_fwd), cell, -1)
            granted = self.resolve(wish)
            self.pos = np.where(granted, wish, self.pos)

    def recovery(self) -> None:
        r = self.w.rules
        present = self.present
        before = self.strength + self.lost
        lost_share = np.where(before > 0, self.lost / np.where(before > 0, before, 1.0), 0.0)
        assaulted = self.assaulted.astype(np.float64)
        quiet = ((self.lost == 0) & ~self.assaulted).astype(np.float64)
        stepped = rules.cohesion_step(self.cohesion, lost_share, assaulted, quiet, self.supply, r)
        self.cohesion = np.where(present, stepped, self.cohesion)
        self.remove(present & (self.strength < r.min_strength))

    def record(self) -> None:
        w, d = self.w, self.day
        present = self.present
        held = (self.owner == DEFENDER) & w.territory_cells.ravel()[None, :]
        self.series["territory"][:, d] = held.sum(1) * w.cell_area
        for s, name in ((ATTACKER, "attacker"), (DEFENDER, "defender")):
            mine = present & (w.side == s)
            self.series[f"strength_{name}"][:, d] = ordered_sum(np.where(mine, self.strength, 0.0))
            self.series[f"losses_{name}"][:, d] = self.losses[:, s]
        self.series["front_km"][:, d] = fields.front_length(self.grid(self.owner)) * w.cell_km
        mine = present & (w.side == DEFENDER)
        count = mine.sum(1)
        fed = (mine & (self.supply >= 0.5)).sum(1)
        self.series["supplied_defender"][:, d] = np.where(count > 0, fed / np.maximum(count, 1), 0)
        changed = self.owner[:, w.place_cell] != self.start_owner[:, w.place_cell]
        self.log("place_captured", changed)
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
            "supply": np.where(dead, 0.0, self.supply),
        }

    def result(self) -> RunResult:
        events = np.concatenate(self.events) if self.events else np.zeros((0, 4), np.int64)
        order = np.lexsort((events[:, 3], events[:, 2], events[:, 1], events[:, 0]))
        return RunResult(
            self.reps,
            self.series,
            events[order].astype(np.int64),
            self.states if self.trace else None,
        )


def run(world: World, replicates, trace: bool = False) -> RunResult:
    """Run the given replicate numbers together, day by day, to the end."""
    batch = Batch(world, replicates, trace)
    for _ in range(world.days):
        batch.step()
    return batch.result()
