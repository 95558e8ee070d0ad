"""Number cells: how a number must be written, and the checks of range, wholeness and
finiteness, as polars expressions over a column (see :mod:`.check`)."""

from __future__ import annotations

import numpy as np
import polars as pl

from evalpanel.callfolder.problems import Problem
from evalpanel.callfolder.problems import located as _report
from evalpanel.callfolder.schema import Column
from evalpanel.callfolder.tables import LINE

# How a number must be written: digits, optionally a sign, "." for decimals and an exponent
# (amounts in euros: no exponent). Digit groups are refused rather than guessed: "1.500" is
# 1500 in much of Europe and 1.5 elsewhere.
_PLAIN = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_PLAIN_MONEY = r"^[+-]?(\d+\.?\d*|\.\d+)$"
_GROUPED = r"^[+-]?[1-9]\d{0,2}(\.\d{3})+$"  # 1.500, 12.000.000
_HOW = 'write plain digits with "." for decimals, e.g. 1500 or 1500.5'


def check_number(
    file: str, sub: pl.DataFrame, col: Column, empty: pl.Expr, problems: list[Problem]
) -> tuple[pl.Series, list[Problem]]:
    name = col.name
    cell = pl.col(name)
    number = cell.cast(pl.Float64, strict=False)
    if col.money:  # no exponent; elsewhere what polars reads is plain (or caught below)
        number = pl.when(cell.str.contains(_PLAIN_MONEY)).then(number)
    checks = sub.select(
        number.alias("__num__"),
        pl.col(LINE),
        cell.alias("__raw__"),
        empty.alias("__empty__"),
    )
    present = ~pl.col("__empty__") & pl.col("__num__").is_null()
    raw = pl.col("__raw__")
    ambiguous = (
        ~pl.col("__empty__") & raw.str.contains(_GROUPED) if col.money else pl.lit(False)
    )
    written = [
        (
            present & raw.str.contains(r"(?i)€|\beur\b|\$|%"),
            pl.format('"{}" has a unit or currency sign: ' + _HOW, raw),
        ),
        (
            present & raw.str.contains(","),
            pl.format('"{}" has a comma: ' + _HOW, raw),
        ),
        (
            present & raw.str.contains(r"\d[\s_']+\d|^[+-]?\d{1,3}(\.\d{3}){2,}$"),
            pl.format('"{}" has its digits grouped: ' + _HOW, raw),
        ),
        (
            ambiguous,
            pl.format(
                '"{}" is ambiguous ("." may group thousands or mark decimals): ' + _HOW, raw
            ),
        ),
        (
            present & raw.str.contains(_PLAIN) if col.money else pl.lit(False),
            pl.format('"{}" is written with an exponent: ' + _HOW, raw),
        ),
        (
            ~pl.col("__empty__")
            & raw.str.to_lowercase().str.contains(r"^[+-]?(inf|infinity|nan)$"),
            pl.format('"{}" is not a finite number', raw),
        ),
    ]
    # every way of writing above but the ambiguous amount also fails to parse as a finite
    # number, so only that one has to be looked for before knowing that a cell is bad
    return _number_problems(file, checks, col, problems, written, [ambiguous])


def check_native_number(
    file: str, sub: pl.DataFrame, col: Column
) -> tuple[pl.Series, list[Problem]]:
    """A column that is numeric already (Parquet): null is empty, NaN is not a number; the raw
    value is shown as polars formats it (``1.5``, ``7.0``, ``-3``)."""
    name = col.name
    problems: list[Problem] = []
    checks = sub.select(
        pl.col(name).cast(pl.Float64).alias("__num__"),
        pl.col(LINE),
        pl.col(name).alias("__raw__"),
        pl.col(name).is_null().alias("__empty__"),
    )
    if not col.nullable:
        bad = checks.filter(pl.col("__empty__"))
        problems += _report(
            file,
            name,
            bad[LINE],
            pl.repeat("is empty; a value is required", bad.height, eager=True),
        )
    return _number_problems(file, checks, col, problems)


def _number_problems(
    file: str,
    checks: pl.DataFrame,
    col: Column,
    problems: list[Problem],
    written: list[tuple[pl.Expr, pl.Expr]] | None = None,
    parsed_but_bad: list[pl.Expr] | None = None,
) -> tuple[pl.Series, list[Problem]]:
    """``checks``: ``__num__`` (Float64, null when unparsable), LINE, ``__raw__`` (the cell as
    given), ``__empty__`` (Boolean); ``written``: (condition, message) of the ways a cell was
    written that say how to write it instead, tried first, of which only ``parsed_but_bad`` can
    hold for a cell that parsed as a finite number. Returns the typed column and the problems."""
    name = col.name
    present = ~pl.col("__empty__")
    messages = [
        *(written or []),
        (present & pl.col("__num__").is_null(), pl.format('"{}" is not a number', "__raw__")),
        (present & pl.col("__num__").is_nan(), pl.format('"{}" is not a number', "__raw__")),
        (
            present & pl.col("__num__").is_infinite(),
            pl.format('"{}" is not a finite number (too large)', "__raw__"),
        ),
    ]
    if col.kind == "int":
        messages.append(
            (
                present & (pl.col("__num__") != pl.col("__num__").round()),
                pl.format('"{}" is not a whole number', "__raw__"),
            )
        )
    if col.minimum is not None:
        messages.append(
            (
                present & (pl.col("__num__") < col.minimum),
                pl.format("{} is below the minimum {}", "__raw__", pl.lit(_num(col.minimum))),
            )
        )
    if col.maximum is not None:
        messages.append(
            (
                present & (pl.col("__num__") > col.maximum),
                pl.format("{} is above the maximum {}", "__raw__", pl.lit(_num(col.maximum))),
            )
        )
    bad_any = pl.lit(False)
    for condition in [c for c, _ in messages[len(written or []) :]] + (parsed_but_bad or []):
        bad_any = bad_any | condition.fill_null(False)
    if not checks.select(bad_any.any()).item():
        value = pl.col("__num__")  # the common case: one pass over the column, no messages
    else:
        bad_any = pl.lit(False)
        for condition, message in messages:
            bad = checks.filter(condition.fill_null(False) & ~bad_any)
            problems += _report(
                file, name, bad[LINE], bad.select(message.cast(pl.String)).to_series()
            )
            bad_any = bad_any | condition.fill_null(False)
        value = pl.when(bad_any).then(None).otherwise(pl.col("__num__"))
    if col.default is not None:
        value = pl.when(pl.col("__empty__")).then(pl.lit(col.default)).otherwise(value)
    series = checks.select(value.cast(col.dtype).alias(name)).to_series()
    return series, problems


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def all_valid(values: np.ndarray, col: Column) -> bool:
    """Whether :func:`check_native_number` would find nothing wrong in ``values``: a numeric
    column without nulls, as numpy (float or integer). Two reductions over the values instead of
    the checks' expressions: a NaN makes both extremes NaN, which fails the comparisons, and an
    infinite value lies outside any declared range (one without a range is checked in full)."""
    if values.size == 0 or col.kind != "float" or col.minimum is None or col.maximum is None:
        return False
    lo, hi = values.min(), values.max()
    return bool(col.minimum <= lo and hi <= col.maximum)
