"""Rendering an :class:`~evalpanel.reports.esr.Esr`: HTML, PDF (typst) and a zip of many.

Every text of a report comes from outside (titles, organisation names, comments): the HTML escapes
all of it, and the PDF receives it as JSON data that the typst template sets as plain text, never
as markup. The same report gives the same bytes: the PDF's dates are the report's issue date, the
fonts are typst's own (no system font is looked up), and the zip's entries carry fixed times.
Labels, the thresholds missed and the decision's reason come in English, French and German
(``language``; by default the report's own, :attr:`Esr.language`), in the words of
:mod:`evalpanel.reports.words`.
"""

from __future__ import annotations

import html
import io
import json
import re
import zipfile
from collections.abc import Callable, Sequence
from importlib import resources

from evalpanel.reports.esr import Esr
from evalpanel.reports.words import (
    BANDS,
    DECISIONS,
    LABELS,
    LANGUAGES,
    decision_words,
    failure_words,
    language_of,
)

__all__ = ["BANDS", "DECISIONS", "LABELS", "LANGUAGES", "decision_text", "esr_html", "esr_pdf",
           "esr_zip", "failures_text", "safe_name"]

def failures_text(esr: Esr, language: str) -> list[str]:
    """Every threshold the report's proposal misses (the engine's ``fail_reasons``), in
    ``language``, naming the criteria as the report does."""
    label_of = {c.id: c.label for c in esr.criteria}
    return [failure_words(f, language, label_of) for f in esr.failures]


def decision_text(esr: Esr, language: str) -> str:
    """The decision with the engine's reason in ``language`` (:mod:`evalpanel.reports.words`);
    in the report's own language the report's :attr:`~Esr.decision_reason`."""
    language = language_of(language)
    if language == esr.language or not esr.engine_reason:
        return esr.decision_reason if not esr.rehearsal else DECISIONS[language]["rehearsal"]
    return decision_words(esr.engine_reason, language, lot=esr.lot_title or esr.lot_id,
                          position=esr.reserve_position, failures=esr.failures,
                          label_of={c.id: c.label for c in esr.criteria})


def _points(value: float | None, labels: dict[str, str]) -> str:
    return labels["not_scored"] if value is None else f"{value:g}"


def _texts(esr: Esr, language: str | None) -> dict[str, object]:
    """Every text of the report in ``language`` (plain strings; None: the report's own)."""
    language = language_of(language or esr.language)
    lab = LABELS[language]
    criteria = [
        {
            "label": c.label,
            "score_text": f"{_points(c.score, lab)} / {c.max:g} {lab['points']}",
            "band": BANDS.get(language, {}).get(c.band, c.band),
            "threshold_text": f"{lab['minimum']}: {c.min_pass:g}",
            "comment": c.comment or lab["no_comment"],
        }
        for c in esr.criteria
    ]
    missed = failures_text(esr, language)
    thresholds = lab["passed"] if esr.passed else (
        f"{lab['failed']}: " + "; ".join(missed) if missed else lab["failed"])
    return {
        "lang": language,
        "labels": lab,
        "title": f"{lab['heading']} — {esr.proposal_id}",
        "call_id": esr.call_id,
        "call_title": lab["rehearsal_title"] if esr.rehearsal else esr.call_title,
        "proposal_id": esr.proposal_id,
        "proposal_title": esr.proposal_title,
        "lot": f"{esr.lot_id} — {esr.lot_title}" if esr.lot_title else esr.lot_id,
        "coordinator": esr.coordinator or "-",
        "issued": [esr.issued_on.year, esr.issued_on.month, esr.issued_on.day],
        "issued_text": esr.issued_on.isoformat(),
        "criteria": criteria,
        "total_text": f"{_points(esr.total, lab)} / {esr.total_max:g} {lab['points']} "
                      f"({lab['minimum']}: {esr.total_threshold:g})",
        "thresholds_text": thresholds,
        "rank_text": "" if esr.rank is None else str(esr.rank),
        "decision_text": decision_text(esr, language),
        "rehearsal": esr.rehearsal,
    }


def esr_html(esr: Esr, language: str | None = None) -> str:
    """The report as a standalone HTML page (no script, no remote resource)."""
    t = _texts(esr, language)
    lab = t["labels"]
    assert isinstance(lab, dict)
    e = html.escape

    def row(key: str, value: object) -> str:
        return f"<tr><th>{e(lab[key])}</th><td>{e(str(value))}</td></tr>"

    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{e(str(t["lang"]))}"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">",
        f"<title>{e(str(t['title']))}</title>",
        "<style>body{font-family:serif;max-width:48em;margin:2em auto;line-height:1.4}"
        "th{text-align:left;padding-right:1em;vertical-align:top}"
        ".criterion{border-top:1px solid #ccc;margin-top:1em;padding-top:.5em}"
        ".comment{white-space:pre-wrap;margin-left:1em}"
        ".rehearsal{background:#fff3cd;padding:.5em;font-weight:bold}</style></head><body>",
    ]
    if esr.rehearsal:
        parts.append(f'<p class="rehearsal">{e(lab["rehearsal_banner"])}</p>')
    parts += [
        f"<p>{e(str(t['call_title']))} — {e(esr.call_id)}</p>",
        f"<h1>{e(lab['heading'])}</h1>",
        "<table>",
        row("proposal", f"{esr.proposal_id} — {esr.proposal_title}"),
        row("lot", t["lot"]),
        row("coordinator", t["coordinator"]),
        row("issued", t["issued_text"]),
        "</table>",
    ]
    for c in t["criteria"]:  # type: ignore[attr-defined]
        parts.append(
            f'<div class="criterion"><h2>{e(c["label"])}</h2>'
            f"<p><strong>{e(c['score_text'])}</strong> · {e(c['band'])} · "
            f"{e(c['threshold_text'])}</p>"
            f'<p class="comment">{e(c["comment"])}</p></div>')
    parts += ["<table>", row("total", t["total_text"]), row("thresholds", t["thresholds_text"])]
    if t["rank_text"]:
        parts.append(row("rank", t["rank_text"]))
    parts += [row("decision", t["decision_text"]), "</table></body></html>"]
    return "\n".join(parts) + "\n"


def esr_pdf(esr: Esr, language: str | None = None) -> bytes:
    """The report as a PDF (typst; deterministic, see the module docstring)."""
    import typst

    template = resources.files("evalpanel.reports").joinpath("esr.typ").read_bytes()
    data = json.dumps(_texts(esr, language), ensure_ascii=False)
    pdf: bytes = typst.compile(template, sys_inputs={"data": data}, ignore_system_fonts=True)
    return pdf


def safe_name(proposal_id: str) -> str:
    """A file name for a proposal id from outside (no path separators, no leading dot)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", proposal_id).lstrip(".") or "proposal"


def esr_zip(reports: Sequence[Esr], language: str | None = None,
            progress: Callable[[int, int], None] | None = None) -> bytes:
    """A zip with ``<proposal_id>.pdf`` and ``<proposal_id>.html`` for each report, in proposal
    order, every entry dated with its report's issue date; each in ``language``, or in its
    own. ``progress(done, total)`` is called after each report."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for done, esr in enumerate(sorted(reports, key=lambda r: r.proposal_id), 1):
            when = (esr.issued_on.year, esr.issued_on.month, esr.issued_on.day, 0, 0, 0)
            stem = safe_name(esr.proposal_id)
            for name, payload in ((f"{stem}.pdf", esr_pdf(esr, language)),
                                  (f"{stem}.html",
                                   esr_html(esr, language).encode("utf-8"))):
                info = zipfile.ZipInfo(name, date_time=when)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, payload)
            if progress is not None:
                progress(done, len(reports))
    return buffer.getvalue()
