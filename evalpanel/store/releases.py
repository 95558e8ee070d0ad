"""Released results: the applicant contacts of proposals, and each lot's released reports.

A manager links an applicant account to the proposal it speaks for (:func:`link_contact`; the
coordinator's contact), then releases a lot's results (:func:`save_release`, called by
:func:`evalpanel.reports.release_lot` with the rendered reports). From then on that applicant
reads the report of their own proposal, and only that (:func:`released_reports_of`,
:func:`read_released_report`); before the release nobody but the call's managers sees any
report. Releasing queues the notice to each contact of the lot's proposals
(:func:`evalpanel.store.notifications.queue_release_messages`; the address given with
:func:`link_contact`, else a username that is an e-mail address). Linking, releasing and every
opening of a report are audited.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
import sqlalchemy as sa

from evalpanel.store.access import can_read_report, require, require_manager
from evalpanel.store.audit import Actor, now, record
from evalpanel.store.engine import reading, writing
from evalpanel.store.errors import InvalidInput, InvalidState, NotFound
from evalpanel.store.tables import (
    contact_emails,
    lots,
    proposal_contacts,
    proposals,
    released_reports,
    releases,
    users,
)

RELEASED_SCHEMA: dict[str, pl.DataType] = {
    "call_id": pl.String(),
    "lot_id": pl.String(),
    "proposal_id": pl.String(),
    "title": pl.String(),
    "released_at": pl.String(),
    "sha256": pl.String(),
}


@dataclass(frozen=True, slots=True)
class RenderedReport:
    proposal_id: str
    html: str
    pdf: bytes


def link_contact(
    engine: sa.Engine, actor: Actor, user_id: int, call_id: str, proposal_id: str,
    *, email: str | None = None,
) -> bool:
    """Let the applicant ``user_id`` read the released results of ``proposal_id``; False when
    the link existed already. ``email``: the address their notices go to (kept for the user,
    replacing an earlier one)."""
    if email is not None:
        email = email.strip()
        local, at, domain = email.partition("@")
        if not (at and local and "." in domain) or any(c.isspace() for c in email) \
                or len(email) > 320:
            raise InvalidInput(f"{email!r} is not an e-mail address")
    with writing(engine) as conn:
        require_manager(conn, actor, "link an applicant to a proposal of", call_id)
        role = conn.execute(sa.select(users.c.role).where(users.c.user_id == user_id)).scalar()
        if role is None:
            raise NotFound(f"no user {user_id}")
        if role != "applicant":
            raise InvalidInput(f"user {user_id} is a {role}; only an applicant account reads "
                               "a proposal's results")
        if conn.execute(sa.select(proposals.c.proposal_id).where(
                proposals.c.call_id == call_id,
                proposals.c.proposal_id == proposal_id)).first() is None:
            raise NotFound(f"no proposal {proposal_id!r} in the call {call_id!r}")
        if email is not None:
            conn.execute(contact_emails.delete().where(contact_emails.c.user_id == user_id))
            conn.execute(contact_emails.insert().values(user_id=user_id, email=email,
                                                        set_at=now()))
            record(conn, actor, "set_contact_email", "user", user_id, call_id=call_id,
                   after={"email": email})
        key = (proposal_contacts.c.user_id == user_id, proposal_contacts.c.call_id == call_id,
               proposal_contacts.c.proposal_id == proposal_id)
        if conn.execute(sa.select(proposal_contacts.c.user_id).where(*key)).first():
            return False
        conn.execute(proposal_contacts.insert().values(
            user_id=user_id, call_id=call_id, proposal_id=proposal_id))
        record(conn, actor, "link_contact", "proposal", proposal_id, call_id=call_id,
               after={"user_id": user_id})
        return True


def save_release(
    engine: sa.Engine, actor: Actor, call_id: str, lot_id: str,
    reports: Sequence[RenderedReport], *, replace: bool = False, dashboard_url: str = "",
) -> int:
    """Record the release of a lot with its reports, and queue the notices to their
    contacts, in one transaction; the release id."""
    from evalpanel.store.notifications import queue_release_messages

    with writing(engine) as conn:
        require_manager(conn, actor, "release the results of", call_id)
        if conn.execute(sa.select(lots.c.lot_id).where(
                lots.c.call_id == call_id, lots.c.lot_id == lot_id)).first() is None:
            raise NotFound(f"no lot {lot_id!r} in the call {call_id!r}")
        old = conn.execute(sa.select(releases.c.release_id).where(
            releases.c.call_id == call_id, releases.c.lot_id == lot_id)).scalar()
        if old is not None and not replace:
            raise InvalidState(f"the results of lot {lot_id!r} are already released; release "
                               "again with replace to publish corrected reports")
        if not reports:
            raise InvalidState(f"lot {lot_id!r} has no consolidated proposal yet: nothing to "
                               "release")
        before = None
        if old is not None:
            before = dict(conn.execute(sa.select(
                released_reports.c.proposal_id, released_reports.c.sha256).where(
                released_reports.c.release_id == old)).all())
            conn.execute(releases.delete().where(releases.c.release_id == old))
        release_id = conn.execute(releases.insert().values(
            call_id=call_id, lot_id=lot_id, released_at=now(), released_by=actor.user_id,
        )).inserted_primary_key[0]  # type: ignore[index]
        rows = [{"release_id": release_id, "proposal_id": r.proposal_id, "html": r.html,
                 "pdf": r.pdf, "sha256": hashlib.sha256(r.pdf).hexdigest()} for r in reports]
        conn.execute(released_reports.insert(), rows)
        record(conn, actor, "release_results", "lot", lot_id, call_id=call_id, before=before,
               after={r["proposal_id"]: r["sha256"] for r in rows})
        queue_release_messages(conn, actor, int(release_id), dashboard_url=dashboard_url)
        return int(release_id)


def _readable(actor: Actor) -> sa.Select[Any]:
    stmt = (
        sa.select(releases.c.call_id, releases.c.lot_id, released_reports.c.proposal_id,
                  proposals.c.title, releases.c.released_at, released_reports.c.sha256)
        .join(released_reports, released_reports.c.release_id == releases.c.release_id)
        .join(proposals, sa.and_(proposals.c.call_id == releases.c.call_id,
                                 proposals.c.proposal_id == released_reports.c.proposal_id))
    )
    if actor.role != "system":
        # an applicant: only the proposals they speak for
        stmt = stmt.join(proposal_contacts, sa.and_(
            proposal_contacts.c.call_id == releases.c.call_id,
            proposal_contacts.c.proposal_id == released_reports.c.proposal_id,
            proposal_contacts.c.user_id == actor.user_id))
    return stmt


def released_reports_of(engine: sa.Engine, actor: Actor) -> pl.DataFrame:
    """The released reports an applicant may read (their own proposals'), newest release
    first; :data:`RELEASED_SCHEMA`."""
    with reading(engine) as conn:
        rows = conn.execute(_readable(actor)).all()
    frame = pl.DataFrame(
        [(c, lot, p, t, r.isoformat(timespec="seconds"), h) for c, lot, p, t, r, h in rows],
        schema=RELEASED_SCHEMA, orient="row")
    return frame.sort("call_id", "proposal_id")


def read_released_report(
    engine: sa.Engine, actor: Actor, call_id: str, proposal_id: str, fmt: str = "pdf"
) -> bytes | str:
    """One released report (``fmt`` "pdf" or "html"), for its proposal's applicant contacts and
    the call's managers; every opening is audited, every refusal too."""
    if fmt not in ("pdf", "html"):
        raise InvalidInput(f"{fmt!r} is not a report format; choose pdf or html")
    with writing(engine) as conn:
        row = conn.execute(
            sa.select(released_reports.c.html, released_reports.c.pdf)
            .join(releases, releases.c.release_id == released_reports.c.release_id)
            .where(releases.c.call_id == call_id,
                   released_reports.c.proposal_id == proposal_id)).first()
        require(can_read_report(conn, actor, call_id, proposal_id), actor, "read the report of",
                "proposal", proposal_id, call_id=call_id)
        if row is None:
            raise NotFound(f"the results of {proposal_id!r} are not released")
        record(conn, actor, "read_report", "proposal", proposal_id, call_id=call_id,
               after={"format": fmt})
        return bytes(row.pdf) if fmt == "pdf" else str(row.html)


def release_status(engine: sa.Engine, actor: Actor, call_id: str) -> pl.DataFrame:
    """``lot_id, released_at, reports`` of the call's releases (managers)."""
    with reading(engine) as conn:
        require_manager(conn, actor, "read the releases of", call_id)
        stmt = (sa.select(releases.c.lot_id, releases.c.released_at,
                          sa.func.count(released_reports.c.proposal_id))
                .join(released_reports, isouter=True)
                .where(releases.c.call_id == call_id)
                .group_by(releases.c.lot_id, releases.c.released_at))
        rows = conn.execute(stmt).all()
    return pl.DataFrame(
        [(lot, at.isoformat(timespec="seconds"), int(n)) for lot, at, n in rows],
        schema={"lot_id": pl.String(), "released_at": pl.String(), "reports": pl.Int64()},
        orient="row").sort("lot_id")
