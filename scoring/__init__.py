"""scoring: schemes, aggregation, thresholds, divergence, ranking, reliability, mock reports.

A pure package: it takes polars frames and frozen dataclasses and returns results; it never
reads files (presets ship as package data) nor imports evalpanel. Public surface:

- schemes: :func:`load_scheme`, :func:`list_presets`, :func:`preset_text`, :class:`Scheme`,
  :class:`Criterion`, :class:`Divergence`, :class:`Band`, :class:`SchemeError`;
- scoring a call: :func:`score_call` -> :class:`ScoreResult`, :func:`check_scores`,
  :func:`score_evaluations`, :class:`LotRules`, :class:`TieOrder` (a manager's order of
  ex-aequo proposals);
- reliability (advisory): :func:`reliability` -> :class:`ReliabilityReport` (with plain
  readings on :data:`ICC_READING` and :data:`ALPHA_READING`), and on arrays
  :func:`alpha_interval`, :func:`alpha_interval_matrix`, :func:`icc_oneway` -> :class:`Icc`,
  :func:`fit_leniency` -> :class:`Leniency`;
- one evaluation form: :func:`check_form` -> :class:`FormCheck`, :func:`band_label`;
- advisory comment checks: :func:`comment_checks` (copied, contradicts_band, off_panel);
- rehearsal: :func:`mock_report` -> :class:`MockReport`.
"""

from __future__ import annotations

from ._aggregate import NO_SCORES, parse_failure
from ._comments import FLAG_SCHEMA as COMMENT_FLAG_SCHEMA
from ._comments import comment_checks
from ._form import CriterionCheck, FormCheck, allowed_values, band_label, check_form
from ._mock import MockReport, mock_report
from ._ranking import REASONS, LotRules, TieOrder, parse_reason, reason_text
from ._reliability import (
    ALPHA_READING,
    ALPHA_SOURCE,
    ICC_READING,
    ICC_SOURCE,
    ReliabilityReport,
    reliability,
)
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
from ._score import NO_LOT, ScoreResult, check_scores, score_call, score_evaluations
from ._stats import Icc, Leniency, alpha_interval, alpha_interval_matrix, fit_leniency, icc_oneway

__all__ = [
    "ALPHA_READING",
    "ALPHA_SOURCE",
    "COMMENT_FLAG_SCHEMA",
    "ICC_READING",
    "ICC_SOURCE",
    "NO_LOT",
    "NO_SCORES",
    "REASONS",
    "Band",
    "Criterion",
    "CriterionCheck",
    "Divergence",
    "FormCheck",
    "Icc",
    "Leniency",
    "LotRules",
    "MockReport",
    "ReliabilityReport",
    "Scheme",
    "SchemeError",
    "ScoreResult",
    "TieOrder",
    "allowed_values",
    "alpha_interval",
    "alpha_interval_matrix",
    "band_label",
    "check_form",
    "check_scores",
    "comment_checks",
    "fit_leniency",
    "icc_oneway",
    "list_presets",
    "load_scheme",
    "mock_report",
    "parse_failure",
    "parse_reason",
    "preset_text",
    "reason_text",
    "reliability",
    "score_call",
    "score_evaluations",
]
