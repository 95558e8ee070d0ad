"""Rendering an :class:`~evalpanel.reports.esr.Esr`: HTML, PDF (typst) and a zip of many.

Every text of a report comes from outside (titles, organisation names, comments): the HTML escapes
all of it, and the PDF receives it as JSON data that the typst template sets as plain text, never
as markup. The same report gives the same bytes: the PDF's dates are the report's issue date, the
fonts are typst's own (no system font is looked up), and the zip's entries carry fixed times.
Labels, the thresholds missed and the decision's reason come in English, French and German
(``language``).
"""

from __future__ import annotations

import html
import io
import json
import re
import zipfile
from collections.abc import Sequence
from importlib import resources

from evalpanel.reports.esr import Esr

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "heading": "Evaluation Summary Report", "proposal": "Proposal", "lot": "Lot",
        "coordinator": "Coordinator", "issued": "Issued", "total": "Total score",
        "thresholds": "Thresholds", "rank": "Rank in the lot", "decision": "Decision",
        "points": "points", "minimum": "minimum to pass", "no_comment": "(no comment)",
        "not_scored": "not scored", "passed": "every threshold reached",
        "failed": "not reached", "of": "of",
        "rehearsal_banner": "Rehearsal: mock evaluation by invited colleagues, not an "
                            "evaluation of the call.",
    },
    "fr": {
        "heading": "Rapport de synthèse d'évaluation", "proposal": "Proposition", "lot": "Lot",
        "coordinator": "Coordinateur", "issued": "Émis le", "total": "Note totale",
        "thresholds": "Seuils", "rank": "Rang dans le lot", "decision": "Décision",
        "points": "points", "minimum": "minimum requis", "no_comment": "(pas de commentaire)",
        "not_scored": "non noté", "passed": "tous les seuils atteints",
        "failed": "non atteints", "of": "sur",
        "rehearsal_banner": "Répétition : évaluation fictive par des collègues invités, pas une "
                            "évaluation de l'appel.",
    },
    "de": {
        "heading": "Zusammenfassender Bewertungsbericht", "proposal": "Antrag", "lot": "Los",
        "coordinator": "Koordination", "issued": "Ausgestellt am", "total": "Gesamtpunktzahl",
        "thresholds": "Schwellenwerte", "rank": "Rang im Los", "decision": "Entscheidung",
        "points": "Punkte", "minimum": "Mindestpunktzahl", "no_comment": "(kein Kommentar)",
        "not_scored": "nicht bewertet", "passed": "alle Schwellenwerte erreicht",
        "failed": "nicht erreicht", "of": "von",
        "rehearsal_banner": "Probelauf: Scheinbewertung durch eingeladene Kolleginnen und "
                            "Kollegen, keine Bewertung des Aufrufs.",
    },
}
LANGUAGES = tuple(LABELS)

# The decision and its reason; fields: {rank} {lot} {position} {failures} {reason}.
DECISIONS: dict[str, dict[str, str]] = {
    "en": {
        "funded": "Funded: rank {rank} in {lot}, within the lot's budget.",
        "reserve": "Reserve list, position {position}: the proposal passes every threshold, but "
                   "the budget of {lot} is committed to higher-ranked proposals.",
        "rejected": "Not funded: {failures}.", "rejected_plain": "Not funded.",
        "pending": "Pending: {reason}.", "pending_plain": "the evaluation is not complete",
        "passed": "Passes every threshold.",
        "rehearsal": "A rehearsal: mock scores by invited colleagues, not an evaluation of the "
                     "call.",
        "below": "{label} {score} below {minimum}", "total": "total",
    },
    "fr": {
        "funded": "Financée : rang {rank} dans {lot}, dans la limite du budget du lot.",
        "reserve": "Liste de réserve, position {position} : la proposition atteint tous les "
                   "seuils, mais le budget de {lot} est engagé pour des propositions mieux "
                   "classées.",
        "rejected": "Non financée : {failures}.", "rejected_plain": "Non financée.",
        "pending": "En attente : {reason}.", "pending_plain": "l'évaluation n'est pas terminée",
        "passed": "Atteint tous les seuils.",
        "rehearsal": "Une répétition : notes fictives de collègues invités, pas une évaluation "
                     "de l'appel.",
        "below": "{label} {score} sous le minimum de {minimum}", "total": "total",
    },
    "de": {
        "funded": "Gefördert: Rang {rank} in {lot}, innerhalb des Budgets des Loses.",
        "reserve": "Reserveliste, Position {position}: Der Antrag erreicht alle Schwellenwerte, "
                   "aber das Budget von {lot} ist für besser platzierte Anträge gebunden.",
        "rejected": "Nicht gefördert: {failures}.", "rejected_plain": "Nicht gefördert.",
        "pending": "Ausstehend: {reason}.", "pending_plain": "die Bewertung ist nicht "
                                                             "abgeschlossen",
        "passed": "Erreicht alle Schwellenwerte.",
        "rehearsal": "Ein Probelauf: Scheinbewertung durch eingeladene Kolleginnen und "
                     "Kollegen, keine Bewertung des Aufrufs.",
        "below": "{label} {score} unter dem Minimum von {minimum}", "total": "Gesamt",
    },
}

# The presets' band labels in the report's language (a label not listed is shown as it is).
BANDS: dict[str, dict[str, str]] = {
    "fr": {"Very good": "Très bien", "Good": "Bien", "Fair": "Passable", "Weak": "Faible"},
    "de": {"Very good": "Sehr gut", "Good": "Gut", "Fair": "Ausreichend", "Weak": "Schwach"},
}


def failures_text(esr: Esr, language: str) -> list[str]:
    """Every threshold the report's scores miss, in ``language``: the criteria below their
    minimum, then the total below the pass mark (the engine's own list is :attr:`Esr.failures`;
    this one says the same from the report's numbers, with the criteria's labels)."""
    words = DECISIONS.get(language, DECISIONS["en"])
    out = [words["below"].format(label=c.label, score=_number(c.score), minimum=f"{c.min_pass:g}")
           for c in esr.criteria if c.score is not None and c.score < c.min_pass - 1e-9]
    if esr.total is not None and esr.total < esr.total_threshold - 1e-9:
        out.append(words["below"].format(label=words["total"], score=_number(esr.total),
                                         minimum=f"{esr.total_threshold:g}"))
    return out


def _number(value: float | None) -> str:
    return "" if value is None else f"{round(value, 2):g}"


def decision_text(esr: Esr, language: str) -> str:
    """The decision with its reason in ``language``. In English the engine's reason as built
    (:func:`evalpanel.reports.esr.decision_reason`)."""
    if language not in DECISIONS or language == "en":
        return esr.decision_reason
    words = DECISIONS[language]
    lot = esr.lot_title or esr.lot_id
    if esr.rehearsal:
        return words["rehearsal"]
    if esr.decision == "funded":
        return words["funded"].format(rank=esr.rank, lot=lot)
    if esr.decision == "reserve":
        return words["reserve"].format(position=esr.reserve_position, lot=lot)
    if esr.decision == "rejected":
        failures = failures_text(esr, language)
        return words["rejected"].format(failures="; ".join(failures)) if failures \
            else words["rejected_plain"]
    if esr.decision == "pending":
        return words["pending"].format(reason=words["pending_plain"])
    return words["passed"]


def _points(value: float | None, labels: dict[str, str]) -> str:
    return labels["not_scored"] if value is None else f"{value:g}"


def _texts(esr: Esr, language: str) -> dict[str, object]:
    """Every text of the report in ``language`` (plain strings)."""
    lab = LABELS.get(language, LABELS["en"])
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
    missed = list(esr.failures) if language == "en" else failures_text(esr, language)
    thresholds = lab["passed"] if esr.passed else (
        f"{lab['failed']}: " + "; ".join(missed) if missed else lab["failed"])
    return {
        "lang": language if language in LABELS else "en",
        "labels": lab,
        "title": f"{lab['heading']} — {esr.proposal_id}",
        "call_id": esr.call_id,
        "call_title": esr.call_title,
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


def esr_html(esr: Esr, language: str = "en") -> str:
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
        f"<p>{e(esr.call_title)} — {e(esr.call_id)}</p>",
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


def esr_pdf(esr: Esr, language: str = "en") -> bytes:
    """The report as a PDF (typst; deterministic, see the module docstring)."""
    import typst

    template = resources.files("evalpanel.reports").joinpath("esr.typ").read_bytes()
    data = json.dumps(_texts(esr, language), ensure_ascii=False)
    pdf: bytes = typst.compile(template, sys_inputs={"data": data}, ignore_system_fonts=True)
    return pdf


def safe_name(proposal_id: str) -> str:
    """A file name for a proposal id from outside (no path separators, no leading dot)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", proposal_id).lstrip(".") or "proposal"


def esr_zip(reports: Sequence[Esr], language: str = "en") -> bytes:
    """A zip with ``<proposal_id>.pdf`` and ``<proposal_id>.html`` for each report, in proposal
    order, every entry dated with its report's issue date."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for esr in sorted(reports, key=lambda r: r.proposal_id):
            when = (esr.issued_on.year, esr.issued_on.month, esr.issued_on.day, 0, 0, 0)
            stem = safe_name(esr.proposal_id)
            for name, payload in ((f"{stem}.pdf", esr_pdf(esr, language)),
                                  (f"{stem}.html",
                                   esr_html(esr, language).encode("utf-8"))):
                info = zipfile.ZipInfo(name, date_time=when)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, payload)
    return buffer.getvalue()
