"""The reference engine: a Mesa 3.3 model written for reading, one phase per method and one
agent's decision at a time. It is the oracle the batch engine is held to, and the engine of
the classroom app.

Each phase reads the state the previous phase left and updates all units simultaneously:
decisions are taken first (from a snapshot), then applied; where two units want one cell the
lower slot wins. Every random draw comes from `rng.draws(seed, replicate, day, phase, index)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import mesa
import numpy as np
from mesa.discrete_space import CellAgent, OrthogonalMooreGrid, PropertyLayer

from sim.model import fields, rng, rules
from sim.model.result import EVENT_KINDS, SERIES, RunResult
from sim.model.world import World

ATTACKER, DEFENDER = 0, 1
SUPPLY_LAYERS = ("supplied_attacker", "supplied_defender")


class Unit(CellAgent):
    """A battalion-sized unit. `slot` is its fixed index in the World's unit arrays."""

    def __init__(self, model: SalientModel, slot: int, cell) -> None:
        super().__init__(model)
        w = model.world
        self.slot = slot
        self.side = int(w.side[slot])
        self.strength = float(w.strength0[slot])
        self.cohesion = 1.0
        self.supply = 1.0
        self.cut_off = False
        self.cell = cell

    @property
    def flat(self) -> int:
        r, c = self.cell.coordinate
        return r * self.model.width + c

    @property
    def eff(self) -> float:
        return rules.effectiveness(self.cohesion, self.supply)


@dataclass
class Day:
    """Per-day scratch shared between phases (what happened today)."""

    detected: set[int] = field(default_factory=set)  # slots seen by the enemy
    entered: set[int] = field(default_factory=set)  # reinforcements that entered today
    exposure: dict[int, int] = field(default_factory=dict)  # slot → route cells in drone reach
    fed: np.ndarray | None = None  # (2, H, W) supply reach of each side
    lost: dict[int, float] = field(default_factory=dict)  # men lost today by slot
    assaulted: set[int] = field(default_factory=set)
    engaged: set[int] = field(default_factory=set)  # in an assault's fire, either way
    advanced: dict[int, int] = field(default_factory=dict)  # slot → the cell it advanced from
    events: list[tuple[int, str, int]] = field(default_factory=list)


class SalientModel(mesa.Model):
    """One replicate of a scenario on a Mesa grid."""

    def __init__(self, world: World, replicate: int = 0, trace: bool = False) -> None:
        super().__init__(rng=world.seed * 1_000_003 + replicate)
        self.world, self.replicate, self.trace = world, replicate, trace
        self.height, self.width = world.shape
        self.grid = OrthogonalMooreGrid(
            (self.height, self.width), torus=False, capacity=1, random=self.random
        )
        for name in ("owner", "terrain", "cover", "road", "homeland"):
            data = np.array(getattr(world, name), copy=True)
            self.grid.add_property_layer(PropertyLayer.from_data(name, data))
        for name in SUPPLY_LAYERS:  # where each side's supply reaches, set by the supply phase
            self.grid.add_property_layer(PropertyLayer.from_data(name, np.zeros(world.shape, bool)))
        self.owner = self.grid.owner.data  # a view: the layer is the state
        self.units: dict[int, Unit] = {}
        self.arrived = np.zeros(world.n_units, bool)
        self.dead = np.zeros(world.n_units, bool)
        for slot in np.flatnonzero(world.arrival == 0):
            if world.group[slot] == "initial":
                self._enter(int(slot), int(world.cell0[slot]))
        self.day = 0
        self.belief = 0  # the attacker's axis the defender believes its main effort (0: none)
        self.route: dict[int, int] = {}  # slot → route cells in drone reach, at the last drones
        self.losses = [0.0, 0.0]
        self.held_maps: dict[int, np.ndarray] = {}  # day → (H·W,) held, on the map days
        self.today = Day()
        self.events: list[tuple[int, str, int]] = []
        self.states: list[dict] = []
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "territory": lambda m: m.territory(),
                "strength_attacker": lambda m: m.strength(ATTACKER),
                "strength_defender": lambda m: m.strength(DEFENDER),
                "losses_attacker": lambda m: m.losses[ATTACKER],
                "losses_defender": lambda m: m.losses[DEFENDER],
                "front_km": lambda m: (
                    float(fields.front_length(m.owner, world.land)) * world.cell_km
                ),
                "supplied_defender": lambda m: m.supplied_share(DEFENDER),
                "waiting": lambda m: m.waiting(),
            }
        )

    # ---- helpers -------------------------------------------------------------------------
    def cell_at(self, flat: int):
        return self.grid[(flat // self.width, flat % self.width)]

    def neighbours(self, flat: int) -> list[int]:
        """Flat indices of the in-map neighbours, in the fixed tie order."""
        r, c = divmod(flat, self.width)
        out = []
        for dy, dx in fields.NEIGHBOURS:
            rr, cc = r + dy, c + dx
            if 0 <= rr < self.height and 0 <= cc < self.width:
                out.append(rr * self.width + cc)
        return out

    def present(self) -> list[Unit]:
        return [self.units[s] for s in sorted(self.units)]

    def owner_at(self, flat: int) -> int:
        return int(self.owner.flat[flat])

    def takeable(self, side: int, flat: int) -> bool:
        """Enemy-held ground this side may assault (its objective: anywhere or its homeland)."""
        return self.owner_at(flat) != side and bool(self.world.objective[side].flat[flat])

    def in_contact(self, u: Unit) -> bool:
        return any(self.takeable(u.side, n) for n in self.neighbours(u.flat))

    def occupied(self) -> dict[int, int]:
        return {u.flat: u.slot for u in self.units.values()}

    def territory(self) -> float:
        held = (self.owner == DEFENDER) & self.world.territory_cells
        return float(held.sum()) * self.world.cell_area

    def strength(self, side: int) -> float:
        return float(sum(u.strength for u in self.present() if u.side == side))

    def supplied_share(self, side: int) -> float:
        units = [u for u in self.units.values() if u.side == side]
        return sum(u.supply >= 0.5 for u in units) / len(units) if units else 0.0

    def waiting(self) -> int:
        """Reinforcement units due that have found no free entry cell yet."""
        w = self.world
        return int(((w.arrival <= self.day) & ~self.arrived).sum())

    def _enter(self, slot: int, cell: int) -> None:
        self.units[slot] = Unit(self, slot, self.cell_at(cell))
        self.arrived[slot] = True

    def _remove(self, u: Unit, lost: float) -> None:
        self.losses[u.side] += lost
        self.today.events.append((self.day, "unit_destroyed", u.slot))
        del self.units[u.slot]
        self.dead[u.slot] = True
        u.remove()

    def _resolve(self, wishes: dict[int, int]) -> dict[int, int]:
        """slot → wanted cell, to slot → granted cell: lower slot first on each cell."""
        granted: dict[int, int] = {}
        taken: set[int] = set()
        for slot in sorted(wishes):
            if wishes[slot] not in taken:
                granted[slot] = wishes[slot]
                taken.add(wishes[slot])
        return granted

    def _lose(self, u: Unit, expected: float, phase: int, index: int = 0) -> None:
        """The unit loses men: drawn in whole men around `expected` (rng.casualties_at, the
        batch engine's sampler), from the stream `phase` at counter index + slot."""
        w = self.world
        men = float(
            rng.casualties_at(
                rng.python_stream(w.seed, self.replicate, self.day, phase), index + u.slot,
                u.strength, expected, w.deterministic,
            )
        )  # fmt: skip
        u.strength -= men
        self.losses[u.side] += men
        self.today.lost[u.slot] = self.today.lost.get(u.slot, 0.0) + men

    # ---- the day -------------------------------------------------------------------------
    def step(self) -> None:
        self.today = Day()
        self.start_owner = self.owner.copy()
        for phase in rules.PHASES:
            getattr(self, phase)()
        self.day += 1
        if self.day >= self.world.days:
            self.running = False

    def draw(self, phase: int, index: int) -> float:
        w = self.world
        return float(rng.draws(w.seed, self.replicate, self.day, phase, index, w.deterministic))

    def arrivals(self) -> None:
        """1. Due reinforcements enter, lower slot first, at the first free cell of their entry
        list that their side holds, else at the nearest such cell on the map edge; one that
        finds none waits. Replacements refill units in proportion to what they are missing."""
        w = self.world
        taken = set(self.occupied())
        for slot in np.flatnonzero((w.arrival <= self.day) & ~self.arrived & ~self.dead):
            cell = self._entry_cell(int(slot), taken)
            if cell is not None:
                taken.add(cell)
                self._enter(int(slot), cell)
                self.today.entered.add(int(slot))
                self.today.events.append((self.day, "reinforcement_arrived", int(slot)))
        for side in (ATTACKER, DEFENDER):
            men = float(w.replacements[side, self.day])
            units = [u for u in self.present() if u.side == side]
            missing = {u.slot: float(w.strength0[u.slot]) - u.strength for u in units}
            total = 0.0
            for u in units:
                total += missing[u.slot]
            if men <= 0 or total <= 0:
                continue
            share = min(1.0, men / total)
            stream = rng.python_stream(w.seed, self.replicate, self.day, rng.REPLACE)
            for u in units:  # each missing man comes with chance `share`, less drones en route
                come = rules.drone_throughput(share, self.route.get(u.slot, 0), w.drone_loss)
                u.strength += float(
                    rng.binomial_at(stream, u.slot, missing[u.slot], come, w.deterministic)
                )  # fmt: skip

    def _entry_cell(self, slot: int, taken: set[int]) -> int | None:
        """The slot's entry list from its own cell on, cyclically; then the map edge, nearest
        its own entry cell first (lower flat index on ties)."""
        w = self.world
        side, first, count = w.side[slot], w.entry_first[slot], w.entry_count[slot]
        for j in range(count):
            cell = int(w.entries[first + (w.entry_offset[slot] + j) % count])
            if self.owner_at(cell) == side and cell not in taken:
                return cell
        hr, hc = divmod(int(w.cell0[slot]), self.width)
        free = [
            int(c) for c in w.edge_cells if self.owner_at(int(c)) == side and int(c) not in taken
        ]
        if not free:
            return None
        return min(
            free, key=lambda c: (max(abs(c // self.width - hr), abs(c % self.width - hc)), c)
        )

    def sensing(self) -> None:
        """2. Each side sees enemy units next to its own; farther ones within sensor range
        with probability equal to its intelligence availability today. Where the attacker
        has axes, the defender reads its build-up on them with that probability too."""
        w = self.world
        for side in (ATTACKER, DEFENDER):
            own = [u for u in self.present() if u.side == side]
            mask = np.zeros(w.shape, bool)
            for u in own:
                mask.flat[u.flat] = True
            near = fields.dilate(mask, 1)
            cover = np.zeros(w.shape, bool)
            for r in sorted({int(w.sensor[u.slot]) for u in own}):
                ranged = np.zeros(w.shape, bool)
                for u in own:
                    if w.sensor[u.slot] == r:
                        ranged.flat[u.flat] = True
                cover |= fields.dilate(ranged, r)
            intel = float(w.intelligence[side, self.day])
            for u in self.present():
                if u.side == side:
                    continue
                if near.flat[u.flat] or (
                    cover.flat[u.flat] and self.draw(rng.SENSE, u.slot) < intel
                ):
                    self.today.detected.add(u.slot)
        intel = float(w.intelligence[DEFENDER, self.day])
        if w.axis_names[ATTACKER] and self.draw(rng.BUILDUP, 0) < intel:
            self.read_buildup()

    def read_buildup(self) -> None:
        """The defender has read the attacker's build-up today: it believes the main effort
        is on the attacker's axis with the most men × tempo (rules.main_axis) until its next
        read."""
        w = self.world
        men = np.zeros(w.axis_tempo.shape[1])
        for u in self.present():
            if u.side == ATTACKER:
                men[w.axis_of[ATTACKER, u.flat]] += u.strength
        self.belief = rules.main_axis(men, w.axis_tempo[ATTACKER, :, self.day])

    def drones(self) -> None:
        """2b. Drones over each side's ground: the enemy's drone reach is the cells within its
        drone range of ground the side does not hold. Units standing in it share the enemy's
        drone strikes of the day in proportion to their men (rules.drone_strike), drawn in
        whole men (DRONE_LOSS); with `drone_supply`, each unit's supply route is the one
        through its side's ground that crosses the fewest cells of that reach
        (fields.route_exposure), kept for the supply phase and tomorrow's replacements, and a
        reinforcement that entered today loses the share of its men that drones take along
        it. Nothing to do without either."""
        w = self.world
        effort = w.drone_effort[:, self.day]
        if not effort.any() and w.drone_loss == 0:
            return
        sources = w.sources(self.day).reshape(2, *w.shape)
        self.route = self.today.exposure
        for side in (ATTACKER, DEFENDER):
            reach = fields.dilate(self.owner != side, int(w.drone_range[1 - side, self.day]))
            own = [u for u in self.present() if u.side == side]
            if w.drone_loss > 0:
                route = fields.route_exposure((self.owner == side) & w.land, sources[side], reach)
                for u in own:
                    self.today.exposure[u.slot] = max(0, int(route.flat[u.flat]))
                for u in own:  # men coming up the route today lose what deliveries lose
                    cells = self.today.exposure[u.slot]
                    if u.slot in self.today.entered and cells > 0:
                        kept = rules.drone_throughput(1.0, cells, w.drone_loss)
                        self._lose(u, u.strength * (1.0 - kept), rng.DRONE_LOSS, w.n_units)
            if effort[1 - side] <= 0:
                continue
            struck = [u for u in own if reach.flat[u.flat]]
            men = 0.0
            for u in struck:
                men += u.strength
            if men <= 0:
                continue
            intel = float(w.intelligence[1 - side, self.day])
            for u in struck:
                expected = rules.drone_strike(float(effort[1 - side]), intel, u.strength, men)
                self._lose(u, expected, rng.DRONE_LOSS)

    def supply(self) -> None:
        """3. Supply flows from each side's map-edge homeland through cells it holds; roads
        within drone range of enemy ground are interdicted; cut-off units run dry, and drones
        take a share of the deliveries on every cell of a unit's route within their reach."""
        w, r = self.world, self.world.rules
        fed = np.zeros((2, *w.shape), bool)
        sources = w.sources(self.day).reshape(2, *w.shape)
        for side in (ATTACKER, DEFENDER):
            own = (self.owner == side) & w.land
            fed[side] = fields.reach(own, sources[side], True)
            drones = fields.dilate(self.owner != side, int(w.drone_range[1 - side, self.day]))
            roads = w.road & own & ~drones
            near_road = fields.dilate(fields.reach(roads, sources[side] & w.road, True), 1)
            for u in self.present():
                if u.side != side:
                    continue
                if not fed[side].flat[u.flat]:
                    target = 0.0
                elif near_road.flat[u.flat]:
                    target = 1.0
                else:
                    target = r.offroad_supply
                exposure = self.today.exposure.get(u.slot, 0)
                target = rules.drone_throughput(target, exposure, w.drone_loss)
                u.supply = float(
                    rules.supply_step(u.supply, target, r.supply_recovery, r.supply_decay)
                )
                cut = not fed[side].flat[u.flat]
                if cut and not u.cut_off:
                    self.today.events.append((self.day, "pocket_formed", u.slot))
                u.cut_off = cut
        self.today.fed = fed
        for side, name in enumerate(SUPPLY_LAYERS):
            getattr(self.grid, name).data[:] = fed[side]

    def fires(self) -> None:
        """4. Every unit fires at the enemy units next to it (positional fire: the day's
        contact intensity of its firepower, shared equally among them); artillery and drones
        share their output equally among the detected enemy units in range. Terrain cover
        divides what each target suffers; the day's fire comes in `fire_substeps` steps."""
        w = self.world
        steps = w.rules.fire_substeps
        fire = w.axis_fire[:, :, self.day]  # each side's intensity where it stands: its axis's
        for step in range(steps):
            loss: dict[int, float] = {}
            occ = self.occupied()
            for u in self.present():  # positional fire
                intensity = rules.contact_intensity(
                    float(fire[0, w.axis_of[0, u.flat]]), float(fire[1, w.axis_of[1, u.flat]])
                )
                out = rules.contact_fire(intensity, float(w.firepower[u.slot]), u.strength, u.eff)
                out = out / steps
                if out <= 0:
                    continue
                near = [
                    occ[n]
                    for n in self.neighbours(u.flat)
                    if n in occ
                    and self.units[occ[n]].side != u.side
                    and self.units[occ[n]].strength > 0
                ]
                for v in near:
                    loss[v] = loss.get(v, 0.0) + out / len(near)
            for f in self.present():  # indirect fire
                rng_cells = int(w.fires_range[f.slot])
                if w.fires[f.slot] <= 0 or rng_cells < 1:
                    continue
                fr, fc = divmod(f.flat, self.width)
                targets = []
                for u in self.present():
                    ur, uc = divmod(u.flat, self.width)
                    if (
                        u.side != f.side
                        and u.slot in self.today.detected
                        and u.strength > 0
                        and max(abs(ur - fr), abs(uc - fc)) <= rng_cells
                    ):
                        targets.append(u.slot)
                if not targets:
                    continue
                intel = float(w.intelligence[f.side, self.day])
                out = rules.fires_output(float(w.fires[f.slot]), f.strength, f.eff, intel) / steps
                for slot in targets:  # aimed: an equal share; area: by the target's density
                    hit = (
                        out * (self.units[slot].strength / w.rules.area_density)
                        if w.area_fire[f.slot]
                        else out / len(targets)
                    )
                    loss[slot] = loss.get(slot, 0.0) + hit
            for slot in sorted(loss):
                u = self.units[slot]
                cover = float(w.cover.flat[u.flat])
                self._lose(u, loss[slot] / cover, rng.FIRE_LOSS, step * w.n_units)

    def assault(self) -> None:
        """5. Each unit in contact assaults with probability = its side's tempo, against the
        weakest adjacent enemy cell. Fire is exchanged along each assault (Lanchester square
        law); the cell falls with a chance set by the force ratio; its holder retreats to a
        free, supplied neighbour or is lost, and the first of its assailants moves in.
        Every decision is taken from the state at the start of the phase."""
        w, r = self.world, self.world.rules
        occ = self.occupied()
        warn = [rules.warning(r.warning_bonus, float(w.intelligence[s, self.day])) for s in (0, 1)]
        defence = self._defence(warn)
        target = self._targets(defence)
        loss = self._fire_along_assaults(target, occ, warn)
        self.today.engaged = set(loss)
        captured = self._captures(target, defence)
        for slot in sorted(loss):
            self._lose(self.units[slot], loss[slot], rng.ASSAULT_LOSS)
        for cell in captured:
            self.owner.flat[cell] = 1 - self.owner.flat[cell]
        ousted = self._fall_back(captured, occ)
        for cell in captured:  # the first assailant that still holds its own cell moves in
            for slot in sorted(target):
                if target[slot] == cell and slot not in ousted:
                    self.today.advanced[slot] = self.units[slot].flat
                    self.units[slot].cell = self.cell_at(cell)
                    break

    def pursuit(self) -> None:
        """5b. With `rules.pursuit`, each unit that advanced into a captured cell today (slot
        order) presses on, one cell at a time while its day's movement lasts (speed less the
        cost of the cells entered, rules.step_chance): into the least defended of the
        three cells ahead (fields.ahead; ground defence and the support of the enemy units
        around it, their power as at the start of the phase) that it may take and no unit
        stands on, which falls with the capture chance of the unit's attack; the first cell
        that holds stops it."""
        w, r = self.world, self.world.rules
        if not r.pursuit or not self.today.advanced:
            return
        warn = [rules.warning(r.warning_bonus, float(w.intelligence[s, self.day])) for s in (0, 1)]
        held = np.zeros((2, self.height * self.width))
        for u in self.present():
            held[u.side, u.flat] = u.strength * u.eff * float(w.defence[u.slot])
        occ = self.occupied()
        window = fields.window_table(w.shape)
        for slot, came_from in sorted(self.today.advanced.items()):
            u = self.units[slot]
            if u.cohesion < r.assault_cohesion:
                continue
            budget = float(w.speed[slot]) - float(w.move_cost.flat[u.flat])
            k = 0
            while budget > 0:
                k += 1
                best, best_def = None, np.inf
                for n in fields.ahead(came_from, u.flat, self.height, self.width):
                    if n < 0 or n in occ or not self.takeable(u.side, n):
                        continue
                    d = rules.defence(
                        0.0, fields.moore_sum_at(held[1 - u.side], n, window),
                        float(w.cover.flat[n]), warn[1 - u.side], r.support, r.ground_defence,
                    )  # fmt: skip
                    if d < best_def:
                        best, best_def = n, d
                if best is None:
                    break
                strike = float(w.attack[slot]) * u.strength * u.eff
                p = float(rules.capture_probability(strike, best_def, r.breakthrough_ratio))
                p = p * rules.step_chance(budget, float(w.move_cost.flat[best]))
                if not self.draw(rng.PURSUIT, k * w.n_units + slot) < p:
                    break
                budget -= float(w.move_cost.flat[best])
                self.owner.flat[best] = u.side
                held[u.side, best], held[u.side, u.flat] = held[u.side, u.flat], 0.0
                occ[best] = occ.pop(u.flat)
                came_from = u.flat
                u.cell = self.cell_at(best)

    def _defence(self, warn: list[float]) -> np.ndarray:
        """Defence of every cell for the side holding it (rules.defence_field)."""
        w, r = self.world, self.world.rules
        held = np.zeros((2, *w.shape))
        for u in self.present():
            held[u.side].flat[u.flat] = u.strength * u.eff * float(w.defence[u.slot])
        return np.where(
            self.owner == ATTACKER,
            rules.defence_field(held[0], w.cover, warn[0], r.support, r.ground_defence),
            rules.defence_field(held[1], w.cover, warn[1], r.support, r.ground_defence),
        )

    def _targets(self, defence: np.ndarray) -> dict[int, int]:
        """slot → the cell it assaults today: the weakest takeable neighbour, first in order.
        A unit assaults with the tempo of its side's axis of effort on its cell, if any."""
        w, r = self.world, self.world.rules
        target: dict[int, int] = {}
        for u in self.present():
            if not self.in_contact(u) or u.cohesion < r.assault_cohesion:
                continue
            tempo = w.axis_tempo[u.side, w.axis_of[u.side, u.flat], self.day]  # its axis's
            if not self.draw(rng.ASSAULT, u.slot) < float(tempo):
                continue
            best = None
            for n in self.neighbours(u.flat):
                if self.takeable(u.side, n) and (
                    best is None or defence.flat[n] < defence.flat[best]
                ):
                    best = n
            target[u.slot] = best
        self.today.assaulted = set(target)
        return target

    def _fire_along_assaults(
        self, target: dict[int, int], occ: dict[int, int], warn: list[float]
    ) -> dict[int, float]:
        """Men each engaged unit loses: every unit's fire is shared over its engagements (the
        assault it makes and those made on it); a defender's cover and warning divide what it
        suffers and multiply what it returns."""
        w = self.world
        units = self.present()
        fire = {u.slot: float(w.firepower[u.slot]) * u.strength * u.eff for u in units}
        against: dict[int, list[int]] = {u.slot: [] for u in units}  # slot → its assailants
        for slot, cell in target.items():
            if cell in occ:
                against[occ[cell]].append(slot)
        engagements = {
            u.slot: (1 if u.slot in target and target[u.slot] in occ else 0) + len(against[u.slot])
            for u in units
        }
        share = {s: fire[s] / n for s, n in engagements.items() if n > 0}
        loss: dict[int, float] = {}
        for u in units:
            if not engagements[u.slot]:
                continue
            incoming = 0.0
            for i in against[u.slot]:
                incoming += share[i]
            total = incoming / (float(w.cover.flat[u.flat]) * warn[u.side])
            if u.slot in target and target[u.slot] in occ:
                j = occ[target[u.slot]]
                total = total + rules.return_fire(
                    share[j], float(w.cover.flat[target[u.slot]]), warn[1 - u.side]
                )
            loss[u.slot] = total
        return loss

    def _captures(self, target: dict[int, int], defence: np.ndarray) -> list[int]:
        """Cells that fall: each attacked cell's chance from its assailants' combined power
        against its defence (both from the start of the phase)."""
        w, r = self.world, self.world.rules
        attack: dict[int, float] = {}
        for slot in sorted(target):
            u = self.units[slot]
            power = float(w.attack[slot]) * u.strength * u.eff
            attack[target[slot]] = attack.get(target[slot], 0.0) + power
        captured = []
        for cell in sorted(attack):
            p = float(
                rules.capture_probability(attack[cell], defence.flat[cell], r.breakthrough_ratio)
            )
            if self.draw(rng.CAPTURE, cell) < p:
                captured.append(cell)
        return captured

    def _fall_back(self, captured: list[int], occ: dict[int, int]) -> set[int]:
        """Holders of captured cells fall back to their first free, held, supplied neighbour;
        one that loses a cell to a lower slot tries its next in the next round; a holder left
        with none is lost. Returns the slots that were driven off."""
        r, fed = self.world.rules, self.today.fed
        pending = sorted(occ[cell] for cell in captured if cell in occ)
        ousted = set(pending)
        taken: set[int] = set()
        for _ in fields.NEIGHBOURS:
            wishes = {}
            for slot in pending:
                u = self.units[slot]
                for n in self.neighbours(u.flat):
                    if (
                        self.owner_at(n) == u.side
                        and n not in occ
                        and n not in taken
                        and fed[u.side].flat[n]
                    ):
                        wishes[slot] = n
                        break
            granted = self._resolve(wishes)
            for slot, cell in granted.items():
                u = self.units[slot]
                u.cell = self.cell_at(cell)
                u.cohesion = max(0.0, u.cohesion - r.retreat_shock)
                taken.add(cell)
            pending = [s for s in wishes if s not in granted]
        stuck = sorted(s for s in ousted if self.units[s].flat in captured)
        broke, lost = [], []
        for slot in stuck:  # break out, lower slot first, or be lost
            u = self.units[slot]
            cell = self._breakout_cell(u, occ, taken)
            if cell is None:
                lost.append(u)
                continue
            u.cell = self.cell_at(cell)
            u.cohesion = max(0.0, u.cohesion - r.retreat_shock)
            taken.add(cell)
            broke.append(u)
        for u in broke:  # a drawn share of its men is captured or scattered
            self._lose(u, u.strength * r.overrun_loss, rng.BREAKOUT_LOSS)
        for u in lost:
            self._remove(u, u.strength)
        return ousted

    def _breakout_cell(self, u: Unit, occ: dict[int, int], taken: set[int]) -> int | None:
        """The nearest cell (Chebyshev, within the breakout reach; lower flat index on ties)
        that u's side holds and supplies, free at the start of the phase and not taken by a
        retreating unit."""
        fed = self.today.fed[u.side]
        i, j = divmod(u.flat, self.width)
        for d in range(1, self.world.breakout + 1):
            for ii in range(max(i - d, 0), min(i + d, self.height - 1) + 1):
                for jj in range(max(j - d, 0), min(j + d, self.width - 1) + 1):
                    cell = ii * self.width + jj
                    if (
                        max(abs(ii - i), abs(jj - j)) == d
                        and self.owner_at(cell) == u.side
                        and cell not in occ
                        and cell not in taken
                        and fed.flat[cell]
                    ):
                        return cell
        return None

    def movement(self) -> None:
        """6. Out of contact, attackers close on the nearest ground they may take, defenders on the
        most threatened cells they know of; worn units pull back. One cell per sub-step while
        the unit's day's movement lasts (its speed less the cost of each cell it wishes for,
        the last part-step taken with rules.step_chance); only into free cells its side holds."""
        w, r = self.world, self.world.rules
        cap = self.height + self.width
        to_enemy = [fields.distance((self.owner != s) & w.land, cap) for s in (0, 1)]
        to_take = [fields.distance((self.owner != s) & w.objective[s], cap) for s in (0, 1)]
        known = np.zeros(w.shape, bool)
        for u in self.present():
            if u.side == ATTACKER and u.slot in self.today.detected:
                known.flat[u.flat] = True
        threat = fields.dilate(known, 1) & (self.owner == DEFENDER)
        if self.belief:  # its front cells on the attacker's axis it believes the main one
            front = (self.owner == DEFENDER) & w.land
            front &= fields.dilate((self.owner != DEFENDER) & w.land, 1)
            front &= w.axis_of[ATTACKER].reshape(w.shape) == self.belief
            threat = front if front.any() else threat
        goal = [
            to_take[ATTACKER],
            fields.distance(threat, cap) if threat.any() else to_take[DEFENDER],
        ]
        budget = {u.slot: float(w.speed[u.slot]) for u in self.present()}
        for k in range(1, int(w.move_steps.max(initial=0)) + 1):
            occ = self.occupied()
            wishes = {}
            for u in self.present():
                if w.move_steps[u.slot] < k or budget[u.slot] <= 0:
                    continue
                worn = u.cohesion < r.withdraw_cohesion
                if not worn and self.in_contact(u):
                    continue
                here = u.flat
                best = None
                for n in self.neighbours(here):
                    if self.owner_at(n) != u.side or n in occ or not w.land.flat[n]:
                        continue
                    if worn:
                        better = (
                            to_enemy[u.side].flat[n]
                            > to_enemy[u.side].flat[best if best is not None else here]
                        )
                    else:
                        better = (
                            goal[u.side].flat[n]
                            < goal[u.side].flat[best if best is not None else here]
                        )
                    if better:
                        best = n
                if best is None:
                    continue
                cost = float(w.move_cost.flat[best])
                chance = rules.step_chance(budget[u.slot], cost)
                budget[u.slot] -= cost
                if chance < 1.0 and not self.draw(rng.MOVE, k * w.n_units + u.slot) < chance:
                    continue  # the day ends short of the cell
                wishes[u.slot] = best
            for slot, cell in self._resolve(wishes).items():
                self.units[slot].cell = self.cell_at(cell)

    def recovery(self) -> None:
        """7. Cohesion falls with losses and assaults and recovers on quiet days; units below
        the minimum strength are gone."""
        r = self.world.rules
        for u in self.present():
            lost = self.today.lost.get(u.slot, 0.0)
            before = u.strength + lost
            lost_share = lost / before if before > 0 else 0.0
            assaulted = 1.0 if u.slot in self.today.assaulted else 0.0
            quiet = 0.0 if (assaulted or u.slot in self.today.engaged) else 1.0
            step = rules.cohesion_step(
                u.cohesion, lost_share, assaulted, quiet, u.supply, r.shock, r.assault_fatigue,
                r.recovery,
            )  # fmt: skip
            u.cohesion = float(step)
        for u in self.present():
            if u.strength < r.min_strength:
                self._remove(u, u.strength)

    def record(self) -> None:
        """8. Territory, strengths, losses, front, supply and the day's events."""
        w = self.world
        for i, cell in enumerate(w.place_cell):
            if self.owner.flat[cell] != self.start_owner.flat[cell]:
                self.today.events.append((self.day, "place_captured", i))
        self.events.extend(sorted(self.today.events, key=lambda e: (e[1], e[2])))
        self.datacollector.collect(self)
        if self.day in w.map_days:  # an observed map's day: who holds each cell tonight
            self.held_maps[self.day] = (self.owner == DEFENDER).ravel().astype(np.int64)
        if self.trace:
            self.states.append(self.snapshot())

    def snapshot(self) -> dict[str, np.ndarray]:
        """Full state in slot order, the form both engines are compared in."""
        w = self.world
        n = w.n_units
        pos = np.full(n, -1, np.int64)
        strength = np.where(self.dead, 0.0, w.strength0).astype(np.float64)
        cohesion = np.where(self.dead, 0.0, 1.0)
        supply = np.where(self.dead, 0.0, 1.0)
        for slot, u in self.units.items():
            pos[slot], strength[slot] = u.flat, u.strength
            cohesion[slot], supply[slot] = u.cohesion, u.supply
        return {
            "owner": self.owner.copy(),
            "pos": pos,
            "alive": ~self.dead,
            "arrived": self.arrived.copy(),
            "strength": strength,
            "cohesion": cohesion,
            "supply": supply,
        }


def run_model(
    world: World, replicate: int = 0, trace: bool = False, tick: Callable[[], None] | None = None
) -> SalientModel:
    """Run one replicate to the end and return the model (series in its DataCollector);
    `tick` (progress, interruption) is called after each day."""
    model = SalientModel(world, replicate, trace)
    while model.running:
        model.step()
        if tick is not None:
            tick()
    return model


def run(
    world: World, replicates, trace: bool = False, tick: Callable[[], None] | None = None
) -> RunResult:
    """Run replicates one after another; the same result form as the batch engine."""
    replicates = np.asarray(replicates, np.int64)
    series = {name: np.zeros((len(replicates), world.days)) for name in SERIES}
    events, states = [], []
    held_maps = np.zeros((len(world.map_days), world.owner.size), np.int64)
    for i, k in enumerate(replicates):
        model = run_model(world, int(k), trace, tick)
        for row, day in enumerate(world.map_days):  # a shortened world (warm-up) has fewer
            if int(day) in model.held_maps:
                held_maps[row] += model.held_maps[int(day)]
        frame = model.datacollector.get_model_vars_dataframe()
        for name in SERIES:
            series[name][i] = frame[name].to_numpy()
        events += [(k, d, EVENT_KINDS.index(kind), idx) for d, kind, idx in model.events]
        states.append(model.states)
    stacked = None
    if trace:
        stacked = [
            {key: np.stack([s[day][key] for s in states]) for key in states[0][day]}
            for day in range(world.days)
        ]
    events = np.array(events, np.int64).reshape(-1, 4)
    return RunResult(replicates, series, events, stacked, held_maps, world.map_days)
