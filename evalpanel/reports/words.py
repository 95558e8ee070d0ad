"""The words of an Evaluation Summary Report in English, French and German.

Nothing here decides anything: the decision and its reason are the scoring engine's
(``decision_reason``, read back as its key and fields by :func:`scoring.parse_reason`), the
thresholds missed are its ``fail_reasons`` (:func:`scoring.parse_failure`), the bands its band
labels, the criteria's names the scheme's (:meth:`scoring.Criterion.label_in`). This module says
them in the report's language: fixed labels (:data:`LABELS`), one sentence per reason key
(:data:`DECISIONS`), the presets' bands (:data:`BANDS`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from scoring import REASONS, parse_failure, parse_reason

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
        "rehearsal_title": "Rehearsal (mock evaluation)",
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
        "rehearsal_title": "Répétition (évaluation fictive)",
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
        "rehearsal_title": "Probelauf (Scheinbewertung)",
    },
}
LANGUAGES = tuple(LABELS)

# One sentence per reason key of scoring.REASONS (fields: the engine's, and {lot} {position}),
# plus the report's own: rejected_plain, rehearsal; and the words inside them.
DECISIONS: dict[str, dict[str, str]] = {
    "en": {
        "funded": "Funded: rank {rank} in {lot}, within the lot's budget ({left} left after it).",
        "funded_plain": "Funded: rank {rank} in {lot}, within the lot's budget.",
        "reserve_after_stop": "Reserve list, position {position}: the budget of {lot} ran out at "
                              "rank {stopped}.",
        "reserve_strict": "Reserve list, position {position}: the budget of {lot} ran out at "
                          "rank {rank} (the proposal requests {need}, {left} were left).",
        "reserve_skip": "Reserve list, position {position}: the proposal requests {need}, more "
                        "than the {left} left in the budget of {lot} at rank {rank}.",
        "reserve_one_per": "Reserve list, position {position}: one proposal per {one_per} is "
                           "funded, and {holder} is funded for {group}.",
        "reserve_tie_one_per": "Reserve list, position {position}: ex aequo at rank {rank} with "
                               "{others}, and only one of them can be funded per {one_per}; none "
                               "is funded until the call manager records an order.",
        "reserve_tie_budget": "Reserve list, position {position}: ex aequo at rank {rank} with "
                              "{others}, and they do not all fit in the budget left; none is "
                              "funded until the call manager records an order.",
        "reserve_no_request": "Reserve list, position {position}: no amount is requested, so it "
                              "cannot be funded.",
        "reserve_plain": "Reserve list, position {position}: the proposal passes every "
                         "threshold, but the budget of {lot} is committed to higher-ranked "
                         "proposals.",
        "rejected": "Not funded: {failures}.", "rejected_plain": "Not funded.",
        "pending": "Pending: {reason}.",
        "passed": "Passes every threshold; the lot has no budget, so funding is not decided.",
        "rehearsal": "A rehearsal: mock scores by invited colleagues, not an evaluation of the "
                     "call.",
        "below": "{label} {score} below {minimum}", "total": "total", "no_scores": "no scores",
        "ecosystem": "ecosystem",
    },
    "fr": {
        "funded": "Financée : rang {rank} dans {lot}, dans la limite du budget du lot ({left} "
                  "restants après elle).",
        "funded_plain": "Financée : rang {rank} dans {lot}, dans la limite du budget du lot.",
        "reserve_after_stop": "Liste de réserve, position {position} : le budget de {lot} a été "
                              "épuisé au rang {stopped}.",
        "reserve_strict": "Liste de réserve, position {position} : le budget de {lot} a été "
                          "épuisé au rang {rank} (la proposition demande {need}, il restait "
                          "{left}).",
        "reserve_skip": "Liste de réserve, position {position} : la proposition demande {need}, "
                        "plus que les {left} restants du budget de {lot} au rang {rank}.",
        "reserve_one_per": "Liste de réserve, position {position} : une seule proposition est "
                           "financée par {one_per}, et {holder} est financée pour {group}.",
        "reserve_tie_one_per": "Liste de réserve, position {position} : ex aequo au rang {rank} "
                               "avec {others}, et une seule d'entre elles peut être financée par "
                               "{one_per} ; aucune n'est financée tant que le gestionnaire de "
                               "l'appel n'a pas fixé un ordre.",
        "reserve_tie_budget": "Liste de réserve, position {position} : ex aequo au rang {rank} "
                              "avec {others}, et elles ne tiennent pas toutes dans le budget "
                              "restant ; aucune n'est financée tant que le gestionnaire de "
                              "l'appel n'a pas fixé un ordre.",
        "reserve_no_request": "Liste de réserve, position {position} : aucun montant n'est "
                              "demandé, elle ne peut donc pas être financée.",
        "reserve_plain": "Liste de réserve, position {position} : la proposition atteint tous "
                         "les seuils, mais le budget de {lot} est engagé pour des propositions "
                         "mieux classées.",
        "rejected": "Non financée : {failures}.", "rejected_plain": "Non financée.",
        "pending": "En attente : {reason}.",
        "pending_reason": "l'évaluation n'est pas terminée",
        "passed": "Atteint tous les seuils ; le lot n'a pas de budget, le financement n'est "
                  "donc pas décidé.",
        "rehearsal": "Une répétition : notes fictives de collègues invités, pas une évaluation "
                     "de l'appel.",
        "below": "{label} {score} sous le minimum de {minimum}", "total": "total",
        "no_scores": "aucune note", "ecosystem": "écosystème",
    },
    "de": {
        "funded": "Gefördert: Rang {rank} in {lot}, innerhalb des Budgets des Loses ({left} "
                  "danach übrig).",
        "funded_plain": "Gefördert: Rang {rank} in {lot}, innerhalb des Budgets des Loses.",
        "reserve_after_stop": "Reserveliste, Position {position}: Das Budget von {lot} war bei "
                              "Rang {stopped} ausgeschöpft.",
        "reserve_strict": "Reserveliste, Position {position}: Das Budget von {lot} war bei Rang "
                          "{rank} ausgeschöpft (der Antrag beantragt {need}, übrig waren "
                          "{left}).",
        "reserve_skip": "Reserveliste, Position {position}: Der Antrag beantragt {need}, mehr "
                        "als die bei Rang {rank} im Budget von {lot} übrigen {left}.",
        "reserve_one_per": "Reserveliste, Position {position}: Je {one_per} wird nur ein Antrag "
                           "gefördert, und {holder} ist für {group} gefördert.",
        "reserve_tie_one_per": "Reserveliste, Position {position}: Gleichstand auf Rang {rank} "
                               "mit {others}, und je {one_per} kann nur einer von ihnen "
                               "gefördert werden; keiner wird gefördert, bis die "
                               "Aufrufverwaltung eine Reihenfolge festlegt.",
        "reserve_tie_budget": "Reserveliste, Position {position}: Gleichstand auf Rang {rank} "
                              "mit {others}, und nicht alle passen in das verbleibende Budget; "
                              "keiner wird gefördert, bis die Aufrufverwaltung eine Reihenfolge "
                              "festlegt.",
        "reserve_no_request": "Reserveliste, Position {position}: Es ist kein Betrag beantragt, "
                              "daher kann der Antrag nicht gefördert werden.",
        "reserve_plain": "Reserveliste, Position {position}: Der Antrag erreicht alle "
                         "Schwellenwerte, aber das Budget von {lot} ist für besser platzierte "
                         "Anträge gebunden.",
        "rejected": "Nicht gefördert: {failures}.", "rejected_plain": "Nicht gefördert.",
        "pending": "Ausstehend: {reason}.",
        "pending_reason": "die Bewertung ist nicht abgeschlossen",
        "passed": "Erreicht alle Schwellenwerte; das Los hat kein Budget, daher ist über die "
                  "Förderung nicht entschieden.",
        "rehearsal": "Ein Probelauf: Scheinbewertung durch eingeladene Kolleginnen und "
                     "Kollegen, keine Bewertung des Aufrufs.",
        "below": "{label} {score} unter dem Minimum von {minimum}", "total": "Gesamt",
        "no_scores": "keine Punkte", "ecosystem": "Ökosystem",
    },
}
REPORT_KEYS = ("rejected_plain", "rehearsal")  # said by the report, not reasons of the engine

# The presets' band labels in the report's language (a label not listed is shown as it is).
BANDS: dict[str, dict[str, str]] = {
    "fr": {"Very good": "Très bien", "Good": "Bien", "Fair": "Passable", "Weak": "Faible"},
    "de": {"Very good": "Sehr gut", "Good": "Gut", "Fair": "Ausreichend", "Weak": "Schwach"},
}


def language_of(language: str | None) -> str:
    """``language`` when the report speaks it, else English."""
    return language if language in LABELS else "en"


class _Fields(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def failure_words(failure: str, language: str, label_of: Mapping[str, str]) -> str:
    """One of the engine's ``fail_reasons`` in ``language``: in English the engine's own words
    (criterion ids, "below"), in the others the criterion's name (``label_of``: id -> name)."""
    parsed = parse_failure(failure)
    if language == "en" or language not in DECISIONS:
        return failure.replace(" < ", " below ")
    words = DECISIONS[language]
    if parsed is None:
        return words["no_scores"] if failure == "no scores" else failure
    subject, score, minimum = parsed
    label = words["total"] if subject == "total" else label_of.get(subject, subject)
    return words["below"].format(label=label, score=score, minimum=minimum)


def decision_words(
    reason: str, language: str, *, lot: str, position: int | None,
    failures: Sequence[str], label_of: Mapping[str, str],
) -> str:
    """The engine's ``decision_reason`` said in ``language``: its key's sentence with the
    engine's fields, the lot's name and the reserve position; a rejection names each threshold
    missed (``failures``, the engine's ``fail_reasons``)."""
    language = language_of(language)
    words = DECISIONS[language]
    parsed = parse_reason(reason)
    if parsed is None:  # not a reason of the engine: shown as it is
        return reason
    key, fields = parsed
    values = _Fields(fields)
    values.update(lot=lot, position="" if position is None else str(position))
    if "one_per" in values:
        values["one_per"] = words.get(values["one_per"], values["one_per"])
    decision = key.split("_")[0]  # each key starts with the ranking decision it explains
    if decision == "rejected":
        missed = [failure_words(f, language, label_of) for f in failures]
        if not missed:
            return words["rejected_plain"]
        values["failures"] = "; ".join(missed)
    if decision == "pending" and language != "en":
        values["reason"] = words["pending_reason"]
    return words[key].format_map(values)


def _check() -> None:
    """Every language says every reason of the engine (run at import)."""
    for language, words in DECISIONS.items():
        missing = [k for k in (*REASONS, *REPORT_KEYS) if k not in words]
        if missing:
            raise RuntimeError(f"the report's {language} words lack {', '.join(missing)}")


_check()
