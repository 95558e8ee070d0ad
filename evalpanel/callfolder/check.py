"""Turn a raw all-string table into the typed frame its schema declares, collecting problems.

Every check is a polars expression over whole columns; only the rows found bad are turned into
messages. A table with problems still yields a typed frame (bad cells null) so that the
cross-table checks can run and report everything in one pass.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from evalpanel.callfolder import vocab
from evalpanel.callfolder.numbers import check_native_number, check_number
from evalpanel.callfolder.problems import MAX_PER_COLUMN, Problem
from evalpanel.callfolder.problems import located as _report
from evalpanel.callfolder.schema import Column
from evalpanel.callfolder.tables import LINE, RawTable

_ECOSYSTEM_KEYS = {vocab._ecosystem_key(name): name for name in vocab.ECOSYSTEMS}


def _ecosystem_key(expr: pl.Expr) -> pl.Expr:
    return (
        expr.str.to_lowercase()
        .str.replace_all("&", " and ", literal=True)
        .str.replace_all(r"[\s\-–—_,]+", "")
    )


@dataclass(frozen=True, slots=True)
class _Vocabulary:
    key: Callable[[pl.Expr], pl.Expr]  # the cell -> the lookup key
    mapping: dict[str, str]  # key -> canonical value
    expected: str  # what a valid value is, for messages
    suggest: Callable[[str], str | None]  # the valid value a bad one most likely meant

    def messages(self, raw: pl.Series) -> pl.Series:
        """A message for each of the first bad values of ``raw`` (as many as are reported),
        suggesting the nearest valid value, computed once per distinct value."""
        raw = raw.head(MAX_PER_COLUMN)
        text = {}
        for value in raw.unique().to_list():
            hint = self.suggest(value)
            text[value] = f'"{value}" {self.expected}' + (
                f'; did you mean "{hint}"?' if hint is not None else ""
            )
        return raw.replace_strict(text, return_dtype=pl.String)


def _vocabulary(kind: str) -> _Vocabulary:
    """The vocabulary of a column kind."""
    if kind == "isced":
        return _Vocabulary(
            lambda e: e,
            {c: c for c in vocab.ISCED_CODES},
            "is not an ISCED-F 2013 detailed field code (4 digits with the leading zero, "
            "e.g. 0714)",
            vocab.suggest_isced,
        )
    if kind == "ecosystem":
        return _Vocabulary(
            _ecosystem_key,
            _ECOSYSTEM_KEYS,
            "is not one of the 14 industrial ecosystems (" + "; ".join(vocab.ECOSYSTEMS) + ")",
            vocab.suggest_ecosystem,
        )
    if kind == "language":
        codes = vocab._language_codes()
        return _Vocabulary(
            lambda e: e.str.to_lowercase(),
            {c: c for c in codes},
            "is not an ISO 639-1 language code (two letters, e.g. en, fr, de)",
            vocab.suggest_language,
        )
    return _Vocabulary(
        lambda e: e.str.to_uppercase(),
        vocab.country_codes(),
        "is not an ISO 3166-1 alpha-2 country code (e.g. BE, DE, EL, UK)",
        vocab.suggest_country,
    )


def check_table(raw: RawTable, columns: tuple[Column, ...]) -> tuple[pl.DataFrame, list[Problem]]:
    """The typed frame (declared columns plus LINE) and the problems found in single cells."""
    frame = raw.frame
    problems = column_problems(raw.file, frame.columns, columns)
    present = [c for c in columns if c.name in frame.columns]
    # numeric columns are checked as numbers or cast; the others are text, maybe padded
    padded = _padded(frame, [c.name for c in present if not frame.schema[c.name].is_numeric()])
    stripped = frame.with_columns(
        _as_text(pl.col(c.name), frame[c.name], c, c.name in padded) for c in present
    )
    if stripped.height == 0:
        problems.append(Problem(raw.file, None, "", "has a header but no rows"))
    typed: list[pl.Series] = []
    for col in columns:
        if col.name in stripped.columns:
            sub = pl.DataFrame([stripped[col.name], stripped[LINE]])  # no query needed
            series, found = _check_column(raw.file, sub, col)
            problems += found
        else:
            series = _default_series(col, stripped.height)
        typed.append(series)
    out = pl.DataFrame(typed).with_columns(stripped[LINE])
    return out, problems


def column_problems(file: str, names: list[str], columns: tuple[Column, ...]) -> list[Problem]:
    """The header's problems: a declared column missing, a column not declared."""
    problems: list[Problem] = []
    missing = [c.name for c in columns if c.required and c.name not in names]
    if missing:
        expected = ", ".join(c.name for c in columns)
        for name in missing:
            problems.append(
                Problem(file, 1, name, f"missing column (the columns are: {expected})")
            )
    declared = [c.name for c in columns]
    for name in names:
        if name != LINE and name not in declared:
            close = difflib.get_close_matches(name, declared, n=1)
            hint = f'did you mean "{close[0]}"? ' if close else ""
            problems.append(
                Problem(
                    file,
                    1,
                    name,
                    f"unknown column; {hint}the columns are: {', '.join(declared)}",
                )
            )
    return problems


def _native(dtype: pl.DataType, col: Column) -> bool:
    """A numeric column declared as a number: checked without going through strings."""
    return col.kind in ("int", "float") and dtype.is_numeric()


def _padded(frame: pl.DataFrame, names: list[str]) -> set[str]:
    """The columns among ``names`` with a cell that has space to strip, found in one query.
    Only the distinct values are compared: a column of millions of rows (the ids of a dense
    affinity table) has a few thousand, and usually none to strip."""
    if not names:
        return set()
    found = frame.select(
        (pl.col(n).unique().str.strip_chars() != pl.col(n).unique()).any().alias(n)
        for n in names
    ).row(0)
    return {n for n, padded in zip(names, found, strict=True) if padded}


def _as_text(expr: pl.Expr, values: pl.Series, col: Column, padded: bool) -> pl.Expr:
    """The column as stripped strings (``padded``: some cell has space to strip), or as it is
    when it is checked as a number."""
    if _native(values.dtype, col):
        return expr
    if values.dtype.is_numeric():  # e.g. numeric ids in a Parquet file
        return expr.cast(pl.String)
    return expr.str.strip_chars() if padded else expr


def _default_series(col: Column, height: int) -> pl.Series:
    if col.multi or col.kind == "list":
        return pl.Series(col.name, [[] for _ in range(height)], dtype=pl.List(pl.String))
    return pl.repeat(col.default, height, dtype=col.dtype, eager=True).alias(col.name)


def _check_column(file: str, sub: pl.DataFrame, col: Column) -> tuple[pl.Series, list[Problem]]:
    name = col.name
    cell = pl.col(name)
    if _native(sub.schema[name], col):
        return check_native_number(file, sub, col)
    empty = cell.is_null() | (cell == "")
    problems: list[Problem] = []
    if not col.nullable:
        bad = sub.filter(empty)
        problems += _report(
            file,
            name,
            bad[LINE],
            pl.repeat("is empty; a value is required", bad.height, eager=True),
        )
    if col.multi or col.kind == "list":
        values = sub.select(
            pl.when(empty)
            .then(pl.lit([], dtype=pl.List(pl.String)))
            .otherwise(
                cell.str.split(";").list.eval(
                    pl.element().str.strip_chars().filter(pl.element() != "")
                )
            )
            .alias(name),
            pl.col(LINE),
        )
        if col.kind == "list":
            return values[name], problems
        listed = _vocabulary(col.kind)
        exploded = values.with_row_index("__row__").explode(name).drop_nulls(name)
        exploded = exploded.with_columns(
            listed.key(pl.col(name))
            .replace_strict(listed.mapping, default=None, return_dtype=pl.String)
            .alias("__ok__")
        )
        bad = exploded.filter(pl.col("__ok__").is_null())
        if bad.height:
            problems += _report(file, name, bad[LINE], listed.messages(bad[name]))
        rebuilt = exploded.group_by("__row__").agg(
            pl.col("__ok__").drop_nulls().unique(maintain_order=True)
        )
        series = (
            pl.DataFrame({"__row__": pl.int_range(0, sub.height, eager=True, dtype=pl.UInt32)})
            .join(rebuilt, on="__row__", how="left")
            .sort("__row__")
            .select(pl.col("__ok__").fill_null(pl.lit([], dtype=pl.List(pl.String))))
            .to_series()
            .alias(name)
        )
        if not col.nullable:
            had_bad = bad["__row__"].unique().implode()
            none_left = sub.with_row_index("__row__").filter(
                ~empty & (series.list.len() == 0) & ~pl.col("__row__").is_in(had_bad)
            )
            problems += _report(
                file,
                name,
                none_left[LINE],
                pl.repeat("has no valid value", none_left.height, eager=True),
            )
        return series, problems

    kind = col.kind
    if kind in ("id", "text"):
        if col.max_length is not None:
            problems += _too_long(file, sub, name, col.max_length)
        nul = cell.str.contains("\x00", literal=True)
        if sub.select(nul.any()).item():  # PostgreSQL text cannot hold it
            bad = sub.filter(nul)
            problems += _report(
                file,
                name,
                bad[LINE],
                pl.repeat("contains a NUL character: remove it", bad.height, eager=True),
            )
        if col.default is None and not sub.select(empty.any()).item():
            return sub[name], problems
        series = sub.select(
            pl.when(empty).then(pl.lit(col.default, dtype=pl.String)).otherwise(cell).alias(name)
        ).to_series()
        return series, problems
    words: _Vocabulary | None = None
    if kind in ("isced", "ecosystem", "language", "country"):
        words = _vocabulary(kind)
        parsed = words.key(cell).replace_strict(
            words.mapping, default=None, return_dtype=pl.String
        )
        message = pl.lit("")
    elif kind == "choice":
        choices = {c: c for c in col.choices}
        parsed = cell.str.to_lowercase().replace_strict(
            choices, default=None, return_dtype=pl.String
        )
        message = pl.format('"{}" is not one of: ', "__raw__") + pl.lit(", ".join(col.choices))
    elif kind == "date":
        # a real date cell of an XLSX sheet is read as "2025-06-30 00:00:00"
        parsed = cell.str.replace(r"[ T]00:00:00(\.0+)?$", "").str.to_date(
            "%Y-%m-%d", strict=False
        )
        message = pl.format('"{}" is not an ISO date (YYYY-MM-DD)', "__raw__")
    else:
        return check_number(file, sub, col, empty, problems)
    typed = sub.select(
        parsed.alias(name), pl.col(LINE), cell.alias("__raw__"), empty.alias("__empty__")
    )
    bad = typed.filter(pl.col(name).is_null() & ~pl.col("__empty__"))
    if bad.height:
        messages = (
            words.messages(bad["__raw__"]) if words is not None else bad.select(message).to_series()
        )
        problems += _report(file, name, bad[LINE], messages)
    return typed[name], problems


def _too_long(file: str, sub: pl.DataFrame, name: str, limit: int) -> list[Problem]:
    """Cells longer than the database stores."""
    length = pl.col(name).str.len_chars()
    if not sub.select((length > limit).any()).item():
        return []
    bad = sub.filter(length > limit).select(LINE, length.alias("__len__"))
    messages = bad.select(
        pl.format("is {} characters long; at most {} are allowed", "__len__", pl.lit(limit))
    ).to_series()
    return _report(file, name, bad[LINE], messages)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def max_grant_problems(file: str, proposals: pl.DataFrame, lots: dict[str, float]) -> list[Problem]:
    """A request above its lot's maximum EU grant: one located problem per proposal row.

    ``proposals``: ``lot, requested_eur`` (EUR) and LINE; ``lots``: lot id -> max_grant_eur.
    """
    if not lots:
        return []
    limit = pl.col("lot").replace_strict(lots, default=None, return_dtype=pl.Float64)
    bad = proposals.filter(limit.is_not_null() & (pl.col("requested_eur") > limit)).sort(LINE)
    return [
        Problem(
            file,
            int(line),
            "requested_eur",
            f"{_num(requested)} is above the maximum grant of lot {lot} ({_num(lots[lot])} EUR, "
            f"call.toml lots.{lot}.max_grant_eur)",
        )
        for lot, requested, line in bad.select("lot", "requested_eur", LINE).iter_rows()
    ]
