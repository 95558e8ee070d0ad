"""Individual evaluations: drafts with an optimistic version, frozen submissions, corrections.

Score frames given to the services have the columns ``criterion`` (str), ``score`` (float
points) and optionally ``comment`` (str). A draft save names the ``expected_version`` it was
read at (0 for the first save); the UPDATE checks it in its WHERE clause, so a save based on a
stale read is refused with :class:`StaleWrite` instead of overwriting someone else's. A
submitted version is never changed; :func:`start_correction` opens the next version as a draft
copy, and the latest submitted version is the one that counts.

Independence: other experts' scores on a proposal open to an expert once their own evaluation is
submitted and the proposal's consolidation has started (the one rule, in
:mod:`evalpanel.store.independence`). From then on a correction — opening, editing or submitting
the next version — needs the manager's approval: the expert asks with :func:`request_correction`
(a reason), the manager decides (:mod:`evalpanel.store.decisions`), and only an approved request
for that version lets it through. Before that moment the correction path is open as it was. Once
the consolidation is final, no evaluation changes any more.

Submission checks the draft against the call's scheme with the scoring engine's
:func:`~scoring.check_form` (the one place of the form's rules): every criterion of the scheme
set, on its step and within its range, no criterion the scheme lacks, and the comment rules
(``comment_required``, ``comment_min_words``, and a comment always for a score below the
criterion's minimum). A draft may be incomplete; a submission never is. :func:`check_evaluation`
gives the scoring form the same check of what is typed (total, band per criterion, failures,
problems), and :func:`form_context` what the advisory comment checks of a form need, in one
query whatever the number of the expert's tasks.

Read frames: :func:`scores_frame` and :func:`peer_scores` return ``proposal_id, expert_id,
criterion, score, comment`` (the ``scores.csv`` columns, comments for the applicant) sorted by
those ids. An evaluation also has one internal comment (for the call's managers, never for the
applicant): :func:`save_draft` takes it, :func:`get_evaluation` returns it, and
:func:`internal_comments` lists the counted ones apart (``proposal_id, expert_id, version_no,
internal_comment``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl
import sqlalchemy as sa

from evalpanel.schemes import FormCheck, Scheme, check_form, load_scheme
from evalpanel.store.access import (
    can_read_peer_scores,
    require,
    require_manager,
)
from evalpanel.store.audit import Actor, now, record
from evalpanel.store.engine import reading, writing
from evalpanel.store.errors import InvalidInput, InvalidState, StaleWrite
from evalpanel.store.frames import inserted_id, query_frame, require_columns
from evalpanel.store.independence import (
    check_correction,
    correction_refusal,
    peers_visible,
    request_refusal,
)
from evalpanel.store.requests import RequestSummary, latest_request, open_request
from evalpanel.store.rows import replace_scores
from evalpanel.store.tables import (
    calls,
    consolidations,
    evaluation_scores,
    evaluations,
    tasks,
)
from evalpanel.store.tasks import own_task
from evalpanel.vocab import (
    RUNNING_CONSOLIDATION,
    STARTED_STATES,
    ConsolidationState,
    EvaluationStatus,
    RequestKind,
    RequestState,
    TaskState,
)

SCORE_SCHEMA: dict[str, pl.DataType] = {
    "proposal_id": pl.String(),
    "expert_id": pl.String(),
    "criterion": pl.String(),
    "score": pl.Float64(),
    "comment": pl.String(),
}
CRITERION_SCHEMA = {k: SCORE_SCHEMA[k] for k in ("criterion", "score", "comment")}


def score_rows(scores: pl.DataFrame, what: str) -> list[dict[str, Any]]:
    """Check a ``criterion, score[, comment]`` frame and return its rows."""
    require_columns(scores, ["criterion", "score"], what)
    if "comment" not in scores.columns:
        scores = scores.with_columns(comment=pl.lit(""))
    rows = scores.select(
        pl.col("criterion").cast(pl.String),
        pl.col("score").cast(pl.Float64),
        pl.col("comment").cast(pl.String).fill_null(""),
    ).to_dicts()
    seen: set[str] = set()
    for row in rows:
        crit, score = row["criterion"], row["score"]
        if not crit:
            raise InvalidInput(f"{what}: every row needs a criterion name")
        if crit in seen:
            raise InvalidInput(f"{what}: the criterion {crit!r} appears twice; give it once")
        seen.add(crit)
        if score is None or not math.isfinite(score) or score < 0:
            raise InvalidInput(f"{what}: the score of {crit!r} must be a number ≥ 0; got {score}")
    return rows


def _latest(conn: sa.Connection, task_id: int) -> sa.RowMapping | None:
    return (
        conn.execute(
            sa.select(evaluations)
            .where(evaluations.c.task_id == task_id)
            .order_by(evaluations.c.version_no.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )


def _write_scores(conn: sa.Connection, evaluation_id: int, rows: list[dict[str, Any]]) -> None:
    replace_scores(conn, evaluation_scores, rows, evaluation_id=evaluation_id)


def _require_started(task: sa.RowMapping) -> None:
    if task["state"] not in STARTED_STATES:
        raise InvalidState(f"task {task['task_id']} is {task['state']}; its evaluation is closed")


def call_scheme(conn: sa.Connection, call_id: str) -> Scheme:
    """The scheme a call's experts score by: its preset with the call's own numbers."""
    row = conn.execute(
        sa.select(calls.c.scheme, calls.c.scheme_overrides).where(calls.c.call_id == call_id)
    ).one()
    return load_scheme(str(row.scheme), dict(row.scheme_overrides or {}) or None)


def submission_problems(scheme: Scheme, rows: list[dict[str, Any]]) -> list[str]:
    """Why an evaluation (``criterion, score, comment`` rows) cannot be submitted; empty when
    it can. The rules are :func:`~scoring.check_form`'s; a criterion the scheme lacks is
    refused too, so that nothing outside the scheme is ever counted."""
    known = [c.id for c in scheme.criteria]
    extra = [
        f"{r['criterion']!r} is not a criterion of the scheme (give {', '.join(known)})"
        for r in rows
        if r["criterion"] not in known
    ]
    form = check_form(
        scheme,
        {r["criterion"]: r["score"] for r in rows},
        {r["criterion"]: r["comment"] or "" for r in rows},
    )
    return extra + list(form.problems)


def check_evaluation(
    engine: sa.Engine,
    actor: Actor,
    task_id: int,
    scores: Mapping[str, float | None],
    comments: Mapping[str, str] | None = None,
) -> FormCheck:
    """The scoring form's check of what the expert has typed (``None`` for a criterion not set):
    :func:`~scoring.check_form` against the call's scheme. The task's expert or a manager."""
    with reading(engine) as conn:
        task = own_task(conn, actor, task_id, "check the evaluation of", manager_too=True)
        scheme = call_scheme(conn, task["call_id"])
    return check_form(scheme, scores, comments)


@dataclass(frozen=True, slots=True)
class FormContext:
    """What the checks of one task's form need: the call's scheme, the task's proposal, and the
    same expert's counted scores on their other submitted tasks of the call (``proposal_id,
    criterion, score, comment``)."""

    call_id: str
    proposal_id: str
    expert_id: str
    scheme: Scheme
    others: pl.DataFrame


OTHERS_SCHEMA = {k: SCORE_SCHEMA[k] for k in ("proposal_id", "criterion", "score", "comment")}


def form_context(engine: sa.Engine, actor: Actor, task_id: int) -> FormContext:
    """See :class:`FormContext`; the expert of the task only (their own other comments)."""
    with reading(engine) as conn:
        task = own_task(conn, actor, task_id, "check the form of")
        stmt = (
            sa.select(
                tasks.c.proposal_id,
                evaluation_scores.c.criterion,
                evaluation_scores.c.score,
                evaluation_scores.c.comment,
            )
            .select_from(_counted_scores())
            .where(
                tasks.c.call_id == task["call_id"],
                tasks.c.expert_id == task["expert_id"],
                tasks.c.task_id != task_id,
                tasks.c.state == TaskState.SUBMITTED,
            )
        )
        others = query_frame(conn, stmt, OTHERS_SCHEMA, ["proposal_id", "criterion"])
        return FormContext(
            str(task["call_id"]),
            str(task["proposal_id"]),
            str(task["expert_id"]),
            call_scheme(conn, task["call_id"]),
            others,
        )


def save_draft(
    engine: sa.Engine,
    actor: Actor,
    task_id: int,
    scores: pl.DataFrame,
    *,
    expected_version: int,
    internal_comment: str | None = None,
) -> int:
    """Save the expert's draft scores; returns the draft's new version (pass it to the next
    save). Refused with :class:`StaleWrite` when the draft changed since ``expected_version``.
    ``internal_comment`` (for the call's managers, never for the applicant) replaces the saved
    one when given; None keeps it."""
    rows = score_rows(scores, f"draft of task {task_id}")
    internal = {} if internal_comment is None else {"internal_comment": internal_comment}
    with writing(engine) as conn:
        task = own_task(conn, actor, task_id, "save a draft for")
        latest = _latest(conn, task_id)
        stamp = now()
        if latest is None:
            if task["state"] not in (TaskState.ACCEPTED, TaskState.DRAFT):
                raise InvalidState(f"task {task_id} is {task['state']}; accept it first")
            if expected_version != 0:
                raise StaleWrite(
                    f"task {task_id} has no draft yet (expected version "
                    f"{expected_version}); reload it"
                )
            try:
                with conn.begin_nested():
                    eid = inserted_id(
                        conn.execute(
                            evaluations.insert().values(
                                task_id=task_id,
                                version_no=1,
                                status=EvaluationStatus.DRAFT,
                                row_version=1,
                                created_at=stamp,
                                updated_at=stamp,
                                **internal,
                            )
                        )
                    )
            except sa.exc.IntegrityError as exc:
                raise StaleWrite(
                    f"another save created the draft of task {task_id} first; "
                    "reload it and apply your change again"
                ) from exc
            conn.execute(
                tasks.update()
                .where(tasks.c.task_id == task_id, tasks.c.state == TaskState.ACCEPTED)
                .values(state=TaskState.DRAFT, updated_at=stamp)
            )
            new_version, before = 1, None
        else:
            if latest["status"] != EvaluationStatus.DRAFT:
                raise InvalidState(
                    f"the evaluation of task {task_id} is submitted and frozen; "
                    "start a correction to change it"
                )
            _require_started(task)
            check_correction(conn, task, int(latest["version_no"]))
            eid = latest["evaluation_id"]
            done = conn.execute(
                evaluations.update()
                .where(
                    evaluations.c.evaluation_id == eid,
                    evaluations.c.status == EvaluationStatus.DRAFT,
                    evaluations.c.row_version == expected_version,
                )
                .values(row_version=evaluations.c.row_version + 1, updated_at=stamp, **internal)
            ).rowcount
            if not done:
                raise StaleWrite(
                    f"the draft of task {task_id} was saved by someone else since "
                    f"version {expected_version}; reload it and apply your "
                    "change again"
                )
            new_version = expected_version + 1
            before = {"version": expected_version}
        _write_scores(conn, int(eid), rows)
        record(
            conn,
            actor,
            "save_draft",
            "evaluation",
            eid,
            call_id=task["call_id"],
            before=before,
            after={"version": new_version, "task_id": task_id, "scores": rows, **internal},
        )
        return new_version


def submit_evaluation(
    engine: sa.Engine, actor: Actor, task_id: int, *, expected_version: int
) -> None:
    """Submit the draft saved at ``expected_version``; it is frozen from then on. Refused with
    :class:`InvalidInput` naming every problem when the draft is incomplete or breaks the
    scheme's rules (see the module docstring)."""
    with writing(engine) as conn:
        task = own_task(conn, actor, task_id, "submit")
        latest = _latest(conn, task_id)
        if latest is None or latest["status"] != EvaluationStatus.DRAFT:
            raise InvalidState(f"task {task_id} has no draft to submit; save the scores first")
        _require_started(task)
        check_correction(conn, task, int(latest["version_no"]))
        if not conn.execute(
            sa.select(sa.func.count())
            .select_from(evaluation_scores)
            .where(evaluation_scores.c.evaluation_id == latest["evaluation_id"])
        ).scalar():
            raise InvalidInput(f"the draft of task {task_id} has no scores; score it first")
        rows = [
            dict(r)
            for r in conn.execute(
                sa.select(
                    evaluation_scores.c.criterion,
                    evaluation_scores.c.score,
                    evaluation_scores.c.comment,
                ).where(evaluation_scores.c.evaluation_id == latest["evaluation_id"])
            ).mappings()
        ]
        problems = submission_problems(call_scheme(conn, task["call_id"]), rows)
        if problems:
            raise InvalidInput(
                f"task {task_id} cannot be submitted yet: " + "; ".join(problems)
            )
        stamp = now()
        done = conn.execute(
            evaluations.update()
            .where(
                evaluations.c.evaluation_id == latest["evaluation_id"],
                evaluations.c.status == EvaluationStatus.DRAFT,
                evaluations.c.row_version == expected_version,
            )
            .values(status=EvaluationStatus.SUBMITTED, submitted_at=stamp, updated_at=stamp)
        ).rowcount
        if not done:
            raise StaleWrite(
                f"the draft of task {task_id} changed since version "
                f"{expected_version}; reload it before submitting"
            )
        conn.execute(
            tasks.update()
            .where(
                tasks.c.task_id == task_id,
                tasks.c.state.in_((TaskState.DRAFT, TaskState.SUBMITTED)),
            )
            .values(state=TaskState.SUBMITTED, updated_at=stamp)
        )
        record(
            conn,
            actor,
            "submit",
            "evaluation",
            latest["evaluation_id"],
            call_id=task["call_id"],
            before={"status": EvaluationStatus.DRAFT},
            after={"status": EvaluationStatus.SUBMITTED, "version_no": latest["version_no"]},
        )
        if latest["version_no"] > 1:
            _reopen_consensus(conn, actor, task)


def _reopen_consensus(conn: sa.Connection, actor: Actor, task: sa.RowMapping) -> None:
    """A corrected evaluation changes what the panel agreed on: a consensus being drafted or
    approved goes back to drafting, and approvals of earlier versions lapse."""
    row = (
        conn.execute(
            sa.select(consolidations).where(
                consolidations.c.call_id == task["call_id"],
                consolidations.c.proposal_id == task["proposal_id"],
                consolidations.c.state.in_(RUNNING_CONSOLIDATION),
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return
    conn.execute(
        consolidations.update()
        .where(consolidations.c.consolidation_id == row["consolidation_id"])
        .values(state=ConsolidationState.DRAFTING, row_version=consolidations.c.row_version + 1)
    )
    record(
        conn,
        actor,
        "reopen",
        "consolidation",
        row["consolidation_id"],
        call_id=task["call_id"],
        before={"state": row["state"], "version": row["row_version"]},
        after={
            "state": ConsolidationState.DRAFTING,
            "version": row["row_version"] + 1,
            "why": f"corrected evaluation of task {task['task_id']}",
        },
    )


def start_correction(engine: sa.Engine, actor: Actor, task_id: int) -> int:
    """Open the next version of a submitted evaluation as a draft copy (the submitted version
    is kept unchanged); returns the draft's version for :func:`save_draft`. Once the other
    experts' scores are visible to the author, only with an approved correction request."""
    with writing(engine) as conn:
        task = own_task(conn, actor, task_id, "correct")
        latest = _latest(conn, task_id)
        if latest is None or latest["status"] != EvaluationStatus.SUBMITTED or (
            task["state"] != TaskState.SUBMITTED
        ):
            raise InvalidState(f"task {task_id} has no submitted evaluation to correct")
        check_correction(conn, task, int(latest["version_no"]) + 1)
        stamp = now()
        eid = inserted_id(
            conn.execute(
                evaluations.insert().values(
                    task_id=task_id,
                    version_no=latest["version_no"] + 1,
                    status=EvaluationStatus.DRAFT,
                    row_version=1,
                    internal_comment=latest["internal_comment"],
                    created_at=stamp,
                    updated_at=stamp,
                )
            )
        )
        rows = (
            conn.execute(
                sa.select(
                    evaluation_scores.c.criterion,
                    evaluation_scores.c.score,
                    evaluation_scores.c.comment,
                ).where(evaluation_scores.c.evaluation_id == latest["evaluation_id"])
            )
            .mappings()
            .all()
        )
        _write_scores(conn, int(eid), [dict(r) for r in rows])
        record(
            conn,
            actor,
            "start_correction",
            "evaluation",
            eid,
            call_id=task["call_id"],
            after={"task_id": task_id, "version_no": latest["version_no"] + 1},
        )
        return 1


def request_correction(engine: sa.Engine, actor: Actor, task_id: int, reason: str) -> int:
    """The expert asks the call manager to let them correct their submitted evaluation after
    the other experts' scores became visible to them (``reason`` says why); returns the
    request id. The request authorises the next version of the evaluation once approved."""
    with writing(engine) as conn:
        task = own_task(conn, actor, task_id, "request a correction of")
        why, version_no = request_refusal(conn, task, _latest(conn, task_id))
        if why is not None:
            raise InvalidState(why)
        return open_request(
            conn, actor, task, RequestKind.CORRECTION, reason, version_no=version_no
        )


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The latest version of a task's evaluation as its expert (or a manager) sees it.

    ``version_no`` 0, ``status`` None and ``version`` 0 before the first save; ``version`` is
    the draft's optimistic version that :func:`save_draft` takes; ``internal_comment`` is not for
    the applicant; ``scores`` a ``criterion`` (String), ``score`` (Float64), ``comment``
    (String) frame sorted by criterion. ``peers_visible``: the expert can read the other
    experts' scores; ``editable``: the latest version is a draft that may be saved and
    submitted now; ``correction_request`` and ``conflict_request``: the latest request of each
    kind (as :func:`~evalpanel.store.requests.latest_request`) or None; ``can_correct``: a
    correction may start now without a request; ``can_request``: a correction request would
    be taken."""

    task_id: int
    state: TaskState
    version_no: int
    status: EvaluationStatus | None
    version: int
    internal_comment: str
    scores: pl.DataFrame
    peers_visible: bool
    editable: bool
    can_correct: bool
    can_request: bool
    correction_request: RequestSummary | None
    conflict_request: RequestSummary | None


def get_evaluation(engine: sa.Engine, actor: Actor, task_id: int) -> Evaluation:
    """The latest version of a task's evaluation (:class:`Evaluation`). The expert's own task,
    or a manager of the call."""
    with reading(engine) as conn:
        task = own_task(conn, actor, task_id, "read the evaluation of", manager_too=True)
        latest = _latest(conn, task_id)
        state = TaskState(task["state"])
        peers = peers_visible(conn, task)
        asked = latest_request(conn, task_id, RequestKind.CORRECTION)
        conflict = latest_request(conn, task_id, RequestKind.CONFLICT)
        if latest is None:
            return Evaluation(
                task_id=task_id,
                state=state,
                version_no=0,
                status=None,
                version=0,
                internal_comment="",
                scores=pl.DataFrame(schema=CRITERION_SCHEMA),
                peers_visible=peers,
                editable=state in (TaskState.ACCEPTED, TaskState.DRAFT),
                can_correct=False,
                can_request=False,
                correction_request=asked,
                conflict_request=conflict,
            )
        frame = query_frame(
            conn,
            sa.select(
                evaluation_scores.c.criterion,
                evaluation_scores.c.score,
                evaluation_scores.c.comment,
            ).where(evaluation_scores.c.evaluation_id == latest["evaluation_id"]),
            CRITERION_SCHEMA,
            ["criterion"],
        )
        version_no = int(latest["version_no"])
        can_correct = (
            latest["status"] == EvaluationStatus.SUBMITTED
            and task["state"] == TaskState.SUBMITTED
            and correction_refusal(conn, task, version_no + 1) is None
        )
        can_request = request_refusal(conn, task, latest)[0] is None and (
            asked is None or asked.state != RequestState.PENDING
        )
        editable = (
            latest["status"] == EvaluationStatus.DRAFT
            and task["state"] in STARTED_STATES
            and (version_no == 1 or correction_refusal(conn, task, version_no) is None)
        )
        return Evaluation(
            task_id=task_id,
            state=state,
            version_no=version_no,
            status=EvaluationStatus(latest["status"]),
            version=int(latest["row_version"]),
            internal_comment=latest["internal_comment"],
            scores=frame,
            peers_visible=peers,
            editable=editable,
            can_correct=can_correct,
            can_request=can_request,
            correction_request=asked,
            conflict_request=conflict,
        )


def _counted() -> sa.Subquery:
    """(task_id, version_no) of each task's latest submitted evaluation."""
    return (
        sa.select(evaluations.c.task_id, sa.func.max(evaluations.c.version_no).label("version_no"))
        .where(evaluations.c.status == EvaluationStatus.SUBMITTED)
        .group_by(evaluations.c.task_id)
        .subquery()
    )


def _counted_scores() -> sa.Join:
    """Tasks joined with the criterion scores of their latest submitted evaluation."""
    latest = _counted()
    return (
        tasks.join(latest, latest.c.task_id == tasks.c.task_id)
        .join(
            evaluations,
            sa.and_(
                evaluations.c.task_id == latest.c.task_id,
                evaluations.c.version_no == latest.c.version_no,
            ),
        )
        .join(evaluation_scores, evaluation_scores.c.evaluation_id == evaluations.c.evaluation_id)
    )


INTERNAL_SCHEMA: dict[str, pl.DataType] = {
    "proposal_id": pl.String(),
    "expert_id": pl.String(),
    "version_no": pl.Int64(),
    "internal_comment": pl.String(),
}


def internal_comments(engine: sa.Engine, actor: Actor, call_id: str) -> pl.DataFrame:
    """``proposal_id, expert_id, version_no, internal_comment`` of every submitted evaluation
    that counts (as :func:`scores_frame`), for the call's managers; kept apart from the
    applicant's comments. Sorted by ``proposal_id, expert_id``."""
    latest = _counted()
    stmt = (
        sa.select(
            tasks.c.proposal_id,
            tasks.c.expert_id,
            evaluations.c.version_no,
            evaluations.c.internal_comment,
        )
        .select_from(
            tasks.join(latest, latest.c.task_id == tasks.c.task_id).join(
                evaluations,
                sa.and_(
                    evaluations.c.task_id == latest.c.task_id,
                    evaluations.c.version_no == latest.c.version_no,
                ),
            )
        )
        .where(tasks.c.call_id == call_id, tasks.c.state == TaskState.SUBMITTED)
    )
    with reading(engine) as conn:
        require_manager(conn, actor, "read the internal comments of", call_id)
        return query_frame(conn, stmt, INTERNAL_SCHEMA, ["proposal_id", "expert_id"])


def current_scores(conn: sa.Connection, call_id: str, proposal_id: str | None) -> pl.DataFrame:
    stmt = (
        sa.select(
            tasks.c.proposal_id,
            tasks.c.expert_id,
            evaluation_scores.c.criterion,
            evaluation_scores.c.score,
            evaluation_scores.c.comment,
        )
        .select_from(_counted_scores())
        .where(tasks.c.call_id == call_id, tasks.c.state == TaskState.SUBMITTED)
    )
    if proposal_id is not None:
        stmt = stmt.where(tasks.c.proposal_id == proposal_id)
    return query_frame(conn, stmt, SCORE_SCHEMA, ["proposal_id", "expert_id", "criterion"])


def scores_frame(engine: sa.Engine, actor: Actor, call_id: str) -> pl.DataFrame:
    """Every submitted evaluation that counts (latest version, task not declined), for the
    call's managers — the input of the scoring package."""
    with reading(engine) as conn:
        require_manager(conn, actor, "read the scores of", call_id)
        return current_scores(conn, call_id, None)


def peer_scores(engine: sa.Engine, actor: Actor, call_id: str, proposal_id: str) -> pl.DataFrame:
    """All experts' submitted scores on one proposal. An expert sees them only once their own
    evaluation is submitted and the proposal's consolidation has started."""
    with reading(engine) as conn:
        require(can_read_peer_scores(conn, actor, call_id, proposal_id), actor,
                "read peer scores of", "proposal", proposal_id, call_id=call_id)
        return current_scores(conn, call_id, proposal_id)
