"""scoring: schemes, aggregation, thresholds, divergence, ranking, reliability, mock reports.

A pure package: it takes polars frames and frozen dataclasses and returns results; it never
reads files (presets ship as package data) nor imports evalpanel. Public surface:

- schemes: :func:`load_scheme`, :func:`list_presets`, :func:`preset_text`, :class:`Scheme`,
  :class:`Criterion`, :class:`Divergence`, :class:`Band`, :class:`SchemeError`;
- scoring a call: :func:`score_call` -> :class:`ScoreResult`, :func:`check_scores`,
  :class:`LotRules`;
"""

from __future__ import annotations

from ._ranking import LotRules
from ._scheme import (
    Band,
    Criterion,
    Divergence,
    Scheme,
    SchemeError,
    list_presets,
    load_scheme,
    preset_text,
)
from ._score import NO_LOT, ScoreResult, check_scores, score_call

__all__ = [
    "NO_LOT",
    "Band",
    "Criterion",
    "Divergence",
    "LotRules",
    "Scheme",
    "SchemeError",
    "ScoreResult",
    "check_scores",
    "list_presets",
    "load_scheme",
    "preset_text",
    "score_call",
]
