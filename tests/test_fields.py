"""sim.model.fields against brute-force pure-Python versions, on one map and on a stack.

Each function is checked twice: on a single (H, W) map against a loop over cells, and on a
stack (R, H, W) where every slice must equal the single-map result exactly (bit for bit).
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sim.model import fields, kernels

SETTINGS = settings(max_examples=60, deadline=None)
SIZES = st.integers(1, 8)


@st.composite
def bool_stacks(draw, max_r: int = 4):
    r, h, w = draw(st.integers(1, max_r)), draw(SIZES), draw(SIZES)
    p = draw(st.sampled_from([0.05, 0.2, 0.5, 0.9]))
    seed = draw(st.integers(0, 2**32 - 1))
    return np.random.default_rng(seed).random((r, h, w)) < p


def number_stacks(dtype):
    elements = (
        st.integers(-1000, 1000)
        if np.dtype(dtype).kind == "i"
        else st.floats(-1e6, 1e6, allow_nan=False, width=np.dtype(dtype).itemsize * 8)
    )
    shapes = st.tuples(st.integers(1, 4), SIZES, SIZES)
    return hnp.arrays(dtype, shapes, elements=elements)


def cells(h: int, w: int):
    return [(i, j) for i in range(h) for j in range(w)]


# ----------------------------------------------------------------------------- brute force


def brute_moore_sum(x):
    h, w = len(x), len(x[0])
    return [
        [
            sum(
                x[a][b]
                for a in range(i - 1, i + 2)
                for b in range(j - 1, j + 2)
                if 0 <= a < h and 0 <= b < w
            )
            for j in range(w)
        ]
        for i in range(h)
    ]


def brute_dilate(mask, r):
    h, w = len(mask), len(mask[0])
    return [
        [
            any(mask[a][b] and max(abs(a - i), abs(b - j)) <= r for a, b in cells(h, w))
            for j in range(w)
        ]
        for i in range(h)
    ]


def brute_distance(mask, cap):
    h, w = len(mask), len(mask[0])
    trues = [(a, b) for a, b in cells(h, w) if mask[a][b]]
    return [
        [min([cap] + [max(abs(a - i), abs(b - j)) for a, b in trues]) for j in range(w)]
        for i in range(h)
    ]


def brute_reach(mask, seeds, diagonal):
    h, w = len(mask), len(mask[0])
    steps = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    if diagonal:
        steps += [(-1, -1), (-1, 1), (1, -1), (1, 1)]
    out = [[False] * w for _ in range(h)]
    todo = deque((i, j) for i, j in cells(h, w) if seeds[i][j] and mask[i][j])
    for i, j in todo:
        out[i][j] = True
    while todo:
        i, j = todo.popleft()
        for di, dj in steps:
            a, b = i + di, j + dj
            if 0 <= a < h and 0 <= b < w and mask[a][b] and not out[a][b]:
                out[a][b] = True
                todo.append((a, b))
    return out


def brute_front_length(owner, land=None):
    h, w = len(owner), len(owner[0])
    land = land or [[True] * w for _ in range(h)]
    n = 0
    for i, j in cells(h, w):
        if not land[i][j]:
            continue
        if i + 1 < h and land[i + 1][j] and owner[i][j] != owner[i + 1][j]:
            n += 1
        if j + 1 < w and land[i][j + 1] and owner[i][j] != owner[i][j + 1]:
            n += 1
    return n


def brute_edge(h, w):
    return [[i in (0, h - 1) or j in (0, w - 1) for j in range(w)] for i in range(h)]


def assert_stack_matches_single(stack, fn):
    """fn(stack)[k] must equal fn(stack[k]) exactly, for every k; returns fn(stack)."""
    out = fn(stack)
    for k in range(stack.shape[0]):
        single = fn(stack[k])
        assert out[k].dtype == single.dtype
        assert out[k].shape == single.shape
        assert np.array_equal(out[k], single), f"slice {k} differs from the single-map result"
    return out


# ----------------------------------------------------------------------------- moore_sum


@SETTINGS
@given(number_stacks(np.int64))
def test_moore_sum_integers(stack):
    out = assert_stack_matches_single(stack, fields.moore_sum)
    for k in range(stack.shape[0]):
        assert out[k].tolist() == brute_moore_sum(stack[k].tolist())


@SETTINGS
@given(number_stacks(np.float64))
def test_moore_sum_floats(stack):
    out = assert_stack_matches_single(stack, fields.moore_sum)
    for k in range(stack.shape[0]):
        np.testing.assert_allclose(
            out[k], brute_moore_sum(stack[k].tolist()), rtol=1e-12, atol=1e-6
        )


@SETTINGS
@given(number_stacks(np.float32))
def test_moore_sum_float32_stack_is_bitwise_equal(stack):
    assert fields.moore_sum(stack).dtype == np.float32
    assert_stack_matches_single(stack, fields.moore_sum)


def test_moore_sum_does_not_touch_its_input():
    x = np.arange(12.0).reshape(3, 4)
    before = x.copy()
    fields.moore_sum(x)
    assert np.array_equal(x, before)


def test_moore_sum_known_values():
    x = np.ones((3, 4), int)
    assert fields.moore_sum(x).tolist() == [[4, 6, 6, 4], [6, 9, 9, 6], [4, 6, 6, 4]]


def test_moore_sum_of_a_bool_mask_counts():
    mask = np.ones((3, 3), bool)
    assert fields.moore_sum(mask).tolist() == brute_moore_sum(mask.astype(int).tolist())


# ----------------------------------------------------------------------------- dilate


@SETTINGS
@given(bool_stacks(), st.integers(0, 9))
def test_dilate(stack, r):
    out = assert_stack_matches_single(stack, lambda m: fields.dilate(m, r))
    assert out.dtype == bool
    for k in range(stack.shape[0]):
        assert out[k].tolist() == brute_dilate(stack[k].tolist(), r)


@pytest.mark.parametrize("r", [0, 1, 2, 3, 5, 8])
def test_dilate_single_cell_grows_a_square(r):
    mask = np.zeros((2, 11, 13), bool)
    mask[0, 5, 6] = True
    out = fields.dilate(mask, r)
    rows, cols = np.nonzero(out[0])
    assert out[0].sum() == min(2 * r + 1, 11) * min(2 * r + 1, 13)
    assert (rows.min(), rows.max()) == (max(5 - r, 0), min(5 + r, 10))
    assert (cols.min(), cols.max()) == (max(6 - r, 0), min(6 + r, 12))
    assert not out[1].any()


@pytest.mark.parametrize("r", [0, -1])
def test_dilate_by_zero_is_the_mask_itself_as_a_copy(r):
    mask = np.array([[True, False], [False, False]])
    out = fields.dilate(mask, r)
    assert out.tolist() == mask.tolist()
    out[1, 1] = True
    assert not mask[1, 1]


def test_dilate_accepts_integer_masks():
    assert fields.dilate(np.array([[0, 0, 0], [0, 2, 0]]), 1).tolist() == [[True] * 3] * 2


# ----------------------------------------------------------------------------- distance


@SETTINGS
@given(bool_stacks(), st.integers(0, 12))
def test_distance(stack, cap):
    out = assert_stack_matches_single(stack, lambda m: fields.distance(m, cap))
    for k in range(stack.shape[0]):
        assert out[k].tolist() == brute_distance(stack[k].tolist(), cap)


@pytest.mark.parametrize("cap", [0, 1, 5, 100])
def test_distance_without_true_cells_is_the_cap_everywhere(cap):
    assert (fields.distance(np.zeros((4, 5), bool), cap) == cap).all()
    stack = np.zeros((3, 4, 5), bool)
    stack[1, 2, 2] = True  # other slices still have none
    out = fields.distance(stack, cap)
    assert (out[0] == cap).all() and (out[2] == cap).all()
    assert out[1, 2, 2] == 0


def test_distance_is_chebyshev():
    mask = np.zeros((7, 7), bool)
    mask[3, 3] = True
    out = fields.distance(mask, 100)
    assert out[0, 0] == 3 and out[0, 3] == 3 and out[3, 6] == 3 and out[2, 4] == 1


def test_distance_is_capped():
    mask = np.zeros((1, 10), bool)
    mask[0, 0] = True
    assert fields.distance(mask, 4).tolist() == [[0, 1, 2, 3, 4, 4, 4, 4, 4, 4]]


# ----------------------------------------------------------------------------- reach


@SETTINGS
@given(bool_stacks(), st.integers(0, 2**32 - 1), st.sampled_from([0.05, 0.2, 0.6]), st.booleans())
def test_reach(masks, seed, p, diagonal):
    r = masks.shape[0]
    seeds = np.random.default_rng(seed).random(masks.shape) < p
    out = fields.reach(masks, seeds, diagonal)
    assert out.dtype == bool and out.shape == masks.shape
    for k in range(r):
        single = fields.reach(masks[k], seeds[k], diagonal)
        assert np.array_equal(out[k], single)
        assert single.tolist() == brute_reach(masks[k].tolist(), seeds[k].tolist(), diagonal)


@SETTINGS
@given(bool_stacks(), st.integers(0, 2**32 - 1), st.booleans())
def test_reach_with_one_seed_map_for_a_stack(masks, seed, diagonal):
    """The batch engine passes (R, H, W) masks with one (H, W) seed map (the sources)."""
    seeds = np.random.default_rng(seed).random(masks.shape[1:]) < 0.2
    out = fields.reach(masks, seeds, diagonal)
    for k in range(masks.shape[0]):
        assert out[k].tolist() == brute_reach(masks[k].tolist(), seeds.tolist(), diagonal)


def test_reach_diagonal_link_makes_the_difference():
    mask = np.array(
        [
            [1, 1, 0, 0],
            [0, 1, 0, 0],
            [0, 0, 1, 1],
            [0, 0, 0, 1],
        ],
        bool,
    )
    seeds = np.zeros_like(mask)
    seeds[0, 0] = True
    four = fields.reach(mask, seeds)
    eight = fields.reach(mask, seeds, diagonal=True)
    assert four.tolist() == (mask & (np.arange(4)[:, None] < 2)).tolist()
    assert eight.tolist() == mask.tolist()
    stack = np.stack([mask, mask])
    assert fields.reach(stack, np.stack([seeds, seeds])).tolist() == [four.tolist()] * 2
    # no connectivity across the replicate axis
    s2 = np.stack([seeds, np.zeros_like(seeds)])
    assert not fields.reach(stack, s2, diagonal=True)[1].any()


def test_reach_seeds_outside_the_mask_do_not_count():
    mask = np.array([[0, 1, 1], [0, 0, 0], [1, 1, 0]], bool)
    seeds = np.zeros_like(mask)
    seeds[0, 0] = True  # next to the top component, but not in the mask
    assert not fields.reach(mask, seeds).any()
    assert not fields.reach(mask, seeds, diagonal=True).any()
    seeds[2, 0] = True
    assert fields.reach(mask, seeds).tolist() == [[0, 0, 0], [0, 0, 0], [1, 1, 0]]


def test_reach_of_an_empty_mask():
    assert not fields.reach(np.zeros((2, 3, 3), bool), np.ones((3, 3), bool)).any()


# ----------------------------------------------------------------------------- front_length


@SETTINGS
@given(bool_stacks(), st.integers(0, 2**32 - 1))
def test_front_length(stack, seed):
    owner = stack.astype(np.int8)
    land = np.random.default_rng(seed).random(stack.shape[1:]) < 0.8
    out = fields.front_length(owner, land)
    assert out.shape == (stack.shape[0],)
    for k in range(stack.shape[0]):
        single = fields.front_length(owner[k], land)
        assert np.ndim(single) == 0 and single == out[k]
        assert int(single) == brute_front_length(owner[k].tolist(), land.tolist())


def test_front_length_known_values():
    def front(owner) -> int:
        owner = np.array(owner)
        return int(fields.front_length(owner, np.ones(owner.shape, bool)))

    assert front([[0, 0], [1, 1]]) == 2
    assert front([[0, 1], [1, 0]]) == 4
    assert front(np.zeros((5, 5), np.int8)) == 0
    assert front([[0, 1, 0]]) == 2
    coast = np.array([[True, False, True]])  # water between: no front
    assert fields.front_length(np.array([[0, 1, 0]]), coast) == 0


# ----------------------------------------------------------------------------- edge


@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (5, 1), (2, 2), (3, 3), (4, 7), (8, 2)])
def test_edge(shape):
    out = fields.edge(shape)
    assert out.dtype == bool and out.shape == shape
    assert out.tolist() == brute_edge(*shape)


# ----------------------------------------------------------------------------- reach_update


def _update(before, now, seeds, side):
    """fields.reach_update of `before`'s reach to `now`; None when it asks for a recompute."""
    h, w = before.shape
    nbr = fields.neighbour_table((h, w))
    flat_b, flat_n = before.ravel().astype(np.int8), now.ravel().astype(np.int8)
    out = fields.reach(flat_b.reshape(h, w) == side, seeds, True).ravel()
    changed = np.flatnonzero(flat_b != flat_n)
    scratch = np.empty(h * w, np.int64), np.zeros(h * w, bool)
    ok = fields.reach_update(flat_n, flat_b, side, changed, seeds.ravel(), nbr, out, *scratch)
    assert not scratch[1].any(), "scratch left dirty"
    return out.reshape(h, w) if ok else None


@settings(max_examples=300, deadline=None)
@given(
    st.integers(2, 9),
    st.integers(2, 9),
    st.integers(0, 2**32 - 1),
    st.sampled_from([0.3, 0.5, 0.7]),
    st.integers(1, 6),
    st.integers(0, 1),
)
def test_reach_update_equals_the_reach_of_the_new_map(h, w, seed, p, flips, side):
    """Updating the supply reach from the cells that changed gives the reach of the new map
    whenever it does not ask for a recompute (and it asks only when a loss may disconnect)."""
    rng = np.random.default_rng(seed)
    before = (rng.random((h, w)) < p).astype(np.int8)  # 1: the side's ground
    before = np.where(before == 1, side, 1 - side)
    now = before.copy()
    now.flat[rng.choice(h * w, min(flips, h * w), replace=False)] ^= 1
    seeds = np.zeros((h, w), bool)
    seeds[0] = True  # a homeland edge
    out = _update(before, now, seeds, side)
    if out is not None:
        assert out.tolist() == brute_reach((now == side).tolist(), seeds.tolist(), True)


def test_reach_update_asks_for_a_recompute_when_a_lost_cell_cuts_the_reach():
    # A corridor of the side's cells from the seed row; losing its middle cuts off the end.
    before = np.array([[1, 1, 1], [0, 1, 0], [0, 1, 0], [0, 1, 0]])
    now = before.copy()
    now[2, 1] = 0
    seeds = np.zeros(before.shape, bool)
    seeds[0] = True
    assert _update(before, now, seeds, 1) is None
    # Losing the corridor's end disconnects nothing: updated in place.
    now = before.copy()
    now[3, 1] = 0
    assert _update(before, now, seeds, 1).tolist() == (now == 1).tolist()


def test_reach_update_floods_from_a_gained_cell_into_a_pocket():
    before = np.array([[1, 1, 1], [0, 0, 0], [0, 1, 1]])  # (2, 1)-(2, 2): an unfed pocket
    now = before.copy()
    now[1, 0] = 1  # gained: touches the reach and the pocket
    seeds = np.zeros(before.shape, bool)
    seeds[0] = True
    assert _update(before, now, seeds, 1).tolist() == (now == 1).tolist()


@SETTINGS
@given(number_stacks(np.float64))
def test_moore_sum_at_one_cell_is_moore_sum_there_to_the_bit(stack):
    """The assault phase sums the 3×3 window at the cells it weighs only."""
    h, w = stack.shape[1:]
    table = fields.window_table((h, w))
    for k in range(stack.shape[0]):
        full = fields.moore_sum(stack[k]).ravel()
        flat = stack[k].ravel()
        at = [fields.moore_sum_at(flat, c, table) for c in range(h * w)]
        assert np.array_equal(np.array(at), full)


@SETTINGS
@given(bool_stacks(max_r=1), st.integers(0, 6))
def test_distance_at_below_answers_only_whether_a_cell_is_nearer(stack, below):
    """Movement asks whether a cell beats `below`: the answer is exact under it, and at
    least `below` otherwise."""
    mask = stack[0]
    h, w = mask.shape
    cap = h + w
    along = np.empty(h * w, np.int32)
    fields.row_distances(mask.ravel(), h, w, cap, along)
    exact = fields.distance(mask, cap).ravel()
    for c in range(h * w):
        got = fields.distance_at(along, c, c // w, h, w, below)
        assert got == exact[c] if exact[c] < below else got >= below


# ---- the drones phase's row bit masks (maps up to 64 columns) against the cell-wise fields --
def _bits(flat: np.ndarray, h: int, w: int) -> np.ndarray:
    out = np.zeros(h, np.uint64)
    kernels._row_bits(flat.astype(np.int8), h, w, out)
    return out


def _cells(rows: np.ndarray, h: int, w: int) -> np.ndarray:
    return np.array([(int(rows[c // w]) >> (c % w)) & 1 for c in range(h * w)], bool)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 6),
    st.sampled_from([1, 2, 7, 63, 64]),
    st.sampled_from([0, 1, 2, 5, 63, 64, 99]),
    st.data(),
)
def test_dilation_on_row_bits_is_the_cellwise_dilation(h, w, d, data):
    mask = data.draw(hnp.arrays(bool, h * w))
    out = np.zeros(h, np.uint64)
    kernels._dilate_bits(_bits(mask, h, w), d, h, w, out)
    expected = np.empty(h * w, bool)
    fields.dilate_map(mask, h, w, d, expected)
    assert np.array_equal(_cells(out, h, w), expected)


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 7), st.sampled_from([1, 3, 9, 64]), st.data())
def test_route_exposure_on_row_bits_is_the_cellwise_search(h, w, data):
    mask = data.draw(hnp.arrays(bool, h * w))
    seeds = data.draw(hnp.arrays(bool, h * w))
    close = data.draw(hnp.arrays(bool, h * w))
    expected = np.empty(h * w, np.int64)
    fields.route_exposure_map(mask, seeds, close, fields.neighbour_table((h, w)), expected)
    cells = np.arange(h * w)  # a unit on every cell
    exposure = np.full(h * w, -7, np.int64)
    scratch = [np.zeros(h, np.uint64) for _ in range(3)]
    kernels._exposure_bits(
        _bits(mask, h, w), _bits(close, h, w), _bits(seeds, h, w), cells, cells.copy(), h, w,
        exposure, *scratch,
    )  # fmt: skip
    reached = expected >= 0
    assert np.array_equal(exposure[reached], expected[reached])
    assert (exposure[~reached] == -7).all()  # left as they were: the engine's 0
