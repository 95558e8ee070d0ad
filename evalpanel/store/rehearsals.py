"""Mock evaluations ("rehearsals"): an applicant describes a proposal under a scheme, may attach
its draft (PDF), and invites colleagues to score it blind, like real experts.

An applicant names no account: colleagues join through a one-time link or an e-mail address
(:mod:`evalpanel.store.rehearsal_invites`); :func:`create_rehearsal` takes the applicant
themselves as the only scorer it may list. The draft is checked like a call's documents
(:func:`evalpanel.documents.check_pdf`), kept content-addressed in the documents' blob store,
and opened by the owner and the invited scorers only, every opening audited
(:func:`attach_draft`, :func:`list_drafts`, :func:`open_draft`).

Only the owner sees the rehearsal's scores (all scorers'); an invited scorer sees the
description and only their own scores; nobody else sees anything. Score frames are
``criterion, score[, comment]``; :func:`rehearsal_view` returns a :class:`RehearsalView` with
``scores`` as ``user_id, criterion, score, comment`` sorted by ``user_id, criterion``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
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
from evalpanel.store.errors import InvalidInput, InvalidState, NotFound
from evalpanel.store.evaluations import score_rows
from evalpanel.store.frames import inserted_id, query_frame
from evalpanel.store.rows import one_row, replace_scores
from evalpanel.store.tables import (
    rehearsal_documents,
    rehearsal_scorers,
    rehearsal_scores,
    rehearsals,
    users,
)

DRAFT_SCHEMA: dict[str, pl.DataType] = {
    "name": pl.String(), "sha256": pl.String(), "size": pl.Int64(), "pages": pl.Int64(),
}  # fmt: skip
DRAFT_LIMITS = ("the", "a rehearsal's draft", "a rehearsal's draft")

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
    """An applicant opens a rehearsal; ``scorers`` is empty or the applicant's own id (they
    score it too). Colleagues join by invitation. Returns its id."""
    with writing(engine) as conn:
        require(can_rehearse(actor), actor, "create", "rehearsal", title)
        if set(scorers) - {actor.user_id}:
            raise InvalidInput("colleagues join a rehearsal by invitation (a one-time link or "
                               "their e-mail address), not by account")
        if not title.strip():
            raise InvalidInput("give the rehearsal's proposal a title")
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


@dataclass(frozen=True, slots=True)
class RehearsalView:
    """A rehearsal as one reader sees it: its stored fields; ``scorers`` (user id → whether
    they submitted; the owner's view only, empty for a scorer); ``submitted`` (whether the
    reader's own scores are submitted; False for an owner who does not score); ``scores``
    the scores the reader may see, a ``user_id`` (Int64), ``criterion`` (String), ``score``
    (Float64), ``comment`` (String) frame sorted by ``user_id, criterion``."""

    rehearsal_id: int
    scheme_id: str
    title: str
    description: str
    owner_id: int
    created_at: dt.datetime
    scorers: dict[int, bool]
    submitted: bool
    scores: pl.DataFrame


def rehearsal_view(engine: sa.Engine, actor: Actor, rehearsal_id: int) -> RehearsalView:
    """The rehearsal as ``actor`` may see it (:class:`RehearsalView`): its owner, and the
    scorers it invited."""
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
        return RehearsalView(
            rehearsal_id=int(row["rehearsal_id"]),
            scheme_id=row["scheme_id"],
            title=row["title"],
            description=row["description"],
            owner_id=int(row["owner_id"]),
            created_at=row["created_at"],
            scorers=scorers if owner else {},
            submitted=scorers.get(int(actor.user_id or 0), False),
            scores=query_frame(conn, stmt, REHEARSAL_SCORE_SCHEMA, ["user_id", "criterion"]),
        )


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


def _reader(conn: sa.Connection, actor: Actor, rehearsal_id: int, action: str) -> bool:
    """True for the owner, False for an invited scorer; anyone else is refused."""
    row = _rehearsal(conn, rehearsal_id)
    require(can_read_rehearsal(conn, actor, rehearsal_id, row["owner_id"]), actor, action,
            "rehearsal", rehearsal_id)
    return bool(can_read_rehearsal_report(actor, row["owner_id"]))


def attach_draft(
    engine: sa.Engine, actor: Actor, rehearsal_id: int, name: str, data: bytes,
    store: Any = None,
) -> int:
    """The owner attaches their draft (a PDF checked like a call's documents; a file of the same
    name is replaced); its page count. InvalidInput names the file and the problem."""
    from evalpanel.documents import NAME_LIMIT, DocumentLimits, check_pdf
    from evalpanel.store.documents import blob_store

    clean = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not clean or clean.startswith(".") or len(clean) > NAME_LIMIT:
        raise InvalidInput(f"{name[:80]!r}: give the draft a file name of at most "
                           f"{NAME_LIMIT} characters")
    if not clean.lower().endswith(".pdf"):
        raise InvalidInput(f"{clean}: only PDF files are accepted")
    pages = check_pdf(data, DocumentLimits(), DRAFT_LIMITS)
    if isinstance(pages, str):
        raise InvalidInput(f"{clean}: {pages}")
    sha = hashlib.sha256(data).hexdigest()
    store = store or blob_store()
    with writing(engine) as conn:
        row = _rehearsal(conn, rehearsal_id)
        require(can_read_rehearsal_report(actor, row["owner_id"]), actor, "attach a draft to",
                "rehearsal", rehearsal_id)
        store.put(conn, sha, data)
        conn.execute(rehearsal_documents.delete().where(
            rehearsal_documents.c.rehearsal_id == rehearsal_id,
            rehearsal_documents.c.name == clean))
        conn.execute(rehearsal_documents.insert().values(
            rehearsal_id=rehearsal_id, name=clean, sha256=sha, size=len(data), pages=pages,
            added_at=now()))
        record(conn, actor, "attach_draft", "rehearsal", rehearsal_id,
               after={"name": clean, "sha256": sha, "pages": pages})
    return pages


def list_drafts(engine: sa.Engine, actor: Actor, rehearsal_id: int) -> pl.DataFrame:
    """The rehearsal's drafts (:data:`DRAFT_SCHEMA`), for its owner and invited scorers."""
    with reading(engine) as conn:
        _reader(conn, actor, rehearsal_id, "read the drafts of")
        stmt = sa.select(rehearsal_documents.c.name, rehearsal_documents.c.sha256,
                         rehearsal_documents.c.size, rehearsal_documents.c.pages).where(
            rehearsal_documents.c.rehearsal_id == rehearsal_id)
        return query_frame(conn, stmt, DRAFT_SCHEMA, ["name"])


def open_draft(
    engine: sa.Engine, actor: Actor, rehearsal_id: int, name: str, store: Any = None
) -> bytes:
    """The bytes of one draft, checked against their sha256, for the owner and the invited
    scorers; every opening is audited."""
    from evalpanel.store.documents import blob_store

    store = store or blob_store()
    with writing(engine) as conn:
        _reader(conn, actor, rehearsal_id, "open the draft of")
        sha = conn.execute(sa.select(rehearsal_documents.c.sha256).where(
            rehearsal_documents.c.rehearsal_id == rehearsal_id,
            rehearsal_documents.c.name == name)).scalar()
        if sha is None:
            raise NotFound(f"no draft {name!r} in rehearsal {rehearsal_id}")
        data = store.get(conn, sha)
        if data is None or hashlib.sha256(data).hexdigest() != sha:
            raise NotFound(f"the stored bytes of the draft {name!r} are missing or damaged")
        record(conn, actor, "open_draft", "rehearsal", rehearsal_id,
               after={"name": name, "sha256": sha})
        return bytes(data)
