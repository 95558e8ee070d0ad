"""Text cells a spreadsheet would run as a formula, and the one quote that keeps them text.

A CSV cell is *formula-like* when it starts with one of :data:`FORMULA_STARTS`: ``=``, ``+``,
``-``, ``@``, a tab, a carriage return, or the full-width ``＝ ＋ － ＠`` (OWASP's list, plus the
forms an East Asian input method types). A CSV export puts one single quote (``'``) in front of
every such cell, so that a spreadsheet shows it as text (:func:`quote_formulas`). A cell made of
quotes followed by a formula start gets one more quote too: that makes the step reversible, and
:func:`drop_formula_quote` (used by the call-folder reader on CSV files) removes exactly that one
quote, so an exported table reads back as it was stored. XLSX exports write text as string cells
and need neither step.
"""

from __future__ import annotations

import polars as pl

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_CLASS = "[=+\\-@\\t\\r\uff1d\uff0b\uff0d\uff20]"
NEEDS_QUOTE = f"^'*{_CLASS}"  # a cell quote_formulas prefixes
QUOTED = f"^'+{_CLASS}"  # a cell quote_formulas produced (and only such a cell)


def _text_columns(frame: pl.DataFrame) -> list[str]:
    return [c for c, dtype in frame.schema.items() if dtype == pl.String]


def quote_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with one ``'`` before every String cell matching :data:`NEEDS_QUOTE`; other
    cells and columns unchanged. Lists must be joined into their cells first."""
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(NEEDS_QUOTE))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in _text_columns(frame)
    )


def drop_formula_quote(frame: pl.DataFrame) -> pl.DataFrame:
    """The inverse of :func:`quote_formulas`: the first ``'`` of every String cell matching
    :data:`QUOTED` removed; any other cell (e.g. ``'quoted'``) unchanged. Columns without a
    leading quote anywhere are not scanned further."""
    text = _text_columns(frame)
    if not text:
        return frame
    # one query over every text column (a query per column costs about a millisecond each)
    starts = frame.select(pl.col(c).str.starts_with("'").any() for c in text).row(0)
    quoted = [c for c, any_quote in zip(text, starts, strict=True) if any_quote]
    if not quoted:
        return frame
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(QUOTED))
        .then(pl.col(c).str.slice(1))
        .otherwise(pl.col(c))
        .alias(c)
        for c in quoted
    )
