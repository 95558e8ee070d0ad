"""The conflicts as integers (``assignment.conflict_set``) are the rows of ``find_conflicts``:
the same rows, counts, pairs and instance, without a row per language conflict."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

import assignment
from evalpanel.callfolder import CallFolder, read_call
from fixtures.generate import write_call
from tests.cli_support import ROOT

TODAY = dt.date(2026, 3, 1)


@pytest.fixture(scope="module", params=["demo", "generated"])
def call(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> CallFolder:
    if request.param == "demo":
        return read_call(ROOT / "fixtures" / "demo")
    folder = tmp_path_factory.mktemp("call") / "call"
    return read_call(write_call(folder, seed=11, n_proposals=120, n_experts=70))


def _args(call: CallFolder) -> tuple[pl.DataFrame, ...]:
    return call.proposals, call.partners, call.experts, call.conflicts


@pytest.mark.parametrize("country", [False, True])
def test_the_set_gives_the_rows_counts_and_pairs_of_find_conflicts(
    call: CallFolder, country: bool
) -> None:
    found = assignment.conflict_set(*_args(call), today=TODAY, exclude_coordinator_country=country)
    rows = assignment.find_conflicts(*_args(call), today=TODAY, indices=True,
                                     exclude_coordinator_country=country)  # fmt: skip
    assert found.frame(indices=True).equals(rows)
    assert found.frame().equals(rows.drop("p_idx", "e_idx"))
    reasons = set(rows["reason"].to_list())
    assert "language" in reasons and len(reasons) > 2
    n_e = call.experts.height
    codes = np.unique(rows["p_idx"].to_numpy() * n_e + rows["e_idx"].to_numpy())
    assert np.array_equal(found.codes(), codes)
    assert found.count() == codes.size
    assert found.language_count() == rows.filter(pl.col("reason") == "language").height
    mask = assignment.conflict_mask(rows, call.proposals["proposal_id"].sort().to_list(),
                                    call.experts["expert_id"].sort().to_list())  # fmt: skip
    assert np.array_equal(found.pairs_mask(), mask)
    rng = np.random.default_rng(3)
    p = rng.integers(0, call.proposals.height, 500)
    e = rng.integers(0, n_e, 500)
    assert np.array_equal(found.excludes(p, e), mask[p, e])
    one = int(rows["p_idx"][rows.height // 2])
    expected = rows.filter(pl.col("p_idx") == one).select(p="p_idx", e="e_idx", reason="reason",
                                                          detail="detail")  # fmt: skip
    assert found.rows_of(one).equals(expected)
    # the rows of some pairs (half of them excluded, some given twice) are the rule's for them
    picked = np.concatenate([rng.choice(codes, 300), rng.integers(0, call.proposals.height * n_e,
                                                                  300)])  # fmt: skip
    of_pairs = found.pair_rows(picked // n_e, picked % n_e)
    named = pl.DataFrame({"proposal_id": found.proposal_ids.gather(picked // n_e),
                          "expert_id": found.expert_ids.gather(picked % n_e)})
    by_rule = assignment.excluded_pairs(named, *_args(call), today=TODAY,
                                        exclude_coordinator_country=country)  # fmt: skip
    assert of_pairs.height >= np.unique(picked[np.isin(picked, codes)]).size > 100
    assert of_pairs.select(
        proposal_id=found.proposal_ids.gather(of_pairs["p"]),
        expert_id=found.expert_ids.gather(of_pairs["e"]), reason="reason", detail="detail",
    ).equals(by_rule)
    assert found.rows_for(named).equals(by_rule)


def test_an_instance_takes_the_set_as_the_rows(call: CallFolder) -> None:
    found = assignment.conflict_set(*_args(call), today=TODAY, exclude_coordinator_country=True)
    rows = found.frame()
    for proposals, experts in ((call.proposals, call.experts),
                               (call.proposals.reverse(), call.experts.sample(fraction=1.0,
                                                                              seed=5))):
        aff = np.full((proposals.height, experts.height), 0.5, dtype=np.float32)
        by_rows = assignment.build_instance(proposals, experts, aff, rows, k=2)
        by_set = assignment.build_instance(proposals, experts, aff, found, k=2)
        assert by_set.conflicts.equals(by_rows.conflicts)
        assert by_set.conflicted_pair_count() == by_rows.conflicted_pair_count() > 100
        assert np.array_equal(by_set.blocked_codes(), by_rows.blocked_codes())
        pairs = by_set.conflict_pairs()
        named = set(zip(by_set.proposal_ids[pairs[:, 0]].tolist(),
                        by_set.expert_ids[pairs[:, 1]].tolist(), strict=True))
        assert named == set(rows.select("proposal_id", "expert_id").iter_rows())


def test_fixed_pairs_on_an_excluded_pair_are_refused(call: CallFolder) -> None:
    found = assignment.conflict_set(*_args(call), today=TODAY)
    language = found.frame().filter(pl.col("reason") == "language").head(1)
    aff = np.full((call.proposals.height, call.experts.height), 0.5, dtype=np.float32)
    with pytest.raises(assignment.InstanceError, match=r"pinned pair .* is conflicted"):
        assignment.build_instance(call.proposals, call.experts, aff, found, k=2,
                                  pinned=language)  # fmt: skip


def test_a_set_of_other_proposals_is_refused(call: CallFolder) -> None:
    found = assignment.conflict_set(*_args(call), today=TODAY)
    fewer = call.proposals.head(call.proposals.height - 1)
    aff = np.full((fewer.height, call.experts.height), 0.5, dtype=np.float32)
    with pytest.raises(assignment.InstanceError, match="find them on the same proposals"):
        assignment.build_instance(fewer, call.experts, aff, found, k=2)


def test_potential_conflicts_leave_out_the_same_pairs_given_as_a_set(call: CallFolder) -> None:
    found = assignment.conflict_set(*_args(call), today=TODAY)
    by_rows = assignment.find_potential_conflicts(call.partners, call.experts, found.frame())
    by_set = assignment.find_potential_conflicts(call.partners, call.experts, found)
    assert by_set.equals(by_rows)
    unfiltered = assignment.find_potential_conflicts(call.partners, call.experts)
    left_out = unfiltered.join(by_set, on=["proposal_id", "expert_id"], how="anti")
    assert left_out.join(found.frame(), on=["proposal_id", "expert_id"], how="anti").is_empty()
