"""The store and the assignment agree on when a past employment stops conflicting."""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl
import pytest
import sqlalchemy as sa

from assignment import find_conflicts
from assignment.conflicts import years_before
from evalpanel.callfolder import CallFolder
from evalpanel.store import InvalidInput, create_batch
from tests.store_fixtures import build_world, frame, make_call, pairs


def _call_with_employment(since: dt.date) -> CallFolder:
    call = make_call()
    extra = frame(
        "conflicts",
        [
            {
                "expert_id": "E03",
                "proposal_id": None,
                "org_id": "9000000030",
                "kind": "employment",
                "since": since,
                "note": "former employer",
            }
        ],
    )
    return dataclasses.replace(call, conflicts=pl.concat([call.conflicts, extra]))


@pytest.mark.parametrize(("years_ago", "conflicted"), [(1, True), (4, False)])
def test_past_employment_window(engine: sa.Engine, years_ago: int, conflicted: bool) -> None:
    today = dt.date.today()
    call = _call_with_employment(years_before(today, years_ago))
    found = find_conflicts(
        call.proposals,
        call.partners,
        call.experts,
        call.conflicts,
        today=today,
    )
    in_assignment = found.filter((pl.col("proposal_id") == "P03") & (pl.col("expert_id") == "E03"))
    assert (in_assignment.height > 0) is conflicted
    world = build_world(engine, call)

    def batch() -> int:
        return create_batch(
            world.engine,
            world.manager,
            world.call_id,
            pairs([("P03", "E03")]),
            solver="hand",
            parameters={},
            seed=None,
            summary={},
            elapsed_s=0.0,
        )

    if conflicted:
        with pytest.raises(InvalidInput, match="conflict"):
            batch()
    else:
        assert batch() > 0
