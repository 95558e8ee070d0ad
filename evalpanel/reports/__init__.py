"""Evaluation Summary Reports: built from the store through the scoring engine, rendered as HTML
and PDF, released per lot to the applicants (see :mod:`evalpanel.reports.esr`)."""

from evalpanel.reports.esr import Esr, EsrCriterion, build_esrs, rehearsal_esr, report_index
from evalpanel.reports.release import my_reports, release_lot
from evalpanel.reports.render import esr_html, esr_pdf, esr_zip

__all__ = [
    "Esr",
    "EsrCriterion",
    "build_esrs",
    "esr_html",
    "esr_pdf",
    "esr_zip",
    "my_reports",
    "rehearsal_esr",
    "release_lot",
    "report_index",
]
