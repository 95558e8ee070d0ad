"""A stateful Hypothesis test of evaluation independence, on SQLite and PostgreSQL.

The machine drives the store through submissions, consolidation starts, correction attempts,
correction and conflict requests, the manager's approvals and refusals, replacements, a new
consolidator and final consensus. A small model of its own predicts whether each step must go
through; a step the model refuses must be refused by the store, and the other way round.

Invariant after every step: no counted evaluation was changed after its author could see
another expert's scores without an approved request. The model records, for each task, the
counted version and scores at the moment its author could first read the panel's scores (their
evaluation submitted and the proposal's consolidation started). The store's counted evaluation
must still be that version with those scores, or a later one each of whose versions has an
approved correction request in the store.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from evalpanel.store import (
    InvalidInput,
    InvalidState,
    PermissionDenied,
    RequestKind,
    RequestState,
    StaleWrite,
    accept_task,
    approve_consensus,
    approve_request,
    confirm_replacement,
    declare_conflict,
    dismiss_replacement,
    get_consolidation,
    get_evaluation,
    internal_comments,
    list_replacements,
    list_requests,
    make_engine,
    name_consolidator,
    peer_scores,
    propose_replacement,
    refuse_request,
    request_correction,
    save_consensus,
    save_draft,
    scores_frame,
    start_consolidation,
    start_correction,
    submit_consensus,
    submit_evaluation,
)
from tests.store_fixtures import (
    PG_ENV,
    World,
    backend_url,
    build_world,
    pairs,
    publish,
    scores,
    task_of,
)

PANELS = {"P01": ("E03", "E04"), "P03": ("E04", "E05")}
EXPERTS = ("E03", "E04", "E05", "E06")
REFUSED = (InvalidState, InvalidInput, StaleWrite, PermissionDenied)
CRITERIA = ("relevance", "quality", "partnership", "impact")  # a complete form


def _scores(value: int) -> pl.DataFrame:
    return scores({c: float(value) for c in CRITERIA})


@dataclass
class Task:
    task_id: int
    state: str = "assigned"  # assigned, submitted, declined
    counted: tuple[int, int] | None = None  # (version_no, score on every criterion)
    draft: tuple[int, int] | None = None  # an open correction draft
    seen: tuple[int, int] | None = None  # what counted when the author could first see peers
    approved: set[int] = field(default_factory=set)  # correction versions the manager approved
    pending: dict[str, int] = field(default_factory=dict)  # request kind -> request id


@dataclass
class Consolidation:
    cid: int
    consolidator: str
    state: str = "drafting"


class IndependenceMachine(RuleBasedStateMachine):
    def __init__(self, world: World) -> None:
        super().__init__()
        self.w = world
        publish(world, [(p, e) for p, panel in PANELS.items() for e in panel])
        self.tasks = {
            (p, e): Task(task_of(world, p, e)) for p, panel in PANELS.items() for e in panel
        }
        self.cons: dict[str, Consolidation] = {}
        self.requests: dict[int, tuple[str, tuple[str, str], int | None]] = {}
        self.conflicted: set[tuple[str, str]] = set()
        self.replacements = 0  # open replacement requests (one per approved conflict)

    # --- helpers -----------------------------------------------------------------------------

    def _attempt(self, allowed: bool, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            result = fn(*args, **kwargs)
        except REFUSED as exc:
            assert not allowed, f"{fn.__name__} refused although the model allows it: {exc}"
            return REFUSED
        assert allowed, f"{fn.__name__}{args[2:]} went through although the model refuses it"
        return result

    def _actor(self, key: tuple[str, str]) -> Any:
        return self.w.experts[key[1]]

    def _final(self, proposal: str) -> bool:
        cons = self.cons.get(proposal)
        return cons is not None and cons.state == "final"

    def _exposed(self, key: tuple[str, str]) -> bool:
        return self.tasks[key].seen is not None

    def _expose(self, key: tuple[str, str]) -> None:
        task = self.tasks[key]
        if task.seen is None and task.state == "submitted" and key[0] in self.cons:
            task.seen = task.counted

    def _correctable(self, key: tuple[str, str], version_no: int) -> bool:
        task = self.tasks[key]
        return (
            task.state == "submitted"
            and not self._final(key[0])
            and (not self._exposed(key) or version_no in task.approved)
        )

    def _pick(
        self, pick: int, *states: str, drafts: bool = False, unasked: str = ""
    ) -> tuple[str, str] | None:
        """The ``pick``-th task (modulo) among those in ``states`` (any state when none), only
        those with an open correction draft if ``drafts``, only those without a pending request
        of kind ``unasked`` if given."""
        keys = sorted(
            k
            for k, t in self.tasks.items()
            if (not states or t.state in states)
            and (t.draft is not None or not drafts)
            and unasked not in t.pending
        )
        return keys[pick % len(keys)] if keys else None

    def _pending(self) -> list[int]:
        return sorted(
            rid
            for rid, (kind, key, _) in self.requests.items()
            if self.tasks[key].pending.get(kind) == rid
        )

    def _active(self, proposal: str) -> list[tuple[str, str]]:
        return [k for k, t in self.tasks.items() if k[0] == proposal and t.state != "declined"]

    # --- rules -------------------------------------------------------------------------------

    @initialize(first=st.integers(0, 20), second=st.integers(0, 20), draft=st.booleans())
    def submit_p01(self, first: int, second: int, draft: bool) -> None:
        """P01's panel has submitted; with ``draft``, its first expert has also opened a
        correction before anyone could see the panel's scores (the draft a start then
        freezes)."""
        keys = sorted(k for k in self.tasks if k[0] == "P01")
        for key, value in zip(keys, (first, second), strict=True):
            self._submit(key, value)
        if draft:
            self.open_correction(0)

    @precondition(lambda self: self._pick(0, "assigned") is not None)
    @rule(pick=st.integers(0, 7), value=st.integers(0, 20))
    def submit(self, pick: int, value: int) -> None:
        key = self._pick(pick, "assigned")
        if key is not None:
            self._submit(key, value)

    def _submit(self, key: tuple[str, str], value: int) -> None:
        task = self.tasks[key]
        actor = self._actor(key)
        accept_task(self.w.engine, actor, task.task_id)
        version = save_draft(self.w.engine, actor, task.task_id, _scores(value), expected_version=0)
        submit_evaluation(self.w.engine, actor, task.task_id, expected_version=version)
        task.state, task.counted = "submitted", (1, value)
        self._expose(key)

    @rule(proposal=st.sampled_from(sorted(PANELS)), pick=st.integers(0, 3))
    def start(self, proposal: str, pick: int) -> None:
        active = self._active(proposal)
        done = [k for k in active if self.tasks[k].state == "submitted"]
        panel = sorted(k[1] for k in self.tasks if k[0] == proposal)
        consolidator = panel[pick % len(panel)]
        allowed = (
            proposal not in self.cons
            and bool(done)
            and len(done) == len(active)
            and (proposal, consolidator) in done
        )
        cid = self._attempt(
            allowed,
            start_consolidation,
            self.w.engine,
            self.w.manager,
            self.w.call_id,
            proposal,
            consolidator,
        )
        if allowed:
            self.cons[proposal] = Consolidation(int(cid), consolidator)
            for key in done:
                self._expose(key)

    @rule(pick=st.integers(0, 7))
    def peek(self, pick: int) -> None:
        key = self._pick(pick)
        if key is None:
            return
        task = self.tasks[key]
        if task is None:
            return
        allowed = task.state == "submitted" and key[0] in self.cons
        self._attempt(allowed, peer_scores, self.w.engine, self._actor(key), self.w.call_id, key[0])
        assert allowed == (task.seen is not None) or task.state != "submitted"

    @precondition(lambda self: self._pick(0, "submitted") is not None)
    @rule(pick=st.integers(0, 7))
    def open_correction(self, pick: int) -> None:
        key = self._pick(pick, "submitted")
        if key is None:
            return
        task = self.tasks[key]
        if task is None or task.counted is None:
            return
        version_no = task.counted[0] + 1
        allowed = task.draft is None and self._correctable(key, version_no)
        got = self._attempt(
            allowed, start_correction, self.w.engine, self._actor(key), task.task_id
        )
        if got is not REFUSED:
            task.draft = (version_no, task.counted[1])

    @precondition(lambda self: self._pick(0, drafts=True) is not None)
    @rule(pick=st.integers(0, 7), value=st.integers(0, 20))
    def edit_correction(self, pick: int, value: int) -> None:
        key = self._pick(pick, drafts=True)
        if key is None:
            return
        task = self.tasks[key]
        if task is None or task.draft is None:
            return
        allowed = self._correctable(key, task.draft[0])
        version = int(get_evaluation(self.w.engine, self.w.manager, task.task_id).version)
        got = self._attempt(
            allowed,
            save_draft,
            self.w.engine,
            self._actor(key),
            task.task_id,
            _scores(value),
            expected_version=version,
        )
        if got is not REFUSED:
            task.draft = (task.draft[0], value)

    @precondition(lambda self: self._pick(0, drafts=True) is not None)
    @rule(pick=st.integers(0, 7))
    def submit_correction(self, pick: int) -> None:
        key = self._pick(pick, drafts=True)
        if key is None:
            return
        task = self.tasks[key]
        if task is None or task.draft is None:
            return
        allowed = self._correctable(key, task.draft[0])
        version = int(get_evaluation(self.w.engine, self.w.manager, task.task_id).version)
        got = self._attempt(
            allowed,
            submit_evaluation,
            self.w.engine,
            self._actor(key),
            task.task_id,
            expected_version=version,
        )
        if got is not REFUSED:
            task.counted, task.draft = task.draft, None
            cons = self.cons.get(key[0])
            if cons is not None and cons.state == "approval":
                cons.state = "drafting"

    @precondition(lambda self: self._pick(0, "submitted", unasked="correction") is not None)
    @rule(pick=st.integers(0, 7))
    def ask_correction(self, pick: int) -> None:
        key = self._pick(pick, "submitted", unasked="correction")
        if key is None:
            return
        task = self.tasks[key]
        if task is None or task.counted is None:
            return
        version_no = task.draft[0] if task.draft else task.counted[0] + 1
        allowed = (
            task.state == "submitted"
            and self._exposed(key)
            and not self._final(key[0])
            and "correction" not in task.pending
            and version_no not in task.approved
        )
        rid = self._attempt(
            allowed,
            request_correction,
            self.w.engine,
            self._actor(key),
            task.task_id,
            "align with the panel",
        )
        if allowed:
            task.pending["correction"] = int(rid)
            self.requests[int(rid)] = ("correction", key, version_no)

    @precondition(lambda self: self._pick(0, "submitted", unasked="conflict") is not None)
    @rule(pick=st.integers(0, 7))
    def declare(self, pick: int) -> None:
        """A conflict declared on a submitted task (declining an open one is the older path)."""
        key = self._pick(pick, "submitted", unasked="conflict")
        if key is None:
            return
        task = self.tasks[key]
        allowed = True
        before = set(list_requests(self.w.engine, self.w.manager, self.w.call_id)["request_id"])
        got = self._attempt(
            allowed,
            declare_conflict,
            self.w.engine,
            self._actor(key),
            self.w.call_id,
            key[1],
            kind="declared",
            note="a former colleague",
            proposal_id=key[0],
        )
        if got is REFUSED:
            return
        if task.state == "submitted":
            (rid,) = (
                set(list_requests(self.w.engine, self.w.manager, self.w.call_id)["request_id"])
                - before
            )
            task.pending["conflict"] = int(rid)
            self.requests[int(rid)] = ("conflict", key, None)
        else:
            self.conflicted.add(key)
            if task.state == "assigned":
                task.state = "declined"

    @precondition(lambda self: bool(self._pending()))
    @rule(pick=st.integers(0, 10), approve=st.booleans())
    def decide(self, pick: int, approve: bool) -> None:
        pending = self._pending()
        rid = pending[pick % len(pending)]
        kind, key, version_no = self.requests[rid]
        task = self.tasks[key]
        if not approve:
            refuse_request(self.w.engine, self.w.manager, rid, note="no")
            del task.pending[kind]
            return
        allowed = task.state == "submitted" and (kind == "conflict" or not self._final(key[0]))
        self._attempt(allowed, approve_request, self.w.engine, self.w.manager, rid, note="yes")
        if not allowed:
            return
        del task.pending[kind]
        if kind == "correction":
            assert version_no is not None
            task.approved.add(version_no)
            return
        task.state, task.counted, task.draft = "declined", None, None
        task.pending.pop("correction", None)  # closed with the evaluation
        self.conflicted.add(key)
        self.replacements += 1
        cons = self.cons.get(key[0])
        if cons is not None:
            cons.state = "suspended"

    @precondition(lambda self: self.replacements > 0)
    @rule(pick=st.integers(0, 3))
    def replace(self, pick: int) -> None:
        """The manager gives a proposal that lost an evaluation another expert, or dismisses
        the replacement when nobody is free."""
        pending = list_replacements(self.w.engine, self.w.manager, self.w.call_id, state="pending")
        assert pending.height == self.replacements
        rid, proposal = pending.select("replacement_id", "proposal_id").row(pick % pending.height)
        free = [
            e
            for e in EXPERTS
            if (proposal, e) not in self.tasks and (proposal, e) not in self.conflicted
        ]
        self.replacements -= 1
        if not free:
            dismiss_replacement(self.w.engine, self.w.manager, rid)
            return
        propose_replacement(self.w.engine, self.w.manager, rid, pairs([(proposal, free[0])]))
        (task_id,) = confirm_replacement(self.w.engine, self.w.manager, rid)
        self.tasks[(proposal, free[0])] = Task(task_id)

    @precondition(lambda self: bool(self.cons))
    @rule(proposal=st.sampled_from(sorted(PANELS)), pick=st.integers(0, 3))
    def rename(self, proposal: str, pick: int) -> None:
        cons = self.cons.get(proposal)
        if cons is None:
            return
        panel = sorted(k[1] for k in self.tasks if k[0] == proposal)
        chosen = panel[pick % len(panel)]
        active = self._active(proposal)
        allowed = (
            cons.state != "final"
            and all(self.tasks[k].state == "submitted" for k in active)
            and self.tasks[(proposal, chosen)].state == "submitted"
        )
        self._attempt(
            allowed, name_consolidator, self.w.engine, self.w.manager, cons.cid, chosen, "rota"
        )
        if allowed:
            cons.consolidator, cons.state = chosen, "drafting"

    @precondition(lambda self: bool(self.cons))
    @rule(proposal=st.sampled_from(sorted(PANELS)), value=st.integers(0, 20))
    def finalise(self, proposal: str, value: int) -> None:
        cons = self.cons.get(proposal)
        if cons is None:
            return
        consolidator = self.w.experts[cons.consolidator]
        allowed = (
            cons.state in ("drafting", "approval")
            and self.tasks[(proposal, cons.consolidator)].state == "submitted"
        )
        version = int(
            get_consolidation(self.w.engine, self.w.manager, self.w.call_id, proposal).version
        )
        got = self._attempt(
            allowed,
            save_consensus,
            self.w.engine,
            consolidator,
            cons.cid,
            _scores(value),
            "consensus",
            expected_version=version,
        )
        if got is REFUSED:
            return
        state = submit_consensus(self.w.engine, consolidator, cons.cid, expected_version=got)
        others = [
            k[1]
            for k, t in self.tasks.items()
            if k[0] == proposal and t.state == "submitted" and k[1] != cons.consolidator
        ]
        for expert in others:
            state = approve_consensus(
                self.w.engine, self.w.experts[expert], cons.cid, expected_version=got
            )
        assert state == "final"
        cons.state = "final"

    # --- the invariant -----------------------------------------------------------------------

    @invariant()
    def no_counted_change_after_seeing_peers_without_approval(self) -> None:
        engine, manager, call_id = self.w.engine, self.w.manager, self.w.call_id
        counted = scores_frame(engine, manager, call_id)
        by_key = {
            (p, e): {float(s) for s in group["score"]}
            for (p, e), group in counted.group_by(["proposal_id", "expert_id"])
        }
        versions = {
            (p, e): int(v)
            for p, e, v in internal_comments(engine, manager, call_id)
            .select("proposal_id", "expert_id", "version_no")
            .rows()
        }
        approved = {
            (int(t), int(v))
            for t, v in list_requests(engine, manager, call_id, state=RequestState.APPROVED)
            .filter(pl.col("kind") == RequestKind.CORRECTION)
            .select("task_id", "version_no")
            .rows()
        }
        for key, task in self.tasks.items():
            now = (versions[key], by_key[key]) if key in versions else None
            expected = None if task.counted is None else (task.counted[0], {float(task.counted[1])})
            assert now == expected, f"{key}: the store counts {now}, the model {expected}"
            if task.seen is None or now is None:
                continue
            seen_version, seen_value = task.seen
            if now[0] == seen_version:
                assert now[1] == {float(seen_value)}, f"{key} changed after seeing the panel"
            for version_no in range(seen_version + 1, now[0] + 1):
                assert (task.task_id, version_no) in approved, (
                    f"{key}: version {version_no} counts without an approved request"
                )
                assert version_no in task.approved


@contextmanager
def _worlds(backend: str) -> Iterator[Callable[[], World]]:
    """A factory of fresh worlds on ``backend``: a copy of one migrated SQLite file, or the
    PostgreSQL test database emptied, for every example."""
    engines: list[sa.Engine] = []

    def dispose() -> None:
        for old in engines:
            old.dispose()
        engines.clear()

    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "template.sqlite"
        counter = iter(range(1_000_000))

        def fresh() -> World:
            dispose()
            if backend == "sqlite":
                if not template.exists():
                    make_engine(f"sqlite:///{template}").dispose()
                target = Path(tmp) / f"example{next(counter)}.sqlite"
                shutil.copyfile(template, target)
                url = f"sqlite:///{target}"
            else:
                url = backend_url("postgres", Path(tmp))
            engines.append(make_engine(url))
            return build_world(engines[-1])

        try:
            yield fresh
        finally:
            dispose()


@pytest.mark.parametrize(
    ("backend", "examples"),
    [("sqlite", 40), pytest.param("postgres", 15, marks=pytest.mark.postgres)],
)
def test_evaluations_stay_independent(backend: str, examples: int) -> None:
    if backend == "postgres" and not os.environ.get(PG_ENV):
        pytest.skip(f"PostgreSQL tests need {PG_ENV}")
    with _worlds(backend) as fresh:

        class Machine(IndependenceMachine):
            def __init__(self) -> None:
                super().__init__(fresh())

        run_state_machine_as_test(  # type: ignore[no-untyped-call]
            Machine,
            settings=settings(
                max_examples=examples,
                stateful_step_count=30,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
