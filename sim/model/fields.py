"""Cell-level fields both engines share: neighbour sums, dilation, distance, supply reach.

Every function takes arrays shaped (..., H, W) and treats the leading axes as independent
replicates, so the reference engine passes one map and the batch engine a stack of them and
both get the same numbers for the same map, to the bit.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

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
_ORTHOGONAL = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], bool)
_MOORE = np.ones((3, 3), bool)


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


def moore_sum_at(
    flat: np.ndarray, base: np.ndarray, cells: np.ndarray, table: np.ndarray
) -> np.ndarray:
    """moore_sum of maps stored flat (map m's cell c at m·H·W + c), only at the given
    cells (`base` = m·H·W of each); same terms in the same order, so the same bits."""
    window = table[cells]
    out = np.zeros(cells.shape, flat.dtype)
    for k in range(9):
        idx = window[..., k]
        out += np.where(idx >= 0, flat[base + np.maximum(idx, 0)], 0)
    return out


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
    out = mask.astype(bool, copy=True)
    if r <= 0:
        return out
    for axis in (-1, -2):  # a (2r+1)-wide window along rows, then along columns
        src = out.copy()
        n = out.shape[axis]
        for d in range(1, min(r, n - 1) + 1):
            lo = [slice(None)] * out.ndim
            hi = [slice(None)] * out.ndim
            lo[axis], hi[axis] = slice(d, None), slice(None, -d)
            out[tuple(lo)] |= src[tuple(hi)]
            out[tuple(hi)] |= src[tuple(lo)]
    return out


def distance(
    mask: np.ndarray, cap: int, needed: np.ndarray | None = None, extra: int = 0
) -> np.ndarray:
    """Chebyshev distance (cells) from each cell to the nearest True cell, at most `cap`
    (also where a map has no True cell at all).

    With `needed`, growth stops early: the result is exact (min(true, cap)) for every cell
    whose distance is at most (the largest distance of a needed cell) + 1 + `extra`, and a
    lower value elsewhere; a map without True cells has nothing needed.

    The distance is the number of growth steps before a cell is reached. Maps up to 64 cells
    wide grow as bit rows (one 64-bit word per row) with a bit-sliced step counter, which is
    what makes a daily field over a thousand maps cheap; wider maps grow as bool arrays."""
    grid = _BitRows(mask) if mask.shape[-1] <= 64 else _BoolRows(mask)
    has_any = mask.any(axis=(-2, -1), keepdims=True)
    watch = None if needed is None else np.flatnonzero(needed & has_any)
    left, done = None, 0
    while done < cap:
        if left is None and watch is not None and grid.all_reached(watch):
            left = extra + 1
        if left is not None:
            if left == 0:
                break
            left -= 1
        grid.count()
        done += 1
        if not grid.grow():  # nothing left to reach anywhere
            return np.where(grid.reached(), done - grid.layers(), cap).astype(np.int32)
    return (done - grid.layers()).astype(np.int32)


class _BoolRows:
    """Growth of a reached set as bool maps, counting how many steps contain each cell."""

    def __init__(self, mask: np.ndarray) -> None:
        self.now = mask.astype(bool, copy=True)
        self.counts = np.zeros(mask.shape, np.int32)

    def all_reached(self, flat: np.ndarray) -> bool:
        return bool(self.now.ravel()[flat].all())

    def count(self) -> None:
        self.counts += self.now

    def grow(self) -> bool:
        grown = dilate(self.now, 1)
        changed = bool((grown != self.now).any())
        self.now = grown
        return changed

    def reached(self) -> np.ndarray:
        return self.now

    def layers(self) -> np.ndarray:
        return self.counts


class _BitRows:
    """The same growth with each map row packed into one 64-bit word (bit j = column j)."""

    def __init__(self, mask: np.ndarray) -> None:
        self.shape = mask.shape
        self.width = mask.shape[-1]
        packed = np.packbits(mask.astype(bool), axis=-1, bitorder="little")
        pad = np.zeros((*packed.shape[:-1], 8 - packed.shape[-1]), np.uint8)
        self.now = np.ascontiguousarray(np.concatenate([packed, pad], -1)).view("<u8")[..., 0]
        self.full = np.uint64((1 << self.width) - 1) if self.width < 64 else ~np.uint64(0)
        self.planes: list[np.ndarray] = []  # bit k of each cell's step count

    def all_reached(self, flat: np.ndarray) -> bool:
        word, bit = np.divmod(flat, self.width)
        bits = self.now.ravel()[word] >> bit.astype(np.uint64)
        return bool((bits & np.uint64(1)).all())

    def count(self) -> None:
        carry = self.now
        for k, plane in enumerate(self.planes):
            self.planes[k] = plane ^ carry
            carry = plane & carry
            if not carry.any():
                return
        self.planes.append(carry)

    def grow(self) -> bool:
        x = self.now
        one = np.uint64(1)
        rows = (x | (x << one) | (x >> one)) & self.full
        grown = rows.copy()
        grown[..., 1:] |= rows[..., :-1]
        grown[..., :-1] |= rows[..., 1:]
        changed = bool((grown != x).any())
        self.now = grown
        return changed

    def _unpack(self, words: np.ndarray) -> np.ndarray:
        raw = np.ascontiguousarray(words).view(np.uint8).reshape(*words.shape, 8)
        return np.unpackbits(raw, axis=-1, bitorder="little")[..., : self.width]

    def reached(self) -> np.ndarray:
        return self._unpack(self.now).astype(bool)

    def layers(self) -> np.ndarray:
        out = np.zeros(self.shape, np.uint16)  # counts ≤ cap ≤ H + W ≤ 400: 16 bits hold it
        for k, plane in enumerate(self.planes):
            out += self._unpack(plane).astype(np.uint16) << k
        return out


def reach(mask: np.ndarray, seeds: np.ndarray, diagonal: bool = False) -> np.ndarray:
    """Cells of `mask` connected through `mask` to a seed cell (4-connected, or 8 with
    `diagonal`): the supply network's reach."""
    structure = np.zeros((3,) * mask.ndim, bool)
    structure[(1,) * (mask.ndim - 2)] = _MOORE if diagonal else _ORTHOGONAL
    labels, n = ndimage.label(mask, structure=structure)
    if n == 0:
        return np.zeros(mask.shape, bool)
    fed = np.zeros(n + 1, bool)
    fed[labels[seeds & mask]] = True
    fed[0] = False
    return fed[labels]


def edge(shape: tuple[int, int]) -> np.ndarray:
    """Cells on the map's outer edge."""
    e = np.zeros(shape, bool)
    e[0, :] = e[-1, :] = e[:, 0] = e[:, -1] = True
    return e


def front_length(owner: np.ndarray) -> np.ndarray:
    """Number of orthogonal cell sides where the two sides' ground meets."""
    ns = (owner[..., 1:, :] != owner[..., :-1, :]).sum(axis=(-2, -1))
    we = (owner[..., :, 1:] != owner[..., :, :-1]).sum(axis=(-2, -1))
    return ns + we
