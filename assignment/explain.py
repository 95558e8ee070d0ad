"""Why an expert was chosen: the evidence behind each assigned pair, and the assignment's
affinity quality a manager can read.

Inputs: the :class:`~assignment.instance.AssignmentInstance` the solver ran on (its
``affinity`` is ``(P, E)``, rows/columns in ``proposal_ids`` / ``expert_ids`` order), the
call-folder frames ``proposals`` / ``experts`` **in the same row order** (sorted by id), and the
assigned ``pairs`` (``proposal_id, expert_id``, n rows).

:func:`explain_pairs` returns one row per pair (n rows, in the order given):

- ``field_matches`` (List(String)): the ISCED-F codes both list, at the most precise level they
  share (a detailed match hides the narrow and broad codes it implies), each as
  ``"0714 Electronics and automation (detailed)"`` when a label is known;
- ``field_level`` (Int64): 4 detailed, 3 narrow, 2 broad, 0 no common field (the rule of
  :mod:`.affinity`: "not further defined" codes match only at the level they name);
- ``ecosystems``, ``keywords`` (List(String)): shared industrial ecosystems and keywords
  (keywords folded as :mod:`.affinity` compares them);
- ``text_similarity`` (Float64, [0, 1]): the cosine of the proposal's title and abstract with the
  expert's profile text under the text model used (TF-IDF unless a ``(P, E)`` matrix is given),
  and ``shared_terms`` (List(String)): the (at most 3) words that weigh most in the TF-IDF cosine;
- ``rank`` / ``eligible`` (Int64): the pair's competition rank by affinity among the proposal's
  eligible experts (not conflicted, not forbidden: 1 = no eligible expert has a higher affinity),
  and how many eligible experts the proposal has;
- ``explanation`` (String): all of it in one sentence, never empty.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import polars as pl

from . import _sets
from .affinity import (
    LEVELS,
    _isced_at,
    _keyword_sets,
    _list,
    expert_texts,
    proposal_texts,
)
from .instance import AssignmentInstance
from .text import TermWeights, term_weights

LEVEL_NAMES: Final = {4: "detailed", 3: "narrow", 2: "broad"}
SHARED_TERMS: Final = 3
LOW_AFFINITY: Final = 0.4  # default "best available expert is weak" mark, see affinity_quality
_CELLS: Final = 2**21  # (rows x experts) cells per block when ranking
_TERM_CELLS: Final = 2**17  # (rows x terms) cells of a block of proposal term weights (512 KB)

Label = Callable[[str], str | None]


def _indices(inst: AssignmentInstance, pairs: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(n,) proposal rows and (n,) expert columns of ``pairs``."""
    frame = pairs.select(pl.col("proposal_id", "expert_id").cast(pl.String))
    p_ids = pl.DataFrame({"proposal_id": inst.proposal_ids.tolist()}).with_row_index("p")
    e_ids = pl.DataFrame({"expert_id": inst.expert_ids.tolist()}).with_row_index("e")
    found = frame.join(p_ids, on="proposal_id", how="left", maintain_order="left").join(
        e_ids, on="expert_id", how="left", maintain_order="left"
    )
    unknown = found.filter(pl.col("p").is_null() | pl.col("e").is_null())
    if unknown.height:
        first = unknown.row(0, named=True)
        raise ValueError(
            f"{unknown.height} pair(s) to explain name an unknown proposal or expert, e.g. "
            f"({first['proposal_id']}, {first['expert_id']})"
        )
    return (
        found["p"].cast(pl.Int64).to_numpy(),
        found["e"].cast(pl.Int64).to_numpy(),
    )


@dataclass(frozen=True, slots=True)
class ValueSets:
    """The sets of a ``List(String)`` column of the proposals and of the experts as integer
    codes: ``values`` (U,) the distinct strings, sorted; ``proposals`` and ``experts`` each
    row's set as the sorted codes ``row * U + id`` (``id`` a position in ``values``, so a row's
    codes run in the strings' order)."""

    values: pl.Series
    proposals: np.ndarray
    experts: np.ndarray

    @property
    def size(self) -> int:
        return max(self.values.len(), 1)

    def common(self, p: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The values both ``p[i]``'s and ``e[i]``'s sets hold, pair after pair and in the
        strings' order within a pair: (m,) ``i`` and (m,) value ids."""
        size = self.size
        owner, codes = _sets.in_rows(self.proposals, size, p.astype(np.int64))
        ids = codes - p[owner] * size
        found = _sets.member(e[owner].astype(np.int64) * size + ids, self.experts)
        return owner[found], ids[found]

    def shared(self, p: np.ndarray, e: np.ndarray) -> pl.Series:
        """(n,) ``List(String)``: the values both sides of each pair hold, sorted."""
        owner, ids = self.common(p, e)
        return _lists(owner, self.values.gather(ids), p.size)


def _encode(lists: Sequence[pl.Series]) -> tuple[pl.Series, list[np.ndarray]]:
    """The sorted distinct values of several ``List(String)`` series (nulls ignored), and each
    series' rows as the sorted codes ``row * U + id`` of :class:`ValueSets`."""
    long = (
        pl.concat(
            [
                pl.DataFrame({"side": k, "row": np.arange(s.len()), "v": s})
                for k, s in enumerate(lists)
            ],
            how="vertical_relaxed",
        )
        .explode("v")
        .drop_nulls("v")
    )
    values = long["v"].unique().sort()
    size = max(values.len(), 1)
    ids = long["v"].rank("dense").cast(pl.Int64).to_numpy() - 1
    codes = long["row"].cast(pl.Int64).to_numpy() * size + ids
    side = long["side"].to_numpy()
    return values, [_sets.unique(codes[side == k]) for k in range(len(lists))]


def value_sets(a: pl.Series, b: pl.Series) -> ValueSets:
    """The :class:`ValueSets` of the lists ``a`` (proposals) and ``b`` (experts); nulls are
    ignored."""
    values, (proposals, experts) = _encode([a, b])
    return ValueSets(values, proposals, experts)


@dataclass(frozen=True, slots=True)
class FieldBits:
    """The field codes of every level of :data:`.affinity.LEVELS` as bit sets: ``codes`` the
    sorted codes of all levels (a code's id is its position), ``proposals[d]`` / ``experts[d]``
    a ``(rows, W)`` uint64 table whose row holds bit ``id`` for each code the row lists at
    level ``d`` (ISCED-F has under 200 codes: W is 2 or 3), and ``parents[d]`` the id of each
    code's first ``d`` digits (-1 when no row lists it)."""

    codes: pl.Series
    proposals: dict[int, np.ndarray]
    experts: dict[int, np.ndarray]
    parents: dict[int, np.ndarray]

    def common(self, d: int, p: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The codes of level ``d`` both ``p[i]`` and ``e[i]`` list, pair after pair and by id:
        (m,) ``i`` and (m,) code ids."""
        return _bits_of(self.proposals[d][p] & self.experts[d][e])


def _bytes(bits: np.ndarray) -> np.ndarray:
    """(n, 8 W) uint8 of (n, W) uint64 bit sets: byte ``b`` holds bits ``8 b .. 8 b + 7``."""
    return np.ascontiguousarray(bits, dtype="<u8").view(np.uint8)


_ONES: Final = np.array([bin(v).count("1") for v in range(256)], dtype=np.int64)  # bits per byte
# the set bits of each byte value, ascending (padded with 0)
_BIT_AT: Final = np.array(
    [[j for j in range(8) if v >> j & 1] + [0] * (8 - bin(v).count("1")) for v in range(256)],
    dtype=np.int64,
)


def _bit_table(rows: np.ndarray, ids: np.ndarray, n: int, words: int) -> np.ndarray:
    """(n, words) uint64 with bit ``ids[i]`` set in row ``rows[i]``."""
    out = np.zeros(n * words, dtype=np.uint64)
    bit = np.left_shift(np.uint64(1), (ids % 64).astype(np.uint64))
    np.bitwise_or.at(out, rows * words + ids // 64, bit)
    return out.reshape(n, words)


def _bits_of(bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The set bits of (n, W) bit sets, row after row and ascending: (m,) row, (m,) bit. The
    work is that of the bytes that hold a bit."""
    flat = _bytes(bits).reshape(-1)
    at = np.flatnonzero(flat)
    value = flat[at]
    owner, nth = _sets.ranges(np.zeros(at.size, dtype=np.int64), _ONES[value])
    byte = at[owner]
    width = bits.shape[1] * 8
    return byte // width, (byte % width) * 8 + _BIT_AT[value[owner], nth]


def _field_bits(p_fields: pl.Series, e_fields: pl.Series) -> FieldBits:
    """The :class:`FieldBits` of the proposals' and experts' ``fields`` lists."""
    codes, sides = _encode([s for d in LEVELS for s in (_isced_at(p_fields, d),
                                                         _isced_at(e_fields, d))])
    size = max(codes.len(), 1)
    words = max(1, -(-codes.len() // 64))
    tables = [
        _bit_table(side // size, side % size, n, words)
        for side, n in zip(sides, [p_fields.len(), e_fields.len()] * len(LEVELS), strict=True)
    ]
    index = pl.DataFrame({"code": codes}).with_row_index("id")
    parents = {
        d: pl.DataFrame({"code": codes.str.slice(0, d)})
        .join(index, on="code", how="left", maintain_order="left")["id"]
        .cast(pl.Int64)
        .fill_null(-1)
        .to_numpy()
        for d in LEVELS[:-1]
    }
    return FieldBits(
        codes,
        {d: tables[2 * k] for k, d in enumerate(LEVELS)},
        {d: tables[2 * k + 1] for k, d in enumerate(LEVELS)},
        parents,
    )


@dataclass(frozen=True, slots=True)
class CallEvidence:
    """What the explanations compare that depends on the call only, not on the pairs: the
    TF-IDF vectors (:func:`text_weights`) and the vocabulary's names (``terms``, sorted, as a
    vocabulary of unigrams is), the field codes of every level as :class:`FieldBits`, and the
    ecosystem and keyword sets."""

    weights: TermWeights
    terms: pl.Series
    fields: FieldBits
    ecosystems: ValueSets
    keywords: ValueSets

    @property
    def codes(self) -> pl.Series:
        """The field codes of every level, sorted."""
        return self.fields.codes


def call_evidence(proposals: pl.DataFrame, experts: pl.DataFrame) -> CallEvidence:
    """The :class:`CallEvidence` of a call (frames in the instance's order). It may be
    computed while the instance is solved."""
    weights = text_weights(proposals, experts)
    return CallEvidence(
        weights,
        pl.Series(list(weights.model.vocabulary), dtype=pl.String),
        _field_bits(_list(proposals, "fields"), _list(experts, "fields")),
        value_sets(_list(proposals, "ecosystems"), _list(experts, "ecosystems")),
        value_sets(_keyword_sets(proposals), _keyword_sets(experts)),
    )


def _lists(owner: np.ndarray, values: pl.Series, n: int) -> pl.Series:
    """(n,) ``List(String)``: row ``i`` holds the ``values`` whose ``owner`` is ``i``, in order
    (``owner`` sorted). When the rows are short (as shared codes, keywords and terms are), the
    values are laid out in a padded (n, longest) table cut to each row's length; otherwise
    grouped (the grouping told that ``owner`` is sorted)."""
    empty = pl.lit([], dtype=pl.List(pl.String))
    if values.len() == 0:
        return pl.DataFrame({"i": np.arange(n)}).with_columns(v=empty)["v"]
    counts = np.bincount(owner, minlength=n)
    width = int(counts.max())
    if n * width <= 4 * max(values.len(), n):
        at = np.zeros(n * width, dtype=np.int64)  # padding: any value, cut off below
        first = np.cumsum(counts) - counts
        at[owner * width + np.arange(owner.size) - first[owner]] = np.arange(owner.size)
        table = values.gather(at).reshape((n, width))
        return pl.DataFrame({"v": table, "n": counts}).select(
            pl.col("v").arr.to_list().list.head(pl.col("n"))
        ).to_series()
    grouped = (
        pl.DataFrame({"i": pl.Series(owner.astype(np.int64)).set_sorted(), "v": values})
        .group_by("i", maintain_order=True)
        .agg("v")
    )
    out = pl.DataFrame({"i": np.arange(n, dtype=np.int64)}).join(
        grouped, on="i", how="left", maintain_order="left"
    )["v"]
    return out.fill_null(empty)


def _field_matches(
    evidence: CallEvidence, p: np.ndarray, e: np.ndarray, label: Label
) -> tuple[pl.Series, np.ndarray]:
    """(n,) ``field_matches`` and (n,) ``field_level`` of the pairs ``(p[i], e[i])``: the codes
    both list at each level, less those a more precise match implies, most precise first."""
    fields = evidence.fields
    size = max(fields.codes.len(), 1)
    found = {d: fields.common(d, p, e) for d in LEVELS}
    owners, ids, levels = [], [], []
    for d in sorted(found, reverse=True):
        owner, code = found[d]
        # a detailed match implies its narrow and broad codes, a narrow one its broad code
        implied = []
        for hi, (o, c) in found.items():
            if hi > d:
                parent = fields.parents[d][c]
                implied.append((o * size + parent)[parent >= 0])
        if implied:
            keep = ~_sets.member(owner * size + code, _sets.unique(np.concatenate(implied)))
            owner, code = owner[keep], code[keep]
        owners.append(owner)
        ids.append(code)
        levels.append(np.full(owner.size, d, dtype=np.int64))
    owner, code, level = (np.concatenate(x) for x in (owners, ids, levels))
    order = np.argsort(owner, kind="stable")  # levels were laid out most precise first
    owner, code, level = owner[order], code[order], level[order]
    field_level = np.zeros(p.size, dtype=np.int64)
    np.maximum.at(field_level, owner, level)
    keys = _sets.unique(level * size + code)
    names = evidence.codes.gather(keys % size).to_list()
    texts = [
        f"{c} {name} ({LEVEL_NAMES[d]})" if (name := label(c)) else f"{c} ({LEVEL_NAMES[d]})"
        for c, d in zip(names, (keys // size).tolist(), strict=True)
    ]
    text = pl.Series(texts, dtype=pl.String).gather(np.searchsorted(keys, level * size + code))
    return _lists(owner, text, p.size), field_level


def text_weights(proposals: pl.DataFrame, experts: pl.DataFrame) -> TermWeights:
    """The TF-IDF term vectors the explanations compare: every proposal text (rows ``0..P-1``)
    then every expert text (rows ``P..P+E-1``), fitted on all of them as
    :func:`.affinity.tfidf_similarity` fits them. Depends on the texts only, so it may be
    computed while the instance is solved."""
    return term_weights(
        [*proposal_texts(proposals), *expert_texts(experts)], weighting="tfidf", bigrams=False
    )


def _text_evidence(
    evidence: CallEvidence, n_proposals: int, p: np.ndarray, e: np.ndarray
) -> tuple[np.ndarray, pl.Series]:
    """(n,) TF-IDF cosine of each pair and its (at most 3) heaviest shared terms (ties: the
    first by name).

    The pairs, in proposal order, have their expert rows of the CSR arrays gathered, and each
    of those terms' weight in the proposal read from a dense table of a block of proposal rows
    (:func:`_proposal_weights`; no scipy, whose import cost more than the product); the float32
    products, zeros dropped, are summed in term order in float32, as a sparse row product sums
    them."""
    weights = evidence.weights
    order = None if bool((p[1:] >= p[:-1]).all()) else np.argsort(p, kind="stable")
    if order is not None:
        p, e = p[order], e[order]
    pair, term, value_e = _gather_rows(weights, n_proposals + e)
    value_p = _proposal_weights(evidence, n_proposals, p[pair], term)
    shared_at = np.flatnonzero(value_p != 0)  # most of an expert's terms are not the proposal's
    pair, term = pair[shared_at], term[shared_at]
    values = value_p[shared_at] * value_e[shared_at]
    nonzero = np.flatnonzero(values != 0)
    pair, term, values = pair[nonzero], term[nonzero], values[nonzero]
    shared = np.bincount(pair, minlength=p.size)
    indptr = np.zeros(p.size + 1, dtype=np.int64)
    np.cumsum(shared, out=indptr[1:])
    width = int(shared.max()) if shared.size else 0
    grid = np.zeros((p.size, width + 1), dtype=np.float32)
    grid[pair, np.arange(pair.size) - indptr[pair]] = values
    cosine = np.clip(np.cumsum(grid, axis=1, dtype=np.float32)[:, -1], 0.0, 1.0)
    cosine, terms = cosine.astype(np.float64), _top_terms(evidence, grid, term, indptr)
    if order is None:
        return cosine, terms
    back = np.empty_like(order)
    back[order] = np.arange(order.size)
    return cosine[back], terms.gather(back)


def _proposal_weights(
    evidence: CallEvidence, n_proposals: int, rows: np.ndarray, term: np.ndarray
) -> np.ndarray:
    """(m,) float32 weight of ``term[i]`` in proposal ``rows[i]`` (0 when absent), ``rows``
    sorted. Block after block of proposal rows, their CSR entries are written into a dense
    (rows, V) table, read at the wanted cells and cleared again: the work is that of the
    entries and the cells read, not of the table."""
    weights = evidence.weights
    n_terms = max(len(weights.model.vocabulary), 1)
    step = max(16, _TERM_CELLS // n_terms)
    table = np.zeros(min(step, max(n_proposals, 1)) * n_terms, dtype=np.float32)
    out = np.zeros(rows.size, dtype=np.float32)
    if rows.size == 0:
        return out
    for start in range(int(rows[0]) // step * step, int(rows[-1]) + 1, step):
        lo, hi = np.searchsorted(rows, [start, start + step])
        if lo == hi:
            continue
        stop = min(start + step, n_proposals)
        first, last = weights.indptr[start], weights.indptr[stop]
        row = np.repeat(np.arange(stop - start), np.diff(weights.indptr[start : stop + 1]))
        cells = row * n_terms + weights.indices[first:last]
        table[cells] = weights.data[first:last]
        out[lo:hi] = table[(rows[lo:hi] - start) * n_terms + term[lo:hi]]
        table[cells] = 0
    return out


def _top_terms(
    evidence: CallEvidence, grid: np.ndarray, term: np.ndarray, indptr: np.ndarray
) -> pl.Series:
    """(n,) the (at most :data:`SHARED_TERMS`) terms of each pair with the largest positive
    products, largest first, ties by name: ``grid`` (n, width) holds pair ``i``'s products in
    its first columns, in term index order (the names' order), the terms being
    ``term[indptr[i]:indptr[i + 1]]``. Each round takes every row's first maximum and clears it
    (``grid`` is changed; no sort of the products)."""
    n = grid.shape[0]
    rows = np.arange(n)
    top = np.full((n, SHARED_TERMS), -1, dtype=np.int64)
    for j in range(SHARED_TERMS):
        at = grid.argmax(axis=1)  # the first of the largest: the first by name among ties
        ok = grid[rows, at] > 0
        top[ok, j] = term[indptr[:-1][ok] + at[ok]]
        grid[rows, at] = 0
    flat = top.reshape(-1)
    found = flat >= 0
    owner = np.repeat(np.arange(n, dtype=np.int64), SHARED_TERMS)[found]
    return _lists(owner, evidence.terms.gather(flat[found]), n)


def _gather_rows(weights: TermWeights, rows: np.ndarray) -> tuple[np.ndarray, ...]:
    """The entries of the CSR rows ``rows`` (n,), in order: (m,) position in ``rows``, term and
    float32 weight."""
    start = weights.indptr[rows].astype(np.int64)
    owner, at = _sets.ranges(start, weights.indptr[rows + 1].astype(np.int64) - start)
    return owner, weights.indices[at].astype(np.int64), weights.data[at]


def _row_blocks(n_p: int, n_e: int) -> range:
    return range(0, n_p, max(1, _CELLS // max(1, n_e)))


def eligible_ranks(
    inst: AssignmentInstance, p: np.ndarray, e: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(n,) competition rank of each pair's affinity among its proposal's eligible experts
    (1 + how many eligible experts have a strictly higher affinity) and (n,) how many eligible
    experts the proposal has. Eligible: neither conflicted nor forbidden.

    Per block of rows, without copying or gathering the matrix: each proposal's pairs are laid
    out as the columns of a (rows, slots) table of their affinities, the experts with a higher
    affinity than the row's lowest pair are found in one pass over the block and counted for
    each slot, then the ineligible ones among them (a sparse set, compared once per row) are
    taken off."""
    n_p, n_e = inst.n_proposals, inst.n_experts
    blocked = inst.ineligible_codes()
    own = np.asarray(inst.affinity[p, e], dtype=np.float32)
    order = np.argsort(p, kind="stable")
    sorted_p = p[order].astype(np.int64)
    slot = np.arange(p.size, dtype=np.int64) - np.searchsorted(sorted_p, sorted_p)
    slots = int(slot.max()) + 1 if p.size else 0
    rank = np.ones(p.size, dtype=np.int64)
    eligible = np.zeros(p.size, dtype=np.int64)
    step = max(1, _CELLS // max(1, n_e))
    for start in _row_blocks(n_p, n_e):
        stop = min(n_p, start + step)
        lo, hi = np.searchsorted(sorted_p, [start, stop])
        if lo == hi:
            continue
        rows, which = sorted_p[lo:hi] - start, order[lo:hi]
        block = np.asarray(inst.affinity[start:stop])
        table = np.full((stop - start, slots), np.inf, dtype=np.float32)  # inf: no pair
        table[rows, slot[lo:hi]] = own[which]
        # one pass finds the experts above a row's lowest pair (few: assigned experts rank
        # high); each slot's count is taken among them
        floor = table.min(axis=1)
        at = np.flatnonzero(block > floor[:, None])  # one pass over the mask
        above, above_r = block.reshape(-1)[at], at // n_e
        higher = np.zeros((stop - start, slots), dtype=np.int64)
        for j in range(slots):
            higher[:, j] = np.bincount(
                above_r[above > table[above_r, j]], minlength=stop - start
            )
        # the ineligible pairs of each row (sorted codes: one search gives every row's run)
        runs = np.searchsorted(blocked, np.arange(start, stop + 1, dtype=np.int64) * n_e)
        per_row = np.diff(runs)
        codes = blocked[runs[0] : runs[-1]] - start * n_e
        values = block.reshape(-1)[codes]  # a view for a C-ordered matrix, else a copy
        high = np.flatnonzero(values > np.repeat(floor, per_row))  # the rest pass no slot
        b_rows, values = codes[high] // n_e, values[high]
        for j in range(slots):
            higher[:, j] -= np.bincount(
                b_rows[values > table[b_rows, j]], minlength=stop - start
            )
        rank[which] = 1 + higher[rows, slot[lo:hi]]
        eligible[which] = n_e - per_row[rows]
    return rank, eligible


def _joined(name: str, before: str, after: str = "", none: str = "") -> pl.Expr:
    """Each row's ``before + "a, b" + after`` of the list column ``name``, or ``none`` for an
    empty list."""
    return (
        pl.when(pl.col(name).list.len() > 0)
        .then(pl.lit(before) + pl.col(name).list.join(", ") + pl.lit(after))
        .otherwise(pl.lit(none))
    )


def _listed(column: str, title: str) -> pl.Expr:
    """Each row's ``"title: a, b"`` of the list column ``column``, or ``"no title in
    common"``."""
    return _joined(column, f"{title}: ", none=f"no {title} in common")


def _sentence(text_model: str | None) -> pl.Expr:
    """The explanation of each pair from the columns of :func:`explain_pairs`: one polars
    expression, whose parts are written in parallel outside the interpreter lock."""
    named = f"text similarity ({text_model}) " if text_model else "text similarity "
    return pl.concat_str(
        _listed("field_matches", "fields"), pl.lit("; "),
        _listed("ecosystems", "ecosystems"), pl.lit("; "),
        _listed("keywords", "keywords"), pl.lit("; "),
        pl.lit(named), pl.col("text_similarity").round(2).cast(pl.String),
        _joined("shared_terms", " (shared terms: ", ")"),
        pl.lit("; rank "), pl.col("rank").cast(pl.String), pl.lit(" of "),
        pl.col("eligible").cast(pl.String), pl.lit(" eligible experts"),
    )


def explain_pairs(
    inst: AssignmentInstance,
    proposals: pl.DataFrame,
    experts: pl.DataFrame,
    pairs: pl.DataFrame,
    *,
    text_similarity: np.ndarray | None = None,
    label: Label | None = None,
    text_model: str | None = None,
    evidence: CallEvidence | None = None,
) -> pl.DataFrame:
    """One explanation row per pair (see the module docstring for the columns), in the order
    of ``pairs``. ``text_similarity``: the ``(P, E)`` matrix in [0, 1] the affinity was built
    from, when it was not the built-in TF-IDF; ``label``: the name of an ISCED-F code;
    ``text_model``: the text model's name, written next to the similarity; ``evidence``: the
    :func:`call_evidence` of ``proposals`` and ``experts``, when already computed."""
    if proposals.height != inst.n_proposals or experts.height != inst.n_experts:
        raise ValueError(
            "the proposals and experts frames must be the instance's, in its order: "
            f"({inst.n_proposals}, {inst.n_experts}) rows; got "
            f"({proposals.height}, {experts.height})"
        )
    p, e = _indices(inst, pairs)
    # the ranks scan the matrix in numpy, the field matches and shared ecosystems are bit and
    # code set operations in numpy, mostly outside the interpreter lock: on a second thread
    # they overlap the text and keyword evidence below (the two threads' shares about equal)
    with ThreadPoolExecutor(max_workers=1) as pool:
        evidence = call_evidence(proposals, experts) if evidence is None else evidence
        ranks = pool.submit(eligible_ranks, inst, p, e)
        fields_ = pool.submit(_field_matches, evidence, p, e, label or (lambda _code: None))
        ecosystems = pool.submit(evidence.ecosystems.shared, p, e)
        cosine, terms = _text_evidence(evidence, inst.n_proposals, p, e)
        if text_similarity is not None:
            cosine = np.asarray(text_similarity, dtype=np.float64)[p, e]
        keywords = evidence.keywords.shared(p, e)
        rank, eligible = ranks.result()
        matches, level = fields_.result()
    # the ids as given: each is one of the instance's (``_indices`` found them all)
    return pairs.select(pl.col("proposal_id", "expert_id").cast(pl.String)).with_columns(
        affinity=pl.Series(np.asarray(inst.affinity[p, e], dtype=np.float64)),
        field_matches=matches,
        field_level=pl.Series(level, dtype=pl.Int64),
        ecosystems=ecosystems.result(),
        keywords=keywords,
        text_similarity=pl.Series(cosine, dtype=pl.Float64),
        shared_terms=terms,
        rank=pl.Series(rank, dtype=pl.Int64),
        eligible=pl.Series(eligible, dtype=pl.Int64),
    ).with_columns(explanation=_sentence(text_model))


def affinity_quality(
    inst: AssignmentInstance,
    proposals: pl.DataFrame,
    explained: pl.DataFrame,
    *,
    low: float = LOW_AFFINITY,
    best: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, Any]:
    """What a manager reads of an assignment's expertise, as JSON-ready values.

    ``field_coverage``: among the proposals that list at least one ISCED-F field (``with_fields``),
    the share with at least one assigned expert in one of their detailed fields, then at least in
    their narrow field, then at least in their broad field (so detailed <= narrow <= broad); a
    proposal without any assigned expert counts as covered at no level.
    ``low_affinity``: the proposals whose best eligible expert (over the whole pool, assigned or
    not) has an affinity below ``low``, weakest first: ``proposal_id, best_affinity,
    best_expert_id, main_field`` — where to recruit. ``explained`` is :func:`explain_pairs`'
    frame of the assignment; ``best``: :func:`best_eligible` of ``inst``, when already computed
    (it depends on the instance only)."""
    if not 0.0 <= low <= 1.0:
        raise ValueError(f"the `low` parameter of affinity_quality must lie in [0, 1]; got {low}")
    has_fields = (_list(proposals, "fields").list.len() > 0).to_numpy()
    level = np.zeros(inst.n_proposals, dtype=np.int64)
    if explained.height:
        rows, _ = _indices(inst, explained)
        np.maximum.at(level, rows, explained["field_level"].to_numpy().astype(np.int64))
    n = int(has_fields.sum())

    def share(d: int) -> float | None:
        return round(float((level[has_fields] >= d).mean()), 4) if n else None

    top, best_e = best_eligible(inst) if best is None else best
    weak = np.flatnonzero(top < low)
    weak = weak[np.lexsort((inst.proposal_ids[weak], top[weak]))]
    return {
        "with_fields": n,
        "field_coverage": {"detailed": share(4), "narrow": share(3), "broad": share(2)},
        "low_affinity_below": low,
        "low_affinity": [
            {
                "proposal_id": str(inst.proposal_ids[i]),
                "best_affinity": round(float(top[i]), 4) if best_e[i] >= 0 else None,
                "best_expert_id": str(inst.expert_ids[best_e[i]]) if best_e[i] >= 0 else None,
                "main_field": str(inst.first_field[i]),
            }
            for i in weak.tolist()
        ],
    }


def best_eligible(inst: AssignmentInstance) -> tuple[np.ndarray, np.ndarray]:
    """(P,) best eligible affinity (-1 when none is eligible) and (P,) its expert (-1).

    The first maximum of each row is taken over the whole row; only the rows where it falls
    on an ineligible pair are searched again without their ineligible experts."""
    n_p, n_e = inst.n_proposals, inst.n_experts
    blocked = inst.ineligible_codes()
    best = np.full(n_p, -1.0, dtype=np.float64)
    who = np.full(n_p, -1, dtype=np.int64)
    if n_e == 0:
        return best, who
    for start in _row_blocks(n_p, n_e):
        stop = min(n_p, start + max(1, _CELLS // n_e))
        block = np.asarray(inst.affinity[start:stop])
        arg = block.argmax(axis=1)
        rows = np.arange(start, stop, dtype=np.int64)
        top = block[rows - start, arg].astype(np.float64)
        again = np.flatnonzero(_sets.member(rows * n_e + arg, blocked))
        if again.size:
            sub = np.array(block[again], dtype=np.float64)
            owner, codes = _sets.in_rows(blocked, n_e, rows[again])
            sub[owner, codes % n_e] = -1.0
            arg[again] = sub.argmax(axis=1)
            top[again] = sub.max(axis=1)
        who[start:stop] = np.where(top >= 0, arg, -1)
        best[start:stop] = top
    return best, who
