"""Why this expert: the explanation of every assigned pair and the affinity quality, on
hand-computed cases and as invariants of generated calls."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

import assignment
from assignment.affinity import tfidf_similarity
from assignment.explain import affinity_quality, explain_pairs
from evalpanel.callfolder import isced_label, read_call
from evalpanel.planning import explain, plan

ROOT = Path(__file__).resolve().parents[1]
LIST = pl.List(pl.String)


def _frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    proposals = pl.DataFrame(
        {
            "proposal_id": ["P1", "P2"],
            "title": ["Robot control", "Nursing care"],
            "abstract": ["Robot arms and control loops.", "Care homes and nurses."],
            "fields": [["0714", "0611"], ["0913"]],
            "ecosystems": [["Digital", "Electronics"], []],
            "keywords": [["Robotics", "Control theory"], ["care"]],
        },
        schema_overrides={"fields": LIST, "ecosystems": LIST, "keywords": LIST},
    )
    experts = pl.DataFrame(
        {
            "expert_id": ["E1", "E2", "E3"],
            # E1: the same detailed field 0714, and 061x at the narrow level only (0612)
            # E2: "0710" (engineering, not further defined) matches 0714 at the narrow level
            # E3: nursing, detailed
            "fields": [["0714", "0612"], ["0710"], ["0913"]],
            "ecosystems": [["Digital"], ["Electronics", "Digital"], []],
            "keywords": [["robotics"], ["CONTROL THEORY", "robotics"], ["Care"]],
            "profile": ["I build robot arms.", "Control loops for robot arms.", "Nurses."],
            "max_load": [2, 2, 2],
        },
        schema_overrides={"fields": LIST, "ecosystems": LIST, "keywords": LIST},
    )
    return proposals, experts


def _instance(
    proposals: pl.DataFrame, experts: pl.DataFrame, affinity: np.ndarray, conflicts: list[str]
) -> assignment.AssignmentInstance:
    frame = pl.DataFrame(
        {
            "proposal_id": ["P1"] * len(conflicts),
            "expert_id": conflicts,
            "reason": ["declared"] * len(conflicts),
            "detail": [""] * len(conflicts),
        },
        schema={c: pl.String for c in ("proposal_id", "expert_id", "reason", "detail")},
    )
    return assignment.build_instance(proposals, experts, affinity, frame, k=1)


def test_a_hand_computed_explanation() -> None:
    proposals, experts = _frames()
    affinity = np.array([[0.8, 0.9, 0.1], [0.2, 0.3, 0.7]], dtype=np.float32)
    inst = _instance(proposals, experts, affinity, conflicts=["E2"])  # E2 not eligible for P1
    pairs = pl.DataFrame({"proposal_id": ["P1", "P2", "P1"], "expert_id": ["E1", "E3", "E3"]})
    out = explain_pairs(inst, proposals, experts, pairs, label=isced_label)
    rows = {(r["proposal_id"], r["expert_id"]): r for r in out.iter_rows(named=True)}

    p1e1 = rows[("P1", "E1")]
    # 0714 shared in detail; 061 shared at the narrow level (0611 vs 0612)
    assert p1e1["field_matches"] == [
        "0714 Electronics and automation (detailed)",
        "061 Information and Communication Technologies (ICTs) (narrow)",
    ]
    assert p1e1["field_level"] == 4
    assert p1e1["ecosystems"] == ["Digital"]
    assert p1e1["keywords"] == ["robotics"]
    # E2 has the higher affinity (0.9) but a conflict: E1 is first of the two eligible experts
    assert (p1e1["rank"], p1e1["eligible"]) == (1, 2)
    # P1-E3 (0.1) comes after E1 (0.8): rank 2 of 2
    assert (rows[("P1", "E3")]["rank"], rows[("P1", "E3")]["eligible"]) == (2, 2)
    assert rows[("P1", "E3")]["field_level"] == 0
    assert rows[("P1", "E3")]["explanation"].startswith(
        "no fields in common; no ecosystems in common; no keywords in common; text similarity"
    )
    p2e3 = rows[("P2", "E3")]
    assert (p2e3["rank"], p2e3["eligible"]) == (1, 3)
    assert p2e3["field_matches"] == ["0913 Nursing and midwifery (detailed)"]
    # the text similarity is the TF-IDF cosine the affinity is built from
    sim = tfidf_similarity(proposals, experts)
    assert p1e1["text_similarity"] == pytest.approx(float(sim[0, 0]), abs=1e-5)
    assert p2e3["text_similarity"] == pytest.approx(float(sim[1, 2]), abs=1e-5)
    assert p1e1["text_similarity"] > 0 and "robot" in p1e1["shared_terms"]
    assert p1e1["explanation"] == (
        "fields: 0714 Electronics and automation (detailed), 061 Information and Communication "
        "Technologies (ICTs) (narrow); ecosystems: Digital; keywords: robotics; text similarity "
        f"{round(p1e1['text_similarity'], 2)} (shared terms: {', '.join(p1e1['shared_terms'])}); "
        "rank 1 of 2 eligible experts"
    )


def test_not_further_defined_codes_match_only_at_their_level() -> None:
    proposals, experts = _frames()
    affinity = np.full((2, 3), 0.5, dtype=np.float32)
    inst = _instance(proposals, experts, affinity, conflicts=[])
    out = explain_pairs(inst, proposals, experts, pl.DataFrame(
        {"proposal_id": ["P1"], "expert_id": ["E2"]}))
    assert out["field_matches"].to_list() == [["071 (narrow)"]]  # no label function given
    assert out["field_level"].to_list() == [3]
    assert out["keywords"].to_list() == [["control theory", "robotics"]]  # folded, sorted
    # every expert ties: all share rank 1 of 3
    assert out.select("rank", "eligible").row(0) == (1, 3)


def test_a_given_text_similarity_is_reported() -> None:
    proposals, experts = _frames()
    text = np.array([[0.25, 0.5, 0.0], [0.0, 0.0, 0.75]], dtype=np.float32)
    inst = _instance(proposals, experts, np.full((2, 3), 0.5, np.float32), conflicts=[])
    out = explain_pairs(inst, proposals, experts, pl.DataFrame(
        {"proposal_id": ["P1", "P2"], "expert_id": ["E2", "E3"]}), text_similarity=text)
    assert out["text_similarity"].to_list() == [0.5, 0.75]


def test_unknown_pairs_are_refused() -> None:
    proposals, experts = _frames()
    inst = _instance(proposals, experts, np.zeros((2, 3), np.float32), conflicts=[])
    with pytest.raises(ValueError, match=r"unknown proposal or expert, e.g. \(P9, E1\)"):
        explain_pairs(inst, proposals, experts,
                      pl.DataFrame({"proposal_id": ["P9"], "expert_id": ["E1"]}))


def test_a_hand_computed_affinity_quality() -> None:
    proposals, experts = _frames()
    affinity = np.array([[0.8, 0.9, 0.1], [0.2, 0.3, 0.35]], dtype=np.float32)
    inst = _instance(proposals, experts, affinity, conflicts=["E2"])
    # P1 gets E3 (no field in common), P2 gets E3 (detailed)
    explained = explain_pairs(inst, proposals, experts, pl.DataFrame(
        {"proposal_id": ["P1", "P2"], "expert_id": ["E3", "E3"]}))
    quality = affinity_quality(inst, proposals, explained, low=0.4)
    assert quality["with_fields"] == 2
    assert quality["field_coverage"] == {"detailed": 0.5, "narrow": 0.5, "broad": 0.5}
    # P2's best eligible expert is E3 at 0.35 < 0.4; P1's is E1 at 0.8 (E2 is conflicted)
    assert quality["low_affinity"] == [
        {"proposal_id": "P2", "best_affinity": 0.35, "best_expert_id": "E3", "main_field": "0913"}
    ]
    explained = explain_pairs(inst, proposals, experts, pl.DataFrame(
        {"proposal_id": ["P1"], "expert_id": ["E1"]}))
    quality = affinity_quality(inst, proposals, explained, low=0.9)
    assert quality["field_coverage"] == {"detailed": 0.5, "narrow": 0.5, "broad": 0.5}
    assert [r["proposal_id"] for r in quality["low_affinity"]] == ["P2", "P1"]  # weakest first
    with pytest.raises(ValueError, match=r"`low` parameter"):
        affinity_quality(inst, proposals, explained, low=1.5)


@pytest.mark.parametrize("folder", ["tiny", "demo"])
@pytest.mark.parametrize("mode", ["max-total", "fair"])
def test_every_assigned_pair_is_explained(folder: str, mode: str) -> None:
    """Invariants on the fixture calls: one non-empty explanation per assigned pair, ranks
    recomputed from the dense eligibility (rank 1 = the proposal's best eligible expert), and
    field coverage that only grows from the detailed to the broad level."""
    call = read_call(ROOT / "fixtures" / folder)
    prepared = plan(call)
    result = assignment.assign(prepared.instance, mode)
    out = explain(call, prepared, result.pairs)
    assert out.height == result.pairs.height
    assert out.select("proposal_id", "expert_id").equals(
        result.pairs.select("proposal_id", "expert_id"))
    assert (out["explanation"].str.len_chars() > 0).all()
    assert out["explanation"].str.contains(r"rank \d+ of \d+ eligible experts$").all()
    inst = prepared.instance
    eligible = np.ones((inst.n_proposals, inst.n_experts), dtype=bool)
    eligible.reshape(-1)[inst.ineligible_codes()] = False
    masked = np.where(eligible, inst.affinity, -np.inf)
    ids = {pid: i for i, pid in enumerate(inst.proposal_ids.tolist())}
    eids = {eid: j for j, eid in enumerate(inst.expert_ids.tolist())}
    p = np.array([ids[x] for x in out["proposal_id"]])
    e = np.array([eids[x] for x in out["expert_id"]])
    own = inst.affinity[p, e]
    expected = 1 + (masked[p] > own[:, None]).sum(axis=1)
    assert out["rank"].to_list() == expected.tolist()
    assert out["eligible"].to_list() == eligible[p].sum(axis=1).tolist()
    first = out["rank"].to_numpy() == 1
    assert np.array_equal(first, own == masked[p].max(axis=1))
    quality = affinity_quality(inst, call.proposals, out)
    cover = quality["field_coverage"]
    assert cover["detailed"] <= cover["narrow"] <= cover["broad"] <= 1.0


def test_rank_invariant_on_generated_instances() -> None:
    rng = np.random.default_rng(7)
    proposals, experts = _frames()
    for _ in range(20):
        affinity = rng.choice([0.1, 0.4, 0.4, 0.7, 0.9], size=(2, 3)).astype(np.float32)
        conflicted = [x for x in ("E1", "E2", "E3") if rng.random() < 0.3][:2]
        inst = _instance(proposals, experts, affinity, conflicts=conflicted)
        pairs = pl.DataFrame({"proposal_id": ["P1", "P1", "P1", "P2", "P2", "P2"],
                              "expert_id": ["E1", "E2", "E3", "E1", "E2", "E3"]})
        out = explain_pairs(inst, proposals, experts, pairs)
        ok = np.ones((2, 3), dtype=bool)
        for x in conflicted:
            ok[0, int(x[1]) - 1] = False
        for (pid, eid, rank, n) in out.select("proposal_id", "expert_id", "rank",
                                              "eligible").iter_rows():
            i, j = int(pid[1]) - 1, int(eid[1]) - 1
            better = [a for a, good in zip(affinity[i], ok[i], strict=True)
                      if good and a > affinity[i, j]]
            assert rank == 1 + len(better)
            assert n == int(ok[i].sum())


def test_text_evidence_equals_the_sparse_product_andbest_eligible_the_dense_one() -> None:
    """On every pair of the demo call: the cosine (to the last float32 bit) and shared terms of
    the explanation are those of scipy's row product of the TF-IDF matrix, and the best eligible
    expert of the affinity quality is the dense masked argmax (ties: the first expert)."""
    import scipy.sparse as sp

    from assignment.affinity import expert_texts, proposal_texts
    from assignment.explain import best_eligible, call_evidence
    from assignment.text import fit_transform

    call = read_call(ROOT / "fixtures" / "demo")
    inst = plan(call).instance
    p, e = (x.ravel() for x in np.meshgrid(np.arange(inst.n_proposals),
                                           np.arange(inst.n_experts), indexing="ij"))
    pairs = pl.DataFrame({"proposal_id": inst.proposal_ids[p].tolist(),
                          "expert_id": inst.expert_ids[e].tolist()})
    out = explain_pairs(inst, call.proposals, call.experts, pairs,
                        evidence=call_evidence(call.proposals, call.experts))
    texts = [*proposal_texts(call.proposals), *expert_texts(call.experts)]
    model, matrix = fit_transform(texts)
    product = sp.csr_matrix(matrix[: inst.n_proposals][p]).multiply(
        matrix[inst.n_proposals:][e]).tocoo()  # a COO sum adds in term order, in float32
    cosine = np.clip(np.asarray(product.sum(axis=1)).ravel(), 0.0, 1.0).astype(np.float64)
    product = product.tocsr()
    assert out["text_similarity"].to_numpy().tolist() == cosine.tolist()
    terms = np.array(list(model.vocabulary), dtype=object)
    for i in np.flatnonzero(np.diff(product.indptr) > 0)[:: 97].tolist():
        row = product.getrow(i).tocoo()
        order = sorted(zip((-row.data.astype(np.float64)).tolist(), terms[row.col].tolist(),
                           strict=True))
        assert out["shared_terms"][i].to_list() == [t for _, t in order[:3]]
    eligible = np.ones((inst.n_proposals, inst.n_experts), dtype=bool)
    eligible.reshape(-1)[inst.ineligible_codes()] = False
    masked = np.where(eligible, inst.affinity.astype(np.float64), -1.0)
    best, who = best_eligible(inst)
    assert best.tolist() == masked.max(axis=1).tolist()
    assert who.tolist() == np.where(masked.max(axis=1) >= 0, masked.argmax(axis=1), -1).tolist()


def _precise_at(code: str, digits: int) -> str | None:
    """The documented field rule, code by code: "9999" matches nothing, ``xx00`` and ``xx88``
    only at the broad level, ``xxx0`` down to the narrow level."""
    precision = (0 if code == "9999" else 2 if code.endswith(("00", "88"))
                 else 3 if code.endswith("0") else len(code))
    return code[:digits] if precision >= digits else None


def _reference_fields(mine: list[str], theirs: list[str]) -> tuple[list[str], int]:
    raw = {d: {c for x in mine if (c := _precise_at(x, d))}
           & {c for x in theirs if (c := _precise_at(x, d))} for d in (2, 3, 4)}
    kept = [(d, c) for d in (4, 3, 2) for c in sorted(raw[d])
            if not any(h[:d] == c for hi in range(d + 1, 5) for h in raw[hi])]
    names = {4: "detailed", 3: "narrow", 2: "broad"}
    texts = [f"{c} {isced_label(c)} ({names[d]})" if isced_label(c) else f"{c} ({names[d]})"
             for d, c in kept]
    return texts, max((d for d, _ in kept), default=0)


@pytest.mark.parametrize("spread", ["near", "whole list"])
def test_shared_fields_ecosystems_and_keywords_equal_a_pair_by_pair_reference(
    spread: str,
) -> None:
    """Every pair of a generated call whose fields come from the whole ISCED-F list (every
    detailed, "not further defined", "not elsewhere classified" and inter-disciplinary code),
    whose ecosystems are the 14 of the EU's industrial strategy and whose keywords differ in
    case and spacing: the field matches, their level and the shared ecosystems and keywords
    are those of a set intersection written out pair by pair. ``near``: most fields in three
    broad fields, so that every level matches often; ``whole list``: rows of up to a dozen
    codes from anywhere in the list, so that the call's codes fill more than two 64-bit words
    of the field bit sets."""
    from assignment.affinity import _keyword_sets
    from assignment.explain import call_evidence
    from evalpanel.callfolder.vocab import ECOSYSTEMS, ISCED_CODES

    rng = np.random.default_rng(14)
    codes = sorted(ISCED_CODES)
    words = ["Digital twins", "digital  twins", "Soil health", "SOIL HEALTH", "Robotics",
             "Nursing", "Green skills", "green skills ", "Ethics"]

    def lists(n: int, pool: list[str], most: int) -> list[list[str]]:
        return [sorted(set(rng.choice(pool, size=rng.integers(0, most + 1)).tolist()))
                for _ in range(n)]

    n_p, n_e = 40, 30
    near = [c for c in codes if c[:2] in {"05", "06", "07"}]
    if spread == "near":
        p_fields = [f + g for f, g in zip(lists(n_p, near, 3), lists(n_p, codes, 1),
                                          strict=True)]
        e_fields = lists(n_e, near, 4)
    else:
        p_fields, e_fields = lists(n_p, codes, 12), lists(n_e, codes, 12)
    proposals = pl.DataFrame(
        {"proposal_id": [f"P{i:02d}" for i in range(n_p)],
         "title": ["t"] * n_p, "abstract": ["a"] * n_p,
         "fields": p_fields,
         "ecosystems": lists(n_p, list(ECOSYSTEMS), 3),
         "keywords": lists(n_p, words, 3)},
        schema_overrides={"fields": LIST, "ecosystems": LIST, "keywords": LIST})
    experts = pl.DataFrame(
        {"expert_id": [f"E{j:02d}" for j in range(n_e)],
         "fields": e_fields, "ecosystems": lists(n_e, list(ECOSYSTEMS), 4),
         "keywords": lists(n_e, words, 4), "profile": ["p"] * n_e, "max_load": [5] * n_e},
        schema_overrides={"fields": LIST, "ecosystems": LIST, "keywords": LIST})
    inst = _instance(proposals, experts, rng.random((n_p, n_e)), [])
    p, e = (x.ravel() for x in np.meshgrid(np.arange(n_p), np.arange(n_e), indexing="ij"))
    order = rng.permutation(p.size)  # pairs in no particular order
    pairs = pl.DataFrame({"proposal_id": inst.proposal_ids[p[order]].tolist(),
                          "expert_id": inst.expert_ids[e[order]].tolist()})
    out = explain_pairs(inst, proposals, experts, pairs, label=isced_label)
    p_kw, e_kw = _keyword_sets(proposals).to_list(), _keyword_sets(experts).to_list()
    matched = {d: 0 for d in (2, 3, 4)}
    for row, i, j in zip(out.iter_rows(named=True), p[order].tolist(), e[order].tolist(),
                         strict=True):
        texts, level = _reference_fields(proposals["fields"][i].to_list(),
                                         experts["fields"][j].to_list())
        assert (row["field_matches"], row["field_level"]) == (texts, level)
        matched[level] = matched.get(level, 0) + 1
        assert row["ecosystems"] == sorted(set(proposals["ecosystems"][i])
                                           & set(experts["ecosystems"][j]))
        assert row["keywords"] == sorted(set(p_kw[i]) & set(e_kw[j]))
    assert min(matched.values()) > 0  # the call exercised every level
    if spread == "whole list":
        assert call_evidence(proposals, experts).codes.len() > 128


@pytest.mark.parametrize("long_row", [0, 1, 40], ids=["none", "short", "one long row"])
def test_per_pair_lists_keep_each_rows_values_in_order(long_row: int) -> None:
    """The lists of the explanation columns, built from (owner, value) runs: rows of a few
    values (laid out in a padded table) and one row far longer than the rest (grouped) give
    the same lists as collecting them row by row."""
    from assignment.explain import _lists

    rng = np.random.default_rng(long_row)
    n = 30
    counts = rng.integers(0, 3, n)
    counts[7] = long_row or counts[7]
    owner = np.repeat(np.arange(n), counts)
    values = [f"v{i}" for i in range(owner.size)]
    out = _lists(owner, pl.Series(values, dtype=pl.String), n)
    expected: list[list[str]] = [[] for _ in range(n)]
    for i, value in zip(owner.tolist(), values, strict=True):
        expected[i].append(value)
    assert out.dtype == pl.List(pl.String) and out.to_list() == expected
