"""A call's conflicts as integers: what the instance excludes, without a row per excluded pair.

The language rule excludes every pair whose expert does not read the proposal's language: tens of
millions of pairs in a large call, yet only a product of each proposal's language with each
expert's languages. :class:`Conflicts` keeps that product and the few pairs of every other reason
as rows, in (proposals × experts) orientation (P proposals, E experts, L languages):

- ``proposal_ids`` (P,) / ``expert_ids`` (E,) String: row ``i`` and column ``j``;
- ``language`` (P,) int64: the row of ``reads`` of each proposal's language;
- ``reads`` (L, E) bool: whether expert ``j`` reads language ``l``; a pair ``(i, j)`` is a
  language conflict where ``reads[language[i], j]`` is False;
- ``language_details`` (L * E,) String: the sentence of a language conflict of (language ``l``,
  expert ``j``) at ``l * E + j``;
- ``rows``: frame ``p, e`` (Int64), ``reason, detail`` (String): every exclusion of another
  reason, one row per pair and reason, in pair order (``p, e``; by ``reason`` within a pair as
  :func:`assignment.find_conflicts` gives them).

Counts, masks, sorted pair codes (``p * E + e``) and membership are computed from these arrays;
the rows of :func:`assignment.find_conflicts` (ids, reasons and sentences as strings) are made by
:meth:`Conflicts.frame` alone, for those who show or write them. The rule itself (who conflicts
with whom, in which words) is :mod:`assignment.conflicts`'.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl

from assignment import _sets

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

LANGUAGE: Final = "language"
_BLOCK: Final = 1 << 22  # pairs of the (P, E) "cannot read" matrix looked at per step
_ROW_SCHEMA: Final = {"p": pl.Int64, "e": pl.Int64, "reason": pl.String, "detail": pl.String}


def _sorted(ids: pl.Series) -> bool:
    return ids.len() < 2 or bool((ids.slice(1) > ids.slice(0, ids.len() - 1)).all())


def _by_pair(rows: pl.DataFrame, n_e: int) -> pl.DataFrame:
    """``rows`` sorted by ``p, e, reason, detail`` unless already in pair order (as
    :func:`assignment.find_conflicts` gives them: a large frame is not sorted again)."""
    codes = rows["p"].to_numpy() * n_e + rows["e"].to_numpy()
    if codes.size > 1 and bool((codes[1:] < codes[:-1]).any()):
        return rows.sort("p", "e", "reason", "detail")
    return rows


@dataclass(frozen=True, slots=True, eq=False)
class Conflicts:
    """Every excluded (proposal, expert) pair of a call with its reasons; see the module
    docstring for the fields' shapes. Built by :func:`assignment.conflicts.conflict_set`."""

    proposal_ids: pl.Series
    expert_ids: pl.Series
    language: IntArray
    reads: BoolArray
    language_details: pl.Series
    rows: pl.DataFrame
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)
    # the cached sets are built once even when several threads ask at the same time (the
    # solver and the explanations' background work ask for the same codes)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def of_rows(cls, proposal_ids: pl.Series, expert_ids: pl.Series,
                rows: pl.DataFrame) -> Conflicts:
        """Conflicts given as rows ``p, e, reason, detail`` only (no language rule)."""
        return cls(
            proposal_ids=proposal_ids.cast(pl.String),
            expert_ids=expert_ids.cast(pl.String),
            language=np.zeros(proposal_ids.len(), dtype=np.int64),
            reads=np.ones((1, expert_ids.len()), dtype=bool),
            language_details=pl.Series([""] * expert_ids.len(), dtype=pl.String),
            rows=_by_pair(rows.select(pl.col(c).cast(t) for c, t in _ROW_SCHEMA.items()),
                          expert_ids.len()),
        )

    # -- sizes -------------------------------------------------------------------------------
    @property
    def n_proposals(self) -> int:
        return self.proposal_ids.len()

    @property
    def n_experts(self) -> int:
        return self.expert_ids.len()

    def _unread(self) -> IntArray:
        """(P,) how many experts do not read each proposal's language."""
        out: IntArray = (~self.reads).sum(axis=1).astype(np.int64)[self.language]
        return out

    def language_count(self) -> int:
        """How many pairs the language rule excludes."""
        return int(self._unread().sum())

    def _language_blocks(self) -> Iterator[tuple[int, IntArray, npt.NDArray[np.uint32]]]:
        """``(start, n, cols)`` per block of proposals: ``n`` (b,) how many language conflicts
        each of the rows ``start ..`` has, ``cols`` their columns, row after row in (proposal,
        expert) order. Gathered from each language's unread columns, not searched for in a
        (P, E) matrix."""
        n_e = self.n_experts
        unread = ~self.reads
        count = unread.sum(axis=1).astype(np.int64)
        flat = (np.flatnonzero(unread) % max(n_e, 1)).astype(np.uint32)
        offset = np.cumsum(count) - count
        per_row = count[self.language]
        step = max(1, _BLOCK // max(int(count.max(initial=0)), 1))
        for start in range(0, self.n_proposals, step):
            n = per_row[start:start + step]
            first = np.cumsum(n) - n  # where each row's conflicts start in the block
            at = np.arange(int(n.sum())) + np.repeat(offset[self.language[start:start + step]]
                                                     - first, n)
            yield start, n, flat[at]

    def language_pairs(self) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]:
        """(N,) uint32 rows and columns of the language conflicts, sorted by (proposal, expert)
        (uint32: half the memory of int64 indices)."""
        rows = np.repeat(np.arange(self.n_proposals, dtype=np.uint32), self._unread())
        cols = np.empty(rows.size, dtype=np.uint32)
        at = 0
        for _, _, c in self._language_blocks():
            cols[at:at + c.size] = c
            at += c.size
        return rows, cols

    def _row_codes(self) -> IntArray:
        """Sorted distinct codes of the pairs in ``rows``."""
        p, e = self.rows["p"].to_numpy(), self.rows["e"].to_numpy()
        return _sets.unique(p.astype(np.int64) * self.n_experts + e)

    def _not_language(self, codes: IntArray) -> IntArray:
        """Those of ``codes`` that the language rule does not exclude."""
        n_e = max(self.n_experts, 1)
        p, e = codes // n_e, codes % n_e
        out: IntArray = codes[self.reads[self.language[p], e]]
        return out

    # -- what the instance asks --------------------------------------------------------------
    def codes(self) -> IntArray:
        """Sorted distinct codes ``p * E + e`` of every excluded pair (read-only, kept)."""
        with self._lock:
            return self._codes()

    def _codes(self) -> IntArray:
        found = self._cache.get("codes")
        if found is None:
            n_e = self.n_experts
            found = np.empty(self.language_count(), dtype=np.int64)
            at = 0
            for start, n, c in self._language_blocks():
                rows = np.repeat(np.arange(start, start + n.size, dtype=np.int64) * n_e, n)
                found[at:at + c.size] = rows + c
                at += c.size
            others = self._not_language(self._row_codes())
            if others.size:  # few: inserted into the sorted language codes, not re-sorted
                found = np.insert(found, np.searchsorted(found, others), others)
            found.flags.writeable = False
            self._cache["codes"] = found
        out: IntArray = found
        return out

    def count(self) -> int:
        """How many distinct pairs are excluded."""
        return self.language_count() + int(self._not_language(self._row_codes()).size)

    def excludes(self, p: IntArray, e: IntArray) -> BoolArray:
        """(n,) bool: whether each index pair ``(p[i], e[i])`` is excluded."""
        p, e = np.asarray(p, dtype=np.int64), np.asarray(e, dtype=np.int64)
        by_rows = _sets.member(p * self.n_experts + e, self._row_codes())
        out: BoolArray = ~self.reads[self.language[p], e] | by_rows
        return out

    def pairs_mask(self) -> BoolArray:
        """(P, E) bool, True where the pair is excluded. Dense: P × E bytes."""
        mask = ~self.reads[self.language]
        mask.reshape(-1)[self._row_codes()] = True
        return mask

    def taken(self, p: IntArray, e: IntArray) -> Conflicts:
        """These conflicts in another orientation: row ``i`` is this one's row ``p[i]``,
        column ``j`` its column ``e[j]`` (``p`` and ``e`` permutations of the rows and
        columns)."""
        n_e, new_e = self.n_experts, len(e)
        inv_p = np.empty(self.n_proposals, dtype=np.int64)
        inv_p[p] = np.arange(len(p))
        inv_e = np.empty(n_e, dtype=np.int64)
        inv_e[e] = np.arange(new_e)
        n_lang = self.reads.shape[0]
        details = np.repeat(np.arange(n_lang) * n_e, new_e) + np.tile(e, n_lang)
        rows = self.rows.with_columns(
            p=pl.Series(inv_p[self.rows["p"].to_numpy()], dtype=pl.Int64),
            e=pl.Series(inv_e[self.rows["e"].to_numpy()], dtype=pl.Int64),
        )
        return Conflicts(
            proposal_ids=self.proposal_ids.gather(p),
            expert_ids=self.expert_ids.gather(e),
            language=self.language[p],
            reads=self.reads[:, e],
            language_details=self.language_details.gather(details),
            rows=_by_pair(rows, new_e),
        )

    def pair_rows(self, p: IntArray, e: IntArray) -> pl.DataFrame:
        """The rows ``p, e, reason, detail`` of the index pairs ``(p[i], e[i])`` (those that
        are excluded; a pair given twice counts once), sorted by ``p, e, reason`` as
        :meth:`frame`'s: what :func:`assignment.excluded_pairs` gives for them, without the
        rule being applied again."""
        p, e = np.asarray(p, dtype=np.int64), np.asarray(e, dtype=np.int64)
        codes = _sets.unique(p * self.n_experts + e)
        p, e = codes // max(self.n_experts, 1), codes % max(self.n_experts, 1)
        unread = ~self.reads[self.language[p], e]
        language = pl.DataFrame({
            "p": p[unread],
            "e": e[unread],
            "reason": [LANGUAGE] * int(unread.sum()),
            "detail": self.language_details.gather(self.language[p[unread]] * self.n_experts
                                                   + e[unread]),
        }, schema=_ROW_SCHEMA)
        row_codes = self.rows["p"].to_numpy() * self.n_experts + self.rows["e"].to_numpy()
        others = self.rows.filter(pl.Series(_sets.member(row_codes, codes)))
        return pl.concat([language, others]).sort("p", "e", "reason", "detail",
                                                  maintain_order=True)

    def rows_for(self, pairs: pl.DataFrame) -> pl.DataFrame:
        """:meth:`pair_rows` of ``pairs`` (``proposal_id, expert_id``) named by their ids:
        ``proposal_id, expert_id, reason, detail`` (String), as
        :func:`assignment.excluded_pairs` gives them; a pair naming an id these conflicts do
        not know is not excluded."""
        found = pairs.select(pl.col("proposal_id", "expert_id").cast(pl.String)).join(
            self.proposal_ids.to_frame("proposal_id").with_row_index("p"), on="proposal_id"
        ).join(self.expert_ids.to_frame("expert_id").with_row_index("e"), on="expert_id")
        rows = self.pair_rows(found["p"].cast(pl.Int64).to_numpy(),
                              found["e"].cast(pl.Int64).to_numpy())
        return rows.select(proposal_id=self.proposal_ids.gather(rows["p"]),
                           expert_id=self.expert_ids.gather(rows["e"]),
                           reason="reason", detail="detail")

    def rows_of(self, p: int) -> pl.DataFrame:
        """The rows ``p, e, reason, detail`` of proposal row ``p``, sorted by ``e, reason``."""
        cols = np.flatnonzero(~self.reads[self.language[p]])
        language = pl.DataFrame({
            "p": np.full(cols.size, p, dtype=np.int64),
            "e": cols.astype(np.int64),
            "reason": [LANGUAGE] * cols.size,
            "detail": self.language_details.gather(self.language[p] * self.n_experts + cols),
        }, schema=_ROW_SCHEMA)
        return pl.concat([language, self.rows.filter(pl.col("p") == p)]).sort(
            "e", "reason", "detail", maintain_order=True)

    # -- rows, for those who show or write them ------------------------------------------------
    def indexed_rows(self) -> pl.DataFrame:
        """Frame ``p, e`` (Int64), ``reason, detail`` (String): one row per excluded pair and
        reason, sorted by ``p, e, reason``."""
        if self.language_count() == 0:
            return self.rows
        return self._assembled(ids=False)

    def frame(self, *, indices: bool = False) -> pl.DataFrame:
        """The rows of :func:`assignment.find_conflicts`: ``proposal_id, expert_id, reason,
        detail`` (String), sorted by ``proposal_id, expert_id, reason``; ``indices``: also
        ``p_idx, e_idx`` (Int64), each row's row and column here."""
        out = self._assembled(ids=True, indices=indices)
        if not (_sorted(self.proposal_ids) and _sorted(self.expert_ids)):
            out = out.sort("proposal_id", "expert_id", "reason", maintain_order=True)
        return out

    def _assembled(self, *, ids: bool, indices: bool = True) -> pl.DataFrame:
        rows, cols = self.language_pairs()
        detail_idx = self.language[rows].astype(np.uint32) * np.uint32(self.n_experts) + cols
        return assemble(self.proposal_ids, self.expert_ids, (rows, cols, detail_idx,
                                                             self.language_details),
                        self.rows, ids=ids, indices=indices)


def assemble(
    proposal_ids: pl.Series,
    expert_ids: pl.Series,
    language: tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32], npt.NDArray[np.uint32],
                    pl.Series],
    others: pl.DataFrame,
    *,
    ids: bool = True,
    indices: bool = False,
) -> pl.DataFrame:
    """The rows of the language conflicts ``language`` (``rows, cols``: (N,) indices sorted by
    (proposal, expert); ``detail_idx``: (N,) each one's sentence in the dictionary
    ``details``) interleaved with ``others`` (``p, e, reason, detail``, sorted by ``p, e,
    reason``) in (proposal, expert, reason) order.

    ``ids``: the columns ``proposal_id, expert_id, reason, detail`` (String), and with
    ``indices`` also ``p_idx, e_idx`` (Int64); else ``p, e, reason, detail``. Every column is
    gathered once from a small dictionary (the ids, the reason names, the sentences) by an
    integer index in output order, so the tens of millions of language rows are never copied,
    sorted or merged as strings."""
    rows, cols, detail_idx, details = language
    n_e, n_lang, n_other = expert_ids.len(), rows.size, others.height
    o_p = others["p"].to_numpy().astype(np.uint32)
    o_e = others["e"].to_numpy().astype(np.uint32)
    # where each other row goes among the language rows: before a language row of the same
    # pair when its reason sorts first
    codes = rows.astype(np.int64) * n_e + cols
    o_codes = o_p.astype(np.int64) * n_e + o_e
    first = (others["reason"] < LANGUAGE).to_numpy()
    at = np.where(first, np.searchsorted(codes, o_codes, side="left"),
                  np.searchsorted(codes, o_codes, side="right")) + np.arange(n_other)
    del codes
    is_language = np.ones(n_lang + n_other, dtype=bool)
    is_language[at] = False

    def index(lang_values: np.ndarray | int, other_values: np.ndarray) -> np.ndarray:
        out = np.empty(n_lang + n_other, dtype=np.uint32)
        out[is_language] = lang_values
        out[at] = other_values
        return out

    reasons = pl.concat([pl.Series([LANGUAGE], dtype=pl.String), others["reason"]])
    out = [
        reasons.gather(index(0, np.arange(1, n_other + 1))).alias("reason"),
        pl.concat([details, others["detail"]]).gather(
            index(detail_idx, details.len() + np.arange(n_other))).alias("detail"),
    ]
    p, e = index(rows, o_p), index(cols, o_e)
    if not ids:
        return pl.DataFrame([pl.Series("p", p, dtype=pl.Int64), pl.Series("e", e, dtype=pl.Int64),
                             *out])
    out = [proposal_ids.gather(p).alias("proposal_id"),
           expert_ids.gather(e).alias("expert_id"), *out]
    if indices:
        out += [pl.Series("p_idx", p, dtype=pl.Int64), pl.Series("e_idx", e, dtype=pl.Int64)]
    return pl.DataFrame(out)
