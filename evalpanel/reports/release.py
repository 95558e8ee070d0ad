"""Releasing a lot's results: its reports built, rendered and stored as they are at release."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import sqlalchemy as sa

from evalpanel.reports.esr import build_esrs
from evalpanel.reports.render import esr_html, esr_pdf
from evalpanel.store import Actor
from evalpanel.store.releases import RenderedReport, released_reports_of, save_release


def release_lot(
    engine: sa.Engine, actor: Actor, call_id: str, lot_id: str, *, language: str | None = None,
    replace: bool = False, dashboard_url: str = "",
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Release the results of one lot (managers of the call): the Evaluation Summary Report of
    each of its consolidated proposals, rendered now and kept as released. The number of
    reports released. The notice to each contact is queued with them (sent by ``evalpanel
    notify run``), ``dashboard_url`` in it. ``progress(done, total)`` is called after each
    report rendered."""
    built = build_esrs(engine, actor, call_id, lot_id=lot_id)
    reports = []
    for done, esr in enumerate(built, 1):
        reports.append(
            RenderedReport(esr.proposal_id, esr_html(esr, language), esr_pdf(esr, language)))
        if progress is not None:
            progress(done, len(built))
    save_release(engine, actor, call_id, lot_id, reports, replace=replace,
                 dashboard_url=dashboard_url)
    return len(reports)


def my_reports(engine: sa.Engine, actor: Actor) -> pl.DataFrame:
    """The released reports the actor may read (an applicant: their own proposals')."""
    return released_reports_of(engine, actor)
