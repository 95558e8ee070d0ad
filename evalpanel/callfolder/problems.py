"""Located problems found in a call folder: ``file:line: column: problem``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One problem; ``line`` is the 1-based line of the file (None for the whole file)."""

    file: str
    line: int | None
    column: str
    message: str
    rows: int = field(default=1, compare=False)  # >1: stands for that many rows (a summary)

    def relocated(self, folder: Path) -> Problem:
        """The same problem with ``file`` given as a path inside ``folder``."""
        return Problem(str(folder / self.file), self.line, self.column, self.message, self.rows)

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return (
            f"{where}: {self.column}: {self.message}" if self.column else f"{where}: {self.message}"
        )


MAX_PER_COLUMN = 200  # messages per (file, column, problem) before summarising the rest


def located(file: str, column: str, lines: pl.Series, messages: pl.Series) -> list[Problem]:
    """One problem per (line, message) of a column, the first ``MAX_PER_COLUMN`` of them, then
    one that stands for the rest."""
    out = [
        Problem(file, int(line), column, str(msg))
        for line, msg in zip(lines[:MAX_PER_COLUMN], messages[:MAX_PER_COLUMN], strict=True)
    ]
    if len(lines) > MAX_PER_COLUMN:
        out.append(
            Problem(
                file,
                int(lines[MAX_PER_COLUMN]),
                column,
                f"... and {len(lines) - MAX_PER_COLUMN:,} more rows with problems in this "
                "column (fix the ones above and validate again)",
                rows=len(lines) - MAX_PER_COLUMN,
            )
        )
    return out


class CallFolderError(Exception):
    """A call folder failed validation; ``problems`` holds every problem found, in file order."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(problems, key=_sort_key)
        super().__init__("\n".join(str(p) for p in self.problems))


def _sort_key(p: Problem) -> tuple[str, int, str, str]:
    return (p.file, -1 if p.line is None else p.line, p.column, p.message)


SHOWN_PER_KIND = 3  # problems of one kind printed in full before the rest are counted
_VALUE = re.compile(r'"[^"]*"|\b\d[\d.,]*\b')


def kind_of(problem: Problem) -> tuple[str, str, str]:
    """What makes problems "the same": the file, the column and the message with its quoted
    values and numbers left out (``"P9" is not in proposals`` ~ ``"P7" is not in proposals``)."""
    return (problem.file, problem.column, _VALUE.sub("…", problem.message))


def report(problems: Iterable[Problem], folder: Path | None = None) -> list[str]:
    """The lines to show for ``problems``: a summary by file first, then each kind of problem
    with its first occurrences in full and a count of the others. ``folder`` prefixes files."""
    ordered = sorted(problems, key=_sort_key)
    kinds: dict[tuple[str, str, str], list[Problem]] = {}
    for problem in ordered:
        kinds.setdefault(kind_of(problem), []).append(problem)
    per_file: dict[str, dict[str, int]] = {}
    for (file, column, _), found in kinds.items():
        columns = per_file.setdefault(file, {})
        columns[column] = columns.get(column, 0) + count(found)

    def where(file: str) -> str:
        return str(folder / file) if folder is not None else file

    lines = [f"{_count(count(ordered), 'problem')} in {_count(len(per_file), 'file')}:"]
    for file, columns in per_file.items():
        detail = "; ".join(f"{col or 'the file'}: {n:,}" for col, n in columns.items())
        lines.append(f"  {where(file)}: {_count(sum(columns.values()), 'problem')} ({detail})")
    for (file, column, _), found in kinds.items():
        shown = found[:SHOWN_PER_KIND]
        lines += [str(p.relocated(folder)) if folder is not None else str(p) for p in shown]
        rest = len(found) - len(shown)
        if rest:
            first = found[SHOWN_PER_KIND]
            at = f" {column}:" if column else ""
            lines.append(
                f"{where(file)}:{at} ... and {_count(rest, 'more row')} of {file} with the same "
                f"problem (next on line {first.line}: {first.message})"
            )
    return lines


def count(problems: Iterable[Problem]) -> int:
    """How many problems ``problems`` stand for (a summary stands for the rows it counts)."""
    return sum(p.rows for p in problems)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'s' if n != 1 else ''}"
