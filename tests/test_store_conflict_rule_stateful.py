"""A stateful test of the conflict rule on SQLite and PostgreSQL: previews, publishes, conflict
declarations, accepts, submissions, declines, replacements, further experts and manual adds in
any order. After every step no active task is on a pair the rule excludes (the planner's
:func:`assignment.find_conflicts` on the whole stored call decides, not the store's own pair
check), and no expert has more active tasks than their maximum load.

Each example starts from the imported call of :func:`tests.conflict_rule_support.rule_call`
with every task, batch and declared conflict deleted. A step may be refused (a stale batch, an
excluded pair, a full expert, a task in the wrong state): only :class:`InvalidInput`,
:class:`InvalidState` and :class:`StaleWrite` count as refusals; any other error fails the test.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from evalpanel.store import (
    InvalidInput,
    InvalidState,
    StaleWrite,
    accept_task,
    add_task,
    batch_changes,
    confirm_replacement,
    declare_conflict,
    decline_task,
    list_replacements,
    list_tasks,
    publish_batch,
    save_draft,
    submit_evaluation,
)
from evalpanel.store.tables import conflicts, metadata
from evalpanel.workflow import preview_extra_experts, propose_replacements, run_batch
from tests.conflict_rule_support import rule_call, violations
from tests.store_fixtures import *  # noqa: F403
from tests.store_fixtures import World, build_world, scores

REFUSED = (InvalidInput, InvalidState, StaleWrite)
PROPOSALS = st.sampled_from(["P01", "P02", "P03", "P04"])
EXPERTS = st.sampled_from(["E01", "E02", "E03", "E04", "E05", "E06"])
LOW = {"relevance": 10.0, "quality": 12.0, "partnership": 8.0, "impact": 10.0}
HIGH = {"relevance": 24.0, "quality": 28.0, "partnership": 19.0, "impact": 19.0}


def _workflow_tables() -> list[sa.Table]:
    """The tables holding tasks, batches and what hangs on them, children first."""
    roots = {"tasks", "batches"}
    found: set[str] = set(roots)
    changed = True
    while changed:
        changed = False
        for table in metadata.sorted_tables:
            refers = {fk.column.table.name for fk in table.foreign_keys}
            if table.name not in found and refers & found:
                found.add(table.name)
                changed = True
    return [t for t in reversed(metadata.sorted_tables) if t.name in found]


def _reset(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        for table in _workflow_tables():
            conn.execute(table.delete())
        conn.execute(conflicts.delete().where(conflicts.c.source == "declared"))


def _attempt(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except REFUSED:
        return None


def _machine(w: World) -> type[RuleBasedStateMachine]:
    class ConflictRule(RuleBasedStateMachine):
        batches = Bundle("batches")

        def __init__(self) -> None:
            super().__init__()
            _reset(w.engine)

        def _tasks(self, *states: str) -> pl.DataFrame:
            t = list_tasks(w.engine, w.manager, w.call_id)
            return t.filter(pl.col("state").is_in(states)).sort("task_id")

        def _pick(self, data: st.DataObject, *states: str) -> dict[str, Any] | None:
            rows = self._tasks(*states).rows(named=True)
            return data.draw(st.sampled_from(rows)) if rows else None

        @rule(target=batches, seed=st.integers(0, 3), mode=st.sampled_from(["max-total", "fair"]),
              publish_now=st.booleans())
        def preview(self, seed: int, mode: str, publish_now: bool) -> Any:
            run = _attempt(run_batch, w.engine, w.manager, w.call_id, mode=mode, seed=seed)
            if run is None:
                return multiple()
            if publish_now:
                _attempt(publish_batch, w.engine, w.manager, run.batch_id)
            return run.batch_id

        @rule(target=batches)
        def further_experts(self) -> Any:
            run = _attempt(preview_extra_experts, w.engine, w.manager, w.call_id)
            return multiple() if run is None else run.batch_id

        @rule(batch=batches)
        def publish(self, batch: int) -> None:
            _attempt(publish_batch, w.engine, w.manager, batch)

        @rule(proposal=PROPOSALS, expert=EXPERTS)
        def declare(self, proposal: str, expert: str) -> None:
            declare_conflict(w.engine, w.manager, w.call_id, expert, kind="declared",
                             note="declared in the test", proposal_id=proposal)

        @rule(batch=batches, data=st.data())
        def declare_on_a_previewed_pair(self, batch: int, data: st.DataObject) -> None:
            # the interleaving a stale batch is about: a conflict on a pair it would add
            changes = batch_changes(w.engine, w.manager, batch)
            added = changes.filter(pl.col("change") == "added").rows(named=True)
            if added:
                pair = data.draw(st.sampled_from(added))
                self.declare(pair["proposal_id"], pair["expert_id"])

        @rule(proposal=PROPOSALS, expert=EXPERTS)
        def manual_add(self, proposal: str, expert: str) -> None:
            _attempt(add_task, w.engine, w.manager, w.call_id, proposal, expert)

        @rule(data=st.data())
        def accept(self, data: st.DataObject) -> None:
            task = self._pick(data, "assigned")
            if task is not None:
                _attempt(accept_task, w.engine, w.experts[task["expert_id"]], task["task_id"])

        @rule(data=st.data())
        def submit(self, data: st.DataObject) -> None:
            task = self._pick(data, "accepted")
            if task is None:
                return
            who = w.experts[task["expert_id"]]
            sheet = LOW if int(task["expert_id"][1:]) % 2 else HIGH  # odd experts are harsh
            version = save_draft(w.engine, who, task["task_id"], scores(sheet), expected_version=0)
            submit_evaluation(w.engine, who, task["task_id"], expected_version=version)

        @rule(data=st.data())
        def decline(self, data: st.DataObject) -> None:
            task = self._pick(data, "assigned", "accepted")
            if task is not None:
                decline_task(w.engine, w.experts[task["expert_id"]], task["task_id"], "a link")

        @rule()
        def replace(self) -> None:
            _attempt(propose_replacements, w.engine, w.manager, w.call_id)
            proposed = list_replacements(w.engine, w.manager, w.call_id, state="proposed")
            for rid in proposed["replacement_id"].to_list():
                _attempt(confirm_replacement, w.engine, w.manager, rid)

        @invariant()
        def no_task_on_an_excluded_pair_and_no_expert_over_max_load(self) -> None:
            bad, over = violations(w.engine, w.call_id)
            # a submitted evaluation is frozen work: a conflict declared after it may leave it
            # for the manager to decide on; every other active task must obey the rule
            bad = bad.filter(pl.col("state") != "submitted")
            assert bad.is_empty(), bad
            assert over.is_empty(), over

    return ConflictRule


def test_the_conflict_rule_holds_in_every_interleaving(engine: sa.Engine) -> None:
    world = build_world(engine, rule_call())
    run_state_machine_as_test(  # type: ignore[no-untyped-call]
        _machine(world),
        settings=settings(
            max_examples=8,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
