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

from collections.abc import Callable
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
class CallEvidence:
    """What the explanations compare that depends on the call only, not on the pairs: the
    TF-IDF vectors (:func:`text_weights`), each level's field codes (``d, p, code`` and
    ``d, e, code`` frames per level of :data:`.affinity.LEVELS`), and the ecosystem and keyword
    lists of proposals (P,) and experts (E,)."""

    weights: TermWeights
    fields: tuple[tuple[int, pl.DataFrame, pl.DataFrame], ...]
    ecosystems: tuple[pl.Series, pl.Series]
    keywords: tuple[pl.Series, pl.Series]


def call_evidence(proposals: pl.DataFrame, experts: pl.DataFrame) -> CallEvidence:
    """The :class:`CallEvidence` of a call (frames in the instance's order). It may be
    computed while the instance is solved."""
    p_fields, e_fields = _list(proposals, "fields"), _list(experts, "fields")
    fields = []
    for d in LEVELS:
        pf = pl.DataFrame({"p": np.arange(proposals.height), "code": _isced_at(p_fields, d)})
        ef = pl.DataFrame({"e": np.arange(experts.height), "code": _isced_at(e_fields, d)})
        fields.append((d, pf.explode("code").drop_nulls("code").unique(),
                       ef.explode("code").drop_nulls("code").unique()))
    weights = text_weights(proposals, experts)
    return CallEvidence(
        weights,
        tuple(fields),
        (_list(proposals, "ecosystems"), _list(experts, "ecosystems")),
        (_keyword_sets(proposals), _keyword_sets(experts)),
    )


def _field_matches(
    evidence: CallEvidence, p: np.ndarray, e: np.ndarray, label: Label
) -> pl.DataFrame:
    """``i, field_matches, field_level`` for the pairs ``(p[i], e[i])``."""
    pairs = pl.DataFrame({"i": np.arange(p.size), "p": p, "e": e})
    found = []
    for d, pf, ef in evidence.fields:
        found.append(
            pairs.join(pf, on="p").join(ef, on=["e", "code"]).select("i", "code", level=pl.lit(d))
        )
    matches = pl.concat(found)
    # a detailed match implies its narrow and broad codes, a narrow one its broad code
    implied = pl.concat(
        [
            matches.filter(pl.col("level") > d).select("i", pl.col("code").str.slice(0, d))
            for d in LEVELS[:-1]
        ]
    )
    matches = matches.join(implied.unique(), on=["i", "code"], how="anti")
    codes = matches["code"].unique().to_list()
    names = pl.DataFrame(
        {"code": codes, "name": [label(c) or "" for c in codes]},
        schema={"code": pl.String, "name": pl.String},
    )
    text = (
        matches.join(names, on="code", how="left")
        .sort("i", pl.col("level"), "code", descending=[False, True, False])
        .select(
            "i",
            "level",
            match=pl.concat_str(
                pl.col("code"),
                pl.when(pl.col("name") != "").then(pl.lit(" ") + pl.col("name")).otherwise(
                    pl.lit("")
                ),
                pl.lit(" ("),
                pl.col("level").replace_strict(LEVEL_NAMES, return_dtype=pl.String),
                pl.lit(")"),
            ),
        )
    )
    grouped = text.group_by("i").agg(
        field_matches=pl.col("match"), field_level=pl.col("level").max().cast(pl.Int64)
    )
    return pairs.select("i").join(grouped, on="i", how="left", maintain_order="left").select(
        "i",
        pl.col("field_matches").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        pl.col("field_level").fill_null(0),
    )


def _shared(a: pl.Series, b: pl.Series) -> pl.Series:
    """Row by row, the sorted distinct values both lists hold (``[]`` when none), by one join
    of the exploded lists (``list.set_intersection`` took 0.3-0.6 s on 15,000 rows)."""
    left = pl.DataFrame({"v": a}).with_row_index("i").explode("v").drop_nulls()
    right = pl.DataFrame({"v": b}).with_row_index("i").explode("v").drop_nulls()
    both = left.join(right, on=["i", "v"], how="semi").unique().sort("i", "v")
    grouped = both.group_by("i", maintain_order=True).agg("v")
    rows = pl.DataFrame({"i": pl.int_range(a.len(), eager=True, dtype=pl.UInt32)})
    out = rows.join(grouped, on="i", how="left", maintain_order="left")["v"]
    return out.fill_null(pl.lit([], dtype=out.dtype)).alias(a.name)


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
    """(n,) TF-IDF cosine of each pair and its (at most 3) heaviest shared terms.

    The pairs' proposal rows and expert rows of the CSR arrays are gathered, and each pair's two
    sorted term lists matched once (one search of the sorted ``pair * V + term`` keys; no
    scipy, whose import cost more than the product); the float32 products, zeros dropped, are
    summed in term order in float32, as a sparse row product sums them."""
    weights = evidence.weights
    n_terms = max(len(weights.model.vocabulary), 1)
    pair_p, term_p, value_p = _gather_rows(weights, p)
    pair, term, value_e = _gather_rows(weights, n_proposals + e)
    keys_p = pair_p * n_terms + term_p  # sorted: pairs in order, terms sorted in each row
    keys_e = pair * n_terms + term
    at = np.minimum(np.searchsorted(keys_p, keys_e), max(keys_p.size - 1, 0))
    both = keys_p[at] == keys_e if keys_p.size else np.zeros(keys_e.size, dtype=bool)
    values = value_p[at[both]] * value_e[both]
    nonzero = values != 0
    pair, term, values = pair[both][nonzero], term[both][nonzero], values[nonzero]
    shared = np.bincount(pair, minlength=p.size)
    indptr = np.zeros(p.size + 1, dtype=np.int64)
    np.cumsum(shared, out=indptr[1:])
    width = int(shared.max()) if shared.size else 0
    grid = np.zeros((p.size, width + 1), dtype=np.float32)
    grid[pair, np.arange(pair.size) - indptr[pair]] = values
    cosine = np.clip(np.cumsum(grid, axis=1, dtype=np.float32)[:, -1], 0.0, 1.0)
    names = pl.Series(list(weights.model.vocabulary), dtype=pl.String)
    contributions = pl.DataFrame(
        {
            "i": pair,
            "term": names.gather(term),
            "weight": values.astype(np.float64),
        }
    ).filter(pl.col("weight") > 0)
    top = (
        contributions.sort(["i", "weight", "term"], descending=[False, True, False])
        .group_by("i", maintain_order=True)
        .head(SHARED_TERMS)
        .group_by("i", maintain_order=True)
        .agg("term")
    )
    shared_terms = (
        pl.DataFrame({"i": np.arange(p.size, dtype=np.int64)})
        .join(top, on="i", how="left", maintain_order="left")["term"]
        .fill_null(pl.lit([], dtype=pl.List(pl.String)))
    )
    return cosine.astype(np.float64), shared_terms


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
    affinity are counted over the whole row once per slot, then the ineligible ones among them
    (a sparse set, compared once per row) are taken off."""
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
        higher = np.zeros((stop - start, slots), dtype=np.int64)
        for j in range(slots):
            higher[:, j] = np.count_nonzero(block > table[:, j, None], axis=1)
        b_lo, b_hi = np.searchsorted(blocked, [start * n_e, stop * n_e])
        codes = blocked[b_lo:b_hi] - start * n_e
        b_rows = codes // n_e
        values = block[b_rows, codes % n_e]
        for j in range(slots):
            higher[:, j] -= np.bincount(
                b_rows[values > table[b_rows, j]], minlength=stop - start
            )
        rank[which] = 1 + higher[rows, slot[lo:hi]]
        eligible[which] = n_e - np.bincount(b_rows, minlength=stop - start)[rows]
    return rank, eligible


def _sentence(text_model: str | None) -> pl.Expr:
    def listed(column: str, title: str) -> pl.Expr:
        return (
            pl.when(pl.col(column).list.len() > 0)
            .then(pl.lit(f"{title}: ") + pl.col(column).list.join(", "))
            .otherwise(pl.lit(f"no {title} in common"))
        )

    named = f"text similarity ({text_model}) " if text_model else "text similarity "
    text = pl.lit(named) + pl.col("text_similarity").round(2).cast(pl.String)
    terms = (
        pl.when(pl.col("shared_terms").list.len() > 0)
        .then(pl.lit(" (shared terms: ") + pl.col("shared_terms").list.join(", ") + pl.lit(")"))
        .otherwise(pl.lit(""))
    )
    rank = pl.concat_str(
        pl.lit("rank "),
        pl.col("rank").cast(pl.String),
        pl.lit(" of "),
        pl.col("eligible").cast(pl.String),
        pl.lit(" eligible experts"),
    )
    return pl.concat_str(
        listed("field_matches", "fields"),
        pl.lit("; "),
        listed("ecosystems", "ecosystems"),
        pl.lit("; "),
        listed("keywords", "keywords"),
        pl.lit("; "),
        text,
        terms,
        pl.lit("; "),
        rank,
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
    # the ranks scan the matrix in numpy, which releases the interpreter lock: on a second
    # thread they overlap the per-pair evidence below (polars and numpy)
    with ThreadPoolExecutor(max_workers=1) as pool:
        ranks = pool.submit(eligible_ranks, inst, p, e)
        evidence = call_evidence(proposals, experts) if evidence is None else evidence
        fields_ = _field_matches(evidence, p, e, label or (lambda _code: None))
        cosine, terms = _text_evidence(evidence, inst.n_proposals, p, e)
        if text_similarity is not None:
            cosine = np.asarray(text_similarity, dtype=np.float64)[p, e]
        rank, eligible = ranks.result()
    out = pl.DataFrame(
        {
            "proposal_id": inst.proposal_ids[p].tolist(),
            "expert_id": inst.expert_ids[e].tolist(),
            "affinity": np.asarray(inst.affinity[p, e], dtype=np.float64),
        },
        schema={"proposal_id": pl.String, "expert_id": pl.String, "affinity": pl.Float64},
    ).with_columns(
        field_matches=fields_["field_matches"],
        field_level=fields_["field_level"],
        ecosystems=_shared(evidence.ecosystems[0].gather(p), evidence.ecosystems[1].gather(e)),
        keywords=_shared(evidence.keywords[0].gather(p), evidence.keywords[1].gather(e)),
        text_similarity=pl.Series(cosine, dtype=pl.Float64),
        shared_terms=terms,
        rank=pl.Series(rank, dtype=pl.Int64),
        eligible=pl.Series(eligible, dtype=pl.Int64),
    )
    return out.with_columns(explanation=_sentence(text_model))


def affinity_quality(
    inst: AssignmentInstance,
    proposals: pl.DataFrame,
    explained: pl.DataFrame,
    *,
    low: float = LOW_AFFINITY,
) -> dict[str, Any]:
    """What a manager reads of an assignment's expertise, as JSON-ready values.

    ``field_coverage``: among the proposals that list at least one ISCED-F field (``with_fields``),
    the share with at least one assigned expert in one of their detailed fields, then at least in
    their narrow field, then at least in their broad field (so detailed <= narrow <= broad); a
    proposal without any assigned expert counts as covered at no level.
    ``low_affinity``: the proposals whose best eligible expert (over the whole pool, assigned or
    not) has an affinity below ``low``, weakest first: ``proposal_id, best_affinity,
    best_expert_id, main_field`` — where to recruit. ``explained`` is :func:`explain_pairs`'
    frame of the assignment."""
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

    best, best_e = _best_eligible(inst)
    weak = np.flatnonzero(best < low)
    weak = weak[np.lexsort((inst.proposal_ids[weak], best[weak]))]
    return {
        "with_fields": n,
        "field_coverage": {"detailed": share(4), "narrow": share(3), "broad": share(2)},
        "low_affinity_below": low,
        "low_affinity": [
            {
                "proposal_id": str(inst.proposal_ids[i]),
                "best_affinity": round(float(best[i]), 4) if best_e[i] >= 0 else None,
                "best_expert_id": str(inst.expert_ids[best_e[i]]) if best_e[i] >= 0 else None,
                "main_field": str(inst.first_field[i]),
            }
            for i in weak.tolist()
        ],
    }


def _best_eligible(inst: AssignmentInstance) -> tuple[np.ndarray, np.ndarray]:
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
