"""Cell-level fields both engines share: neighbour sums, dilation, distance, supply reach.

Each field is written once, as a compiled (numba) primitive over one map stored flat (cell
(i, j) at i·W + j): `dilate_map`, `row_distances` + `distance_at`, `reach_map` and
`reach_update`, `moore_sum_at`, `front_map`. The batch engine's compiled phases call them one
replicate at a time; the functions named without `_map` take arrays shaped (..., H, W), treat
the leading axes as independent maps and call the same primitives for each, which is how the
reference engine and the tests use them. Both engines get the same numbers for the same map,
to the bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Neighbour order for every tie rule: orthogonal first (N, S, W, E), then diagonals.
NEIGHBOURS: tuple[tuple[int, int], ...] = (
    (-1, 0),
    (1, 0),
    (0, -1),
    (0, 1),
    (-1, -1),
    (-1, 1),
    (1, -1),
    (1, 1),
)


def moore_sum(x: np.ndarray) -> np.ndarray:
    """Sum over each cell's 3×3 neighbourhood (itself included), zero outside the map.
    Terms are added in a fixed order (rows of the window top to bottom, each left to right),
    so the result is identical, to the bit, for one map or any stack of maps."""
    if x.dtype == bool:
        x = x.astype(np.int64)  # a count, not a logical OR
    out = np.zeros_like(x)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            _add_shifted(out, x, dy, dx)
    return out


def window_table(shape: tuple[int, int]) -> np.ndarray:
    """(H·W, 9) flat index of each cell's 3×3 window in moore_sum's order, -1 off the map."""
    h, w = shape
    r, c = np.divmod(np.arange(h * w), w)
    out = np.full((h * w, 9), -1, np.int64)
    for k, (dy, dx) in enumerate((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)):
        rr, cc = r + dy, c + dx
        ok = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
        out[ok, k] = rr[ok] * w + cc[ok]
    return out


@njit(cache=True, error_model="numpy")
def moore_sum_at(flat, cell, table):
    """moore_sum of a map stored flat, at one cell only (`table` = window_table): the same
    nine terms in the same order as moore_sum, so the same bits."""
    out = 0.0
    for k in range(9):
        i = table[cell, k]
        out += flat[i] if i >= 0 else 0.0
    return out


@njit(cache=True, inline="always", error_model="numpy")
def _flat(i, j, h, w):
    return i * w + j if 0 <= i < h and 0 <= j < w else -1


@njit(cache=True, error_model="numpy")
def ahead(came_from, here, h, w):
    """The three cells ahead of a unit that stepped from `came_from` to the neighbouring
    `here`: straight on, then the two beside it (lower flat index first); -1 off the map."""
    pi, pj = divmod(came_from, w)
    i, j = divmod(here, w)
    dy, dx = (i > pi) - (i < pi), (j > pj) - (j < pj)
    if dy != 0 and dx != 0:
        a, b = (i, j + dx), (i + dy, j)
    else:  # the two cells beside the straight one, across the direction of the step
        a, b = (i + dy - abs(dx), j + dx - abs(dy)), (i + dy + abs(dx), j + dx + abs(dy))
    if a > b:
        a, b = b, a
    return _flat(i + dy, j + dx, h, w), _flat(a[0], a[1], h, w), _flat(b[0], b[1], h, w)


def _window(n: int, d: int) -> tuple[slice, slice]:
    """Target and source slices along one axis so that target[i] = source[i + d]."""
    if d >= 0:
        return slice(0, n - d), slice(d, n)
    return slice(-d, n), slice(0, n + d)


def _add_shifted(out: np.ndarray, x: np.ndarray, dy: int, dx: int) -> None:
    h, w = x.shape[-2:]
    (ty, sy), (tx, sx) = _window(h, dy), _window(w, dx)
    out[..., ty, tx] += x[..., sy, sx]


def dilate(mask: np.ndarray, r: int) -> np.ndarray:
    """Cells within Chebyshev distance r of a True cell (r = 0: the mask itself)."""
    maps = _flat_maps(mask.astype(bool))
    out = np.empty_like(maps)
    for k in range(len(maps)):
        dilate_map(maps[k], mask.shape[-2], mask.shape[-1], int(r), out[k])
    return out.reshape(mask.shape)


def route_exposure(mask: np.ndarray, seeds: np.ndarray, exposed: np.ndarray) -> np.ndarray:
    """For each cell of `mask` 8-connected to a seed through `mask`: the fewest `exposed`
    cells on any such path from a seed, both ends counted (route_exposure_map); -1 elsewhere."""
    h, w = mask.shape
    out = np.empty(h * w, np.int64)
    route_exposure_map(mask.ravel(), seeds.ravel(), exposed.ravel(), neighbour_table((h, w)), out)
    return out.reshape(h, w)


def distance(mask: np.ndarray, cap: int) -> np.ndarray:
    """Chebyshev distance (cells) from each cell to the nearest True cell, at most `cap`
    (also where a map has no True cell at all)."""
    maps = _flat_maps(mask.astype(bool))
    out = np.empty(maps.shape, np.int32)
    for k in range(len(maps)):
        distance_map(maps[k], mask.shape[-2], mask.shape[-1], int(cap), out[k])
    return out.reshape(mask.shape)


def reach(mask: np.ndarray, seeds: np.ndarray, diagonal: bool = False) -> np.ndarray:
    """Cells of `mask` connected through `mask` to a seed cell (4-connected, or 8 with
    `diagonal`): the supply network's reach."""
    maps = _flat_maps(mask.astype(bool))
    seeds = np.broadcast_to(seeds.astype(bool), mask.shape).reshape(maps.shape)
    nbr = neighbour_table(mask.shape[-2:])
    out = np.empty_like(maps)
    stack = np.empty(maps.shape[-1], np.int64)
    for k in range(len(maps)):
        reach_map(maps[k], seeds[k], nbr, 8 if diagonal else 4, out[k], stack)
    return out.reshape(mask.shape)


def neighbour_table(shape: tuple[int, int]) -> np.ndarray:
    """(H·W, 8) flat index of each cell's neighbours in the tie order, -1 off the map."""
    h, w = shape
    r, c = np.divmod(np.arange(h * w), w)
    out = np.full((h * w, 8), -1, np.int64)
    for k, (dy, dx) in enumerate(NEIGHBOURS):
        rr, cc = r + dy, c + dx
        ok = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
        out[ok, k] = rr[ok] * w + cc[ok]
    return out


def _flat_maps(x: np.ndarray) -> np.ndarray:
    """(..., H, W) → (N, H·W), C-contiguous: each map as one flat row."""
    return np.ascontiguousarray(x).reshape(-1, x.shape[-2] * x.shape[-1])


# ---- compiled per-map primitives (a map stored flat: cell (i, j) at i·W + j) -------------
# The batch engine calls these inside its compiled phases, one replicate's map at a time;
# the functions above call them for the reference engine: one implementation for both.


@njit(cache=True, error_model="numpy")
def dilate_map(mask, h, w, r, out):
    """out = cells within Chebyshev distance r of a True cell of `mask`: a (2r+1)-wide
    window along rows, then along columns, each as two sweeps tracking the nearest True."""
    if r <= 0:
        out[:] = mask
        return
    rows = np.empty(h * w, np.bool_)
    for i in range(h):
        _window_line(mask, rows, i * w, 1, w, r)
    for j in range(w):
        _window_line(rows, out, j, w, h, r)


@njit(cache=True, inline="always", error_model="numpy")
def _window_line(src, dst, start, step, n, r):
    """dst[k] = any(src[k - r .. k + r]) along one line of n cells."""
    last = -(r + 1)
    for k in range(n):
        if src[start + k * step]:
            last = k
        dst[start + k * step] = k - last <= r
    last = n + r
    for k in range(n - 1, -1, -1):
        if src[start + k * step]:
            last = k
        if last - k <= r:
            dst[start + k * step] = True


@njit(cache=True, error_model="numpy")
def distance_map(mask, h, w, cap, out):
    """out = min(Chebyshev distance to the nearest True cell, cap), for every cell."""
    along = np.empty(h * w, np.int32)
    row_distances(mask, h, w, cap, along)
    for c in range(h * w):
        out[c] = distance_at(along, c, c // w, h, w, cap)


# Chebyshev distance is separable: the distance from (i, j) to the mask is the least, over
# rows i', of max(|i - i'|, distance along row i' from column j to its nearest True cell).
# Row distances cost two sweeps per row; a question at one cell then reads rows outward from
# its own and stops when |i - i'| alone is no better. The batch engine builds the row
# distances once per field and asks only at the cells its walking units weigh.


@njit(cache=True, error_model="numpy")
def row_distances(mask, h, w, cap, out):
    """out = min(distance along each row to the row's nearest True cell, cap)."""
    for i in range(h):
        row_distance(mask, i, w, cap, out)


@njit(cache=True, error_model="numpy")
def row_distance(mask, i, w, cap, out):
    """row_distances of row i only (a row's distances depend on that row alone)."""
    last = -cap
    for j in range(w):
        c = i * w + j
        if mask[c]:
            last = j
        out[c] = min(j - last, cap)
    last = w + cap
    for j in range(w - 1, -1, -1):
        c = i * w + j
        if mask[c]:
            last = j
        out[c] = min(out[c], last - j)


@njit(cache=True, error_model="numpy")
def distance_at(along, cell, i, h, w, below):
    """min(Chebyshev distance of one cell (in row i) to the mask, cap, `below`) from its row
    distances. A walker asks only whether a cell beats the one it has: `below` stops the
    scan there (pass the cap for the exact distance)."""
    best = min(along[cell], below)
    t = 1
    while t < best and (i - t >= 0 or i + t < h):
        if i - t >= 0:
            best = min(best, max(t, along[cell - t * w]))
        if i + t < h:
            best = min(best, max(t, along[cell + t * w]))
        t += 1
    return best


@njit(cache=True, error_model="numpy")
def reach_map(mask, seeds, nbr, links, out, stack):
    """out = cells of `mask` connected through `mask` to a seed: a flood fill over the first
    `links` neighbours of the table (4: orthogonal, 8: with diagonals); `stack` is scratch
    of H·W cells."""
    top = 0
    for c in range(len(mask)):
        out[c] = mask[c] and seeds[c]
        if out[c]:
            stack[top] = c
            top += 1
    flood(mask, True, nbr, links, out, stack, top)


@njit(cache=True, error_model="numpy")
def route_exposure_map(mask, seeds, exposed, nbr, out):
    """out = for each cell of `mask` reachable through `mask` (8-connected) from a seed cell of
    `mask`, the fewest `exposed` cells on a path from a seed to it, both ends counted; -1 where
    unreachable. Breadth-first by layers of exposure: a layer floods through unexposed cells
    at no cost before the next layer steps into exposed ones."""
    cells = len(mask)
    now = np.empty(cells, np.int64)  # cells to expand at the current exposure
    later = np.empty(cells, np.int64)  # exposed cells reached from them: the next layer
    n_now = n_later = 0
    out[:] = -1
    for c in range(cells):
        if mask[c] and seeds[c]:
            n_now, n_later = _enter(c, 1 if exposed[c] else 0, exposed, out, now, later, n_now,
                                    n_later)  # fmt: skip
    k = 0
    while n_now or n_later:
        if n_now == 0:  # this layer is done: the next one
            k += 1
            for i in range(n_later):
                if out[later[i]] == k:
                    now[n_now] = later[i]
                    n_now += 1
            n_later = 0
            continue
        n_now -= 1
        c = now[n_now]
        for j in range(8):
            n = nbr[c, j]
            if n < 0 or not mask[n]:
                continue
            d = k + 1 if exposed[n] else k
            if out[n] < 0 or d < out[n]:
                n_now, n_later = _enter(n, d, exposed, out, now, later, n_now, n_later)


@njit(cache=True, inline="always", error_model="numpy")
def _enter(c, d, exposed, out, now, later, n_now, n_later):
    """Cell c is reached at exposure d: expanded in this layer if unexposed, else queued for
    the next. Returns the two queues' new lengths."""
    out[c] = d
    if exposed[c]:
        later[n_later] = c
        return n_now, n_later + 1
    now[n_now] = c
    return n_now + 1, n_later


@njit(cache=True, inline="always", error_model="numpy")
def flood(grid, value, nbr, links, out, stack, top):
    """Spread `out` from the `top` cells on `stack` (already set in `out`) through the cells
    where grid == value, over the first `links` neighbours of the table."""
    while top > 0:
        top -= 1
        c = stack[top]
        for j in range(links):
            n = nbr[c, j]
            if n >= 0 and grid[n] == value and not out[n]:
                out[n] = True
                stack[top] = n
                top += 1


# The ring of a cell in circular order (N, NE, E, SE, S, SW, W, NW) as indices into NEIGHBOURS.
_RING = np.array([0, 5, 3, 7, 1, 6, 2, 4])


@njit(cache=True, error_model="numpy")
def reach_update(now, before, side, changed, seeds, nbr, out, stack, gone):
    """Update `out`, the 8-connected reach of `side`'s cells in the owner map `before`, to the
    reach in `now`, where only the `changed` cells differ. Lost cells are taken away one at a
    time, each only if it is *simple* (its own neighbours are connected around it, so taking
    it away disconnects nothing); then gained cells next to the reach flood into it. Returns
    False, with `out` partly updated, when a lost cell is a seed or not simple: the caller
    then recomputes the reach in full. `gone` is scratch of H·W cells, False on entry."""
    ok = True
    for c in changed:  # losses, one at a time, against the cells still held
        if before[c] != side:
            continue
        if out[c] and (seeds[c] or not _simple(before, side, c, nbr, gone)):
            ok = False
            break
        out[c] = False
        gone[c] = True
    for c in changed:
        gone[c] = False
    if not ok:
        return False
    for c in changed:  # gains: flood from those that touch the reach
        if now[c] != side or out[c]:
            continue
        touch = seeds[c]
        for j in range(8):
            n = nbr[c, j]
            touch = touch or (n >= 0 and out[n])
        if touch:
            out[c] = True
            stack[0] = c
            flood(now, side, nbr, 8, out, stack, 1)
    return True


@njit(cache=True, error_model="numpy")
def _simple(before, side, c, nbr, gone):
    """Whether the cells still held around c (held before, not yet taken away, and not
    gained today) form at most one 8-connected group within the ring around c."""
    held = np.zeros(8, np.bool_)
    for k in range(8):
        n = nbr[c, _RING[k]]
        held[k] = n >= 0 and before[n] == side and not gone[n]
    groups = 0
    seen = np.zeros(8, np.bool_)
    todo = np.empty(8, np.int64)
    for k in range(8):
        if not held[k] or seen[k]:
            continue
        groups += 1
        if groups > 1:
            return False
        seen[k] = True
        todo[0] = k
        top = 1
        while top > 0:
            top -= 1
            a = todo[top]
            for b in range(8):
                step = (b - a) % 8
                near = step == 1 or step == 7 or (a % 2 == 0 and b % 2 == 0 and step != 4)
                if held[b] and not seen[b] and near:
                    seen[b] = True
                    todo[top] = b
                    top += 1
    return True


def edge(shape: tuple[int, int]) -> np.ndarray:
    """Cells on the map's outer edge."""
    e = np.zeros(shape, bool)
    e[0, :] = e[-1, :] = e[:, 0] = e[:, -1] = True
    return e


def front_length(owner: np.ndarray, land: np.ndarray) -> np.ndarray:
    """Number of orthogonal cell sides where the two sides' ground meets (on land: a coast is
    no front)."""
    maps = _flat_maps(owner)
    h, w = owner.shape[-2], owner.shape[-1]
    out = np.array([front_map(m, land.ravel(), h, w) for m in maps])
    return out.reshape(owner.shape[:-2])


@njit(cache=True, error_model="numpy")
def front_map(owner, land, h, w):
    """front_length of one map stored flat."""
    sides = 0
    for i in range(h):
        for j in range(w):
            c = i * w + j
            if not land[c]:
                continue
            if j + 1 < w and land[c + 1] and owner[c] != owner[c + 1]:
                sides += 1
            if i + 1 < h and land[c + w] and owner[c] != owner[c + w]:
                sides += 1
    return sides
