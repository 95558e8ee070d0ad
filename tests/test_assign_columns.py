"""Each expert's best proposals (``_columns.best_in_columns``), the bar path (an estimated bar per
expert, one pass over the rows) and the whole-column path, against a brute-force ranking of every
column: the same number of pairs per expert and the same affinities, whatever the shape of the
columns (ties, constant columns, columns mostly masked, skipped proposals)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from assignment import AssignmentInstance, _sets
from assignment.instance import IntArray
from assignment.solvers import _columns
from benchmarks.synthetic import small_instance


def _brute(
    inst: AssignmentInstance, cols: IntArray, per: int, masked: IntArray, skip: IntArray
) -> dict[int, list[float]]:
    """Each expert's ``per`` best eligible affinities, best first."""
    n_p, n_e = inst.n_proposals, inst.n_experts
    ok = np.ones((n_p, n_e), dtype=bool)
    ok.reshape(-1)[masked] = False
    ok[skip] = False
    return {int(e): sorted(inst.affinity[ok[:, e], e].tolist(), reverse=True)[:per] for e in cols}


def _found(inst: AssignmentInstance, codes: IntArray) -> dict[int, list[float]]:
    n_e = inst.n_experts
    out: dict[int, list[float]] = {}
    for c in codes.tolist():
        out.setdefault(c % n_e, []).append(float(inst.affinity[c // n_e, c % n_e]))
    return {e: sorted(v, reverse=True) for e, v in out.items()}


def _shaped(seed: int, shape: str) -> AssignmentInstance:
    inst = small_instance(seed, 600, 40, 2, conflict_rate=0.1, max_load=(2, 6))
    rng = np.random.default_rng(seed)
    aff = rng.random(inst.affinity.shape).astype(np.float32)
    if shape == "ties":  # affinities on a coarse grid: many equal values around every bar
        aff = (np.round(aff * 8) / 8).astype(np.float32)
    elif shape == "constant":  # some experts the same for every proposal (no text, say)
        aff[:, ::5] = 0.5
    elif shape == "periodic":  # rows alternate between two levels
        aff = np.where((np.arange(600) % 16 == 0)[:, None], aff, aff * 0.2).astype(np.float32)
    return replace(inst, affinity=aff)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("shape", ["random", "ties", "constant", "periodic"])
@pytest.mark.parametrize("skipping", [False, True])
def test_best_in_columns_keeps_each_experts_best_affinities(
    seed: int, shape: str, skipping: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a small SLAB sends these columns to the bar path (they would fit one slab otherwise)
    monkeypatch.setattr(_columns, "SLAB", 64)
    inst = _shaped(seed, shape)
    n_p, n_e = inst.n_proposals, inst.n_experts
    rng = np.random.default_rng(100 + seed)
    blocked = inst.blocked_codes()
    # one expert conflicted with most proposals: its sample has too few eligible pairs
    most = np.arange(n_p)[rng.random(n_p) < 0.97] * n_e + 7
    masked = _sets.union(blocked, most)
    skip = np.sort(rng.choice(n_p, 90, replace=False)) if skipping else np.zeros(0, np.int64)
    cols = np.sort(rng.choice(n_e, 30, replace=False))
    cols = _sets.union(cols, np.array([7]))
    per = 6
    assert n_p - skip.size >= _columns.SAMPLE * 4 * per  # the bar path applies
    got = _columns.best_in_columns(inst, cols, per, masked=(masked,), skip=skip if skipping
                                   else None)
    assert np.array_equal(got, np.unique(got))  # sorted, no repeats
    assert not _sets.member(got, masked).any()
    assert not np.isin(got // n_e, skip).any()
    want = _brute(inst, cols, per, masked, skip)
    found = _found(inst, got)
    assert set(found) <= set(want)
    for e, values in want.items():
        assert found.get(e, []) == pytest.approx(values), e


def test_both_paths_agree_on_a_larger_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    inst = small_instance(4, 1500, 120, 3, conflict_rate=0.2, max_load=(2, 6))
    rng = np.random.default_rng(4)
    inst = replace(inst, affinity=np.round(rng.random(inst.affinity.shape), 3))
    cols = np.sort(rng.choice(120, 90, replace=False))
    blocked = inst.blocked_codes()
    whole = _columns.best_in_columns(inst, cols, 20, masked=(blocked,))
    monkeypatch.setattr(_columns, "SLAB", 64)
    barred = _columns.best_in_columns(inst, cols, 20, masked=(blocked,))
    assert _found(inst, barred) == _found(inst, whole)


@pytest.mark.parametrize("kind", ["random", "ties", "masked", "constant", "zeros"])
@pytest.mark.parametrize(("shape", "per"), [((66, 1500), 12), ((40, 700), 5)])
def test_best_in_block_keeps_each_rows_best_values(
    kind: str, shape: tuple[int, int], per: int
) -> None:
    # wide rows take the bar path; its result holds the same values per row as a partition of
    # every row (ties: a coarse grid; masked: most cells -1; constant rows; rows of zeros)
    rng = np.random.default_rng(sum(shape) + per)
    block = rng.random(shape).astype(np.float32)
    if kind == "ties":
        block = (np.round(block * 16) / 16).astype(np.float32)
    elif kind == "masked":
        block[rng.random(shape) < 0.9] = -1.0
    elif kind == "constant":
        block[::3] = 0.5
    elif kind == "zeros":
        block[::2] = 0.0
        block[::2, :3] = 0.25
    assert shape[1] >= _columns.SAMPLE * 4 * per  # the bar path applies

    def per_row(rows: IntArray, cols: IntArray) -> dict[int, list[float]]:
        out: dict[int, list[float]] = {}
        for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
            out.setdefault(i, []).append(float(block[i, j]))
        return {i: sorted(v, reverse=True) for i, v in out.items()}

    rows, cols = _columns.best_in_block(block, per)
    assert len(set(zip(rows.tolist(), cols.tolist(), strict=True))) == rows.size
    want = {i: sorted((float(v) for v in block[i] if v >= 0), reverse=True)[:per]
            for i in range(shape[0])}
    got = per_row(rows, cols)
    assert got == {i: v for i, v in want.items() if v}
    assert got == per_row(*_columns._partitioned(block, per))
