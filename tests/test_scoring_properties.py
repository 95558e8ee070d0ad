"""Invariants of score_call on generated calls (Hypothesis)."""

from __future__ import annotations

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring import LotRules, Scheme, load_scheme, score_call

AFI_NO_DIVERGENCE = load_scheme("erasmus-afi", {"divergence": {"total_gap": 1000}})
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ECOSYSTEMS = ["Digital", "Health", "Tourism"]


@st.composite
def calls(draw: st.DrawFn, scheme: Scheme, max_experts: int = 2) -> pl.DataFrame:
    """Long score rows for 1–8 proposals with 1..max_experts complete evaluations each."""
    rows = []
    for p in range(draw(st.integers(1, 8))):
        for e in range(draw(st.integers(1, max_experts))):
            for c in scheme.criteria:
                steps = int(c.max / c.step)
                rows.append((f"P{p}", f"E{e}", c.id, draw(st.integers(0, steps)) * c.step))
    return pl.DataFrame(
        rows,
        schema=["proposal_id", "expert_id", "criterion", "score"],
        orient="row",
        schema_overrides={"score": pl.Float64},
    )


def _proposals(ids: list[str], requests: list[float], groups: list[int]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "proposal_id": ids,
            "lot": ["L"] * len(ids),
            "requested_eur": requests,
            "ecosystems": [[ECOSYSTEMS[g]] for g in groups],
        },
        schema_overrides={"requested_eur": pl.Float64},
    )


@SETTINGS
@given(data=st.data(), scheme_id=st.sampled_from(["erasmus-afi", "horizon-ria", "horizon-ia"]))
def test_scores_stay_in_range_and_columns_agree(data: st.DataObject, scheme_id: str) -> None:
    scheme = load_scheme(scheme_id)
    scores = data.draw(calls(scheme, max_experts=4))
    out = score_call(scores, scheme).proposals
    assert out["proposal_id"].is_unique().all()
    for c in scheme.criteria:
        assert out[c.id].drop_nulls().is_between(0, c.max).all()
    scored = out.filter(pl.col("total").is_not_null())
    sums = scored.select(pl.sum_horizontal(scheme.criterion_ids))[:, 0]
    assert ((scored["total"] - sums).abs() < 1e-9).all()
    assert scored["total"].is_between(0, scheme.total_max).all()
    assert (out["passed"] == (out["fail_reasons"].list.len() == 0)).all()
    ranked = out["rank"].is_not_null()
    assert (ranked == (out["passed"] & out["pending_reason"].is_null())).all()
    # competition ranks (1, 2, 2, 4): ex-aequo proposals share one, and only they
    ranks = sorted(out["rank"].drop_nulls().to_list())
    for i, r in enumerate(ranks):
        assert r == (ranks[i - 1] if i and ranks[i - 1] == r else i + 1)
    shared = out.filter(ranked).with_columns(pl.len().over("rank").alias("n"))
    assert (shared["tied"] == (shared["n"] > 1)).all()
    assert set(out["decision"]) <= {"passed", "rejected", "pending"}
    assert (out.filter(pl.col("decision") == "pending")["pending_reason"].is_not_null()).all()


@SETTINGS
@given(data=st.data())
def test_final_total_lies_within_the_counted_totals(data: st.DataObject) -> None:
    scores = data.draw(calls(load_scheme("erasmus-afi"), max_experts=3))
    r = score_call(scores, load_scheme("erasmus-afi"))
    bounds = (
        r.evaluations.filter("counted")
        .group_by("proposal_id")
        .agg(pl.col("total").min().alias("lo"), pl.col("total").max().alias("hi"))
    )
    joined = r.proposals.join(bounds, on="proposal_id")
    assert (
        joined.filter(
            (pl.col("total") < pl.col("lo") - 1e-9) | (pl.col("total") > pl.col("hi") + 1e-9)
        ).height
        == 0
    )
    assert (
        r.evaluations.group_by("proposal_id").agg(pl.col("counted").sum())["counted"] >= 1
    ).all()


@SETTINGS
@given(data=st.data())
def test_a_higher_score_never_lowers_a_rank(data: st.DataObject) -> None:
    scheme = AFI_NO_DIVERGENCE
    scores = data.draw(calls(scheme))
    requests = [float(data.draw(st.integers(1, 5))) for _ in range(10)]
    ids = sorted(set(scores["proposal_id"]))
    props = _proposals(ids, requests[: len(ids)], [0] * len(ids))
    lots = {"L": LotRules(float(data.draw(st.integers(0, 20))))}
    i = data.draw(st.integers(0, scores.height - 1))
    room = scores.row(i, named=True)
    criterion_max = scheme.criterion(room["criterion"]).max
    if room["score"] >= criterion_max:
        return
    raised = scores.with_columns(
        pl.when(pl.int_range(pl.len()) == i).then(pl.col("score") + 1).otherwise(pl.col("score"))
    )
    before = score_call(scores, scheme, props, lots).proposals
    after = score_call(raised, scheme, props, lots).proposals
    pid = room["proposal_id"]
    b = before.filter(pl.col("proposal_id") == pid).row(0, named=True)
    a = after.filter(pl.col("proposal_id") == pid).row(0, named=True)
    assert a["total"] == b["total"] + 1 / a["experts"]
    assert a["passed"] or not b["passed"]
    if b["rank"] is not None:
        assert a["rank"] is not None and a["rank"] <= b["rank"]
    if b["decision"] == "funded":  # strict funding, no one_per: a funded proposal stays funded
        assert a["decision"] == "funded"


@SETTINGS
@given(
    data=st.data(),
    funding=st.sampled_from(["strict", "skip"]),
    one_per=st.sampled_from([None, "ecosystem"]),
)
def test_decisions_consistent_with_budget(
    data: st.DataObject, funding: str, one_per: str | None
) -> None:
    scheme = load_scheme("erasmus-afi", {"funding": funding, "divergence": {"total_gap": 1000}})
    scores = data.draw(calls(scheme))
    ids = sorted(set(scores["proposal_id"]))
    requests = [float(data.draw(st.integers(1, 10))) for _ in ids]
    groups = [data.draw(st.integers(0, 2)) for _ in ids]
    budget = float(data.draw(st.integers(0, 30)))
    out = score_call(
        scores, scheme, _proposals(ids, requests, groups), {"L": LotRules(budget, one_per)}
    ).proposals
    group_of = dict(zip(ids, groups, strict=True))
    funded = out.filter(pl.col("decision") == "funded")
    assert funded["requested_eur"].sum() <= budget
    assert funded["rank"].is_not_null().all()
    assert (out.filter(pl.col("rank").is_not_null())["decision"].is_in(["funded", "reserve"])).all()
    if one_per:
        assert len({group_of[p] for p in funded["proposal_id"]}) == funded.height
    # Walk the ranked list: every reserve decision has a reason
    remaining, seen_groups, stopped = budget, set(), False
    for pid, requested, decision in (
        out.filter(pl.col("rank").is_not_null())
        .sort("rank")
        .select("proposal_id", "requested_eur", "decision")
        .iter_rows()
    ):
        blocked = one_per is not None and group_of[pid] in seen_groups
        if decision == "funded":
            assert not stopped and not blocked and requested <= remaining
            remaining -= requested
            seen_groups.add(group_of[pid])
        else:
            assert stopped or blocked or requested > remaining
            if not blocked and funding == "strict":
                stopped = True
    reserve = out.filter(pl.col("decision") == "reserve").sort("rank")
    assert reserve["reserve_position"].to_list() == list(range(1, reserve.height + 1))
    # Every decision comes with its reason in words, naming the rule that made it
    for decision, rank, why in out.select("decision", "rank", "decision_reason").iter_rows():
        assert why.startswith(f"{decision}: ")
        if decision == "funded":
            assert why.startswith(f"funded: rank {rank}, within the budget")
        if decision == "reserve":
            assert any(k in why for k in ("budget exhausted at rank", "one proposal per "
                                          "ecosystem", "ex aequo", "no requested amount",
                                          "does not fit the budget left"))


@SETTINGS
@given(data=st.data(), funding=st.sampled_from(["strict", "skip"]))
def test_ex_aequo_proposals_are_never_split_by_funding(data: st.DataObject, funding: str) -> None:
    # coarse scores make ties common: each criterion is its max or its minimum to pass
    scheme = load_scheme("erasmus-afi", {"funding": funding})
    n = data.draw(st.integers(2, 8))
    points = [(f"P{p}", c.id, float(data.draw(st.sampled_from([c.min_pass, c.max]))))
              for p in range(n) for c in scheme.criteria]
    # both experts give the same points, so there is no divergence
    rows = [(p, e, c, s) for e in ("E0", "E1") for p, c, s in points]
    scores = pl.DataFrame(rows, schema=["proposal_id", "expert_id", "criterion", "score"],
                          orient="row")
    ids = [f"P{p}" for p in range(n)]
    requests = [float(data.draw(st.integers(1, 3))) for _ in ids]
    budget = float(data.draw(st.integers(0, 2 * n)))
    out = score_call(scores, scheme, _proposals(ids, requests, [0] * n),
                     {"L": LotRules(budget)}).proposals.filter(pl.col("rank").is_not_null())
    keys = ["total", *scheme.tie_break]
    groups = out.group_by(keys).agg("rank", "decision", "tied")
    for rank, decision, tied in groups.select("rank", "decision", "tied").iter_rows():
        assert len(set(rank)) == 1  # equal keys: one rank
        assert len(set(decision)) == 1  # funded together or not at all
        assert all(tied) == (len(rank) > 1)
    assert out.filter(pl.col("decision") == "funded")["requested_eur"].sum() <= budget + 1e-6
