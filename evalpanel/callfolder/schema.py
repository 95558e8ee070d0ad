"""Declared columns of every table in a call folder, and the polars dtypes the reader returns.

Each table is a tuple of :class:`Column`. ``kind`` says how a cell is parsed and checked:

- ``id``: non-empty string, unique in its table when ``unique``;
- ``text``: free string (empty allowed unless ``required``);
- ``list``: ``;``-separated values, returned as ``List(String)``, empty cells as ``[]``;
- ``isced`` / ``ecosystem`` / ``language`` / ``country``: vocabularies of :mod:`.vocab`
  (``isced``, ``ecosystem`` and ``language`` may be lists, see ``multi``);
- ``int`` / ``float`` / ``date`` / ``choice``: typed scalars.

Missing optional cells become the column's ``default`` (null when none is given). ``max_length``
is the longest string the database stores for the column (``evalpanel.store.tables``; a test keeps
the two in step), ``money`` marks an amount in euros, whose digits must not be grouped.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from evalpanel.vocab import ConflictKind, values

ID_LENGTH = 255  # the store's ids are String(255)

Kind = str  # one of KINDS
KINDS = ("id", "text", "list", "isced", "ecosystem", "language", "country", "int", "float",
         "date", "choice")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: Kind
    required: bool = True  # the column must be present in the file
    nullable: bool = False  # a present column may have empty cells
    multi: bool = False  # ";"-separated list of the kind
    unique: bool = False
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    default: int | float | str | None = None
    length: int | None = None  # overrides the default maximum length of an id (ID_LENGTH)
    money: bool = False

    @property
    def max_length(self) -> int | None:
        """The longest value the store keeps (None: no limit)."""
        if self.length is not None:
            return self.length
        return ID_LENGTH if self.kind == "id" else None

    @property
    def dtype(self) -> pl.DataType:
        if self.multi or self.kind == "list":
            return pl.List(pl.String)
        return {
            "int": pl.Int64(),
            "float": pl.Float64(),
            "date": pl.Date(),
        }.get(self.kind, pl.String())


ROLES = ("coordinator", "partner", "associated")
CONFLICT_KINDS = values(ConflictKind)

PROPOSALS = (
    Column("proposal_id", "id", unique=True),
    Column("lot", "id"),
    Column("title", "text"),
    Column("abstract", "text", required=False, nullable=True, default=""),
    Column("language", "language"),
    Column("fields", "isced", multi=True),
    Column("ecosystems", "ecosystem", multi=True, required=False, nullable=True),
    Column("keywords", "list", required=False, nullable=True),
    Column("requested_eur", "float", minimum=0.0, money=True),
)

PARTNERS = (
    Column("proposal_id", "id"),
    Column("org_id", "id", nullable=True),
    Column("org_name", "text"),
    Column("country", "country"),
    Column("role", "choice", choices=ROLES),
)

EXPERTS = (
    Column("expert_id", "id", unique=True),
    Column("name", "text"),
    Column("email", "text"),
    Column("org_id", "id", nullable=True),
    Column("org_name", "text", nullable=True, default=""),
    Column("country", "country"),
    Column("nationality", "country", required=False, nullable=True),
    Column("gender", "text", required=False, nullable=True, length=64),
    Column("languages", "language", multi=True),
    Column("fields", "isced", multi=True),
    Column("ecosystems", "ecosystem", multi=True, required=False, nullable=True),
    Column("keywords", "list", required=False, nullable=True),
    Column("profile", "text", required=False, nullable=True, default=""),
    Column("max_load", "int", minimum=0),
    Column("min_load", "int", required=False, nullable=True, minimum=0, default=0),
)

CONFLICTS = (
    Column("expert_id", "id"),
    Column("proposal_id", "id", nullable=True),
    Column("org_id", "id", nullable=True),
    Column("kind", "choice", choices=CONFLICT_KINDS),
    Column("since", "date", required=False, nullable=True),
    Column("note", "text", required=False, nullable=True, default=""),
)

AFFINITY = (
    Column("proposal_id", "id"),
    Column("expert_id", "id"),
    Column("affinity", "float", minimum=0.0, maximum=1.0),
)

SCORES = (
    Column("proposal_id", "id"),
    Column("expert_id", "id"),
    Column("criterion", "id"),
    Column("score", "float"),
    Column("comment", "text", required=False, nullable=True, default=""),
)

TABLES: dict[str, tuple[Column, ...]] = {
    "proposals": PROPOSALS,
    "partners": PARTNERS,
    "experts": EXPERTS,
    "conflicts": CONFLICTS,
    "affinity": AFFINITY,
    "scores": SCORES,
}
REQUIRED_TABLES = ("proposals", "partners", "experts")


def polars_schema(table: str) -> dict[str, pl.DataType]:
    """The schema of the frame the reader returns for ``table``."""
    return {col.name: col.dtype for col in TABLES[table]}
