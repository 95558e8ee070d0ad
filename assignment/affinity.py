"""Expertise affinity of every (proposal, expert) pair, in [0, 1].

Inputs are the call-folder frames: ``proposals`` (P rows: ``proposal_id, title, abstract,
fields, ecosystems, keywords`` …) and ``experts`` (E rows: ``expert_id, fields, ecosystems,
keywords, profile`` …), list columns as ``List(String)``. Every matrix returned is ``(P, E)``
in the frames' row order: **sort both frames by id first** (polars lazy queries do not keep row
order) so row i / column j are the i-th / j-th ids.

The affinity is a weighted mean of four components, each in [0, 1]:

- ``fields``: ISCED-F 2013 overlap along the hierarchy, the best over the two lists — 1 for the
  same 4-digit detailed field, ``narrow`` (0.6) for the same 3-digit narrow field, ``broad``
  (0.3) for the same 2-digit broad field, else 0. "Not further defined" codes (``xxx0``,
  ``xx00``) and inter-disciplinary ``xx88`` match only at the level they name (narrow, broad,
  broad); ``9999`` (field unknown) matches nothing;
- ``ecosystems``: the share of the proposal's industrial ecosystems the expert knows;
- ``keywords``: cosine of the two keyword sets (folded, trimmed, exact phrase match);
- ``text``: similarity of the proposal's title + abstract to the expert's profile + keywords
  (:mod:`.text` TF-IDF by default, or any ``(P, E)`` matrix passed as ``text_similarity``, such as
  the sentence embeddings of ``evalpanel.embeddings``), divided by its row maximum so that the
  best textual match of each proposal scores 1 whatever the length of its texts.

A component a proposal has no data for (no ecosystems, no keywords, or a text similarity of 0 to
every expert, e.g. when no expert has a profile) is left out of that proposal's mean, so its
weight goes to the others.
Memory: the result is float32 (10,000 × 4,000 → 160 MB); components are built in row blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Final

import numpy as np
import polars as pl

if TYPE_CHECKING:
    import scipy.sparse as sp

from .text import _fold_expr, cosine, fit_transform

LEVELS: Final = (2, 3, 4)  # broad, narrow, detailed digits
_BLOCK: Final = 2048  # proposals per block


@dataclass(frozen=True, slots=True)
class AffinityWeights:
    """Relative weights of the components (any non-negative numbers, not all 0) and the credit
    for a field match at the narrow and broad level (a detailed match is 1)."""

    fields: float = 0.4
    ecosystems: float = 0.15
    keywords: float = 0.15
    text: float = 0.3
    narrow: float = 0.6
    broad: float = 0.3

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int | float) or not np.isfinite(value) or value < 0:
                raise ValueError(
                    f"the `{f.name}` affinity weight must be a non-negative number; got {value!r}"
                )
        if self.fields + self.ecosystems + self.keywords + self.text <= 0:
            raise ValueError(
                "at least one affinity weight (fields, ecosystems, keywords, text) must be positive"
            )
        if not self.broad <= self.narrow <= 1.0:
            raise ValueError(
                "field credits must satisfy 0 <= broad <= narrow <= 1; got "
                f"broad={self.broad}, narrow={self.narrow}"
            )


def _list(frame: pl.DataFrame, column: str) -> pl.Series:
    if column not in frame.columns:
        return pl.Series(column, [[] for _ in range(frame.height)], dtype=pl.List(pl.String))
    return frame.get_column(column).fill_null([])


def _text(frame: pl.DataFrame, column: str) -> pl.Series:
    if column not in frame.columns:
        return pl.Series(column, [""] * frame.height, dtype=pl.String)
    return frame.get_column(column).fill_null("")


def _indicator(a: pl.Series, b: pl.Series) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Binary ``(len(a), K)`` and ``(len(b), K)`` matrices over the K distinct values of two
    ``List(String)`` series (empty strings ignored)."""
    import scipy.sparse as sp  # imported when affinity is computed, not with the package

    long = (
        pl.concat(
            [
                pl.DataFrame({"row": np.arange(len(a)), "side": 0, "value": a}),
                pl.DataFrame({"row": np.arange(len(b)), "side": 1, "value": b}),
            ]
        )
        .explode("value")
        .filter(pl.col("value").is_not_null() & (pl.col("value") != ""))
    )
    long = long.unique(["side", "row", "value"]).with_columns(
        key=pl.col("value").rank("dense").cast(pl.Int64) - 1
    )
    k = int(long["key"].to_numpy().max()) + 1 if long.height else 0
    out = []
    for side, n in ((0, len(a)), (1, len(b))):
        part = long.filter(pl.col("side") == side)
        out.append(
            sp.csr_matrix(
                (
                    np.ones(part.height, dtype=np.float32),
                    (part["row"].to_numpy(), part["key"].to_numpy()),
                ),
                shape=(n, k),
            )
        )
    return out[0], out[1]


def _isced_at(codes: pl.Series, digits: int) -> pl.Series:
    """Each code cut to ``digits`` when it is at least that precise, else dropped."""
    precision = (
        pl.when(pl.element() == "9999")
        .then(0)
        .when(pl.element().str.ends_with("00") | pl.element().str.ends_with("88"))
        .then(2)
        .when(pl.element().str.ends_with("0"))
        .then(3)
        .otherwise(pl.element().str.len_chars())
    )
    return codes.list.eval(pl.element().filter(precision >= digits).str.slice(0, digits))


def _keyword_sets(frame: pl.DataFrame) -> pl.Series:
    return _list(frame, "keywords").list.eval(
        _fold_expr(pl.element()).str.replace_all(r"\s+", " ").str.strip_chars()
    )


def proposal_texts(proposals: pl.DataFrame) -> list[str]:
    """Title and abstract of each proposal, ``(P,)`` strings."""
    return [
        f"{t}. {a}"
        for t, a in zip(
            _text(proposals, "title").to_list(), _text(proposals, "abstract").to_list(), strict=True
        )
    ]


def expert_texts(experts: pl.DataFrame) -> list[str]:
    """Profile and keywords of each expert, ``(E,)`` strings (empty when both are missing)."""
    keywords = _list(experts, "keywords").list.join("; ").to_list()
    return [
        f"{p} {k}".strip()
        for p, k in zip(_text(experts, "profile").to_list(), keywords, strict=True)
    ]


def tfidf_similarity(proposals: pl.DataFrame, experts: pl.DataFrame) -> np.ndarray:
    """``(P, E)`` float32 TF-IDF cosine of proposal texts to expert texts, in [0, 1]."""
    queries, docs = proposal_texts(proposals), expert_texts(experts)
    _, matrix = fit_transform([*queries, *docs], weighting="tfidf", bigrams=False)
    return cosine(matrix[: len(queries)], matrix[len(queries) :])


def main_field_match(proposals: pl.DataFrame, experts: pl.DataFrame) -> np.ndarray:
    """``(P, E)`` bool: the expert lists the proposal's first (main) field, detailed level."""
    first = _list(proposals, "fields").list.first().fill_null("")
    held = pl.DataFrame({"e": np.arange(experts.height), "field": _list(experts, "fields")})
    held = held.explode("field").filter(pl.col("field").is_not_null() & (pl.col("field") != ""))
    codes = pl.concat([first, held["field"]]).unique().sort()  # "" first when present
    key = codes.to_frame("field").with_row_index("k")
    # (K + 1, E): row k holds the experts listing field k; the last row (no field) holds none
    has = np.zeros((codes.len() + 1, experts.height), dtype=bool)
    pairs = held.join(key, on="field")
    has[pairs["k"].to_numpy(), pairs["e"].to_numpy()] = True
    own = first.to_frame("field").join(key, on="field", how="left", maintain_order="left")
    row = own.select(
        pl.when(pl.col("field") == "").then(codes.len()).otherwise(pl.col("k")).cast(pl.Int64)
    ).to_series()
    out: np.ndarray = has[row.to_numpy()]
    return out


def _row_weights(proposals: pl.DataFrame, has_text: np.ndarray, w: AffinityWeights) -> np.ndarray:
    """``(P, 4)`` float32 weights of fields, ecosystems, keywords, text; rows sum to 1."""
    present = np.column_stack(
        [
            _list(proposals, "fields").list.len().to_numpy() > 0,
            _list(proposals, "ecosystems").list.len().to_numpy() > 0,
            _list(proposals, "keywords").list.len().to_numpy() > 0,
            has_text,
        ]
    )
    raw = np.array([w.fields, w.ecosystems, w.keywords, w.text], dtype=np.float64) * present
    total = raw.sum(axis=1, keepdims=True)
    out: np.ndarray = (raw / np.where(total > 0, total, 1.0)).astype(np.float32)
    return out


def compute_affinity(
    proposals: pl.DataFrame,
    experts: pl.DataFrame,
    *,
    weights: AffinityWeights | None = None,
    text_similarity: np.ndarray | None = None,
) -> np.ndarray:
    """``(P, E)`` float32 affinity in [0, 1], in the frames' row order (sort by id first).

    ``text_similarity``: an optional ``(P, E)`` matrix in [0, 1] used instead of the built-in
    TF-IDF similarity.
    """
    w = weights or AffinityWeights()
    p, e = proposals.height, experts.height
    if text_similarity is None:
        text = tfidf_similarity(proposals, experts) if w.text > 0 else np.zeros((p, e), np.float32)
    else:
        text = np.asarray(text_similarity, dtype=np.float32)
        if text.shape != (p, e):
            raise ValueError(
                f"`text_similarity` must have shape (proposals, experts) = ({p}, {e});"
                f" got {text.shape}"
            )
        if text.size and (not np.isfinite(text).all() or text.min() < 0 or text.max() > 1):
            raise ValueError("`text_similarity` values must lie in [0, 1]")
    row_max = text.max(axis=1, keepdims=True) if e else np.zeros((p, 1), np.float32)

    f32 = np.float32
    p_fields, e_fields = _list(proposals, "fields"), _list(experts, "fields")
    credit = {2: w.broad, 3: w.narrow, 4: 1.0}
    # few codes per proposal, few distinct codes: sparse (rows) times dense (K, E) products
    levels = []
    for d in LEVELS:
        a, b = _indicator(_isced_at(p_fields, d), _isced_at(e_fields, d))
        levels.append((f32(credit[d]), a, b.T.toarray()))
    eco_p, eco_e = _indicator(_list(proposals, "ecosystems"), _list(experts, "ecosystems"))
    eco_e_t = eco_e.T.toarray()
    kw_p, kw_e = _indicator(_keyword_sets(proposals), _keyword_sets(experts))
    kw_norm_e = np.sqrt(np.asarray(kw_e.sum(axis=1)).ravel())
    kw_inv_e = np.where(kw_norm_e > 0, 1.0 / np.maximum(kw_norm_e, 1.0), 0.0).astype(f32)
    rw = _row_weights(proposals, row_max.ravel() > 0, w)
    # per-row factors: component weight / normaliser
    eco_f = rw[:, 1] / np.maximum(np.asarray(eco_p.sum(axis=1)).ravel(), 1.0)
    kw_f = rw[:, 2] / np.sqrt(np.maximum(np.asarray(kw_p.sum(axis=1)).ravel(), 1.0))
    text_f = np.where(row_max.ravel() > 0, rw[:, 3] / np.maximum(row_max.ravel(), 1e-30), 0.0)
    factors = np.column_stack([rw[:, 0], eco_f, kw_f, text_f]).astype(f32)

    # the TF-IDF matrix is ours: overwrite it block by block instead of a second (P, E) array
    out = text if text_similarity is None else np.zeros((p, e), dtype=f32)
    for s in range(0, p, _BLOCK):
        rows = slice(s, min(p, s + _BLOCK))
        block = np.zeros((rows.stop - s, e), dtype=f32)
        for value, a, b_t in levels:  # best level: max of credit × match
            hit = np.asarray(a[rows] @ b_t)
            np.minimum(hit, 1.0, out=hit)
            hit *= value
            np.maximum(block, hit, out=block)
        block *= factors[rows, 0:1]
        part = np.asarray(eco_p[rows] @ eco_e_t)
        part *= factors[rows, 1:2]
        block += part
        part = (kw_p[rows] @ kw_e.T).toarray()
        part *= factors[rows, 2:3]
        part *= kw_inv_e[None, :]
        block += part
        part = text[rows] * factors[rows, 3:4]
        block += part
        out[rows] = block
    np.clip(out, 0.0, 1.0, out=out)
    return out


def affinity_from_frame(
    frame: pl.DataFrame, proposal_ids: list[str], expert_ids: list[str], *, grid: bool = False
) -> np.ndarray:
    """``(P, E)`` float32 matrix from an ``affinity.csv`` frame (proposal_id, expert_id,
    affinity), rows and columns in the order of the id lists; pairs not in the frame are 0.

    ``grid=True`` says the caller has proven that the frame lists every pair exactly once in the
    id lists' order (the call-folder reader does): the values are then taken as they are."""
    missing = {"proposal_id", "expert_id", "affinity"} - set(frame.columns)
    if missing:
        raise ValueError(f"the affinity table needs the columns {sorted(missing)}")
    if grid:
        if frame.height != len(proposal_ids) * len(expert_ids):
            raise ValueError("grid=True, but the affinity table does not have P x E rows")
        return _values(frame, len(proposal_ids), len(expert_ids))
    dense = _dense_in_order(frame, proposal_ids, expert_ids)
    if dense is not None:
        return dense
    rows = _positions(frame["proposal_id"], proposal_ids)
    cols = _positions(frame["expert_id"], expert_ids)
    unknown = frame.filter((rows.is_null() | cols.is_null()).to_numpy())
    if unknown.height:
        first = unknown.row(0, named=True)
        raise ValueError(
            f"the affinity table names {unknown.height} pair(s) with an unknown "
            f"proposal or expert, e.g. ({first['proposal_id']}, "
            f"{first['expert_id']}); remove them or add the proposal/expert"
        )
    row, col = rows.to_numpy().astype(np.int64), cols.to_numpy().astype(np.int64)
    codes = row * len(expert_ids) + col
    # a table sorted by the id lists' order (as written by most tools) needs no sort here
    if codes.size > 1 and not (codes[1:] > codes[:-1]).all():
        ordered = np.sort(codes)
        if (ordered[1:] == ordered[:-1]).any():
            raise ValueError("the affinity table lists a (proposal_id, expert_id) pair twice")
    values = frame["affinity"].cast(pl.Float64).to_numpy()
    if values.size and (np.isnan(values).any() or values.min() < 0 or values.max() > 1):
        raise ValueError("affinity values must lie in [0, 1]")
    out = np.zeros((len(proposal_ids), len(expert_ids)), dtype=np.float32)
    out.reshape(-1)[codes] = values
    return out


def _dense_in_order(
    frame: pl.DataFrame, proposal_ids: list[str], expert_ids: list[str]
) -> np.ndarray | None:
    """The matrix straight from the values when the table lists every pair exactly once in the
    id lists' order (a dense export), checked by :func:`lists_every_pair`; None otherwise."""
    if frame.height == 0 or not lists_every_pair(
        frame, pl.Series(proposal_ids, dtype=pl.String), pl.Series(expert_ids, dtype=pl.String)
    ):
        return None
    return _values(frame, len(proposal_ids), len(expert_ids))


def lists_every_pair(frame: pl.DataFrame, proposal_ids: pl.Series, expert_ids: pl.Series) -> bool:
    """Whether the ``proposal_id`` and ``expert_id`` columns of ``frame`` list every pair of the
    two id series exactly once, proposals in their order, each with all experts in theirs.

    Proven by whole-column comparisons instead of a lookup per row: ``proposal_id`` is P runs of
    E rows whose values are the proposal ids, the first E ``expert_id`` cells are the expert ids,
    and every expert cell equals the one E rows before it."""
    n_p, n_e = proposal_ids.len(), expert_ids.len()
    if frame.height != n_p * n_e or n_e == 0 or expert_ids.null_count():
        return False
    runs = frame["proposal_id"].cast(pl.String).rle().struct.unnest()
    if runs.height != n_p or not (runs["len"] == n_e).all():
        return False
    if not runs["value"].equals(proposal_ids.cast(pl.String), check_names=False):
        return False
    experts = frame["expert_id"].cast(pl.String)
    if not experts.head(n_e).equals(expert_ids.cast(pl.String), check_names=False):
        return False
    # the first block has no null (it equals the ids), so no null may hide in a later one
    return experts.null_count() == 0 and _repeats_every(experts, n_e)


def _repeats_every(values: pl.Series, period: int) -> bool:
    """Whether every value equals the one ``period`` rows before it (nulls not handled).

    Compared one stored chunk at a time: a column read from a large Parquet file has many, and
    comparing two whole slices of it would first copy both into single chunks (160 MB each at
    10 M rows, several times slower than the comparisons)."""
    start = 0
    for chunk in values.get_chunks():
        n = chunk.len()
        first = max(start, period)  # the first row of this chunk with a row `period` before it
        if first < start + n:
            later = chunk.slice(first - start)
            if not (later == values.slice(first - period, later.len())).all():
                return False
        start += n
    return True


def _values(frame: pl.DataFrame, n_p: int, n_e: int) -> np.ndarray:
    """The affinity column as a (P, E) matrix, checked to lie in [0, 1]."""
    values = frame["affinity"].cast(pl.Float64).to_numpy()
    if values.size and (np.isnan(values).any() or values.min() < 0 or values.max() > 1):
        raise ValueError("affinity values must lie in [0, 1]")
    return values.astype(np.float32).reshape(n_p, n_e)


def _positions(values: pl.Series, ids: list[str]) -> pl.Series:
    """Position of each value in ``ids`` (UInt32/Int64), null where it is not there.

    An Enum cast: one hash of the few ids, then a lookup per value (millions of affinity rows);
    a join when the ids repeat (invalid for an Enum; the instance then reports them)."""
    values = values.cast(pl.String)
    try:
        return values.cast(pl.Enum(ids), strict=False).to_physical().cast(pl.Int64)
    except (ValueError, pl.exceptions.PolarsError):
        index = pl.DataFrame({"id": ids, "pos": np.arange(len(ids), dtype=np.int64)})
        index = index.unique("id", keep="first")
        found = pl.DataFrame({"id": values}).join(index, on="id", how="left", maintain_order="left")
        return found["pos"]
