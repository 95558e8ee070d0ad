"""What an Evaluation Summary Report says, from the store through the scoring engine.

For every proposal with a final consolidation, :func:`build_esrs` returns an :class:`Esr`: per
criterion the consolidated score, its band and the consolidated comment; the total against the
pass mark, with every threshold missed; the rank in its lot and the decision with its reason.
Scores, bands, thresholds, ranks, decisions and their reasons are the scoring engine's
(:func:`evalpanel.workflow.rank_call`); nothing is recomputed here, and the reason is said in the
report's language by :mod:`evalpanel.reports.words` only. A report is written in one language:
the proposal's (the language its application is written in, as the results notice is) when the
report speaks it (English, French, German), else English, unless one is asked for; the criteria
carry the scheme's names in that language. The issue date is the call's deadline when it has
one, else the day it was imported, so the same data gives the same report. A rehearsal's mock
report becomes the same kind of report (:func:`rehearsal_esr`), marked as a rehearsal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl
import sqlalchemy as sa

from evalpanel.callfolder.model import CallFolder
from evalpanel.reports.words import DECISIONS, LABELS, decision_words, language_of
from evalpanel.store import Actor, RehearsalView, call_folder, call_info, consolidated_frame
from evalpanel.store.audit import record
from evalpanel.store.engine import writing
from evalpanel.store.tables import calls
from scoring import MockReport


@dataclass(frozen=True, slots=True)
class EsrCriterion:
    id: str
    label: str  # the scheme's name of the criterion in the report's language
    score: float | None  # points; None when the criterion was not scored
    max: float
    min_pass: float
    band: str
    comment: str


@dataclass(frozen=True, slots=True)
class Esr:
    """One Evaluation Summary Report."""

    call_id: str
    call_title: str
    lot_id: str
    lot_title: str
    proposal_id: str
    proposal_title: str
    coordinator: str
    criteria: tuple[EsrCriterion, ...]
    total: float | None
    total_max: float
    total_threshold: float
    passed: bool
    failures: tuple[str, ...]
    rank: int | None
    decision: str  # funded | reserve | rejected | pending | passed
    decision_reason: str  # the decision with the engine's reason, in the report's language
    issued_on: dt.date
    rehearsal: bool = False
    reserve_position: int | None = None  # on the reserve list
    pending_reason: str | None = None
    language: str = "en"  # the report's language (see the module docstring)
    engine_reason: str = ""  # the scoring engine's decision_reason, as it gave it


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def _issued_on(engine: sa.Engine, call_id: str, deadline: str | None) -> dt.date:
    if deadline:
        try:
            return dt.date.fromisoformat(deadline)
        except ValueError:
            pass
    with engine.connect() as conn:
        imported = conn.execute(
            sa.select(calls.c.imported_at).where(calls.c.call_id == call_id)).scalar()
    return imported.date() if imported is not None else dt.date(1970, 1, 1)


def _reported(ranked: pl.DataFrame, consensus: pl.DataFrame) -> pl.DataFrame:
    """The rows of the ranking that have a report (a final consolidation), by proposal id."""
    done = consensus["proposal_id"].unique()
    return ranked.filter(pl.col("proposal_id").is_in(done.implode())).sort("proposal_id")


def _ranking(engine: sa.Engine, actor: Actor, call_id: str, call: CallFolder | None,
             ranked: pl.DataFrame | None) -> tuple[CallFolder, pl.DataFrame]:
    from evalpanel.workflow import rank_call

    call = call or call_folder(engine, actor, call_id)
    if ranked is None:
        ranked = rank_call(engine, actor, call_id, call=call).proposals
    return call, ranked


def report_index(
    engine: sa.Engine, actor: Actor, call_id: str, *, call: CallFolder | None = None,
    ranked: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``proposal_id, lot, title, total, rank, decision, decision_reason`` (the scoring
    engine's reason) of each report :func:`build_esrs` builds, sorted by proposal id, without
    building them (managers of the call). ``call`` and ``ranked`` as for :func:`build_esrs`."""
    consensus = consolidated_frame(engine, actor, call_id, final_only=True)
    call, ranked = _ranking(engine, actor, call_id, call, ranked)
    titles = call.proposals.select("proposal_id", pl.col("title").cast(pl.String))
    return _reported(ranked, consensus).join(titles, on="proposal_id", how="left").select(
        pl.col("proposal_id").cast(pl.String), pl.col("lot").cast(pl.String),
        pl.col("title").fill_null(""), "total", "rank", "decision", "decision_reason")


def build_esrs(
    engine: sa.Engine, actor: Actor, call_id: str, proposal_ids: Sequence[str] | None = None,
    *, lot_id: str | None = None, language: str | None = None, call: CallFolder | None = None,
    ranked: pl.DataFrame | None = None,
) -> list[Esr]:
    """The reports of the call's consolidated proposals (managers of the call), sorted by
    proposal id; only ``proposal_ids`` or one lot's when given; each in ``language``, or in
    its proposal's (see the module docstring). Audited as a read. ``call`` and ``ranked``: the
    stored call and its ranking (:func:`evalpanel.workflow.rank_call`'s ``proposals``) already
    read by the caller at the call's current data version."""
    from evalpanel.planning import scheme_of

    info = call_info(engine, actor, call_id)
    consensus = consolidated_frame(engine, actor, call_id, final_only=True)
    call, ranked = _ranking(engine, actor, call_id, call, ranked)
    scheme = scheme_of(call)
    comments = {(p, c): t for p, c, t in consensus.select(
        "proposal_id", "criterion", "comment").iter_rows()}
    titles = dict(call.proposals.select("proposal_id", "title").iter_rows())
    written_in = dict(call.proposals.select("proposal_id", "language").iter_rows())
    coordinators = dict(
        call.partners.filter(pl.col("role") == "coordinator")
        .select("proposal_id", pl.concat_str("org_name", pl.lit(" ("), "country", pl.lit(")")))
        .iter_rows())
    issued = _issued_on(engine, call_id, info.deadline)
    reports = []
    rows = _reported(ranked, consensus)
    if proposal_ids is not None:
        rows = rows.filter(pl.col("proposal_id").is_in(list(proposal_ids)))
    if lot_id is not None:
        rows = rows.filter(pl.col("lot") == lot_id)
    for row in rows.iter_rows(named=True):
        pid = str(row["proposal_id"])
        lot = call.config.lots.get(str(row["lot"]))
        lot_title = lot.title if lot and lot.title else str(row["lot"])
        lang = language_of(language or written_in.get(pid))
        criteria = tuple(
            EsrCriterion(c.id, c.label_in(lang), _float(row[c.id]), c.max, c.min_pass,
                         str(row[f"{c.id}_band"] or ""), comments.get((pid, c.id), ""))
            for c in scheme.criteria)
        failures = tuple(row["fail_reasons"] or ())
        reason = str(row["decision_reason"])
        said = decision_words(reason, lang, lot=lot_title, position=row.get("reserve_position"),
                              failures=failures, label_of={c.id: c.label for c in criteria})
        reports.append(Esr(
            call_id, info.title, str(row["lot"]), lot_title, pid, str(titles.get(pid, "")),
            str(coordinators.get(pid, "")), criteria, _float(row["total"]), scheme.total_max,
            scheme.total_threshold, bool(row["passed"]), failures,
            row["rank"], str(row["decision"]), said, issued,
            reserve_position=row.get("reserve_position"),
            pending_reason=row.get("pending_reason"), language=lang, engine_reason=reason))
    with writing(engine) as conn:
        record(conn, actor, "build_reports", "call", call_id, call_id=call_id,
               after={"reports": len(reports), "lot": lot_id})
    return reports


def rehearsal_esr(view: RehearsalView, report: MockReport, issued_on: dt.date,
                  language: str = "en") -> Esr:
    """A rehearsal's mock report as an ESR marked as a rehearsal, in ``language``: the scorers'
    mean per criterion with its band, the submitted scorers' comments, and the engine's
    pass/fail. ``view`` is :func:`~evalpanel.store.rehearsal_view`'s result, ``report`` the mock
    report of :func:`~evalpanel.workflow.rehearsal_report`."""
    from evalpanel.schemes import load_scheme

    scheme = load_scheme(view.scheme_id)
    lang = language_of(language)
    by_id = {r["criterion"]: r for r in report.criteria.iter_rows(named=True)}
    comment_of: dict[str, list[str]] = {}
    scores = view.scores
    if view.scorers:
        # only the submitted scorers' comments, as only their scores count
        done = [u for u, submitted in view.scorers.items() if submitted]
        scores = scores.filter(pl.col("user_id").is_in(done))
    for crit, text in scores.select("criterion", "comment").iter_rows():
        if text and text.strip():
            comment_of.setdefault(str(crit), []).append(text.strip())
    criteria = tuple(
        EsrCriterion(c.id, c.label_in(lang), _float(by_id.get(c.id, {}).get("mean")), c.max,
                     c.min_pass,
                     str(by_id.get(c.id, {}).get("band") or ""),
                     "\n\n".join(comment_of.get(c.id, [])))
        for c in scheme.criteria)
    title = view.title
    return Esr(
        "rehearsal", LABELS[lang]["rehearsal_title"], "-", "", f"R{view.rehearsal_id}",
        title, "", criteria, report.total, scheme.total_max, report.total_threshold,
        report.passed, report.fail_reasons, None, "rehearsal", DECISIONS[lang]["rehearsal"],
        issued_on, rehearsal=True, language=lang)
