"""The excluded pairs of a call as the conflicts page shows them, without building every pair:
the number of rows by reason, and the rows of one page of the table that
:func:`assignment.find_conflicts` returns (sorted by ``proposal_id, expert_id, reason``).

At 5,000 proposals and 2,000 experts the rule excludes 1.5 million pairs, nearly all of them
because the expert does not read the proposal's language; building them all as rows took
seconds that a page showing 500 of them does not need. The rule stays in
:mod:`assignment.conflicts`; this view reads its integer form (:func:`assignment.conflict_set`):
the few rows of every reason but ``language``, and for each language the experts who do not read
it with their sentences, which are those of every proposal in that language.

From these the rows of every proposal are counted, so a page is found by position: only the
proposals it covers get their rows built. :class:`ExclusionView` is computed once per version
of the call's tables (the dashboard caches it); :class:`ExcludedRows` is one reason's rows (or
all), with ``height`` and ``slice`` like a frame's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

import assignment

LANGUAGE = "language"
COLUMNS = ("proposal_id", "expert_id", "reason", "detail")


@dataclass(frozen=True, slots=True)
class ExcludedRows:
    """The rows of one reason (``reason`` None: every reason) in the rule's order; ``height``
    rows in all, built ``slice`` by ``slice``."""

    view: ExclusionView
    reason: str | None
    per_proposal: np.ndarray  # (P,) int64 rows of each proposal, in proposal_id order
    ends: np.ndarray  # (P,) int64 cumulative sum of per_proposal

    @property
    def height(self) -> int:
        return int(self.ends[-1]) if self.ends.size else 0

    def slice(self, offset: int, length: int | None = None) -> pl.DataFrame:
        """Rows ``offset`` to ``offset + length`` (to the end without ``length``)."""
        offset = max(0, min(offset, self.height))
        stop = self.height if length is None else min(self.height, offset + max(0, length))
        if stop <= offset:
            return self.view.others.select(COLUMNS).clear()
        first = int(np.searchsorted(self.ends, offset, side="right"))
        last = int(np.searchsorted(self.ends, stop - 1, side="right"))
        start = int(self.ends[first] - self.per_proposal[first])
        rows = self.view.rows_of(first, last + 1, self.reason)
        return rows.slice(offset - start, stop - offset)


@dataclass(frozen=True, slots=True)
class ExclusionView:
    """The call's excluded pairs, counted, with the parts a page's rows are built from."""

    proposal_ids: pl.Series  # sorted
    others: pl.DataFrame  # every reason but language: COLUMNS + p_idx, in the rule's order
    group_of: np.ndarray  # (P,) int64: each proposal's language group
    language: list[pl.DataFrame]  # per group: expert_id, detail of the experts excluded

    @classmethod
    def of(
        cls,
        proposals: pl.DataFrame,
        partners: pl.DataFrame,
        experts: pl.DataFrame,
        declared: pl.DataFrame | None,
        *,
        today: dt.date | None = None,
    ) -> ExclusionView:
        """The view of the exclusions on ``today`` (default: today) of the call of these
        frames (those :func:`assignment.find_conflicts` takes), with the rule's defaults, as
        :func:`evalpanel.planning.conflicts_of`."""
        return cls.of_set(assignment.conflict_set(
            proposals, partners, experts, declared, today=today or dt.date.today()))

    @classmethod
    def of_set(cls, found: assignment.Conflicts) -> ExclusionView:
        """The view of the rule's result ``found`` (:func:`assignment.conflict_set`, proposals
        and experts in id order)."""
        ids, eids, n_e = found.proposal_ids, found.expert_ids, found.n_experts
        others = found.rows.select(
            proposal_id=ids.gather(found.rows["p"]), expert_id=eids.gather(found.rows["e"]),
            reason="reason", detail="detail", p_idx="p")
        language = []
        for lang in range(found.reads.shape[0]):
            cols = np.flatnonzero(~found.reads[lang])
            language.append(pl.DataFrame({
                "expert_id": eids.gather(cols),
                "detail": found.language_details.gather(lang * n_e + cols),
            }))
        return cls(ids, others, found.language, language)

    def _language_counts(self) -> np.ndarray:
        sizes = np.array([frame.height for frame in self.language], dtype=np.int64)
        return sizes[self.group_of] if sizes.size else np.zeros(0, dtype=np.int64)

    def _other_counts(self, reason: str | None) -> np.ndarray:
        rows = self.others if reason is None else self.others.filter(pl.col("reason") == reason)
        return np.bincount(rows["p_idx"].to_numpy(), minlength=self.proposal_ids.len()).astype(
            np.int64)

    def reasons(self) -> pl.DataFrame:
        """``reason, pairs``: the rows of each reason, most first (as a ``group_by`` of
        :func:`assignment.find_conflicts`' rows counts them)."""
        counts = self.others.group_by("reason").len("pairs").with_columns(
            pl.col("pairs").cast(pl.UInt32))
        n_language = int(self._language_counts().sum())
        if n_language:
            counts = pl.concat([counts, pl.DataFrame(
                {"reason": [LANGUAGE], "pairs": [n_language]},
                schema={"reason": pl.String, "pairs": pl.UInt32})])
        return counts.sort("pairs", "reason", descending=[True, False])

    def rows(self, reason: str | None = None) -> ExcludedRows:
        """The rows of ``reason`` (None: every reason), for paging."""
        if reason == LANGUAGE:
            per = self._language_counts()
        elif reason is None:
            per = self._language_counts() + self._other_counts(None)
        else:
            per = self._other_counts(reason)
        return ExcludedRows(self, reason, per, np.cumsum(per))

    def rows_of(self, first: int, stop: int, reason: str | None) -> pl.DataFrame:
        """Every row (of ``reason``, or of all) of the proposals ``first`` to ``stop`` (their
        positions in id order), in the rule's order."""
        parts = []
        if reason != LANGUAGE:
            mine = self.others.filter(pl.col("p_idx").is_between(first, stop - 1))
            parts.append(mine.select(COLUMNS) if reason is None
                         else mine.filter(pl.col("reason") == reason).select(COLUMNS))
        if reason in (None, LANGUAGE):
            for p in range(first, stop):
                excluded = self.language[int(self.group_of[p])]
                if excluded.height:
                    parts.append(excluded.select(
                        proposal_id=pl.lit(self.proposal_ids[p], dtype=pl.String),
                        expert_id="expert_id", reason=pl.lit(LANGUAGE), detail="detail"))
        return pl.concat(parts).sort("proposal_id", "expert_id", "reason") if parts else \
            self.others.select(COLUMNS).clear()
