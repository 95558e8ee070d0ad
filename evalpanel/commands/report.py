"""``evalpanel report``: Evaluation Summary Reports of a stored call, and releasing a lot's.

``report esr CALL_ID (--proposal P | --lot L | --all) -o FILE`` writes one proposal's report
(``.pdf`` or ``.html``) or many as a ``.zip``; ``report release CALL_ID LOT`` releases a lot's
results to the applicants linked with ``report contact``. Each acts as the local operator on
``--db URL`` and is audited; a problem exits 2 with what to change.
"""

from __future__ import annotations

from pathlib import Path

import click

from evalpanel.commands._database import db_option, open_engine
from evalpanel.store import SYSTEM, StoreError

LANGUAGE = click.option("--language", type=click.Choice(["en", "fr", "de"]), default=None,
                        help="The language of the reports (default: each proposal's, when it "
                             "is English, French or German, else English).")


def _invalid(message: str) -> click.ClickException:
    from evalpanel.cli import InvalidInput

    return InvalidInput(f"evalpanel report: {message}")


@click.group(name="report")
def report() -> None:
    """Evaluation Summary Reports (PDF, HTML) and the release of results."""


@report.command(name="esr")
@click.argument("call_id")
@click.option("--proposal", "proposal_id", metavar="PROPOSAL_ID", help="One proposal's report.")
@click.option("--lot", "lot_id", metavar="LOT", help="Every consolidated proposal of a lot (zip).")
@click.option("--all", "every", is_flag=True, help="Every consolidated proposal (zip).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="FILE.pdf or FILE.html for one proposal, FILE.zip for several.")
@LANGUAGE
@db_option
def esr(call_id: str, proposal_id: str | None, lot_id: str | None, every: bool, output: Path,
        language: str | None, url: str | None) -> None:
    """Write Evaluation Summary Reports of consolidated proposals."""
    from evalpanel.reports import build_esrs, esr_html, esr_pdf, esr_zip

    if (proposal_id is not None) + (lot_id is not None) + every != 1:
        raise _invalid("give exactly one of --proposal, --lot and --all")
    single = proposal_id is not None
    if single and output.suffix not in (".pdf", ".html"):
        raise _invalid(f"{output}: one proposal's report is written as .pdf or .html")
    if not single and output.suffix != ".zip":
        raise _invalid(f"{output}: several reports are written as a .zip")
    engine = open_engine(url)
    try:
        reports = build_esrs(engine, SYSTEM, call_id, [proposal_id] if proposal_id else None,
                             lot_id=lot_id, language=language)
    except StoreError as exc:
        raise _invalid(str(exc)) from None
    if not reports:
        what = f"the proposal {proposal_id!r}" if single else \
            f"lot {lot_id!r}" if lot_id else f"the call {call_id!r}"
        raise _invalid(f"{what} has no final consolidation yet: no report to write")
    if single:
        if output.suffix == ".pdf":
            output.write_bytes(esr_pdf(reports[0]))
        else:
            output.write_text(esr_html(reports[0]), encoding="utf-8")
    else:
        output.write_bytes(esr_zip(reports))
    click.echo(f"wrote {len(reports)} report{'s' if len(reports) != 1 else ''} to {output}")


@report.command(name="release")
@click.argument("call_id")
@click.argument("lot_id")
@click.option("--replace", is_flag=True, help="Release again, replacing the released reports.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The configuration file whose [notify] dashboard_url the notices name "
                   "(default: $EVALPANEL_CONFIG or ./evalpanel.toml, when it exists).")
@LANGUAGE
@db_option
def release(call_id: str, lot_id: str, replace: bool, config_path: Path | None,
            language: str | None, url: str | None) -> None:
    """Release the results of one lot: its applicants' contacts can then read their report,
    and each is told by e-mail (sent by the next `evalpanel notify run`)."""
    from evalpanel.commands.notify import _config
    from evalpanel.reports import release_lot

    _, config = _config(config_path)
    engine = open_engine(url)
    try:
        n = release_lot(engine, SYSTEM, call_id, lot_id, language=language, replace=replace,
                        dashboard_url=config.dashboard_url)
    except StoreError as exc:
        raise _invalid(str(exc)) from None
    click.echo(f"released {n} report{'s' if n != 1 else ''} of lot {lot_id!r}; the contacts' "
               "notices go out with the next `evalpanel notify run`")


@report.command(name="contact")
@click.argument("username")
@click.argument("call_id")
@click.argument("proposal_id")
@click.option("--email", metavar="ADDRESS", help="Where the notice of released results goes "
                                                 "(default: the username, if an address).")
@db_option
def contact(username: str, call_id: str, proposal_id: str, email: str | None,
            url: str | None) -> None:
    """Let the applicant USERNAME read the released results of PROPOSAL_ID."""
    from evalpanel.store import find_user
    from evalpanel.store.releases import link_contact

    engine = open_engine(url)
    try:
        user = find_user(engine, SYSTEM, username)
        added = link_contact(engine, SYSTEM, user.user_id or 0, call_id, proposal_id,
                             email=email)
    except StoreError as exc:
        raise _invalid(str(exc)) from None
    click.echo(f"{username!r} {'now reads' if added else 'already reads'} the results of "
               f"{proposal_id!r}")
