"""Quality of the evaluations: the advisory comment checks on a call, on one form before it is
submitted, and the manager's "quality checked" mark on consolidated evaluations.

The checks are the scoring engine's (:func:`scoring.comment_checks`); this module only gathers
what they need from the store, within the actor's permissions:

- :func:`call_flags` (managers): every submitted evaluation and every final consolidation of the
  call; consolidated comments appear with ``expert_id = "consensus"``;
- :func:`form_flags` (the expert of the task): the scores and comments on the form, against the
  same expert's other submitted evaluations in the call. Only ``copied`` and
  ``contradicts_band`` are shown there: ``off_panel`` compares with the other experts' scores,
  which an expert must not learn before submitting;
- :func:`review_form` (the scoring form's one service): the blocking check of the form
  (:func:`scoring.check_form`: total, band per criterion, failures, what stops submission) and
  its advisory flags, from one read of the store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl
import sqlalchemy as sa

import scoring
from evalpanel.callfolder.model import CallFolder
from evalpanel.planning import scheme_of
from evalpanel.schemes import FormCheck
from evalpanel.store import (
    Actor,
    FormContext,
    InvalidInput,
    InvalidState,
    call_folder,
    consolidated_frame,
    form_context,
    scores_frame,
)
from evalpanel.store.access import require_manager
from evalpanel.store.audit import record
from evalpanel.store.engine import reading, writing
from evalpanel.store.tables import consolidations, quality_checks
from evalpanel.vocab import ConsolidationState

CONSENSUS = "consensus"
FORM_CHECKS = ("copied", "contradicts_band")


def call_flags(
    engine: sa.Engine, actor: Actor, call_id: str, *, call: CallFolder | None = None
) -> pl.DataFrame:
    """Every advisory flag of the call (``proposal_id, expert_id, criterion, check, detail``).
    ``call``: the stored call already read by the caller (its scheme is used)."""
    scheme = scheme_of(call or call_folder(engine, actor, call_id))
    individual = scores_frame(engine, actor, call_id).select(
        "proposal_id", "expert_id", "criterion", "score", "comment")
    consensus = consolidated_frame(engine, actor, call_id, final_only=True)
    flags = scoring.comment_checks(individual, scheme)
    if consensus.height:
        both = consensus.select(
            "proposal_id", pl.lit(CONSENSUS).alias("expert_id"), "criterion", "score", "comment")
        band = scoring.comment_checks(both, scheme).filter(pl.col("check") == "contradicts_band")
        flags = pl.concat([flags, band]).sort("proposal_id", "expert_id", "criterion", "check")
    return flags


def form_flags(
    engine: sa.Engine,
    actor: Actor,
    call_id: str,
    task_id: int,
    form: pl.DataFrame,
    *,
    context: FormContext | None = None,
) -> pl.DataFrame:
    """The flags the expert's form (``criterion, score, comment``) raises now, against the same
    expert's other submitted comments of the call (read in one query, :func:`~evalpanel.store.
    form_context`; pass ``context`` when the caller has it already). Refused for a task of
    another call than ``call_id``."""
    ctx = context or form_context(engine, actor, task_id)
    if ctx.call_id != call_id:
        raise InvalidInput(f"task {task_id} belongs to call {ctx.call_id!r}, not {call_id!r}; "
                           "reload the page to act on the call it shows")
    me = pl.lit(ctx.expert_id).alias("expert_id")
    mine = form.select(pl.lit(ctx.proposal_id).alias("proposal_id"), me,
                       pl.col("criterion").cast(pl.String),
                       pl.col("score").cast(pl.Float64), pl.col("comment").cast(pl.String))
    others = ctx.others.select("proposal_id", me, "criterion", "score", "comment")
    flags = scoring.comment_checks(pl.concat([mine, others]), ctx.scheme)
    return flags.filter((pl.col("proposal_id") == ctx.proposal_id)
                        & pl.col("check").is_in(FORM_CHECKS))


@dataclass(frozen=True, slots=True)
class FormReview:
    """One scoring form as typed: ``check`` blocks submission while it has problems; ``flags``
    (``proposal_id, expert_id, criterion, check, detail``) are advice only."""

    check: FormCheck
    flags: pl.DataFrame


def review_form(
    engine: sa.Engine,
    actor: Actor,
    call_id: str,
    task_id: int,
    scores: Mapping[str, float | None],
    comments: Mapping[str, str],
) -> FormReview:
    """The check and the advisory flags of the expert's form (``None`` for a criterion not set);
    only valid scores are compared with the comments' wording."""
    ctx = form_context(engine, actor, task_id)
    check = scoring.check_form(ctx.scheme, scores, comments)
    form = pl.DataFrame(
        {"criterion": [c.criterion for c in check.criteria],
         "score": [c.score for c in check.criteria],
         "comment": [comments.get(c.criterion, "") or "" for c in check.criteria]},
        schema={"criterion": pl.String(), "score": pl.Float64(), "comment": pl.String()})
    return FormReview(check, form_flags(engine, actor, call_id, task_id, form, context=ctx))


def mark_quality_checked(
    engine: sa.Engine, actor: Actor, call_id: str, proposal_id: str, note: str = ""
) -> None:
    """Record that a manager checked the consolidated evaluation of ``proposal_id``."""
    with writing(engine) as conn:
        require_manager(conn, actor, "mark the quality of", call_id)
        state = conn.execute(sa.select(consolidations.c.state).where(
            consolidations.c.call_id == call_id,
            consolidations.c.proposal_id == proposal_id)).scalar()
        if state != ConsolidationState.FINAL:
            raise InvalidState(f"{proposal_id!r} has no final consolidation yet: check it once "
                               "the panel has approved the consensus")
        conn.execute(quality_checks.delete().where(
            quality_checks.c.call_id == call_id, quality_checks.c.proposal_id == proposal_id))
        conn.execute(quality_checks.insert().values(
            call_id=call_id, proposal_id=proposal_id, checked_by=actor.user_id,
            checked_at=dt.datetime.now(dt.UTC), note=note))
        record(conn, actor, "quality_checked", "proposal", proposal_id, call_id=call_id,
               after={"note": note})


def quality_checked(engine: sa.Engine, actor: Actor, call_id: str) -> pl.DataFrame:
    """``proposal_id, checked_at, note`` of the call's checked consolidations (managers)."""
    with reading(engine) as conn:
        require_manager(conn, actor, "read the quality checks of", call_id)
        rows = conn.execute(sa.select(quality_checks.c.proposal_id, quality_checks.c.checked_at,
                                      quality_checks.c.note)
                            .where(quality_checks.c.call_id == call_id)).all()
    return pl.DataFrame(
        [(p, at.isoformat(timespec="seconds"), n) for p, at, n in rows],
        schema={"proposal_id": pl.String(), "checked_at": pl.String(), "note": pl.String()},
        orient="row").sort("proposal_id")
