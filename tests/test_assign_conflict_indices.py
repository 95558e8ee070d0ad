"""Conflicts reach the instance as integer positions (``find_conflicts(indices=True)``), the
same pairs as by id lookup, and frames in another order fall back to the lookup."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

import assignment
from evalpanel.callfolder import read_call
from tests.cli_support import ROOT

DEMO = ROOT / "fixtures" / "demo"


def _instance(
    proposals: pl.DataFrame, experts: pl.DataFrame, conflicts: pl.DataFrame
) -> assignment.AssignmentInstance:
    aff = np.full((proposals.height, experts.height), 0.5, dtype=np.float32)
    return assignment.build_instance(proposals, experts, aff, conflicts, k=2)


def test_indexed_conflicts_give_the_same_instance_as_ids() -> None:
    call = read_call(DEMO)
    args = (call.proposals, call.partners, call.experts, call.conflicts)
    plain = assignment.find_conflicts(*args, today=dt.date(2026, 3, 1))
    indexed = assignment.find_conflicts(*args, today=dt.date(2026, 3, 1), indices=True)
    assert indexed.drop("p_idx", "e_idx").equals(plain)
    a = _instance(call.proposals, call.experts, plain)
    b = _instance(call.proposals, call.experts, indexed)
    assert a.conflicts.height > 100 and a.conflicts.equals(b.conflicts)
    p, e = b.conflicts["p"].to_numpy(), b.conflicts["e"].to_numpy()
    assert (b.proposal_ids[p] == plain["proposal_id"].to_numpy()).all()
    assert (b.expert_ids[e] == plain["expert_id"].to_numpy()).all()


def test_frames_out_of_id_order_are_looked_up_by_id() -> None:
    call = read_call(DEMO)
    indexed = assignment.find_conflicts(call.proposals, call.partners, call.experts,
                                        call.conflicts, today=dt.date(2026, 3, 1), indices=True)
    reversed_p = call.proposals.reverse()  # positions in id order are not this frame's rows
    inst = _instance(reversed_p, call.experts, indexed)
    rows = inst.proposal_ids[inst.conflicts["p"].to_numpy()]
    pairs = set(zip(rows.tolist(), inst.expert_ids[inst.conflicts["e"].to_numpy()].tolist(),
                    strict=True))
    assert pairs == set(indexed.select("proposal_id", "expert_id").iter_rows())
