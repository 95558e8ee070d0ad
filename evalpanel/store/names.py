"""Names beside ids: what a proposal, an expert and an organisation are called, so that every
table a person reads shows a title, a coordinator and a name next to each id.

:func:`call_names` reads them once per call (managers of the call); :func:`with_names` joins
them onto any frame with ``proposal_id``, ``expert_id`` or ``org_id`` columns (or other columns
holding such ids), each name placed right after its id. Ids stay: names are not unique.

Frames (:class:`Names`):

- ``proposals``: ``proposal_id, title, coordinator`` (the coordinator's organisation name,
  null when the call lists none), ``coordinator_country``, ``lot``, ``ecosystem`` (the first
  ecosystem: the one a one-per-ecosystem lot limits);
- ``experts``: ``expert_id, expert_name, expert_org``;
- ``organisations``: ``org_id, org_name`` (from partners and experts; the first name seen).

Exports and the audit log use them too: :func:`named_for_managers` wraps an export's reader,
:func:`named_audit_frame` says what each audit line is about.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import polars as pl
import sqlalchemy as sa

from evalpanel.store.access import manages, require_manager
from evalpanel.store.audit import Actor
from evalpanel.store.engine import reading
from evalpanel.store.frames import rows_frame
from evalpanel.store.tables import experts, partners, proposals

PROPOSAL_NAMES: dict[str, pl.DataType] = {
    "proposal_id": pl.String(),
    "title": pl.String(),
    "coordinator": pl.String(),
    "coordinator_country": pl.String(),
    "lot": pl.String(),
    "ecosystem": pl.String(),
}
EXPERT_NAMES: dict[str, pl.DataType] = {
    "expert_id": pl.String(),
    "expert_name": pl.String(),
    "expert_org": pl.String(),
}
ORG_NAMES: dict[str, pl.DataType] = {"org_id": pl.String(), "org_name": pl.String()}


@dataclass(frozen=True, slots=True)
class Names:
    proposals: pl.DataFrame
    experts: pl.DataFrame
    organisations: pl.DataFrame


def call_names(engine: sa.Engine, actor: Actor, call_id: str) -> Names:
    """The names of the call's proposals, experts and organisations (managers of the call)."""
    with reading(engine) as conn:
        require_manager(conn, actor, "read names of", call_id)
        rows = conn.execute(
            sa.select(proposals.c.proposal_id, proposals.c.title, proposals.c.lot_id,
                      proposals.c.ecosystems)
            .where(proposals.c.call_id == call_id)
        ).all()
        # the first coordinator row of each proposal; picked here, not by a window function
        # (SQLite took 2 s for one at 40,000 partner rows)
        coordinators = conn.execute(
            sa.select(partners.c.proposal_id, partners.c.org_name, partners.c.country)
            .where(partners.c.call_id == call_id, partners.c.role == "coordinator")
            .order_by(partners.c.partner_row)
        ).all()
        people = conn.execute(
            sa.select(experts.c.expert_id, experts.c.name, experts.c.org_name, experts.c.org_id)
            .where(experts.c.call_id == call_id)
        ).all()
        orgs = conn.execute(
            sa.select(partners.c.org_id, partners.c.org_name)
            .where(partners.c.call_id == call_id, partners.c.org_id.is_not(None))
            .order_by(partners.c.partner_row)
        ).all()
    first: dict[str, tuple[str | None, str | None]] = {}
    for pid, org, country in coordinators:
        first.setdefault(pid, (org, country))
    props = rows_frame(
        [(p, t, *first.get(p, (None, None)), lot, (eco or [None])[0])
         for p, t, lot, eco in rows],
        PROPOSAL_NAMES, ["proposal_id"])
    exps = rows_frame([(e, n, o or None) for e, n, o, _ in people], EXPERT_NAMES, ["expert_id"])
    seen = [*orgs, *((o, n) for _, _, n, o in people if o is not None and n)]
    organisations = rows_frame(seen, ORG_NAMES).unique("org_id", keep="first",
                                                       maintain_order=True).sort("org_id")
    return Names(props, exps, organisations)


def with_names(
    frame: pl.DataFrame,
    names: Names,
    *,
    proposal: tuple[str, ...] = ("proposal_id",),
    expert: tuple[str, ...] = ("expert_id",),
    org: tuple[str, ...] = ("org_id",),
    proposal_fields: tuple[str, ...] = ("title", "coordinator"),
) -> pl.DataFrame:
    """``frame`` with the name of each id column that it has placed right after it: a proposal
    id gets ``proposal_fields`` (``title``, ``coordinator``; a second proposal column
    ``x`` gets ``x_title``, ...), an expert id ``expert_name`` (or ``<column>_name``), an
    organisation id ``org_name`` (or ``<column>_name``). Columns already present are kept as
    they are; rows keep their order."""
    out = frame
    plans: list[tuple[str, pl.DataFrame, Mapping[str, str]]] = []
    for column in proposal:
        plans.append((column, names.proposals.select("proposal_id", *proposal_fields),
                      {f: f if column == "proposal_id" else f"{column}_{f}"
                       for f in proposal_fields}))
    for column in expert:
        plans.append((column, names.experts.select("expert_id", "expert_name"),
                      {"expert_name": "expert_name" if column == "expert_id"
                       else f"{column}_name"}))
    for column in org:
        plans.append((column, names.organisations,
                      {"org_name": "org_name" if column == "org_id" else f"{column}_name"}))
    for column, table, renames in plans:
        if column not in out.columns:
            continue
        wanted = {src: dst for src, dst in renames.items() if dst not in out.columns}
        if not wanted:
            continue
        key = table.columns[0]
        lookup = table.select(pl.col(key).alias(column),
                              *(pl.col(src).alias(dst) for src, dst in wanted.items()))
        joined = out.with_columns(pl.col(column).cast(pl.String)).join(
            lookup, on=column, how="left", maintain_order="left")
        at = out.columns.index(column) + 1
        order = [*out.columns[:at], *wanted.values(), *out.columns[at:]]
        out = joined.with_columns(pl.col(column).cast(frame.schema[column])).select(order)
    return out


def audit_names(
    frame: pl.DataFrame, names: Names, tasks: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Audit rows (``entity, entity_id, ...``) with ``about`` after ``entity_id``: what the id
    names, in words: a proposal's title, an expert's name, a task's expert and proposal
    (``tasks``: ``task_id, proposal_id, expert_id``); null for other entities."""
    if "entity_id" not in frame.columns:
        return frame
    titles = names.proposals.select(pl.col("proposal_id").alias("_id"),
                                    pl.col("title").alias("_proposal"))
    people = names.experts.select(pl.col("expert_id").alias("_id"),
                                  pl.col("expert_name").alias("_expert"))
    out = frame.join(titles, left_on="entity_id", right_on="_id", how="left",
                     maintain_order="left").join(people, left_on="entity_id", right_on="_id",
                                                 how="left", maintain_order="left")
    about = (pl.when(pl.col("entity") == "proposal").then(pl.col("_proposal"))
             .when(pl.col("entity") == "expert").then(pl.col("_expert")))
    if tasks is not None and tasks.height:
        task_words = with_names(tasks.select("task_id", "proposal_id", "expert_id"), names,
                                proposal_fields=("title",)).select(
            pl.col("task_id").cast(pl.String).alias("_id"),
            pl.format("{} ({}) on {} {}", pl.col("expert_name").fill_null(""), "expert_id",
                      "proposal_id", pl.col("title").fill_null("")).str.strip_chars()
            .alias("_task"))
        out = out.join(task_words, left_on="entity_id", right_on="_id", how="left",
                       maintain_order="left")
        about = about.when(pl.col("entity") == "task").then(pl.col("_task"))
    at = frame.columns.index("entity_id") + 1
    out = out.with_columns(about.otherwise(pl.lit(None, pl.String)).alias("about"))
    return out.select(*frame.columns[:at], "about", *frame.columns[at:])


def named_audit_frame(engine: sa.Engine, actor: Actor, call_id: str) -> pl.DataFrame:
    """The call's audit log (:func:`~evalpanel.store.audit.audit_frame`, managers) with
    ``about``: the proposal, expert or task each line is about, in words."""
    from evalpanel.store.audit import audit_frame
    from evalpanel.store.tasks import list_tasks

    log = audit_frame(engine, actor, call_id)
    return audit_names(log, call_names(engine, actor, call_id),
                       list_tasks(engine, actor, call_id))


def named_for_managers(
    reader: Callable[[sa.Engine, Actor, str], pl.DataFrame],
) -> Callable[[sa.Engine, Actor, str], pl.DataFrame]:
    """``reader`` whose rows get names beside their ids when the reader manages the call (an
    expert reading their own queue gets it as it is: the call's names are for managers)."""
    def read(engine: sa.Engine, actor: Actor, call_id: str) -> pl.DataFrame:
        frame = reader(engine, actor, call_id)
        with reading(engine) as conn:
            allowed = manages(conn, actor, call_id)
        return with_names(frame, call_names(engine, actor, call_id)) if allowed else frame

    return read
