"""Reassignment replaces only what must change."""

from __future__ import annotations

import numpy as np
import polars as pl

from assignment import assign, build_instance, reassign
from benchmarks.synthetic import synthetic_call


def test_decline_and_new_conflict_keep_every_other_pair() -> None:
    call = synthetic_call(40, 25, k=3, seed=2, conflicts_per_proposal=1)
    inst = call.instance()
    first = assign(inst)
    current = first.pairs.select("proposal_id", "expert_id")
    declined = current.slice(0, 1)
    conflicted = current.slice(5, 1)
    conflicts = pl.concat(
        [
            call.conflicts,
            conflicted.with_columns(reason=pl.lit("declared"), detail=pl.lit("new")),
        ]
    )
    inst2 = build_instance(call.proposals, call.experts, call.affinity, conflicts, k=3)
    out = reassign(inst2, current, declined=declined)

    touched = pl.concat([declined, conflicted])
    untouched = current.join(touched, on=["proposal_id", "expert_id"], how="anti")
    assert out.kept.select("proposal_id", "expert_id").equals(untouched)
    assert out.removed.select("proposal_id", "expert_id").equals(touched.sort("proposal_id"))
    assert sorted(out.removed["reason"].to_list()) == ["conflict", "declined"]
    new_pairs = out.result.pairs.select("proposal_id", "expert_id")
    assert new_pairs.join(untouched, on=["proposal_id", "expert_id"], how="semi").height == (
        untouched.height
    )
    assert new_pairs.join(touched, on=["proposal_id", "expert_id"], how="semi").height == 0
    # only the two proposals that lost an expert receive one
    assert set(out.added["proposal_id"]) <= set(touched["proposal_id"])
    assert out.added.height == 2 and out.result.status == "complete"
    loads = new_pairs.group_by("expert_id").len()
    caps = loads.join(call.experts.select("expert_id", "max_load"), on="expert_id")
    assert (caps["len"] <= caps["max_load"]).all()
    assert np.isclose(out.result.objective, float(out.result.pairs["affinity"].sum()))
