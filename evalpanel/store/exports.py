"""Exports as CSV or XLSX (by the file's suffix) that no spreadsheet runs as a formula, and that
read back as they were stored.

- List cells are joined with ``;`` first, as in the call-folder format; dates become ISO text.
- CSV: every text cell a spreadsheet would read as a formula then gets one leading ``'``
  (:func:`evalpanel.callfolder.formulas.quote_formulas`; the call-folder reader drops exactly
  that quote again). Numbers are written as numbers.
- XLSX: text is written as string cells (never formulas or links, no apostrophe added), numbers
  as numbers, an empty cell for a null.

The call tables (:data:`CALL_TABLES`) and the scores are written in the call-folder columns, so
that an export is a valid call-folder file. The export functions read through the services, so
the same permissions apply, and each export is recorded in the audit log (table, rows, format).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import polars as pl
import sqlalchemy as sa
import xlsxwriter

from evalpanel.callfolder.formulas import FORMULA_STARTS, quote_formulas
from evalpanel.callfolder.schema import polars_schema
from evalpanel.store.audit import Actor, audit_frame, record
from evalpanel.store.batches import published_pairs
from evalpanel.store.calls import _require_call, call_folder
from evalpanel.store.consolidation import consolidated_frame
from evalpanel.store.engine import reading, writing
from evalpanel.store.errors import InvalidInput
from evalpanel.store.evaluations import internal_comments, scores_frame
from evalpanel.store.tasks import list_tasks

DANGEROUS = FORMULA_STARTS
CALL_TABLES = ("proposals", "partners", "experts", "conflicts")
XLSX_MAX_CHARS = 32_767  # Excel's limit on the text of one cell


def flatten(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with list cells joined by ``;`` and dates/times as ISO text."""
    out = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.List):
            out.append(col.list.eval(pl.element().cast(pl.String)).list.join(";"))
        elif dtype == pl.Date:
            out.append(col.dt.to_string("%Y-%m-%d"))
        elif isinstance(dtype, pl.Datetime):
            out.append(col.dt.to_string("iso"))
    return frame.with_columns(out) if out else frame


def neutralise(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` as a CSV export writes it: :func:`flatten`, then formula-like text quoted."""
    return quote_formulas(flatten(frame))


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """The CSV export of ``frame`` (UTF-8), e.g. for a download button."""
    return neutralise(frame).write_csv().encode("utf-8")


def _write_xlsx(frame: pl.DataFrame, path: Path, sheet: str) -> None:
    flat = flatten(frame)
    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    with xlsxwriter.Workbook(str(path), options) as book:
        ws = book.add_worksheet(sheet[:31])
        for c, name in enumerate(flat.columns):
            ws.write_string(0, c, name)
        for r, row in enumerate(flat.iter_rows(), start=1):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, bool):
                    ws.write_boolean(r, c, value)
                elif isinstance(value, int | float) and math.isfinite(value):
                    ws.write_number(r, c, value)
                else:
                    text = str(value)
                    if len(text) > XLSX_MAX_CHARS:
                        raise InvalidInput(
                            f"row {r}, column {flat.columns[c]!r} holds {len(text)} characters; "
                            f"an XLSX cell holds at most {XLSX_MAX_CHARS}: export as .csv"
                        )
                    ws.write_string(r, c, text)
        ws.autofit()


def write_frame(frame: pl.DataFrame, path: str | Path, *, sheet: str = "export") -> Path:
    """Write ``frame`` to ``path`` (``.csv`` or ``.xlsx``) as described in the module."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        path.write_bytes(csv_bytes(frame))
    elif suffix == ".xlsx":
        _write_xlsx(frame, path, sheet)
    else:
        raise InvalidInput(f"export to a .csv or .xlsx file; got {path.name!r}")
    return path


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
    "assignment": published_pairs,
    "queues": lambda e, a, c: list_tasks(e, a, c).sort("expert_id", "proposal_id"),
    "scores": scores_frame,
    "internal": internal_comments,
    "consolidated": lambda e, a, c: consolidated_frame(e, a, c),
    "audit": audit_frame,
}
"""What each table export holds (the ranking is computed by the workflow, see
:func:`export_ranking`)."""


def table_frame(engine: sa.Engine, actor: Actor, call_id: str, table: str) -> pl.DataFrame:
    """The rows the export of ``table`` (a key of :data:`READERS`) holds."""
    if table not in READERS:
        raise InvalidInput(f"the tables to export are {', '.join(READERS)}; got {table!r}")
    with reading(engine) as conn:
        _require_call(conn, call_id)
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
    """The published assignment (``task_id, proposal_id, expert_id, affinity, state, origin``)."""
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
