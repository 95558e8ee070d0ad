"""The ranking reads its inputs in one transaction."""

from __future__ import annotations

import sqlalchemy as sa

from evalpanel.store import accept_task, ranking_inputs, save_draft, submit_evaluation
from evalpanel.workflow import rank_call
from tests.store_fixtures import World, complete, publish, scores, task_of


def test_rank_call_reads_in_one_transaction(world: World) -> None:
    publish(world, [("P01", "E03"), ("P02", "E03")])
    task = task_of(world, "P02", "E03")
    accept_task(world.engine, world.experts["E03"], task)
    save_draft(world.engine, world.experts["E03"], task, scores(complete({"relevance": 20})),
               expected_version=0)
    submit_evaluation(world.engine, world.experts["E03"], task, expected_version=1)
    begins: list[object] = []

    def count(conn: object) -> None:
        begins.append(conn)

    sa.event.listen(world.engine, "begin", count)
    try:
        result = rank_call(world.engine, world.manager, world.call_id)
    finally:
        sa.event.remove(world.engine, "begin", count)
    assert len(begins) == 1
    assert "P02" in result.proposals["proposal_id"].to_list()
    inputs = ranking_inputs(world.engine, world.manager, world.call_id)
    assert inputs.call.affinity is None  # the matrix is not read for a ranking
    # nor the partners, experts and conflicts: only the configuration and the proposals
    assert inputs.call.partners.is_empty() and inputs.call.experts.is_empty()
    assert inputs.call.conflicts.is_empty() and inputs.call.scores is None
    assert inputs.call.proposals.height == world.call.proposals.height
    assert inputs.scores["proposal_id"].unique().to_list() == ["P02"]
