"""Located problems found in a call folder: ``file:line: column: problem``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One problem; ``line`` is the 1-based line of the file (None for the whole file)."""

    file: str
    line: int | None
    column: str
    message: str

    def relocated(self, folder: Path) -> Problem:
        """The same problem with ``file`` given as a path inside ``folder``."""
        return Problem(str(folder / self.file), self.line, self.column, self.message)

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return (
            f"{where}: {self.column}: {self.message}" if self.column else f"{where}: {self.message}"
        )


class CallFolderError(Exception):
    """A call folder failed validation; ``problems`` holds every problem found, in file order."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(problems, key=_sort_key)
        super().__init__("\n".join(str(p) for p in self.problems))


def _sort_key(p: Problem) -> tuple[str, int, str, str]:
    return (p.file, -1 if p.line is None else p.line, p.column, p.message)
