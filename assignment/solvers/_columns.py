"""Work over the (P, E) affinity matrix on two cores, and each expert's best proposals.

The matrix is C-ordered, a proposal per row. Gathering whole expert columns from it touches a
cache line of every row for every few columns: the best 40 proposals of 11,462 experts took
9.5 s that way at 20,000 × 15,000. :func:`best_in_columns` estimates a bar for each expert on a
sample of the rows, then reads the matrix once, as it lies in memory, keeping the cells above
their column's bar (3.0 s → 1.2 s for those experts). Columns the estimate cannot serve, and
columns that fit one slab, are read whole: in slabs of contiguous rows, each slab's chosen
columns gathered row by row, transposed, and their best pairs kept, the slabs' best merged at
the end (the best ``per`` of a column are among the best ``per`` of its slabs). Both run on
:data:`THREADS` threads (numpy releases the interpreter lock in these operations).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np

from assignment import _sets
from assignment.instance import AssignmentInstance, IntArray

THREADS = 2
SLAB = 8_000_000  # cells (rows × chosen columns) of a slab: 32 MB of float32 per thread
SAMPLE = 16  # one eligible proposal in SAMPLE estimates each expert's bar
AHEAD = 3  # pairs above an expert's bar expected, per pair wanted
BLOCK_CELLS = 1_000_000  # cells of a block of rows compared with the bars

T = TypeVar("T")
U = TypeVar("U")


def map_blocks(fn: Callable[[U], T], blocks: Sequence[U]) -> list[T]:
    """``fn`` over ``blocks``, results in order, on up to :data:`THREADS` threads."""
    if len(blocks) < 2 or THREADS < 2:
        return [fn(block) for block in blocks]
    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(fn, blocks))


def _best(values: np.ndarray, rows: np.ndarray, per: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``per`` highest ``values`` and the matching ``rows`` (same shape)."""
    if values.shape[1] <= per:
        return values, rows
    last = values.shape[1] - per  # the top ``per`` end the partition (no negated copy)
    at = np.argpartition(values, last, axis=1)[:, last:]
    return np.take_along_axis(values, at, axis=1), np.take_along_axis(rows, at, axis=1)


def lowest_per(
    codes: IntArray, values: np.ndarray, group: IntArray, count: int | IntArray
) -> IntArray:
    """The ``count`` codes of each group (or ``count[group]``, one count per group) with the
    lowest ``values`` (among equal values the choice is arbitrary but fixed). One sort of an
    integer key (group, value) where the values allow one (float32, or integers, also held as
    float64, in a range that fits), else two."""
    if codes.size == 0:
        return codes
    key = _group_key(values, group)
    order = np.argsort(key) if key is not None else np.lexsort((values, group))
    g = group[order]
    rank = np.arange(g.size) - np.searchsorted(g, g)
    out: IntArray = codes[order[rank < (count[g] if isinstance(count, np.ndarray) else count)]]
    return out


def _group_key(values: np.ndarray, group: IntArray) -> IntArray | None:
    """An int64 key ordering by ``group``, then by ``values``, or None."""
    groups = int(group.max()) + 1
    if values.dtype == np.float32 and groups < 2**31:
        # an IEEE float's bits, the sign's order turned: increasing with the value
        bits = np.ascontiguousarray(values).view(np.uint32).astype(np.int64)
        return (group << 32) | np.where(bits >= 2**31, 0xFFFFFFFF - bits, bits + 2**31)
    low = values.min()
    span = int(values.max() - low) + 1
    if span * groups < 2**62 and np.array_equal(values, np.rint(values)):
        out: IntArray = group * span + (values - low).astype(np.int64)
        return out
    return None


def best_in_block(block: np.ndarray, per: int) -> tuple[IntArray, IntArray]:
    """Row and column indices of each row's ``per`` highest values of ``block`` that are >= 0
    (masked cells hold -1).

    Wide rows are not partitioned whole: each row's bar is the value that every
    :data:`SAMPLE`-th cell of the row puts about ``AHEAD per`` cells above, the cells above their
    row's bar are kept in one comparison and the best ``per`` of them taken; a row with fewer
    than ``per`` cells above its bar (ties at the bar) is partitioned whole."""
    per = min(per, block.shape[1])
    if per <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    n_r, n_c = block.shape
    if n_c < SAMPLE * 4 * per:
        return _partitioned(block, per)
    sample = block[:, ::SAMPLE]
    n_s = sample.shape[1]
    j = int(np.ceil(AHEAD * per * n_s / n_c)) + 1
    bar = np.partition(sample, n_s - j, axis=1)[:, n_s - j]
    at = np.flatnonzero(block > bar[:, None])  # masked cells (-1) are never above a bar
    few = np.bincount(at // n_c, minlength=n_r) < per
    best = lowest_per(at, -block.reshape(-1)[at], at // n_c, per)
    best = best[~few[best // n_c]]
    out_r, out_c = best // n_c, best % n_c
    if few.any():
        again = np.flatnonzero(few)
        r, c = _partitioned(block[again], per)
        out_r, out_c = np.concatenate([out_r, again[r]]), np.concatenate([out_c, c])
    return out_r.astype(np.int64), out_c.astype(np.int64)


def _partitioned(block: np.ndarray, per: int) -> tuple[IntArray, IntArray]:
    """:func:`best_in_block` by a partition of every row."""
    last = block.shape[1] - per  # the top ``per`` end the partition (no negated copy)
    top = np.argpartition(block, last, axis=1)[:, last:]
    keep = np.take_along_axis(block, top, axis=1) >= 0
    rows = np.broadcast_to(np.arange(block.shape[0], dtype=np.int64)[:, None], top.shape)
    return rows[keep], top[keep].astype(np.int64)


def best_in_columns(
    inst: AssignmentInstance,
    cols: IntArray,
    per: int,
    *,
    masked: tuple[IntArray, ...] = (),
    skip: IntArray | None = None,
) -> IntArray:
    """Sorted codes of the best ``per`` pairs of each expert of ``cols`` (distinct) whose
    proposal is not in ``skip`` and whose code is in none of the sorted code sets ``masked``
    (fewer when the expert has fewer such pairs). Among equal affinities the choice is
    arbitrary but fixed.

    Each expert's bar is first estimated on a sample of the eligible proposals (about one in
    :data:`SAMPLE`), set so that about ``AHEAD per`` of its eligible pairs are expected above it;
    one pass over the matrix's rows, as they lie in memory, keeps the pairs above their
    expert's bar, and each expert's best ``per`` of them are taken. An expert with fewer than
    ``per`` pairs above its bar (or an estimate that cannot be made: heavy ties, too few
    eligible pairs in the sample) has its columns read whole, as small matrices always do."""
    n_p = inst.n_proposals
    per = min(per, n_p)
    if cols.size == 0 or per <= 0:
        return np.zeros(0, np.int64)
    skipped = np.zeros(n_p, dtype=bool)
    if skip is not None:
        skipped[skip] = True
    rows = np.flatnonzero(~skipped)
    # the chosen columns in one slab, or too few rows for an estimate: read them whole
    if n_p * cols.size <= SLAB or rows.size < SAMPLE * 4 * per:
        return _whole_columns(inst, cols, per, masked, skipped)
    bar = _bars(inst, cols, per, masked, rows)
    chosen, short = _above_bars(inst, cols, per, masked, skipped, bar)
    if short.size:
        chosen = _sets.union(chosen, _whole_columns(inst, short, per, masked, skipped))
    return chosen


def _bars(
    inst: AssignmentInstance, cols: IntArray, per: int, masked: tuple[IntArray, ...],
    rows: IntArray,
) -> np.ndarray:
    """(E,) float32: each expert of ``cols``'s bar, an estimate from a sample of the eligible
    ``rows``; +inf for the other experts, -inf where no estimate can be made."""
    n_e = inst.n_experts
    rng = np.random.default_rng(0)  # fixed: the same candidates on every run
    n_s = max(rows.size // SAMPLE, 1)
    sample = np.sort(rng.choice(rows, size=n_s, replace=False))
    block = np.asarray(inst.affinity[sample[:, None], cols[None, :]], dtype=np.float32)
    where = np.full(n_e, -1, dtype=np.int64)
    where[cols] = np.arange(cols.size)
    for codes in masked:
        owner, inside = _sets.in_rows(codes, n_e, sample)
        at = where[inside % n_e]
        sel = at >= 0
        block[owner[sel], at[sel]] = -np.inf
    # the j-th best sample value of a column has about (j - 1/2) rows / n_s eligible pairs
    # above it in the whole column: j is set for AHEAD per
    j = int(np.ceil(AHEAD * per * n_s / rows.size)) + 1
    bar = np.full(n_e, np.inf, dtype=np.float32)
    if j > n_s:
        bar[cols] = -np.inf
        return bar
    bar[cols] = np.partition(block, n_s - j, axis=0)[n_s - j]
    return bar


def _above_bars(
    inst: AssignmentInstance, cols: IntArray, per: int, masked: tuple[IntArray, ...],
    skipped: np.ndarray, bar: np.ndarray,
) -> tuple[IntArray, IntArray]:
    """The best ``per`` eligible pairs above each expert's ``bar`` (one pass over the rows),
    and the experts of ``cols`` with fewer than ``per`` such pairs (whose pairs are left out)."""
    n_p, n_e = inst.n_proposals, inst.n_experts
    short = cols[~np.isfinite(bar[cols])]
    bar = np.where(np.isfinite(bar), bar, np.inf).astype(np.float32)
    step = max(1, BLOCK_CELLS // max(n_e, 1))

    def block(a: int) -> tuple[IntArray, np.ndarray]:
        b = min(a + step, n_p)
        values = inst.affinity[a:b]
        hit = values > bar[None, :]
        hit[skipped[a:b]] = False
        flat = hit.reshape(-1)
        for codes in masked:  # sorted: the block's codes are one slice
            lo, hi = np.searchsorted(codes, [a * n_e, b * n_e])
            flat[codes[lo:hi] - a * n_e] = False
        at = np.flatnonzero(flat)
        found: IntArray = at + a * n_e
        return found, values.reshape(-1)[at]

    parts = map_blocks(block, list(range(0, n_p, step)))
    codes = np.concatenate([c for c, _ in parts]) if parts else np.zeros(0, np.int64)
    values = np.concatenate([v for _, v in parts]) if parts else np.zeros(0, inst.affinity.dtype)
    count = np.bincount(codes % n_e, minlength=n_e)
    few = np.zeros(n_e, dtype=bool)
    few[cols[count[cols] < per]] = True
    few[short] = True
    chosen = lowest_per(codes, -values, codes % n_e, per)
    return _sets.unique(chosen[~few[chosen % n_e]]), np.flatnonzero(few)


def _whole_columns(
    inst: AssignmentInstance, cols: IntArray, per: int, masked: tuple[IntArray, ...],
    skipped: np.ndarray,
) -> IntArray:
    """:func:`best_in_columns` reading the chosen columns whole, in slabs of rows."""
    n_p, n_e = inst.n_proposals, inst.n_experts
    where = np.full(n_e, -1, dtype=np.int64)
    where[cols] = np.arange(cols.size)
    # slabs of at most SLAB cells, and at least one per thread
    step = max(per, min(SLAB // cols.size, -(-n_p // THREADS)), 1)
    slabs = [(a, min(a + step, n_p)) for a in range(0, n_p, step)]

    def slab(a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        block = np.ascontiguousarray(np.take(inst.affinity[a:b], cols, axis=1).T, np.float32)
        for codes in masked:
            inside = codes[slice(*np.searchsorted(codes, [a * n_e, b * n_e]))]
            if inside.size > block.size:  # fewer cells than masked codes: look the cells up
                cell = np.arange(a, b, dtype=np.int64)[None, :] * n_e + cols[:, None]
                block[_sets.member(cell.reshape(-1), inside).reshape(block.shape)] = -1.0
                continue
            at = where[inside % n_e]
            sel = at >= 0
            block[at[sel], inside[sel] // n_e - a] = -1.0
        block[:, skipped[a:b]] = -1.0
        rows = np.broadcast_to(np.arange(a, b, dtype=np.int64), block.shape)
        return _best(block, rows, per)

    def part(of: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        values, rows = slab(*of[0])
        for a, b in of[1:]:
            v, r = slab(a, b)
            values, rows = _best(np.hstack([values, v]), np.hstack([rows, r]), per)
        return values, rows

    parts = [p for p in np.array_split(np.arange(len(slabs)), THREADS) if p.size]
    found = map_blocks(part, [[slabs[i] for i in p] for p in parts])
    values, rows = _best(np.hstack([v for v, _ in found]), np.hstack([r for _, r in found]), per)
    keep = values >= 0
    return _sets.unique(rows[keep] * n_e + np.broadcast_to(cols[:, None], rows.shape)[keep])
