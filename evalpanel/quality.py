"""Quality of the evaluations: the advisory comment checks on a call, on one form before it is
submitted, and the manager's "quality checked" mark on consolidated evaluations.

The checks are the scoring engine's (:func:`scoring.comment_checks`); this module only gathers
what they need from the store, within the actor's permissions:

- :func:`call_flags` (managers): every submitted evaluation and every final consolidation of the
  call; consolidated comments appear with ``expert_id = "consensus"``;
- :func:`form_flags` (the expert of the task): the scores and comments on the form, against the
  same expert's other submitted evaluations in the call. Only ``copied`` and
  ``contradicts_band`` are shown there: ``off_panel`` compares with the other experts' scores,
  which an expert must not learn before submitting.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import sqlalchemy as sa

import scoring
from evalpanel.planning import scheme_of
from evalpanel.store import (
    Actor,
    InvalidState,
    call_folder,
    call_info,
    consolidated_frame,
    get_evaluation,
    list_tasks,
    scores_frame,
)
from evalpanel.store.access import require_manager
from evalpanel.store.audit import record
from evalpanel.store.engine import reading, writing
from evalpanel.store.tables import consolidations, quality_checks
from evalpanel.vocab import ConsolidationState, TaskState

CONSENSUS = "consensus"
FORM_CHECKS = ("copied", "contradicts_band")


def call_flags(engine: sa.Engine, actor: Actor, call_id: str) -> pl.DataFrame:
    """Every advisory flag of the call (``proposal_id, expert_id, criterion, check, detail``)."""
    scheme = scheme_of(call_folder(engine, actor, call_id))
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
    engine: sa.Engine, actor: Actor, call_id: str, task_id: int, form: pl.DataFrame
) -> pl.DataFrame:
    """The flags the expert's form (``criterion, score, comment``) raises now."""
    from evalpanel.schemes import load_scheme

    info = call_info(engine, actor, call_id)
    scheme = load_scheme(str(info["scheme"]), info["scheme_overrides"] or None)
    mine = list_tasks(engine, actor, call_id)
    proposal = mine.filter(pl.col("task_id") == task_id)["proposal_id"]
    if proposal.is_empty():
        return pl.DataFrame(schema=scoring.COMMENT_FLAG_SCHEMA)
    frames = [form.select(pl.lit(proposal.item()).alias("proposal_id"),
                          pl.lit("me").alias("expert_id"), "criterion",
                          pl.col("score").cast(pl.Float64), "comment")]
    for other_task, other_proposal, state in mine.select("task_id", "proposal_id",
                                                         "state").iter_rows():
        if other_task == task_id or state != TaskState.SUBMITTED:
            continue
        scores = get_evaluation(engine, actor, int(other_task))["scores"]
        frames.append(scores.select(pl.lit(other_proposal).alias("proposal_id"),
                                    pl.lit("me").alias("expert_id"), "criterion",
                                    pl.col("score").cast(pl.Float64), "comment"))
    flags = scoring.comment_checks(pl.concat(frames), scheme)
    return flags.filter((pl.col("proposal_id") == proposal.item())
                        & pl.col("check").is_in(FORM_CHECKS))


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
