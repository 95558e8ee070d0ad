"""Exports of a stored call as CSV or XLSX (by the file's suffix), written by
:mod:`evalpanel.sheets`: no spreadsheet runs a cell as a formula, and a file reads back as it was
stored (CSV: formula-like text gets one leading quote, which the call-folder reader drops;
XLSX: text as string cells).

The call tables (:data:`CALL_TABLES`) and the scores are written in the call-folder columns, so
that an export is a valid call-folder file. The export functions read through the services, so
the same permissions apply, and each export is recorded in the audit log (table, rows, format).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from evalpanel.callfolder.formulas import FORMULA_STARTS
from evalpanel.callfolder.schema import polars_schema
from evalpanel.sheets import SheetError, csv_bytes, flatten, neutralise, write_sheet
from evalpanel.store.audit import Actor, audit_frame, record
from evalpanel.store.calls import call_folder
from evalpanel.store.consolidation import consolidated_frame
from evalpanel.store.engine import reading, writing
from evalpanel.store.errors import InvalidInput
from evalpanel.store.evaluations import internal_comments, scores_frame
from evalpanel.store.explanations import published_with_explanations
from evalpanel.store.names import named_audit_frame, named_for_managers
from evalpanel.store.rows import require_call
from evalpanel.store.tasks import list_tasks

DANGEROUS = FORMULA_STARTS
CALL_TABLES = ("proposals", "partners", "experts", "conflicts")

__all__ = ["CALL_TABLES", "DANGEROUS", "READERS", "call_table", "csv_bytes", "export_assignment",
           "export_audit", "export_call_table", "export_consolidated", "export_internal_comments",
           "export_queues", "export_ranking", "export_scores", "export_table", "flatten",
           "neutralise", "record_export", "table_frame", "write_frame"]


def write_frame(frame: pl.DataFrame, path: str | Path, *, sheet: str = "export") -> Path:
    """Write ``frame`` to ``path`` (``.csv`` or ``.xlsx``, see :mod:`evalpanel.sheets`)."""
    try:
        return write_sheet(frame, path, sheet=sheet)
    except SheetError as exc:
        raise InvalidInput(str(exc)) from None


def record_export(
    engine: sa.Engine, actor: Actor, call_id: str | None, table: str, rows: int, fmt: str
) -> None:
    """Write the audit line of an export: which table, how many rows, which format."""
    with writing(engine) as conn:
        record(
            conn,
            actor,
            "export",
            "table",
            table,
            call_id=call_id,
            after={"rows": rows, "format": fmt},
        )


def call_table(engine: sa.Engine, actor: Actor, call_id: str, table: str) -> pl.DataFrame:
    """One of :data:`CALL_TABLES` of the stored call, in its call-folder columns."""
    if table not in CALL_TABLES:
        raise InvalidInput(f"the call tables are {', '.join(CALL_TABLES)}; got {table!r}")
    frame: pl.DataFrame = getattr(call_folder(engine, actor, call_id), table)
    return frame.select(list(polars_schema(table)))


Reader = Callable[[sa.Engine, Actor, str], pl.DataFrame]


def _call_table_reader(table: str) -> Reader:
    return lambda engine, actor, call_id: call_table(engine, actor, call_id, table)


READERS: dict[str, Reader] = {
    **{table: _call_table_reader(table) for table in CALL_TABLES},
    "assignment": named_for_managers(published_with_explanations),
    "queues": named_for_managers(
        lambda e, a, c: list_tasks(e, a, c).sort("expert_id", "proposal_id")),
    "scores": scores_frame,
    "internal": named_for_managers(internal_comments),
    "consolidated": lambda e, a, c: consolidated_frame(e, a, c),
    "audit": named_audit_frame,
}
"""What each table export holds (the ranking is computed by the workflow, see
:func:`export_ranking`). The assignment, queues, internal comments and the audit log carry names
beside ids (:mod:`evalpanel.store.names`); the call tables, scores and consolidated scores keep
the call-folder columns, so that they read back."""


def table_frame(engine: sa.Engine, actor: Actor, call_id: str, table: str) -> pl.DataFrame:
    """The rows the export of ``table`` (a key of :data:`READERS`) holds."""
    if table not in READERS:
        raise InvalidInput(f"the tables to export are {', '.join(READERS)}; got {table!r}")
    with reading(engine) as conn:
        require_call(conn, call_id)
    return READERS[table](engine, actor, call_id)


def export_table(
    engine: sa.Engine, actor: Actor, call_id: str, table: str, path: str | Path
) -> Path:
    """Write ``table`` of the call to ``path`` (CSV or XLSX) and record the export."""
    frame = table_frame(engine, actor, call_id, table)
    written = write_frame(frame, path, sheet=table)
    record_export(engine, actor, call_id, table, frame.height, written.suffix.lower()[1:])
    return written


def export_call_table(
    engine: sa.Engine, actor: Actor, call_id: str, table: str, path: str | Path
) -> Path:
    """``proposals``, ``partners``, ``experts`` or ``conflicts`` in the call-folder format."""
    if table not in CALL_TABLES:
        raise InvalidInput(f"the call tables are {', '.join(CALL_TABLES)}; got {table!r}")
    return export_table(engine, actor, call_id, table, path)


def export_assignment(engine: sa.Engine, actor: Actor, call_id: str, path: str | Path) -> Path:
    """The published assignment (``task_id, proposal_id, expert_id, affinity, state, origin,
    explanation``)."""
    return export_table(engine, actor, call_id, "assignment", path)


def export_queues(engine: sa.Engine, actor: Actor, call_id: str, path: str | Path) -> Path:
    """Task queues (all for a manager, the expert's own for an expert), by expert."""
    return export_table(engine, actor, call_id, "queues", path)


def export_scores(engine: sa.Engine, actor: Actor, call_id: str, path: str | Path) -> Path:
    """Submitted individual scores in the ``scores.csv`` columns."""
    return export_table(engine, actor, call_id, "scores", path)


def export_internal_comments(
    engine: sa.Engine, actor: Actor, call_id: str, path: str | Path
) -> Path:
    """The experts' internal comments (never for applicants), apart from the scores export:
    ``proposal_id, expert_id, version_no, internal_comment``."""
    return export_table(engine, actor, call_id, "internal", path)


def export_consolidated(engine: sa.Engine, actor: Actor, call_id: str, path: str | Path) -> Path:
    """Final consensus scores (``proposal_id, criterion, score, comment, state``)."""
    return export_table(engine, actor, call_id, "consolidated", path)


def export_ranking(ranking: pl.DataFrame, path: str | Path) -> Path:
    """A lot's ranked list as computed by the scoring package (any columns); the caller
    records the export (:func:`record_export`), since the ranking is computed outside."""
    return write_frame(ranking, path, sheet="ranking")


def export_audit(engine: sa.Engine, actor: Actor, call_id: str | None, path: str | Path) -> Path:
    """The audit log of a call (managers), or all of it (system actor)."""
    if call_id is None:
        frame = audit_frame(engine, actor, None)
        written = write_frame(frame, path, sheet="audit")
        record_export(engine, actor, None, "audit", frame.height, written.suffix.lower()[1:])
        return written
    return export_table(engine, actor, call_id, "audit", path)
