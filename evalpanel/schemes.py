"""Scoring schemes as the application offers them: the presets, a call's scheme, and the check of
one evaluation form.

The dashboard reaches the scoring engine only through evalpanel; this module is that door for
schemes. Everything here is the engine's own (:mod:`scoring`), so a rule still lives in one place.
"""

from __future__ import annotations

from scoring import (
    Criterion,
    CriterionCheck,
    FormCheck,
    Scheme,
    SchemeError,
    allowed_values,
    band_label,
    check_form,
    list_presets,
    load_scheme,
)

__all__ = [
    "Criterion",
    "CriterionCheck",
    "FormCheck",
    "Scheme",
    "SchemeError",
    "allowed_values",
    "band_label",
    "check_form",
    "list_presets",
    "load_scheme",
]
