"""Mock evaluations ("rehearsals"): an applicant describes a proposal under a scheme and invites
colleagues (users) to score it blind, like real experts.

Only the owner sees the rehearsal's scores (all scorers'); an invited scorer sees the
description and only their own scores; nobody else sees anything. Score frames are
``criterion, score[, comment]``; :func:`rehearsal_view` returns ``scores`` as
``user_id, criterion, score, comment`` sorted by ``user_id, criterion``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl
import sqlalchemy as sa

from evalpanel.store.access import (
    can_read_rehearsal,
    can_read_rehearsal_report,
    can_rehearse,
    can_score_rehearsal,
    require,
)
from evalpanel.store.audit import Actor, now, record
from evalpanel.store.engine import reading, writing
from evalpanel.store.errors import InvalidInput, InvalidState
from evalpanel.store.evaluations import score_rows
from evalpanel.store.frames import inserted_id, query_frame
from evalpanel.store.rows import one_row, replace_scores
from evalpanel.store.tables import rehearsal_scorers, rehearsal_scores, rehearsals, users

REHEARSAL_SCORE_SCHEMA: dict[str, pl.DataType] = {
    "user_id": pl.Int64(),
    "criterion": pl.String(),
    "score": pl.Float64(),
    "comment": pl.String(),
}


def create_rehearsal(
    engine: sa.Engine,
    actor: Actor,
    scheme_id: str,
    title: str,
    description: str,
    scorers: Sequence[int],
) -> int:
    """An applicant opens a rehearsal and invites ``scorers`` (user ids); returns its id."""
    with writing(engine) as conn:
        require(can_rehearse(actor), actor, "create", "rehearsal", title)
        known = set(
            conn.execute(
                sa.select(users.c.user_id).where(users.c.user_id.in_(list(scorers)))
            ).scalars()
        )
        missing = sorted(set(scorers) - known)
        if missing:
            raise InvalidInput(f"no users {missing} to invite; create their accounts first")
        rid = inserted_id(
            conn.execute(
                rehearsals.insert().values(
                    owner_id=actor.user_id,
                    scheme_id=scheme_id,
                    title=title,
                    description=description,
                    created_at=now(),
                )
            )
        )
        if scorers:
            conn.execute(
                rehearsal_scorers.insert(),
                [{"rehearsal_id": rid, "user_id": u} for u in sorted(set(scorers))],
            )
        record(
            conn,
            actor,
            "create",
            "rehearsal",
            rid,
            after={"scheme_id": scheme_id, "title": title, "scorers": sorted(set(scorers))},
        )
        return int(rid)


def _rehearsal(conn: sa.Connection, rehearsal_id: int) -> sa.RowMapping:
    return one_row(conn, rehearsals, f"rehearsal {rehearsal_id}", rehearsal_id=rehearsal_id)


def _invitation(
    conn: sa.Connection, rehearsal_id: int, user_id: int | None
) -> sa.RowMapping | None:
    return (
        conn.execute(
            sa.select(rehearsal_scorers).where(
                rehearsal_scorers.c.rehearsal_id == rehearsal_id,
                rehearsal_scorers.c.user_id == user_id,
            )
        )
        .mappings()
        .first()
    )


def save_rehearsal_scores(
    engine: sa.Engine,
    actor: Actor,
    rehearsal_id: int,
    scores: pl.DataFrame,
    *,
    submit: bool = False,
) -> None:
    """An invited scorer saves (and with ``submit`` freezes) their blind scores."""
    rows = score_rows(scores, f"scores of rehearsal {rehearsal_id}")
    with writing(engine) as conn:
        _rehearsal(conn, rehearsal_id)
        require(can_score_rehearsal(conn, actor, rehearsal_id), actor, "score", "rehearsal",
                rehearsal_id)
        invite = _invitation(conn, rehearsal_id, actor.user_id)
        assert invite is not None  # the check above found it
        if invite["submitted_at"] is not None:
            raise InvalidState(f"your scores of rehearsal {rehearsal_id} are submitted")
        replace_scores(conn, rehearsal_scores, rows, rehearsal_id=rehearsal_id,
                       user_id=actor.user_id)
        if submit:
            conn.execute(
                rehearsal_scorers.update()
                .where(
                    rehearsal_scorers.c.rehearsal_id == rehearsal_id,
                    rehearsal_scorers.c.user_id == actor.user_id,
                )
                .values(submitted_at=now())
            )
        record(
            conn,
            actor,
            "submit" if submit else "save",
            "rehearsal_scores",
            rehearsal_id,
            after={"scores": rows},
        )


def rehearsal_view(engine: sa.Engine, actor: Actor, rehearsal_id: int) -> dict[str, Any]:
    """The rehearsal (``rehearsal_id, scheme_id, title, description, owner_id``), its
    ``scorers`` (user id → submitted or not) and the ``scores`` the actor may see."""
    with reading(engine) as conn:
        row = _rehearsal(conn, rehearsal_id)
        require(can_read_rehearsal(conn, actor, rehearsal_id, row["owner_id"]), actor, "read",
                "rehearsal", rehearsal_id)
        owner = actor.user_id == row["owner_id"] and actor.role == "applicant"
        stmt = sa.select(
            rehearsal_scores.c.user_id,
            rehearsal_scores.c.criterion,
            rehearsal_scores.c.score,
            rehearsal_scores.c.comment,
        ).where(rehearsal_scores.c.rehearsal_id == rehearsal_id)
        if not owner:
            stmt = stmt.where(rehearsal_scores.c.user_id == actor.user_id)
        scorers = {
            int(u): s is not None
            for u, s in conn.execute(
                sa.select(rehearsal_scorers.c.user_id, rehearsal_scorers.c.submitted_at).where(
                    rehearsal_scorers.c.rehearsal_id == rehearsal_id
                )
            )
        }
        view = {
            k: row[k] for k in ("rehearsal_id", "scheme_id", "title", "description", "owner_id")
        }
        view["scorers"] = scorers if owner else {}
        view["scores"] = query_frame(conn, stmt, REHEARSAL_SCORE_SCHEMA, ["user_id", "criterion"])
        return view


def list_rehearsals(engine: sa.Engine, actor: Actor) -> pl.DataFrame:
    """``rehearsal_id, scheme_id, title, owner`` (bool) of rehearsals the actor owns or scores."""
    invited = sa.select(rehearsal_scorers.c.rehearsal_id).where(
        rehearsal_scorers.c.user_id == actor.user_id
    )
    stmt = sa.select(
        rehearsals.c.rehearsal_id,
        rehearsals.c.scheme_id,
        rehearsals.c.title,
        (rehearsals.c.owner_id == actor.user_id).label("owner"),
    ).where(sa.or_(rehearsals.c.owner_id == actor.user_id, rehearsals.c.rehearsal_id.in_(invited)))
    with reading(engine) as conn:
        return query_frame(
            conn,
            stmt,
            {
                "rehearsal_id": pl.Int64(),
                "scheme_id": pl.String(),
                "title": pl.String(),
                "owner": pl.Boolean(),
            },
            ["rehearsal_id"],
        )


def submitted_rehearsal_scores(
    engine: sa.Engine, actor: Actor, rehearsal_id: int
) -> tuple[str, pl.DataFrame]:
    """(scheme id, the submitted scores) of a rehearsal, for its owner only — the input of the
    mock-evaluation report. Scores: ``proposal_id`` (the rehearsal id as text), ``expert_id``
    (the scorer's user id as text), ``criterion, score``, sorted by scorer and criterion;
    scorers who have not submitted are left out."""
    with reading(engine) as conn:
        row = _rehearsal(conn, rehearsal_id)
        require(can_read_rehearsal_report(actor, row["owner_id"]), actor, "read the report of",
                "rehearsal", rehearsal_id)
        stmt = (
            sa.select(
                rehearsal_scores.c.user_id,
                rehearsal_scores.c.criterion,
                rehearsal_scores.c.score,
                rehearsal_scores.c.comment,
            )
            .join(
                rehearsal_scorers,
                sa.and_(
                    rehearsal_scorers.c.rehearsal_id == rehearsal_scores.c.rehearsal_id,
                    rehearsal_scorers.c.user_id == rehearsal_scores.c.user_id,
                ),
            )
            .where(
                rehearsal_scores.c.rehearsal_id == rehearsal_id,
                rehearsal_scorers.c.submitted_at.is_not(None),
            )
        )
        frame = query_frame(conn, stmt, REHEARSAL_SCORE_SCHEMA, ["user_id", "criterion"])
    scores = frame.select(
        proposal_id=pl.lit(str(rehearsal_id), dtype=pl.String),
        expert_id=pl.col("user_id").cast(pl.String),
        criterion="criterion",
        score="score",
    )
    return str(row["scheme_id"]), scores
