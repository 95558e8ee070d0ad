"""What the call-folder reader returns: the call's configuration and its typed frames.

Frames follow :mod:`evalpanel.callfolder.schema` exactly (column names and dtypes), each sorted by
its id columns. Multi-valued cells are ``List(String)``; ecosystems are canonical names,
countries upper-case ISO 3166-1 alpha-2 (``EL`` for Greece), languages lower-case ISO 639-1.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from evalpanel.callfolder.pairs import PairMatrix
from scoring import Scheme


@dataclass(frozen=True, slots=True)
class Lot:
    """A lot of the call: its budget and optional per-lot rules."""

    id: str
    budget_eur: float
    title: str = ""
    one_per: str | None = None  # e.g. "ecosystem": at most one funded proposal per ecosystem
    experts_per_proposal: int | None = None  # overrides the call's default
    max_grant_eur: float | None = None  # the largest EU grant one proposal may request (EUR)


@dataclass(frozen=True, slots=True)
class CallConfig:
    """``call.toml``.

    ``scheme_overrides`` is the ``[scheme]`` table as written (nested dicts), merged over the
    preset named by ``scheme`` by the scoring package.
    """

    id: str
    title: str
    scheme: str
    experts_per_proposal: int
    lots: dict[str, Lot]
    deadline: str | None = None
    scheme_overrides: dict[str, Any] = field(default_factory=dict)
    text_model: str | None = None  # [assignment] text_model; None: the best installed


@dataclass(frozen=True, slots=True)
class CallFolder:
    """A validated call folder."""

    path: Path
    config: CallConfig
    proposals: pl.DataFrame
    partners: pl.DataFrame
    experts: pl.DataFrame
    conflicts: pl.DataFrame  # empty frame with the declared schema when the file is absent
    affinity: pl.DataFrame | None
    scores: pl.DataFrame | None
    # sha256 over the folder's input files, for batch records ("": read without hashing them)
    content_hash: str = ""
    scheme: Scheme | None = None  # the preset named in call.toml with its overrides applied
    # the ``affinity`` frame lists every (proposal, expert) pair once, in the frames' id order
    frame_grid: bool = False
    # the affinity table read as the (P, E) float32 matrix (``read_call(...,
    # affinity_matrix=True)``), instead of the ``affinity`` frame; a Future while it is still
    # being read in the background (``read_call(..., wait=False)``)
    pair_matrix: PairMatrix | Future[PairMatrix] | None = None

    def _pairs(self) -> PairMatrix | None:
        """The matrix read, waiting for a background read to end: raises its
        :class:`~evalpanel.callfolder.problems.CallFolderError` when the table has problems."""
        read = self.pair_matrix
        return read.result() if isinstance(read, Future) else read

    @property
    def affinity_matrix(self) -> np.ndarray | None:
        """The (P, E) float32 affinity matrix read from the table, rows and columns in the
        frames' order (``None`` without one; waits for a background read, see :meth:`_pairs`)."""
        pairs = self._pairs()
        return None if pairs is None else pairs.values

    @property
    def affinity_grid(self) -> bool:
        """Whether the affinity table lists every (proposal, expert) pair once (a frame: in
        the frames' id order)."""
        pairs = self._pairs()
        return self.frame_grid if pairs is None else pairs.complete

    def check_affinity(self) -> None:
        """Wait for the affinity table's background read; raise its problems, if any."""
        self._pairs()

    @property
    def has_affinity(self) -> bool:
        """Whether the call gives its affinities (a frame or a matrix), not to be computed;
        known without waiting for a background read."""
        return self.affinity is not None or self.pair_matrix is not None

    @property
    def affinity_count(self) -> int:
        """Rows of the affinity table (0 without one)."""
        if self.affinity is not None:
            return self.affinity.height
        pairs = self._pairs()
        return 0 if pairs is None else pairs.rows

    def experts_per_proposal(self, lot: str) -> int:
        """k for a lot: the lot's own value, else the call's."""
        own = self.config.lots[lot].experts_per_proposal
        return own if own is not None else self.config.experts_per_proposal
