"""Exports as CSV or XLSX (by the file's suffix), with spreadsheet formula injection defused.

Every string cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
prefixed with a single quote (OWASP's advice), so a spreadsheet shows it as text; the XLSX
writer also never turns strings into formulas or links. Numbers are written as numbers.
The export functions read through the services, so the same permissions apply.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import sqlalchemy as sa
import xlsxwriter

from evalpanel.store.audit import Actor, audit_frame
from evalpanel.store.batches import published_pairs
from evalpanel.store.consolidation import consolidated_frame
from evalpanel.store.errors import InvalidInput
from evalpanel.store.evaluations import internal_comments, scores_frame
from evalpanel.store.tasks import list_tasks

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every dangerous string cell prefixed by ``'`` (other cells unchanged)."""
    pattern = r"^[=+\-@\t\r]"
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(pattern))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c, dtype in frame.schema.items()
        if dtype == pl.String
    )


def write_frame(frame: pl.DataFrame, path: str | Path, *, sheet: str = "export") -> Path:
    """Write ``frame`` to ``path`` (``.csv`` or ``.xlsx``) after :func:`neutralise`."""
    path = Path(path)
    safe = neutralise(frame)
    # Nested values (lists) become "a;b" as in the call-folder format.
    safe = safe.with_columns(
        pl.col(c).list.join(";")
        for c, dtype in safe.schema.items()
        if isinstance(dtype, pl.List) and dtype.inner == pl.String
    )
    suffix = path.suffix.lower()
    if suffix == ".csv":
        safe.write_csv(path)
    elif suffix == ".xlsx":
        with xlsxwriter.Workbook(
            str(path),
            {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False},
        ) as book:
            safe.write_excel(book, worksheet=sheet, autofit=True)
    else:
        raise InvalidInput(f"export to a .csv or .xlsx file; got {path.name!r}")
    return path


def export_assignment(engine: sa.Engine, actor: Actor, call_id: str, path: str | Path) -> Path:
    """The published assignment (``task_id, proposal_id, expert_id, affinity, state, origin``)."""
    return write_frame(published_pairs(engine, actor, call_id), path, sheet="assignment")


def export_queues(engine: sa.Engine, actor: Actor, call_id: str, path: str | Path) -> Path:
    """Task queues (all for a manager, the expert's own for an expert), by expert."""
    frame = list_tasks(engine, actor, call_id).sort("expert_id", "proposal_id")
    return write_frame(frame, path, sheet="queues")


def export_scores(engine: sa.Engine, actor: Actor, call_id: str, path: str | Path) -> Path:
    """Submitted individual scores in the ``scores.csv`` columns."""
    return write_frame(scores_frame(engine, actor, call_id), path, sheet="scores")


def export_internal_comments(
    engine: sa.Engine, actor: Actor, call_id: str, path: str | Path
) -> Path:
    """The experts' internal comments (never for applicants), apart from the scores export:
    ``proposal_id, expert_id, version_no, internal_comment``."""
    return write_frame(internal_comments(engine, actor, call_id), path, sheet="internal")


def export_consolidated(engine: sa.Engine, actor: Actor, call_id: str, path: str | Path) -> Path:
    """Final consensus scores (``proposal_id, criterion, score, comment, state``)."""
    return write_frame(consolidated_frame(engine, actor, call_id), path, sheet="consolidated")


def export_ranking(ranking: pl.DataFrame, path: str | Path) -> Path:
    """A lot's ranked list as computed by the scoring package (any columns)."""
    return write_frame(ranking, path, sheet="ranking")


def export_audit(engine: sa.Engine, actor: Actor, call_id: str | None, path: str | Path) -> Path:
    """The audit log of a call (managers), or all of it (system actor)."""
    return write_frame(audit_frame(engine, actor, call_id), path, sheet="audit")
