"""The permission table of :mod:`evalpanel.store.access`, walked for every kind of actor.

Each row of :data:`~evalpanel.store.access.PERMISSIONS` names a store service and the kinds of
actor it allows. For every row and every kind of actor the test calls the real service on a
real database (SQLite and PostgreSQL): a refused cell must raise ``PermissionDenied`` and add
one ``denied:`` line to the audit log; an allowed cell must not be refused (it may still fail
for another reason, such as a state that does not allow the step).
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl
import pytest
import sqlalchemy as sa

from evalpanel.store import (
    SYSTEM,
    PermissionDenied,
    StoreError,
    accept_task,
    access,
    add_task,
    audit_frame,
    call_folder,
    call_info,
    create_batch,
    create_rehearsal,
    create_user,
    declare_conflict,
    get_consolidation,
    get_proposal,
    import_call,
    list_conflicts,
    list_tasks,
    peer_scores,
    rehearsal_view,
    revoke_sessions,
    save_consensus,
    save_draft,
    save_rehearsal_scores,
    scores_frame,
    set_password,
    start_consolidation,
    submit_evaluation,
    submitted_rehearsal_scores,
)
from evalpanel.store.access import PERMISSIONS, WHO
from evalpanel.store.audit import Actor
from evalpanel.store.deadlines import set_deadline
from evalpanel.store.notifications import list_notifications
from evalpanel.store.releases import link_contact, read_released_report, save_release
from tests.store_fixtures import AFI_FORM, World, join_by_link, pairs, publish, scores, task_of

# E03 and E04 review P01 (both submit, E03 consolidates); E03 has accepted P02 (not submitted).
PANEL = [("P01", "E03"), ("P01", "E04"), ("P02", "E03"), ("P02", "E05")]


@dataclass
class Scene:
    world: World
    actors: dict[str, Actor]
    rehearsal_id: int
    consolidation_id: int
    target_user: int

    @property
    def engine(self) -> sa.Engine:
        return self.world.engine

    @property
    def call_id(self) -> str:
        return self.world.call_id


def _scene(w: World) -> Scene:
    publish(w, PANEL)
    for proposal, expert in PANEL[:3]:
        accept_task(w.engine, w.experts[expert], task_of(w, proposal, expert))
    for expert in ("E03", "E04"):
        task = task_of(w, "P01", expert)
        save_draft(w.engine, w.experts[expert], task, scores(AFI_FORM), expected_version=0)
        submit_evaluation(w.engine, w.experts[expert], task, expected_version=1)
    cid = start_consolidation(w.engine, w.manager, w.call_id, "P01", "E03")
    link_contact(w.engine, w.manager, w.applicant.user_id or 0, w.call_id, "P02")
    other = Actor(create_user(w.engine, SYSTEM, "other-applicant", "applicant"), "applicant")
    rid = create_rehearsal(w.engine, w.applicant, "erasmus-afi", "Our alliance", "What we plan", [])
    join_by_link(w.engine, w.applicant, rid, other)  # a colleague who scores the rehearsal
    target = create_user(w.engine, SYSTEM, "target", "expert")
    actors = {
        "operator": SYSTEM,
        "manager": w.manager,
        "other-manager": w.outsider,
        "expert": w.experts["E03"],
        "other-expert": w.experts["E06"],
        "applicant": w.applicant,
        "other-applicant": other,
    }
    assert set(actors) == set(WHO)
    return Scene(w, actors, rid, cid, target)


Call = Callable[[Scene, Actor, str], object]

# One invocation per action of the table: (scene, actor, kind of actor) → the real service.
INVOCATIONS: dict[str, Call] = {
    "import_call": lambda s, a, who: import_call(s.engine, s.world.call, replace=True, actor=a),
    "call_folder": lambda s, a, who: call_folder(s.engine, a, s.call_id),
    "create_batch": lambda s, a, who: create_batch(
        s.engine, a, s.call_id, pairs([("P03", "E06")]), solver="hand", parameters={},
        seed=None, summary={}, elapsed_s=0.0,
    ),
    "add_task": lambda s, a, who: add_task(s.engine, a, s.call_id, "P04", "E06"),
    "scores_frame": lambda s, a, who: scores_frame(s.engine, a, s.call_id),
    "audit_frame": lambda s, a, who: audit_frame(s.engine, a, s.call_id),
    "list_conflicts": lambda s, a, who: list_conflicts(s.engine, a, s.call_id),
    "set_deadline": lambda s, a, who: set_deadline(
        s.engine, a, s.call_id, "evaluation", dt.date(2027, 1, 31)
    ),
    "release_results": lambda s, a, who: save_release(s.engine, a, s.call_id, "NOLOT", []),
    "call_info": lambda s, a, who: call_info(s.engine, a, s.call_id),
    "list_tasks": lambda s, a, who: list_tasks(s.engine, a, s.call_id),
    "get_proposal": lambda s, a, who: get_proposal(s.engine, a, s.call_id, "P02"),
    "accept_task": lambda s, a, who: accept_task(s.engine, a, task_of(s.world, "P02", "E03")),
    "declare_conflict": lambda s, a, who: declare_conflict(
        s.engine, a, s.call_id, "E03", proposal_id="P04", kind="other", note=f"by {who}"
    ),
    "peer_scores": lambda s, a, who: peer_scores(s.engine, a, s.call_id, "P02"),
    "get_consolidation": lambda s, a, who: get_consolidation(s.engine, a, s.call_id, "P01"),
    "save_consensus": lambda s, a, who: save_consensus(
        s.engine, a, s.consolidation_id, scores({"q": 10}), "agreed", expected_version=-1
    ),
    "read_released_report": lambda s, a, who: read_released_report(
        s.engine, a, s.call_id, "P02"
    ),
    "create_user": lambda s, a, who: create_user(s.engine, a, f"new-{who}", "expert"),
    "revoke_sessions": lambda s, a, who: revoke_sessions(s.engine, a, s.target_user),
    "set_password": lambda s, a, who: set_password(s.engine, a, s.target_user, "a long secret"),
    "list_notifications": lambda s, a, who: list_notifications(s.engine, a, call_id=s.call_id),
    "create_rehearsal": lambda s, a, who: create_rehearsal(
        s.engine, a, "erasmus-afi", f"by {who}", "", []
    ),
    "rehearsal_view": lambda s, a, who: rehearsal_view(s.engine, a, s.rehearsal_id),
    "save_rehearsal_scores": lambda s, a, who: save_rehearsal_scores(
        s.engine, a, s.rehearsal_id, scores({"relevance": 20})
    ),
    "submitted_rehearsal_scores": lambda s, a, who: submitted_rehearsal_scores(
        s.engine, a, s.rehearsal_id
    ),
}


def _denials(s: Scene) -> int:
    log = audit_frame(s.engine, SYSTEM)
    return log.filter(pl.col("action").str.starts_with("denied:")).height


def test_the_table_and_its_checks_agree() -> None:
    """Every row has an invocation here and names a check of the module (and no invocation is
    left without a row), so the table cannot drift from the code or from this test."""
    assert {p.action for p in PERMISSIONS} == set(INVOCATIONS)
    for p in PERMISSIONS:
        check = getattr(access, p.check, None)
        assert inspect.isfunction(check), f"{p.action}: no check {p.check} in store.access"
        assert p.check in (access.__doc__ or ""), f"{p.check} missing from the docstring table"
    assert len({p.action for p in PERMISSIONS}) == len(PERMISSIONS)


def test_every_cell_of_the_permission_table(world: World) -> None:
    scene = _scene(world)
    failures: list[str] = []
    # Refused cells first: the allowed calls change the data (a re-import, a new user).
    cells = [(p, who) for p in PERMISSIONS for who in WHO]
    cells.sort(key=lambda cell: cell[1] in cell[0].allowed)
    for permission, who in cells:
        actor = scene.actors[who]
        call = INVOCATIONS[permission.action]
        before = _denials(scene)
        try:
            call(scene, actor, who)
        except PermissionDenied as exc:
            if who in permission.allowed:
                failures.append(f"{permission.action} refused {who}: {exc}")
            elif _denials(scene) != before + 1:
                failures.append(f"{permission.action}: refusing {who} was not audited")
            continue
        except StoreError:
            pass  # not refused, but the state does not allow the step
        if who not in permission.allowed:
            failures.append(f"{permission.action} let {who} through (guarded by "
                            f"{permission.check})")
    assert not failures, "\n".join(failures)


def test_refusals_name_their_reason(world: World) -> None:
    """The reason a user reads comes from the check, not a generic 'forbidden'."""
    scene = _scene(world)
    for who in WHO:
        if who == "operator":
            continue
        with pytest.raises(PermissionDenied, match="only the local operator"):
            revoke_sessions(scene.engine, scene.actors[who], scene.target_user)
    with pytest.raises(PermissionDenied, match="opens only after accepting"):
        get_proposal(scene.engine, scene.actors["other-expert"], scene.call_id, "P02")
