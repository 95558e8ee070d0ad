"""The decision of every proposal in words (``decision_reason``), from the funding walk and
the thresholds: hand-computed cases for each kind of reason, then the demo call's own ranking."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from evalpanel.callfolder import read_call
from evalpanel.planning import lot_rules, scheme_of
from scoring import (
    NO_SCORES,
    LotRules,
    load_scheme,
    parse_failure,
    parse_reason,
    reason_text,
    score_call,
)
from tests.test_scoring_call import AFI, evaluation, frame, proposals, two_same

DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "demo"


def reasons(out: pl.DataFrame) -> dict[str, str]:
    return dict(out.select("proposal_id", "decision_reason").iter_rows())


def _budget_case(funding: str) -> pl.DataFrame:
    # ranks by total: P1 90, P2 85, P3 80, P4 60 (rejected on the total)
    evals = frame(
        *two_same("P1", 23, 27, 22, 18),
        *two_same("P2", 22, 25, 21, 17),
        *two_same("P3", 20, 24, 20, 16),
        *two_same("P4", 15, 18, 15, 12),
    )
    props = proposals({"P1": 100_000, "P2": 200_000, "P3": 50_000, "P4": 10_000})
    scheme = load_scheme("erasmus-afi", {"funding": funding})
    return score_call(evals, scheme, props, {"L1": LotRules(250_000)}).proposals


def test_strict_funding_names_the_rank_where_the_budget_ran_out() -> None:
    assert reasons(_budget_case("strict")) == {
        "P1": "funded: rank 1, within the budget (EUR 150,000 left after it)",
        "P2": "reserve: budget exhausted at rank 2 (requests EUR 200,000, EUR 150,000 left)",
        "P3": "reserve: budget exhausted at rank 2",
        "P4": "rejected: total 60 below 70",
    }


def test_skip_funding_passes_over_what_does_not_fit() -> None:
    got = reasons(_budget_case("skip"))
    assert got["P2"] == ("reserve: does not fit the budget left at rank 2 (requests EUR 200,000, "
                         "EUR 150,000 left)")
    assert got["P3"] == "funded: rank 3, within the budget (EUR 100,000 left after it)"


def test_one_per_ecosystem_names_the_funded_proposal() -> None:
    evals = frame(
        *two_same("P1", 23, 27, 22, 18),
        *two_same("P2", 22, 25, 21, 17),
        *two_same("P3", 20, 24, 20, 16),
    )
    props = proposals(
        {"P1": 1.0, "P2": 1.0, "P3": 1.0},
        ecosystems={"P1": ["Digital"], "P2": ["Digital"], "P3": ["Health"]},
    )
    out = score_call(evals, AFI, props, {"L1": LotRules(10.0, "ecosystem")}).proposals
    assert reasons(out)["P2"] == "reserve: one proposal per ecosystem, Digital already funded by P1"


def test_rejected_names_every_threshold_missed_and_pending_why() -> None:
    # impact 10 and 11: the mean 10.5 misses the minimum of 11; the total 75.5 passes
    evals = frame(evaluation("P1", "E1", 20, 25, 20, 10), evaluation("P1", "E2", 20, 25, 20, 11),
                  *two_same("P2", 20, 25, 20, 20))
    props = proposals({"P1": 1.0, "P2": 1.0, "P3": 1.0})
    out = score_call(evals, AFI, props, {"L1": LotRules(10.0)}).proposals
    got = reasons(out)
    assert got["P1"] == "rejected: impact 10.5 below 11"
    assert got["P3"].startswith("pending: ")
    assert out.filter(pl.col("decision_reason").is_null()).is_empty()


def test_lot_without_budget_says_funding_is_not_decided() -> None:
    evals = frame(*two_same("P1", 23, 27, 22, 18))
    out = score_call(evals, AFI, proposals({"P1": 1.0}), {"L1": LotRules(None)}).proposals
    assert reasons(out)["P1"] == "passed: the lot has no budget, so funding is not decided"


def test_demo_call_reasons_follow_its_ranking() -> None:
    call = read_call(DEMO)
    assert call.scores is not None
    out = score_call(call.scores, scheme_of(call), call.proposals, lot_rules(call)).proposals
    assert out.filter(pl.col("decision_reason").is_null()).is_empty()
    for lot in call.config.lots.values():
        rows = out.filter(pl.col("lot") == lot.id)
        reserve = rows.filter(pl.col("decision") == "reserve")
        funded = rows.filter(pl.col("decision") == "funded")
        if lot.one_per:
            # every one-per reserve names a funded proposal of its lot with that ecosystem first
            first = dict(call.proposals.select("proposal_id", pl.col("ecosystems").list.first())
                         .iter_rows())
            limited = reserve.filter(pl.col("decision_reason").str.contains("one proposal per"))
            assert limited.height
            for pid, why in limited.select("proposal_id", "decision_reason").iter_rows():
                by = why.rsplit(" ", 1)[1]
                assert by in funded["proposal_id"].to_list()
                assert f"per ecosystem, {first[pid]} already funded by {by}" in why
                assert first[by] == first[pid]
        else:
            # strict funding: the first reserve is where the budget ran out, the rest point there
            stop = int(reserve["rank"].min())  # type: ignore[arg-type]
            assert (reserve["decision_reason"].str.starts_with(
                f"reserve: budget exhausted at rank {stop}")).all()
            used = float(funded["requested_eur"].sum())
            first_out = reserve.filter(pl.col("rank") == stop)["requested_eur"][0]
            assert used + first_out > (lot.budget_eur or 0)
    rejected = out.filter(pl.col("decision") == "rejected")
    assert rejected["decision_reason"].str.starts_with("rejected: ").all()
    assert "rejected: impact 10.5 below 11; total 58 below 70" in rejected[
        "decision_reason"].to_list()


def test_every_reason_reads_back_as_its_key_and_fields() -> None:
    # the reports say the engine's reason in other languages from its key and fields: each
    # text the engine gives must read back, and fill in again to the very same text
    outs = [_budget_case("strict"), _budget_case("skip")]
    call = read_call(DEMO)
    assert call.scores is not None
    outs.append(score_call(call.scores, scheme_of(call), call.proposals,
                           lot_rules(call)).proposals)
    seen = set()
    for out in outs:
        for text, decision in out.select("decision_reason", "decision").iter_rows():
            parsed = parse_reason(text)
            assert parsed is not None, text
            key, fields = parsed
            assert reason_text(key, **fields) == text
            assert key.split("_")[0] == decision, (key, decision)
            seen.add(key)
    assert {"funded", "reserve_strict", "reserve_after_stop", "reserve_skip",
            "reserve_one_per", "rejected"} <= seen
    assert parse_reason("funded: rank 1, within the budget (EUR 5 left after it) and more") \
        is None
    assert parse_reason("reserve: budget exhausted at rank 2 (requests EUR 1, EUR 2 left)") == (
        "reserve_strict", {"rank": "2", "need": "EUR 1", "left": "EUR 2"})
    assert parse_failure("impact 10.5 < 11") == ("impact", "10.5", "11")
    assert parse_failure("total 58 < 70") == ("total", "58", "70")
    assert parse_failure(NO_SCORES) is None
