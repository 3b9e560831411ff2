"""The batch engine's compiled phases: one function per rule over arrays with a leading
replicate axis, looping over replicates and slots in machine code (numba).

Each follows the reference engine's procedure for one replicate — same visiting order (slot
order, the neighbour tie order), same arithmetic in the same order — so replicate k comes out
the same, to the bit, as in the reference engine and whatever batch it runs in. Cell maps are
flat (R, H·W); `nbr` is the (H·W, 8) neighbour table in the tie order, -1 off the map.
"""

from __future__ import annotations

import sys

import numpy as np
from numba import njit

from sim.model import rng, rules
from sim.model.fields import (
    NEIGHBOURS,
    ahead,
    dilate_map,
    distance_at,
    flood,
    moore_sum_at,
    reach_map,
    reach_update,
    route_exposure_map,
    row_distance,
    row_distances,
)

ATTACKER, DEFENDER = 0, 1
CAPTURED, TAKEN = 1, 2  # marks of a cell during an assault phase
NEIGHBOUR_BIT = np.array([(dy + 1) * 3 + dx + 1 for dy, dx in NEIGHBOURS])  # in _better


@njit(cache=True, inline="always", error_model="numpy")
def in_contact(owner, objective, nbr, cell, side) -> bool:
    """A unit on `cell` is in contact when a neighbour is enemy ground its side may take."""
    for j in range(8):
        n = nbr[cell, j]
        if n >= 0 and owner[n] != side and objective[side, n]:
            return True
    return False


@njit(cache=True, error_model="numpy")
def arrivals(owner, pos, alive, arrived, side, arrival, day, home, first, count, offset, entries,
             edge_cells, w):  # fmt: skip
    """1. Reinforcements due by `day` enter in slot order, each at `entry_cell`; one that finds
    no cell waits for the next day. Returns who entered."""
    n_rep, n_slot = pos.shape
    entered = np.zeros((n_rep, n_slot), np.bool_)
    taken = np.zeros(owner.shape[1], np.bool_)
    for r in range(n_rep):
        for u in range(n_slot):
            if alive[r, u] and arrived[r, u]:
                taken[pos[r, u]] = True
        for u in range(n_slot):
            if not alive[r, u] or arrived[r, u] or arrival[u] > day:
                continue
            c = entry_cell(owner[r], taken, side[u], home[u], first[u], count[u], offset[u],
                           entries, edge_cells, w)  # fmt: skip
            if c >= 0:
                taken[c] = entered[r, u] = arrived[r, u] = True
                pos[r, u] = c
        taken[:] = False
    return entered


@njit(cache=True, error_model="numpy")
def entry_cell(own, taken, s, home, first, count, offset, entries, edge_cells, w) -> int:
    """Where a due reinforcement of side `s` enters: the first cell of its entry list
    (entries[first : first + count], from position `offset` on, cyclically) that its side holds
    and nobody has taken; else the free held map-edge cell nearest (Chebyshev) its own entry
    cell `home`, the lower flat index on ties; -1 when there is none."""
    for j in range(count):
        c = entries[first + (offset + j) % count]
        if own[c] == s and not taken[c]:
            return c
    best, far = -1, 1 << 62
    hi, hj = divmod(home, w)
    for c in edge_cells:
        if own[c] == s and not taken[c]:
            i, j = divmod(c, w)
            d = max(abs(i - hi), abs(j - hj))
            if d < far:
                best, far = c, d
    return best


_drone_throughput = njit(cache=True, inline="always")(rules.drone_throughput)


@njit(cache=True, error_model="numpy")
def replacements(strength, present, side, strength0, men, exposure, loss, seed, reps, day,
                 deterministic):  # fmt: skip
    """1. Each side's replacements today, `men` (R, 2), refill its units in proportion to what
    they miss (all of it when there are enough), in place: each missing man comes with chance
    min(1, men / missing), less what drones take on the unit's supply route as it was
    yesterday (rules.drone_throughput of `exposure` cells at `loss` each), drawn
    (rng.binomial_at) unless deterministic."""
    n_rep, n_slot = strength.shape
    for r in range(n_rep):
        for s in (ATTACKER, DEFENDER):
            if men[r, s] <= 0:
                continue
            total = 0.0
            for u in range(n_slot):
                if present[r, u] and side[u] == s:
                    total += strength0[u] - strength[r, u]
            if total <= 0:
                continue
            share = min(1.0, men[r, s] / total)
            stream = rng.stream(seed, reps[r], day, rng.REPLACE)
            for u in range(n_slot):
                if present[r, u] and side[u] == s:
                    missing = strength0[u] - strength[r, u]
                    come = _drone_throughput(share, exposure[r, u], loss)
                    strength[r, u] += rng.binomial_at(stream, u, missing, come, deterministic)


@njit(cache=True, inline="always", error_model="numpy")
def _paint(rows, cell, radius, h, w, words):
    """Mark the cells within Chebyshev `radius` of `cell` on a map of row bit masks (`words`
    uint64 per row, bit j % 64 of word j // 64 for column j): one OR per row and word."""
    i, j = divmod(cell, w)
    lo, hi = max(j - radius, 0), min(j + radius, w - 1)
    for k in range(lo // 64, hi // 64 + 1):
        a, b = max(lo, 64 * k) - 64 * k, min(hi, 64 * k + 63) - 64 * k
        bits = (np.uint64(0xFFFFFFFFFFFFFFFF) >> np.uint64(63 - (b - a))) << np.uint64(a)
        for ii in range(max(i - radius, 0), min(i + radius, h - 1) + 1):
            rows[ii * words + k] |= bits


@njit(cache=True, inline="always", error_model="numpy")
def _marked(rows, cell, w, words) -> bool:
    i, j = divmod(cell, w)
    return (rows[i * words + j // 64] >> np.uint64(j % 64)) & np.uint64(1) != 0


@njit(cache=True, error_model="numpy")
def sensing(pos, present, side, sensor, intelligence, seed, reps, day, deterministic, h, w):
    """2. Each side sees the enemy units next to its own, and those within any of its
    units' sensor range with probability = its intelligence today (R, 2). Returns (R, U)
    detected.
    Both reaches are painted as row bit masks: a unit's square is one OR per row."""
    n_rep, n_slot = pos.shape
    words = (w + 63) // 64
    near = np.zeros(h * words, np.uint64)  # within 1 of a unit of the side
    cover = np.zeros(h * words, np.uint64)  # within a unit's sensor range
    detected = np.zeros((n_rep, n_slot), np.bool_)
    for r in range(n_rep):
        stream = rng.stream(seed, reps[r], day, rng.SENSE)
        for s in (ATTACKER, DEFENDER):
            near[:] = 0
            cover[:] = 0
            for u in range(n_slot):
                if present[r, u] and side[u] == s:
                    _paint(near, pos[r, u], 1, h, w, words)
                    _paint(cover, pos[r, u], sensor[u], h, w, words)
            for v in range(n_slot):
                if not present[r, v] or side[v] == s:
                    continue
                c = pos[r, v]
                if _marked(near, c, w, words):
                    detected[r, v] = True
                elif _marked(cover, c, w, words):
                    detected[r, v] = rng.at(stream, v, deterministic) < intelligence[r, s]
    return detected


_main_axis = njit(cache=True, inline="always")(rules.main_axis)


@njit(cache=True, error_model="numpy")
def buildup(belief, pos, present, strength, side, axis_of, tempo, intelligence, seed, reps, day,
            deterministic):  # fmt: skip
    """2. The defender reads the attacker's build-up on its axes with probability = its
    intelligence today (R,) (draw(BUILDUP, 0)): its belief (R,) becomes the attacker's main
    axis (rules.main_axis of the attacker's men on each axis, `axis_of`, and the axes' `tempo`
    today (R, 1 + axes)); unread, the belief of the last read stands."""
    n_rep, n_slot = pos.shape
    men = np.zeros(tempo.shape[1])
    for r in range(n_rep):
        if (
            not rng.at(rng.stream(seed, reps[r], day, rng.BUILDUP), 0, deterministic)
            < intelligence[r]
        ):
            continue
        men[:] = 0.0
        for u in range(n_slot):
            if present[r, u] and side[u] == ATTACKER:
                men[axis_of[pos[r, u]]] += strength[r, u]
        belief[r] = _main_axis(men, tempo[r])


_drone_strike = njit(cache=True, inline="always")(rules.drone_strike)


@njit(cache=True, error_model="numpy")
def drones(
    owner, pos, present, strength, side, reach, effort, intelligence, loss, entered, source, land,
    nbr, h, w, lost, losses, seed, reps, day, deterministic,
):  # fmt: skip
    """2b. Drones over each side's ground (the reference engine's `drones`): the enemy's reach
    is the cells within its drone range (`reach` (2,) cells) of ground the side does not hold.
    Where the enemy spends drone `effort` (R, 2) at its `intelligence` (R, 2), the side's
    units in reach lose rules.drone_strike of it (over their men, added in slot order), drawn
    (DRONE_LOSS) and added to `lost` and `losses`. With deliveries' `loss` per cell of reach,
    returns (R, U)
    the cells of reach on each unit's least exposed supply route from its side's `source`
    (fields.route_exposure_map), and units that `entered` today lose what drones take of
    men coming up that route (the share 1 − rules.drone_throughput(1, cells, loss), drawn
    at counter slots + slot) before the strikes.
    Maps up to 64 columns wide are worked as row bit masks (_exposure_bits), wider ones cell
    by cell."""
    n_rep, n_slot = pos.shape
    cells = h * w
    route = loss > 0
    exposure = np.zeros((n_rep, n_slot), np.int64)
    mask = np.empty(cells, np.bool_)
    near = np.empty(cells, np.bool_)
    crossed = np.empty(cells, np.int64)
    bits = w <= 64
    rows = np.zeros((10, h), np.uint64)  # row bit masks: the defender's ground, the enemy's, …
    held, enemy, own, reached, close, grown, frontier, ground = rows[0], rows[1], rows[2], \
        rows[3], rows[4], rows[5], rows[6], rows[7]  # fmt: skip
    seeds = rows[8:10]
    if bits:
        _row_bits(land, h, w, ground)
        _row_bits(source[0], h, w, seeds[0])
        _row_bits(source[1], h, w, seeds[1])
    full = _columns(w)
    todo = np.empty(n_slot, np.int64)
    for r in range(n_rep):
        stream = rng.stream(seed, reps[r], day, rng.DRONE_LOSS)
        if bits:
            _row_bits(owner[r], h, w, held)
        for s in (ATTACKER, DEFENDER):
            if bits:
                for i in range(h):
                    theirs = held[i] if s == ATTACKER else ~held[i] & full
                    enemy[i], own[i] = theirs, ~theirs & full & ground[i]
                _dilate_bits(enemy, reach[1 - s], h, w, close)
            else:
                for c in range(cells):
                    mask[c] = owner[r, c] != s
                dilate_map(mask, h, w, reach[1 - s], near)
            if route and bits:
                n_todo = 0
                for u in range(n_slot):
                    if present[r, u] and side[u] == s:
                        todo[n_todo] = u
                        n_todo += 1
                _exposure_bits(own, close, seeds[s], pos[r], todo[:n_todo], h, w, exposure[r],
                               reached, grown, frontier)  # fmt: skip
            elif route:
                for c in range(cells):
                    mask[c] = owner[r, c] == s and land[c]
                route_exposure_map(mask, source[s], near, nbr, crossed)
                for u in range(n_slot):
                    if present[r, u] and side[u] == s:
                        exposure[r, u] = max(0, crossed[pos[r, u]])
            for u in range(n_slot):
                if entered[r, u] and present[r, u] and side[u] == s and exposure[r, u] > 0:
                    expected = strength[r, u] * (1.0 - _drone_throughput(1.0, exposure[r, u], loss))
                    m = rng.casualties_at(
                        stream, n_slot + u, strength[r, u], expected, deterministic
                    )
                    strength[r, u] -= m
                    lost[r, u] += m
                    losses[r, s] += m
            if effort[r, 1 - s] <= 0:
                continue
            men = 0.0
            for u in range(n_slot):
                if present[r, u] and side[u] == s and _struck(pos[r, u], bits, close, near, w):
                    men += strength[r, u]
            if men <= 0:
                continue
            strikes, intel = effort[r, 1 - s], intelligence[r, 1 - s]
            for u in range(n_slot):
                if present[r, u] and side[u] == s and _struck(pos[r, u], bits, close, near, w):
                    expected = _drone_strike(strikes, intel, strength[r, u], men)
                    m = rng.casualties_at(stream, u, strength[r, u], expected, deterministic)
                    strength[r, u] -= m
                    lost[r, u] += m
                    losses[r, s] += m
    return exposure


@njit(cache=True, inline="always", error_model="numpy")
def _struck(cell, bits, close, near, w) -> bool:
    if bits:
        i = cell // w
        return (close[i] >> np.uint64(cell - i * w)) & np.uint64(1) != 0
    return near[cell]


@njit(cache=True, error_model="numpy")
def _row_bits(flat, h, w, out):
    """Row bit masks of a flat map up to 64 columns: bit j of row i is cell i·W + j != 0."""
    for i in range(h):
        b = np.uint64(0)
        for j in range(w):
            b |= np.uint64(flat[i * w + j] != 0) << np.uint64(j)
        out[i] = b


@njit(cache=True, inline="always", error_model="numpy")
def _columns(w):
    return np.uint64(0xFFFFFFFFFFFFFFFF) >> np.uint64(64 - w)


@njit(cache=True, error_model="numpy")
def _dilate_bits(rows, d, h, w, out):
    """out = the cells within Chebyshev d of a set cell, on row bit masks (fields.dilate_map
    for maps up to 64 columns)."""
    full = _columns(w)
    wide = np.empty(h, np.uint64)
    for i in range(h):
        x = rows[i]
        for t in range(1, min(d, w - 1) + 1):  # a shift by 64 or more is undefined
            x |= (rows[i] << np.uint64(t)) | (rows[i] >> np.uint64(t))
        wide[i] = x & full
    for i in range(h):
        x = np.uint64(0)
        for ii in range(max(i - d, 0), min(i + d, h - 1) + 1):
            x |= wide[ii]
        out[i] = x


@njit(cache=True, inline="always", error_model="numpy")
def _grow(rows, h, full, out):
    """out = rows and their eight neighbours (row bit masks)."""
    for i in range(h):
        out[i] = (rows[i] | (rows[i] << np.uint64(1)) | (rows[i] >> np.uint64(1))) & full
    above = np.uint64(0)
    for i in range(h):
        here = out[i]
        below = out[i + 1] if i + 1 < h else np.uint64(0)
        out[i] = above | here | below
        above = here


@njit(cache=True, error_model="numpy")
def _exposure_bits(own, close, seeds, pos, units, h, w, exposure, reached, grown, frontier):
    """fields.route_exposure_map on row bit masks, for the cells of `units` only: layer k is
    every cell reachable from a seed crossing k cells of `close`; it floods from the cells
    that entered it through the free ground (own, not close), then the close cells next to it
    start layer k + 1. A unit's exposure is the layer its cell enters (0 if none)."""
    full = _columns(w)
    n_left = len(units)
    for i in range(h):
        frontier[i] = seeds[i] & own[i] & ~close[i]
        reached[i] = frontier[i]
    k = 0
    while True:
        moving = True
        while moving:  # flood the layer through free ground
            _grow(frontier, h, full, grown)
            moving = False
            for i in range(h):
                frontier[i] = grown[i] & own[i] & ~close[i] & ~reached[i]
                reached[i] |= frontier[i]
                moving = moving or frontier[i] != 0
        for q in range(n_left - 1, -1, -1):  # units whose cell this layer reached
            u = units[q]
            i = pos[u] // w
            if (reached[i] >> np.uint64(pos[u] - i * w)) & np.uint64(1):
                exposure[u] = k
                n_left -= 1
                units[q] = units[n_left]
        if n_left == 0:
            return
        _grow(reached, h, full, grown)
        any_ = False
        for i in range(h):
            frontier[i] = grown[i] & own[i] & close[i] & ~reached[i]
            if k == 0:
                frontier[i] |= seeds[i] & own[i] & close[i]
            reached[i] |= frontier[i]
            any_ = any_ or frontier[i] != 0
        if not any_:
            return  # the rest are cut off: no route, exposure 0
        k += 1


@njit(cache=True, error_model="numpy")
def networks(owner, before, source, land, road_cells, drones, nbr, h, w, fed, road_net, watch):
    """3. For every replicate whose ground changed, each side's supply reach (its ground
    connected to its sources, 8-connected) and its open road net (roads it holds with no
    enemy ground within the enemy's drone range, connected to its road sources).

    `before` is the owner map all three were last computed for, or None to compute them
    afresh. Otherwise the reach is updated from the cells that changed since (or recomputed
    when a loss may cut it), and `watch` — for each side and road cell, the number of enemy
    cells within drone range — is updated from the changed cells near roads; the road net
    is re-flooded only when one of those changed."""
    cells = h * w
    mask = np.empty(cells, np.bool_)
    is_open = np.zeros(cells, np.bool_)  # written at road cells only: False elsewhere
    stack = np.empty(cells, np.int64)
    gone = np.zeros(cells, np.bool_)
    changed = np.empty(cells, np.int64)
    near = [_roads_within(road_cells, drones[1 - s], h, w) for s in (ATTACKER, DEFENDER)]
    for r in range(len(owner)):
        now = owner[r]
        n_changed = 0
        if before is not None:
            for c in range(cells):
                if now[c] != before[r, c]:
                    changed[n_changed] = c
                    n_changed += 1
            if n_changed == 0:
                continue
        for s in (ATTACKER, DEFENDER):
            if before is None or not reach_update(
                now, before[r], s, changed[:n_changed], source[s], nbr, fed[s, r], stack, gone
            ):
                for c in range(cells):
                    mask[c] = now[c] == s and land[c]
                reach_map(mask, source[s], nbr, 8, fed[s, r], stack)
            start, roads = near[s]
            enemies = watch[s, r]
            if before is None:
                enemies[:] = 0
                for c in range(cells):
                    if now[c] != s:
                        for q in range(start[c], start[c + 1]):
                            enemies[roads[q]] += 1
            else:
                touched = False
                for c in changed[:n_changed]:  # an owner change turns c to or from enemy
                    step = 1 if now[c] != s else -1
                    for q in range(start[c], start[c + 1]):
                        enemies[roads[q]] += step
                        touched = True
                if not touched:
                    continue
            for k in range(len(road_cells)):
                c = road_cells[k]
                is_open[c] = now[c] == s and enemies[k] == 0
            net = road_net[s, r]
            top = 0
            for c in road_cells:
                net[c] = is_open[c] and source[s, c]
                if net[c]:
                    stack[top] = c
                    top += 1
            flood(is_open, True, nbr, 8, net, stack, top)  # along open roads


@njit(cache=True, error_model="numpy")
def _roads_within(road_cells, d, h, w):
    """For each cell, the road cells (indices into `road_cells`) within Chebyshev distance
    d of it, as (start, roads): cell c's are roads[start[c]:start[c + 1]]."""
    count = np.zeros(h * w + 1, np.int64)
    for pass_ in range(2):
        if pass_ == 1:
            start = np.cumsum(count)
            roads = np.empty(start[-1], np.int64)
            fill = start[:-1].copy()
        for k in range(len(road_cells)):
            i, j = divmod(road_cells[k], w)
            for ii in range(max(i - d, 0), min(i + d, h - 1) + 1):
                for jj in range(max(j - d, 0), min(j + d, w - 1) + 1):
                    if pass_ == 0:
                        count[ii * w + jj + 1] += 1
                    else:
                        roads[fill[ii * w + jj]] = k
                        fill[ii * w + jj] += 1
    return start, roads


_supply_step = njit(cache=True, inline="always")(rules.supply_step)
_drone_throughput = njit(cache=True, inline="always")(rules.drone_throughput)


@njit(cache=True, error_model="numpy")
def supply(pos, present, side, fed, road_net, nbr, level, cut_off, offroad, recovery, decay,
           exposure, drone_loss):  # fmt: skip
    """3. Each present unit's supply moves toward its target (1 beside its side's open road
    net, `offroad` elsewhere on supplied ground, 0 cut off; less `drone_loss` for each of the
    `exposure` cells of its route within the enemy's drone reach), in place; returns the
    units cut off today that were not yesterday (a pocket formed)."""
    n_rep, n_slot = pos.shape
    pocket = np.zeros((n_rep, n_slot), np.bool_)
    for r in range(n_rep):
        for u in range(n_slot):
            if not present[r, u]:
                continue
            s, here = side[u], pos[r, u]
            on_road = road_net[s, r, here]
            for j in range(8):
                n = nbr[here, j]
                on_road = on_road or (n >= 0 and road_net[s, r, n])
            on_fed = fed[s, r, here]
            target = (1.0 if on_road else offroad) if on_fed else 0.0
            target = _drone_throughput(target, exposure[r, u], drone_loss)
            level[r, u] = _supply_step(level[r, u], target, recovery, decay)
            pocket[r, u] = not on_fed and not cut_off[r, u]
            cut_off[r, u] = not on_fed
    return pocket


_effectiveness = njit(cache=True, inline="always")(rules.effectiveness)
_contact_fire = njit(cache=True, inline="always")(rules.contact_fire)
_contact_intensity = njit(cache=True, inline="always")(rules.contact_intensity)
_fires_output = njit(cache=True, inline="always")(rules.fires_output)


@njit(cache=True, error_model="numpy")
def fires(
    owner, pos, present, strength, cohesion, supply, detected, side, firepower, fires_, firers,
    fire_range, area, fire, axis_of, intelligence, steps, nbr, cover, density, w, lost, losses,
    seed, reps, day, deterministic,
):  # fmt: skip
    """4. A day's fire, in `steps` sub-steps, for every replicate, in place. Each sub-step:
    positional fire — every unit's contact_fire at the intensity where it stands
    (the contact intensity of both sides' `fire` today (R, 2, 1 + axes) on their axes
    covering the cell, `axis_of`; row 0 off the axes) shared equally among the enemy
    units next to it, added in slot order of the firing units — plus indirect fire — each
    firer's fires_output shared equally among the detected enemy units within its range, or,
    for an `area` firer, falling on each in proportion to its men (strength / `density`), added
    firer by firer in slot order; each unit's sum divided by its cell's cover is its expected
    loss, drawn in whole men (rng.casualties_at, stream FIRE_LOSS, index sub-step × slots + slot)
    and applied together. Units without men left draw no fire."""
    n_rep, n_slot = pos.shape
    loss = np.zeros(n_slot)
    hit = np.zeros(n_slot, np.bool_)
    occ = np.full(len(cover), -1, np.int64)
    near = np.empty(8, np.int64)
    seen = np.empty(n_slot, np.int64)  # the detected units of a replicate, in slot order
    row = np.empty(n_slot, np.int64)
    col = np.empty(n_slot, np.int64)
    target = np.empty(n_slot, np.int64)
    total = np.zeros(2)
    for r in range(n_rep):
        for u in range(n_slot):
            if present[r, u]:
                occ[pos[r, u]] = u
        own = owner[r]
        stream = rng.stream(seed, reps[r], day, rng.FIRE_LOSS)
        for step in range(steps):
            for u in range(n_slot):  # positional fire
                if not present[r, u]:
                    continue
                eff = _effectiveness(cohesion[r, u], supply[r, u])
                c = pos[r, u]
                intensity = _contact_intensity(fire[r, 0, axis_of[0, c]], fire[r, 1, axis_of[1, c]])
                out = _contact_fire(intensity, firepower[u], strength[r, u], eff) / steps
                if out <= 0:
                    continue
                s, here, n = side[u], pos[r, u], 0
                for j in range(8):
                    c = nbr[here, j]
                    if c < 0 or own[c] == s:  # enemy units stand on enemy ground only
                        continue
                    v = occ[c]
                    if v >= 0 and strength[r, v] > 0:
                        near[n] = v
                        n += 1
                for i in range(n):
                    loss[near[i]] += out / n
                    hit[near[i]] = True
            n_seen = 0
            for u in range(n_slot):
                if present[r, u] and detected[r, u] and strength[r, u] > 0:
                    seen[n_seen] = u
                    row[n_seen], col[n_seen] = divmod(pos[r, u], w)
                    n_seen += 1
            for k in range(len(firers)):  # indirect fire
                f = firers[k]
                if not present[r, f]:
                    continue
                eff = _effectiveness(cohesion[r, f], supply[r, f])
                out = (
                    _fires_output(fires_[f], strength[r, f], eff, intelligence[r, side[f]]) / steps
                )
                fi, fj = divmod(pos[r, f], w)
                n = 0  # its targets: the detected enemy units within its range
                for i in range(n_seen):
                    u = seen[i]
                    if (
                        side[u] != side[f]
                        and max(abs(row[i] - fi), abs(col[i] - fj)) <= fire_range[k]
                    ):
                        target[n] = u
                        n += 1
                for i in range(n):
                    u = target[i]
                    loss[u] += out * (strength[r, u] / density) if area[k] else out / n
                    hit[u] = True
            total[:] = 0.0
            for u in range(n_slot):
                if hit[u]:
                    m = rng.casualties_at(
                        stream, step * n_slot + u, strength[r, u], loss[u] / cover[pos[r, u]],
                        deterministic,
                    )  # fmt: skip
                    strength[r, u] -= m
                    lost[r, u] += m
                    total[side[u]] += m
                    loss[u], hit[u] = 0.0, False
            losses[r, 0] += total[0]
            losses[r, 1] += total[1]
        for u in range(n_slot):
            if present[r, u]:
                occ[pos[r, u]] = -1


_defence = njit(cache=True, inline="always")(rules.defence)
_return_fire = njit(cache=True, inline="always")(rules.return_fire)
_capture_probability = njit(cache=True, inline="always")(rules.capture_probability)


@njit(cache=True, error_model="numpy")
def assault(
    owner, pos, present, strength, cohesion, supply, defence, firepower, attack_, fed, side,
    objective, nbr, window, cover, warn, tempo, axis_of, seed, reps, day, deterministic, r_, h,
    w, lost_, losses,
):  # fmt: skip
    """5. Assaults, fire along them, captures, fall-back, breakout and move-in, for every
    replicate (the reference engine's `assault`, step for step), in place. Each unit's
    defence, fire and attack power (× strength × effectiveness) are taken at the start of the
    phase; a unit assaults with the `tempo` (R, 2, 1 + axes) of its side's axis on its cell,
    `axis_of` (2, H·W; 0: the side's own tempo). `r_` holds the rule coefficients (assault
    cohesion, support, ground defence, breakthrough ratio, retreat shock, breakout reach in
    cells, overrun loss). Moves units,
    flips captured cells and draws the men lost to fire (ASSAULT_LOSS) and in breakouts
    (BREAKOUT_LOSS), adding them to `lost_` and `losses`; returns who was engaged, who
    assaulted, who was overrun with nowhere to go (lost, to be removed) and who advanced into
    a captured cell."""
    n_rep, n_slot = pos.shape
    cells = len(cover)
    assault_cohesion, support, ground, ratio, shock = r_[0], r_[1], r_[2], r_[3], r_[4]
    reach, overrun = int(r_[5]), r_[6]
    loss = np.zeros(n_slot)
    broke = np.zeros(n_slot, np.bool_)
    fire = np.empty(n_slot)
    strike = np.empty(n_slot)
    engaged = np.zeros((n_rep, n_slot), np.bool_)
    assaulted = np.zeros((n_rep, n_slot), np.bool_)
    lost = np.zeros((n_rep, n_slot), np.bool_)
    advanced = np.zeros((n_rep, n_slot), np.bool_)
    occ = np.full(cells, -1, np.int64)
    held = np.zeros((2, cells))
    attack = np.zeros(cells)
    mark = np.zeros(cells, np.int8)  # CAPTURED today, or TAKEN by a unit falling back
    fights = np.zeros(n_slot, np.int64)
    incoming = np.zeros(n_slot)
    a_slot = np.empty(n_slot, np.int64)
    a_cell = np.empty(n_slot, np.int64)
    a_def = np.empty(n_slot)
    falls = np.zeros(n_slot, np.bool_)
    ousted = np.zeros(n_slot, np.bool_)
    pending = np.zeros(n_slot, np.bool_)
    wish = np.full(n_slot, -1, np.int64)
    start = np.empty(n_slot, np.int64)  # cells at the start of the phase
    for r in range(n_rep):
        own = owner[r]
        assaults = rng.stream(seed, reps[r], day, rng.ASSAULT)
        captures = rng.stream(seed, reps[r], day, rng.CAPTURE)
        for u in range(n_slot):
            if present[r, u]:
                eff = _effectiveness(cohesion[r, u], supply[r, u])
                fire[u] = firepower[u] * strength[r, u] * eff
                strike[u] = attack_[u] * strength[r, u] * eff
                start[u] = pos[r, u]
                occ[start[u]] = u
                held[side[u], start[u]] = strength[r, u] * eff * defence[u]
        # Who assaults, and where: the weakest takeable neighbour (first in the tie order).
        n_a = 0
        for u in range(n_slot):
            if not present[r, u] or cohesion[r, u] < assault_cohesion:
                continue
            s, here = side[u], pos[r, u]
            if not in_contact(own, objective, nbr, here, s):
                continue
            if not rng.at(assaults, u, deterministic) < tempo[r, s, axis_of[s, here]]:
                continue
            best, best_def = -1, np.inf
            for j in range(8):
                n = nbr[here, j]
                if n < 0 or own[n] == s or not objective[s, n]:
                    continue
                around = moore_sum_at(held[1 - s], n, window)
                d = _defence(held[1 - s, n], around, cover[n], warn[r, 1 - s], support, ground)
                if d < best_def:
                    best, best_def = n, d
            a_slot[n_a], a_cell[n_a], a_def[n_a] = u, best, best_def
            assaulted[r, u] = True
            n_a += 1
        # Fire along each assault: each unit's fire shared over its engagements.
        for i in range(n_a):
            v = occ[a_cell[i]]
            if v >= 0:
                fights[v] += 1
                fights[a_slot[i]] += 1
        for i in range(n_a):
            v = occ[a_cell[i]]
            if v >= 0:
                u = a_slot[i]
                incoming[v] += fire[u] / fights[u]
        for u in range(n_slot):
            if fights[u] > 0:
                engaged[r, u] = True
                loss[u] = incoming[u] / (cover[pos[r, u]] * warn[r, side[u]])
        for i in range(n_a):
            v = occ[a_cell[i]]
            if v >= 0:
                u = a_slot[i]
                share = fire[v] / fights[v]
                back = _return_fire(share, cover[a_cell[i]], warn[r, 1 - side[u]])
                loss[u] = loss[u] + back
        # Capture chances from the pre-combat snapshot; then the captured cells change hands.
        for i in range(n_a):
            attack[a_cell[i]] += strike[a_slot[i]]
        for i in range(n_a):
            c = a_cell[i]
            p = _capture_probability(attack[c], a_def[i], ratio)
            falls[i] = rng.at(captures, c, deterministic) < p
            if falls[i] and mark[c] != CAPTURED:
                mark[c] = CAPTURED
                own[c] = 1 - own[c]
                v = occ[c]
                if v >= 0:
                    ousted[v] = pending[v] = True
        # Holders of captured cells fall back in rounds: each to its first free, held,
        # supplied neighbour, the lower slot first; one that loses a cell tries again.
        for _ in range(8):
            wishes = 0
            for u in range(n_slot):
                if not pending[u]:
                    continue
                wish[u] = -1
                for j in range(8):
                    n = nbr[pos[r, u], j]
                    if n < 0 or own[n] != side[u] or occ[n] >= 0 or mark[n] == TAKEN:
                        continue
                    if fed[side[u], r, n]:
                        wish[u] = n
                        break
                if wish[u] < 0:
                    pending[u] = False
                else:
                    wishes += 1
            if wishes == 0:
                break
            for u in range(n_slot):
                if pending[u] and mark[wish[u]] != TAKEN:  # not won by a lower slot
                    mark[wish[u]] = TAKEN
                    pos[r, u] = wish[u]
                    cohesion[r, u] = max(0.0, cohesion[r, u] - shock)
                    pending[u] = False
        # Those left on a captured cell break out, lower slot first, to the nearest free,
        # held, supplied cell within `reach`; one with none is lost.
        for u in range(n_slot):
            if ousted[u] and mark[pos[r, u]] == CAPTURED:
                c = breakout_cell(own, occ, mark, fed[side[u], r], side[u], pos[r, u], reach, h, w)
                if c < 0:
                    lost[r, u] = True
                else:
                    mark[c] = TAKEN
                    pos[r, u] = c
                    cohesion[r, u] = max(0.0, cohesion[r, u] - shock)
                    broke[u] = True
        # The first assailant of each captured cell that still holds its own cell moves in.
        for i in range(n_a):
            u, c = a_slot[i], a_cell[i]
            if falls[i] and not ousted[u] and mark[c] == CAPTURED:
                mark[c] = 0
                pos[r, u] = c
                advanced[r, u] = True
        # The men lost to fire, then in breakouts, drawn and applied in slot order.
        for phase in (rng.ASSAULT_LOSS, rng.BREAKOUT_LOSS):
            stream = rng.stream(seed, reps[r], day, phase)
            total = np.zeros(2)
            for u in range(n_slot):
                if phase == rng.ASSAULT_LOSS and engaged[r, u]:
                    expected = loss[u]
                elif phase == rng.BREAKOUT_LOSS and broke[u]:
                    expected = strength[r, u] * overrun
                else:
                    continue
                m = rng.casualties_at(stream, u, strength[r, u], expected, deterministic)
                strength[r, u] -= m
                lost_[r, u] += m
                total[side[u]] += m
            losses[r, 0] += total[0]
            losses[r, 1] += total[1]
        # Clear this replicate's scratch where it was written.
        for i in range(n_a):
            attack[a_cell[i]], mark[a_cell[i]], falls[i] = 0.0, 0, False
        for u in range(n_slot):
            if present[r, u]:
                occ[start[u]], held[side[u], start[u]] = -1, 0.0
            if ousted[u]:
                mark[pos[r, u]], ousted[u] = 0, False  # where it fell back to (TAKEN)
            fights[u], incoming[u], loss[u], broke[u] = 0, 0.0, 0.0, False
    return engaged, assaulted, lost, advanced


@njit(cache=True, error_model="numpy")
def breakout_cell(own, occ, mark, fed, s, here, reach, h, w) -> int:
    """Where a unit of side `s` overrun on `here` breaks out to: the nearest cell (Chebyshev,
    at most `reach`; the lower flat index on ties) that its side holds and supplies, that was
    free at the start of the phase and that no retreating unit has taken; -1 if none."""
    i, j = divmod(here, w)
    for d in range(1, reach + 1):
        for ii in range(max(i - d, 0), min(i + d, h - 1) + 1):
            for jj in range(max(j - d, 0), min(j + d, w - 1) + 1):
                if max(abs(ii - i), abs(jj - j)) != d:
                    continue
                c = ii * w + jj
                if own[c] == s and occ[c] < 0 and mark[c] != TAKEN and fed[c]:
                    return c
    return -1


_step_chance = njit(cache=True, inline="always")(rules.step_chance)


@njit(cache=True, error_model="numpy")
def pursuit(
    owner, pos, present, strength, cohesion, supply, defence, attack_, advanced, came_from,
    side, speed, move_cost, objective, window, cover, warn, r_, seed, reps, day, deterministic,
    h, w,
):  # fmt: skip
    """5b. Units that advanced into a captured cell today (from `came_from`) press on, in slot
    order, one cell at a time while their day's movement lasts (speed less the cost of the
    cells entered, rules.step_chance) (the reference engine's `pursuit`), in place:
    into the least defended of the three cells ahead (fields.ahead) that they may take and no
    unit stands on — ground defence plus the support of the enemy units around it, their
    power (`held`) as at the start of the phase — which falls if draw(PURSUIT, step × slots +
    slot) < the capture chance of the unit's attack; the first cell that holds stops it.
    `r_` = (assault cohesion, support, ground defence, ratio)."""
    n_rep, n_slot = pos.shape
    assault_cohesion, support, ground, ratio = r_[0], r_[1], r_[2], r_[3]
    occ = np.full(len(cover), -1, np.int64)
    held = np.zeros((2, len(cover)))
    for r in range(n_rep):
        if not advanced[r].any():
            continue
        own = owner[r]
        stream = rng.stream(seed, reps[r], day, rng.PURSUIT)
        for u in range(n_slot):
            if present[r, u]:
                occ[pos[r, u]] = u
                eff = _effectiveness(cohesion[r, u], supply[r, u])
                held[side[u], pos[r, u]] = strength[r, u] * eff * defence[u]
        for u in range(n_slot):
            if not advanced[r, u] or cohesion[r, u] < assault_cohesion:
                continue
            s, last = side[u], came_from[r, u]
            budget = speed[u] - move_cost[pos[r, u]]
            k = 0
            while budget > 0:
                k += 1
                here = pos[r, u]
                best, best_def = -1, np.inf
                for n in ahead(last, here, h, w):
                    if n < 0 or occ[n] >= 0 or own[n] == s or not objective[s, n]:
                        continue
                    around = moore_sum_at(held[1 - s], n, window)
                    d = _defence(0.0, around, cover[n], warn[r, 1 - s], support, ground)
                    if d < best_def:
                        best, best_def = n, d
                if best < 0:
                    break
                strike = attack_[u] * strength[r, u] * _effectiveness(cohesion[r, u], supply[r, u])
                p = _capture_probability(strike, best_def, ratio)
                p = p * _step_chance(budget, move_cost[best])
                if not rng.at(stream, k * n_slot + u, deterministic) < p:
                    break
                budget -= move_cost[best]
                own[best] = s
                held[s, best], held[s, here] = held[s, here], 0.0
                occ[best], occ[here] = u, -1
                pos[r, u], last = best, here
        for u in range(n_slot):  # clear this replicate's scratch
            if present[r, u]:
                occ[pos[r, u]] = -1
                held[side[u], pos[r, u]] = 0.0


@njit(cache=True, error_model="numpy")
def _ground_rows(f, owner, objective, land, rows, w, cap, mask, out):
    """Rows of field f, one of those that depend on the ground alone: 0/1 the distance to
    ground the attacker/defender may take, 2/3 to the other side's ground (land)."""
    s = f % 2
    for i in rows:
        for c in range(i * w, (i + 1) * w):
            mask[c] = owner[c] != s and land[c] and (f >= 2 or objective[s, c])
        row_distance(mask, i, w, cap, out)


@njit(cache=True, error_model="numpy")
def _threat(owner, pos, present, detected, side, belief, axis_of, land, nbr, h, w, mask, out):
    """The defender's goal when it knows where the attack comes: distance to its front cells
    on the attacker's axis it believes the main one (`belief` > 0), else to its cells next to
    a detected attacker. Returns False (and builds nothing) when there are none."""
    mask[:] = False
    threat = False
    if belief > 0:
        for c in range(h * w):
            if owner[c] == DEFENDER and land[c] and axis_of[c] == belief:
                for j in range(8):
                    n = nbr[c, j]
                    if n >= 0 and owner[n] != DEFENDER and land[n]:
                        mask[c] = threat = True
                        break
        if threat:
            row_distances(mask, h, w, h + w, out)
            return True
    for u in range(len(side)):
        if present[u] and detected[u] and side[u] == ATTACKER:
            here = pos[u]
            if owner[here] == DEFENDER:
                mask[here] = threat = True
            for j in range(8):
                n = nbr[here, j]
                if n >= 0 and owner[n] == DEFENDER:
                    mask[n] = threat = True
    if threat:
        row_distances(mask, h, w, h + w, out)
    return threat


@njit(cache=True, inline="always", error_model="numpy")
def _better(along, here, i, candidates, h, w, cap, worn):
    """Bits j of the candidate neighbours one step nearer the goal than `here` (worn: one
    step farther from the enemy) on a field of row distances. Distances change by at most 1
    from cell to cell, so these are the neighbours within d - 1 of the goal (worn: not within
    d), and a neighbour is within t when a row within t of it is, at its column: one scan of
    the three columns around `here` answers all eight."""
    d = distance_at(along, here, i, h, w, cap)
    t = d if worn else d - 1
    j = here - i * w
    within = 0  # bit (di + 1) * 3 + (dj + 1): the cell at (i + di, j + dj) is within t
    for row in range(max(i - t - 1, 0), min(i + t + 1, h - 1) + 1):
        lo, hi = max(row - i - t, -1), min(row - i + t, 1)
        for dj in range(max(-j, -1), min(w - 1 - j, 1) + 1):
            if along[row * w + j + dj] <= t:
                for di in range(lo, hi + 1):
                    within |= 1 << ((di + 1) * 3 + dj + 1)
    bits = 0
    for k in range(8):
        if candidates & (1 << k):
            inside = (within >> NEIGHBOUR_BIT[k]) & 1 == 1
            if inside != worn:
                bits |= 1 << k
    return d, bits


@njit(cache=True, error_model="numpy")
def movement(
    owner, pos, present, cohesion, detected, side, speed, move_steps, move_cost, objective, land,
    nbr, h, w, worn_below, ground, built, seen, aims, seed, reps, day, deterministic, belief,
    axis_of,
):  # fmt: skip
    """6. Units out of contact (and worn ones anywhere) step to the free held neighbour
    nearest their goal (worn: farthest from the enemy), one cell per sub-step while their
    day's movement lasts (speed less the cost of each cell wished for; the last, partial step
    taken with rules.step_chance); two wishes for one cell go to the lower slot: the first
    free one, in the tie order, of the neighbours one step nearer (_better).

    Distances are read from row distances (fields.distance_at) only where a unit weighs a
    cell. The four fields that depend on the ground alone (_ground_rows) are kept from day
    to day per replicate in `ground` (4, R, H·W), `built` (4, R) saying which exist, and
    brought up to date row by row where the owner map differs from `seen` (R, H·W); a field
    is built in full the first time a unit needs it. What a unit found on them is kept too,
    in `aims` (R, U, 4): its cell, the field, the bits of its better neighbours and the reach
    (d + 2) beyond which no change of ground can alter them; it holds until the unit moves or
    the ground changes within that reach (a unit stuck behind others asks no more)."""
    n_rep, n_slot = pos.shape
    cells = h * w
    cap = h + w
    occ = np.full(cells, -1, np.int64)
    claim = np.full(cells, -1, np.int64)
    threat = np.empty(cells, np.int32)  # the defender's goal near known attackers
    mask = np.empty(cells, np.bool_)
    changed = np.empty(cells, np.int64)
    rows = np.empty(h, np.int64)
    every_row = np.arange(h)
    wish_slot = np.empty(n_slot, np.int64)
    wish_cell = np.empty(n_slot, np.int64)
    idle = np.zeros(n_slot, np.bool_)  # wished for nothing at its last look this day
    budget = np.empty(n_slot)  # what is left of each unit's day's movement
    moved_at = np.full(cells, -1, np.int64)  # the sub-step whose moves last changed the cell
    goal = np.zeros(2, np.bool_)  # whether each side has any ground left to take
    sides_with_goals = objective[0].any() + objective[1].any()
    top = 0
    for u in range(n_slot):
        top = max(top, move_steps[u])
    stamp = 0
    for r in range(n_rep):
        own = owner[r]
        n_changed = n_rows = 0
        for c in range(cells):
            if own[c] != seen[r, c]:
                changed[n_changed] = c
                n_changed += 1
                if n_rows == 0 or rows[n_rows - 1] != c // w:
                    rows[n_rows] = c // w
                    n_rows += 1
        if n_changed:
            for f in range(4):
                if built[f, r]:
                    _ground_rows(f, own, objective, land, rows[:n_rows], w, cap, mask, ground[f, r])
            seen[r] = own
            for u in range(n_slot):  # forget what changed ground may have altered
                if aims[r, u, 0] >= 0:
                    i, j = divmod(aims[r, u, 0], w)
                    for k in range(n_changed):
                        ci, cj = divmod(changed[k], w)
                        if max(abs(ci - i), abs(cj - j)) <= aims[r, u, 3]:
                            aims[r, u, 0] = -1
                            break
        goal[:] = False
        for c in range(cells):
            if objective[1 - own[c], c] and not goal[1 - own[c]]:
                goal[1 - own[c]] = True
                if goal[0] + goal[1] == sides_with_goals:
                    break
        knows = 0  # whether the defender's goal is the threat field: 0 not yet known, 1, 2 no
        stream = rng.stream(seed, reps[r], day, rng.MOVE)
        for u in range(n_slot):
            idle[u] = False
            budget[u] = speed[u]
            if present[r, u]:
                occ[pos[r, u]] = u
        for k in range(1, top + 1):
            wishes = 0
            for u in range(n_slot):
                if not present[r, u] or move_steps[u] < k or budget[u] <= 0:
                    continue
                s, here = side[u], pos[r, u]
                if idle[u]:  # nothing it weighs has changed since: it would wish for nothing
                    still = True
                    for j in range(8):
                        n = nbr[here, j]
                        if n >= 0 and moved_at[n] == stamp:
                            still = False
                            break
                    if still:
                        continue
                idle[u] = True
                worn = cohesion[r, u] < worn_below
                free = 0  # bit j: neighbour j is held by the unit's side and empty
                ground_ = 0  # bit j: neighbour j is on the map and land
                contact = False
                for j in range(8):
                    n = nbr[here, j]
                    if n < 0:
                        continue
                    if land[n]:
                        ground_ |= 1 << j
                    if own[n] != s:
                        contact = contact or objective[s, n]
                    elif occ[n] < 0 and land[n]:
                        free |= 1 << j
                if free == 0 or (contact and not worn):
                    continue
                f = 2 + s if worn else s
                if f == DEFENDER and knows == 0:
                    found = _threat(own, pos[r], present[r], detected[r], side, belief[r],
                                    axis_of, land, nbr, h, w, mask, threat)  # fmt: skip
                    knows = 1 if found else 2
                if f == DEFENDER and knows == 1:  # changes daily: not kept
                    _, better = _better(threat, here, here // w, free, h, w, cap, False)
                elif f < 2 and not goal[s]:
                    continue  # nothing left to take: no step brings it nearer
                elif aims[r, u, 0] == here and aims[r, u, 1] == f:
                    better = aims[r, u, 2]
                else:
                    if not built[f, r]:
                        _ground_rows(f, own, objective, land, every_row, w, cap, mask, ground[f, r])
                        built[f, r] = True
                    d, better = _better(ground[f, r], here, here // w, ground_, h, w, cap, worn)
                    aims[r, u, 0], aims[r, u, 1], aims[r, u, 2], aims[r, u, 3] = (
                        here,
                        f,
                        better,
                        d + 2,
                    )
                better &= free
                if better:
                    j = 0
                    while not better & (1 << j):
                        j += 1
                    c = nbr[here, j]
                    chance = _step_chance(budget[u], move_cost[c])
                    budget[u] -= move_cost[c]
                    if chance < 1.0 and not rng.at(stream, k * n_slot + u, deterministic) < chance:
                        continue  # the day ends short of the cell
                    idle[u] = False
                    wish_slot[wishes], wish_cell[wishes] = u, c
                    wishes += 1
            stamp += 1
            for i in range(wishes):  # in slot order: the first wish for a cell wins it
                c = wish_cell[i]
                if claim[c] != stamp:
                    claim[c] = stamp
                    u = wish_slot[i]
                    occ[pos[r, u]] = -1
                    moved_at[pos[r, u]] = moved_at[c] = stamp
                    occ[c] = u
                    pos[r, u] = c
        for u in range(n_slot):
            if present[r, u]:
                occ[pos[r, u]] = -1


_cohesion_step = njit(cache=True, inline="always")(rules.cohesion_step)


@njit(cache=True, error_model="numpy")
def recovery(cohesion, strength, lost, assaulted, engaged, level, present, shock, fatigue, rate):
    """7. Each present unit's cohesion after today's losses and assaults (rules.cohesion_step),
    in place."""
    n_rep, n_slot = cohesion.shape
    for r in range(n_rep):
        for u in range(n_slot):
            if present[r, u]:
                before = strength[r, u] + lost[r, u]
                share = lost[r, u] / before if before > 0 else 0.0
                hit = 1.0 if assaulted[r, u] else 0.0
                quiet = 0.0 if assaulted[r, u] or engaged[r, u] else 1.0
                cohesion[r, u] = _cohesion_step(
                    cohesion[r, u], share, hit, quiet, level[r, u], shock, fatigue, rate
                )


@njit(cache=True, error_model="numpy")
def ground(owner, counted, territory, land, h, w, held, front):
    """8. Each replicate's count of territory cells the defender holds, `held`, and its front
    length (fields.front_map), `front`, in place: brought from the owner map they were counted
    on, `counted` (R, H·W), to today's by the cells that changed hands (a day changes few)."""
    cells = h * w
    changed = np.empty(cells, np.int64)
    for r in range(owner.shape[0]):
        now, before = owner[r], counted[r]
        n = 0
        for c in range(cells):
            if now[c] != before[c]:
                changed[n] = c
                n += 1
        for k in range(n):
            c = changed[k]
            if territory[c]:
                held[r] += 1 if now[c] == DEFENDER else -1
            if not land[c]:
                continue
            i, j = divmod(c, w)
            for e in range(4):  # the cell's four sides, each counted once
                if e == 0 and j + 1 < w:
                    m = c + 1
                elif e == 1 and i + 1 < h:
                    m = c + w
                elif e == 2 and j > 0:
                    m = c - 1
                elif e == 3 and i > 0:
                    m = c - w
                else:
                    continue
                if land[m] and (now[m] == before[m] or c < m):
                    front[r] += int(now[c] != now[m]) - int(before[c] != before[m])
        for k in range(n):
            before[changed[k]] = now[changed[k]]


@njit(cache=True, error_model="numpy")
def side_sums(values, which, side):
    """(R, 2): each side's total of `values` (R, U) over the slots in `which`, added one slot
    after another in slot order, as the reference engine adds them."""
    n_rep, n_slot = values.shape
    out = np.zeros((n_rep, 2))
    for r in range(n_rep):
        for u in range(n_slot):
            if which[r, u]:
                out[r, side[u]] += values[r, u]
    return out


def unused(world) -> set[str]:
    """The compiled functions here that a batch run of `world` never calls: the phases of the
    rules it leaves off, with what only they call."""
    out = set()
    if not world.rules.pursuit:
        out |= {"pursuit", "ahead"}
    if not world.drone_effort.any() and world.drone_loss == 0:
        out |= {"drones", "_row_bits", "_dilate_bits", "_exposure_bits", "dilate_map"}
        out |= {"route_exposure_map"}
    if not world.axis_names[ATTACKER]:  # no attacker axes: no build-up to read
        out.add("buildup")
    return out


def on_disk(world=None) -> bool:
    """Whether numba holds machine code on disk, for this source, for every compiled function
    the batch engine calls from Python (these kernels and fields.front_map) — for a run of
    `world`, those it calls (`unused`): if not, its first run compiles them. What they call
    (the other fields, the draws) is compiled into them, and what only the reference engine
    calls does not count. Reads numba's cache index, a private API: when it cannot tell, says
    so."""
    from numba.core.registry import CPUDispatcher

    from sim.model import fields

    skip = set() if world is None else unused(world)
    entry = [
        f
        for name, f in vars(sys.modules[__name__]).items()
        if isinstance(f, CPUDispatcher) and name not in skip
    ]
    try:
        return all(
            f._cache._cache_file._load_index()
            for f in (*entry, fields.front_map)
            if f.__module__ in (__name__, fields.__name__)
            and f.targetoptions.get("inline") != "always"  # compiled into their callers
        )
    except (AttributeError, OSError):
        return True
