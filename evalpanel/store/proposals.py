"""One proposal with its partners, as a reader may see it."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from evalpanel.store.access import (
    can_read_proposal,
    require,
)
from evalpanel.store.audit import Actor
from evalpanel.store.engine import reading
from evalpanel.store.errors import NotFound
from evalpanel.store.rows import require_call
from evalpanel.store.tables import (
    partners,
    proposals,
)


@dataclass(frozen=True, slots=True)
class Partner:
    """One organisation of a proposal, in the declaration's order (``org_id`` None when the
    call folder gives only a name)."""

    org_id: str | None
    org_name: str
    country: str
    role: str


@dataclass(frozen=True, slots=True)
class Proposal:
    """One stored proposal (the ``proposals`` row) with its partners."""

    call_id: str
    proposal_id: str
    lot_id: str
    title: str
    abstract: str
    language: str
    fields: list[str]
    ecosystems: list[str]
    keywords: list[str]
    requested_eur: float
    partners: tuple[Partner, ...]


def get_proposal(engine: sa.Engine, actor: Actor, call_id: str, proposal_id: str) -> Proposal:
    """One proposal with its partners. Managers of the call see every proposal; an expert only
    one they accepted without conflict; nobody else."""
    with reading(engine) as conn:
        require_call(conn, call_id)
        require(
            can_read_proposal(conn, actor, call_id, proposal_id),
            actor,
            "read",
            "proposal",
            proposal_id,
            call_id=call_id,
        )
        row = (
            conn.execute(
                sa.select(proposals).where(
                    proposals.c.call_id == call_id, proposals.c.proposal_id == proposal_id
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound(f"no proposal {proposal_id!r} in call {call_id!r}")
        found = tuple(
            Partner(r["org_id"], r["org_name"], r["country"], r["role"])
            for r in conn.execute(
                sa.select(
                    partners.c.org_id, partners.c.org_name, partners.c.country, partners.c.role
                )
                .where(partners.c.call_id == call_id, partners.c.proposal_id == proposal_id)
                .order_by(partners.c.partner_row)
            ).mappings()
        )
        return Proposal(
            call_id=row["call_id"],
            proposal_id=row["proposal_id"],
            lot_id=row["lot_id"],
            title=row["title"],
            abstract=row["abstract"],
            language=row["language"],
            fields=list(row["fields"] or []),
            ecosystems=list(row["ecosystems"] or []),
            keywords=list(row["keywords"] or []),
            requested_eur=float(row["requested_eur"]),
            partners=found,
        )
