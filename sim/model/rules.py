"""The formulas of the rulebook, written once for both engines.

Each works on Python floats and numpy arrays alike, so the reference engine (one agent at a
time) and the batch engine (all replicates at once) evaluate the same expression in the same
order and agree to the bit. docs/model.md explains why each one has the shape it has.
"""

from __future__ import annotations

import numpy as np

from sim.model.fields import moore_sum

# The day, in order: each phase reads the state the previous one left (docs/model.md, §3).
PHASES = (
    "arrivals", "sensing", "drones", "supply", "fires", "assault", "pursuit", "movement",
    "recovery", "record",
)  # fmt: skip


def effectiveness(cohesion, supply):
    """Fighting value of a unit: half its nominal value when broken or out of supply,
    a quarter when both; a fresh, supplied unit fights at full value (1)."""
    return (0.5 + 0.5 * cohesion) * (0.5 + 0.5 * supply)


def return_fire(share, cover, warn):
    """Fire a defending unit returns along one assault: its share, scaled like its protection
    by the cover of its cell and its warning, since attackers cross its prepared fields of fire."""
    return share * (cover * warn)


def warning(bonus: float, intelligence):
    """Multiplier of a side's defence: a defender that sees the blow coming fights better."""
    return 1.0 + bonus * intelligence


def contact_intensity(attacker, defender):
    """How hard the two sides fight where they touch, as a share of a day's full fire: as hard
    as the side pressing harder makes it (each side's `fire_intensity` where the firing unit
    stands: its axis's, or the side's), since the side pressed fires back — raids and shelling
    duels take two."""
    return max(attacker, defender)


def contact_fire(intensity, firepower, strength, eff):
    """Positional fire a unit delivers in a day at the enemy units next to it: the share
    `intensity` (contact_intensity) of its full firepower, which an assault spends whole."""
    return intensity * firepower * strength * eff


def fires_output(fires, strength, eff, intelligence):
    """Indirect-fire casualties a firing unit inflicts in a day, before it is shared out among
    the targets it can see; half of its accuracy depends on intelligence."""
    return fires * strength * eff * (0.5 + 0.5 * intelligence)


def defence(held, around, cover, warn, support: float, ground: float):
    """Defence of a cell: `ground` (mines, drones, outposts: no held cell is free to walk
    into) plus the defence power `held` of the unit on it plus `support` of each neighbouring
    friendly unit's (`around` is the 3×3 sum of `held`), all scaled by cover and warning."""
    return cover * warn * (ground + held + support * (around - held))


def defence_field(held, cover, warn, support: float, ground: float):
    """`defence` of every cell of a map of the holders' defence power."""
    return defence(held, moore_sum(held), cover, warn, support, ground)


def capture_probability(attack, defence, ratio: float):
    """Chance an assault takes a cell: an even chance at force ratio `ratio` (the 3:1 rule of
    thumb by default), rising with the square of the attacker's advantage."""
    a2 = attack * attack
    d = ratio * defence
    return (attack > 0) * (a2 / np.maximum(a2 + d * d, 1e-300))  # no attack: no chance


def step_chance(budget, cost):
    """Chance a unit with `budget` of its day's movement left (in cells of cost 1) enters a
    cell whose movement cost is `cost`: certain when the budget covers it, else budget / cost,
    so a unit crosses slow ground at its expected pace — a 1-cell-a-day unit enters forest of
    cost 2 every other day on average — without carrying part-steps from day to day."""
    return 1.0 if budget >= cost else budget / cost


def main_axis(men, tempo) -> int:
    """The enemy's axis of effort a side that reads the enemy's build-up sends its reserves
    to: the one with the most weight of the blow in preparation — the enemy's men on it times
    its tempo there today (`men[k]`, `tempo[k]` for axes k ≥ 1) —, the first on ties; 0 (none)
    when no axis carries any."""
    best, top = 0, 0.0
    for k in range(1, len(men)):
        if men[k] * tempo[k] > top:
            best, top = k, men[k] * tempo[k]
    return best


def drone_strike(effort, intelligence, strength, exposed):
    """Men a unit of `strength` is expected to lose to the enemy's drone strikes today: the
    enemy's `effort` (men a day at full intelligence), half of whose accuracy depends on its
    intelligence, shared among its targets — the `exposed` men within its drone reach — in
    proportion to their men, as area fire is."""
    return effort * (0.5 + 0.5 * intelligence) * strength / exposed


def drone_throughput(target, exposed, loss: float):
    """A unit's supply target when its deliveries cross `exposed` cells within the enemy's
    drone reach (fields.route_exposure) and drones take the share `loss` of what crosses each:
    target × (1 − loss)^exposed, multiplied out cell by cell (the same bits in both engines)."""
    for _ in range(exposed):
        target = target * (1.0 - loss)
    return target


def supply_step(supply, target, recovery: float, decay: float):
    """Supply moves toward its target level, up by at most `recovery`, down by at most
    `decay` a day: a cut-off unit runs dry over days, not at once."""
    return supply + np.minimum(np.maximum(target - supply, -decay), recovery)


def cohesion_step(cohesion, lost_share, assaulted, quiet, supply, shock, fatigue, recovery):
    """Cohesion falls with the share of men lost today and with each assault (high tempo
    wears units out) and recovers on quiet days — no assault made or suffered — in proportion
    to supply: a unit under only the daily positional fire of a stable front rests (its
    losses still cost it cohesion). (The rules' `shock`, `assault_fatigue` and `recovery`.)"""
    c = cohesion - shock * lost_share - fatigue * assaulted
    c = c + recovery * supply * quiet
    return np.minimum(np.maximum(c, 0.0), 1.0)
