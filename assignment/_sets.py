"""Sets of int64 pair codes (``p * E + e``) as sorted arrays, by sorting.

``np.unique`` and the set routines built on it hash in numpy 2.4 and were measured 10–100× slower
than a sort on the million-code sets of a call with language conflicts; these helpers sort.
Inputs are 1-d integer arrays; every result is a sorted 1-d int64 array without repeats (or a
boolean mask in the order of its first argument).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]


def unique(codes: npt.ArrayLike) -> IntArray:
    """Sorted distinct codes."""
    a = np.asarray(codes, dtype=np.int64).reshape(-1)
    if a.size < 2:
        return a.copy()
    if not bool((a[1:] >= a[:-1]).all()):  # pairs from a sorted frame need no sort
        a = np.sort(a)
    keep = np.empty(a.size, dtype=bool)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    out: IntArray = a[keep]
    return out


def member(codes: IntArray, sorted_codes: IntArray) -> npt.NDArray[np.bool_]:
    """(n,) bool: which of ``codes`` are in the sorted array ``sorted_codes``."""
    if sorted_codes.size == 0 or codes.size == 0:
        return np.zeros(codes.shape[0], dtype=bool)
    pos = np.clip(np.searchsorted(sorted_codes, codes), 0, sorted_codes.size - 1)
    hit: npt.NDArray[np.bool_] = sorted_codes[pos] == codes
    return hit


def union(a: IntArray, b: IntArray) -> IntArray:
    return unique(np.concatenate([a.reshape(-1), b.reshape(-1)]))


def difference(sorted_a: IntArray, sorted_b: IntArray) -> IntArray:
    """Codes of the sorted set ``sorted_a`` not in the sorted set ``sorted_b``."""
    out: IntArray = sorted_a[~member(sorted_a, sorted_b)]
    return out


def ranges(start: IntArray, count: IntArray) -> tuple[IntArray, IntArray]:
    """The positions of the ranges ``[start[i], start[i] + count[i])`` one after the other, and
    for each position the ``i`` of its range: ``(owner, position)``."""
    owner = np.repeat(np.arange(count.size, dtype=np.int64), count)
    # position j of the output, in range i, is start[i] + j - (where range i begins)
    shift = np.asarray(start, dtype=np.int64) - (np.cumsum(count) - count)
    out: IntArray = np.arange(owner.size, dtype=np.int64) + np.repeat(shift, count)
    return owner, out


def in_rows(sorted_codes: IntArray, n_e: int, rows: IntArray) -> tuple[IntArray, IntArray]:
    """The codes of the sorted set ``sorted_codes`` that lie in each of the (m,) ``rows`` (codes
    ``row * n_e .. row * n_e + n_e - 1``), row after row: ``(owner, code)``, ``owner`` the
    position in ``rows`` of each code."""
    lo = np.searchsorted(sorted_codes, rows * n_e)
    count = np.searchsorted(sorted_codes, (rows + 1) * n_e) - lo
    owner, at = ranges(lo, count)
    return owner, sorted_codes[at]
