"""One proposal with its partners, as a reader may see it."""

from __future__ import annotations

from typing import Any

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


def get_proposal(engine: sa.Engine, actor: Actor, call_id: str, proposal_id: str) -> dict[str, Any]:
    """One proposal with its partners (``partners``: list of dicts). Managers of the call see
    every proposal; an expert only one they accepted without conflict; nobody else."""
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
        found = dict(row)
        found["partners"] = [
            dict(r)
            for r in conn.execute(
                sa.select(
                    partners.c.org_id, partners.c.org_name, partners.c.country, partners.c.role
                )
                .where(partners.c.call_id == call_id, partners.c.proposal_id == proposal_id)
                .order_by(partners.c.partner_row)
            ).mappings()
        ]
        return found
