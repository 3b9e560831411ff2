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


def _pad(x: np.ndarray, r: int, value=0) -> np.ndarray:
    width = [(0, 0)] * (x.ndim - 2) + [(r, r), (r, r)]
    return np.pad(x, width, constant_values=value)


def shifted(x: np.ndarray, dy: int, dx: int, fill=0) -> np.ndarray:
    """out[..., i, j] = x[..., i + dy, j + dx], `fill` outside the map."""
    h, w = x.shape[-2:]
    k = max(abs(dy), abs(dx), 1)
    p = _pad(x, k, fill)
    return p[..., k + dy : k + dy + h, k + dx : k + dx + w]


def moore_sum(x: np.ndarray) -> np.ndarray:
    """Sum over each cell's 3×3 neighbourhood (itself included), zero outside the map.
    The fixed order of additions makes the result identical for any stack of maps."""
    if x.dtype == bool:
        x = x.astype(np.int64)  # a count, not a logical OR
    h, w = x.shape[-2:]
    p = _pad(x, 1)
    out = p[..., 0:h, 0:w].copy()
    for dy in range(3):
        for dx in range(3):
            if dy or dx:
                out += p[..., dy : dy + h, dx : dx + w]
    return out


def dilate(mask: np.ndarray, r: int) -> np.ndarray:
    """Cells within Chebyshev distance r of a True cell (r = 0: the mask itself)."""
    out = mask.astype(bool, copy=True)
    if r <= 0:
        return out
    h, w = out.shape[-2:]
    p = _pad(out, r, False)
    rows = p[..., :, 0:w].copy()  # a (2r+1)-wide window along rows, then along columns
    for dx in range(1, 2 * r + 1):
        rows |= p[..., :, dx : dx + w]
    out = rows[..., 0:h, :].copy()
    for dy in range(1, 2 * r + 1):
        out |= rows[..., dy : dy + h, :]
    return out


def distance(
    mask: np.ndarray, cap: int, needed: np.ndarray | None = None, extra: int = 0
) -> np.ndarray:
    """Chebyshev distance (cells) from each cell to the nearest True cell, at most `cap`
    (also where a map has no True cell at all).

    With `needed`, growth stops early: the result is exact (min(true, cap)) for every cell
    whose distance is at most (the largest distance of a needed cell) + 1 + `extra`, and a
    lower value elsewhere; a map without True cells has nothing needed."""
    reached = mask.astype(bool, copy=True)
    dist = np.zeros(mask.shape, np.int32)
    lead = mask.ndim - 2
    has_any = reached.any(axis=(-2, -1), keepdims=True) if lead else reached.any()
    if needed is not None:
        needed = needed & has_any
    left = None
    for _ in range(cap):
        if left is None and needed is not None and not (needed & ~reached).any():
            left = extra + 1
        if left is not None:
            if left == 0:
                break
            left -= 1
        grown = dilate(reached, 1)
        dist += ~reached
        if not (grown & ~reached).any():  # nothing left to reach anywhere
            dist = np.where(reached, dist, cap)
            break
        reached = grown
    return dist


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
