"""``evalpanel notify``: the notification outbox and deadlines, for cron or a systemd timer.

``notify run`` queues every message the store calls for (assignments, replacements, further
experts, reminders before a deadline, overdue notices, consolidations awaiting approval) and
sends the due ones over SMTP when the configuration file has an ``[smtp]`` table (see
:mod:`evalpanel.mailer`). Running it again sends nothing twice. ``notify list`` prints the outbox;
``notify deadline`` sets a call's or a task's deadline. Each acts as the local operator on
``--db URL`` (the embedded database by default) and is audited; bad input exits 2.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from evalpanel.commands._database import db_option, open_engine
from evalpanel.store import SYSTEM, StoreError
from evalpanel.store.tables import NOTIFICATION_STATES
from evalpanel.vocab import NotificationStatus

if TYPE_CHECKING:
    from evalpanel.mailer import NotifyConfig


def _invalid(message: str) -> click.ClickException:
    from evalpanel.cli import InvalidInput

    return InvalidInput(f"evalpanel notify: {message}")


def _date(text: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise _invalid(f"{what}: {text!r} is not an ISO date such as 2026-03-31") from None


def _config(given: Path | None) -> tuple[Path, NotifyConfig]:
    """The configuration file (``--config``, else the default place) and what it says; exit 2
    with every problem of it."""
    from evalpanel.mailer import ConfigError, default_config_path, load_config

    path = given or default_config_path()
    try:
        return path, load_config(path, required=given is not None)
    except ConfigError as exc:
        from evalpanel.cli import InvalidInput

        raise InvalidInput("\n".join(exc.problems)) from None


@click.group(name="notify")
def notify() -> None:
    """Queue and send notifications (assignments, reminders, overdue notices...)."""


@notify.command(name="run")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The configuration file with [smtp] and [notify] (default: "
                   "$EVALPANEL_CONFIG or ./evalpanel.toml).")
@click.option("--today", metavar="DATE", help="Plan reminders as of this ISO date (default: "
                                                "today, UTC).")
@click.option("--queue-only", is_flag=True, help="Queue the due messages but send none.")
@db_option
def run(config_path: Path | None, today: str | None, queue_only: bool, url: str | None) -> None:
    """Queue the messages the store calls for, then send the due ones."""
    from evalpanel.mailer import send_due
    from evalpanel.store.notifications import plan_notifications

    path, config = _config(config_path)
    engine = open_engine(url)
    queued = plan_notifications(
        engine, SYSTEM, today=_date(today, "--today") if today else None,
        reminder_days=config.reminder_days, dashboard_url=config.dashboard_url)
    click.echo(f"queued {queued} new message{'s' if queued != 1 else ''}")
    if queue_only:
        return
    if config.smtp is None:
        click.echo(f"no [smtp] table in {path}: nothing was sent (messages stay queued)")
        return
    report = send_due(engine, SYSTEM, config)
    click.echo(f"sent {report.sent}, to be retried {report.retrying}, failed {report.failed}")


@notify.command(name="list")
@click.option("--call", "call_id", metavar="CALL_ID", help="Only this call's messages.")
@click.option("--status", type=click.Choice(NOTIFICATION_STATES),
              help="Only messages in this state ('sending' ones are in doubt).")
@db_option
def list_(call_id: str | None, status: str | None, url: str | None) -> None:
    """Print the outbox: id, status, kind, recipient, attempts, subject."""
    from evalpanel.store.notifications import list_notifications

    frame = list_notifications(open_engine(url), SYSTEM, call_id=call_id, status=status)
    if frame.is_empty():
        click.echo("the outbox is empty" if not (call_id or status) else "no such messages")
        return
    for row in frame.iter_rows(named=True):
        doubt = " (in doubt: the sender stopped while handing it over)" \
            if row["status"] == NotificationStatus.SENDING else ""
        click.echo(f"{row['notification_id']}\t{row['status']}{doubt}\t{row['kind']}\t"
                   f"{row['recipient']}\t{row['attempts']}\t{row['subject']}")


@notify.command(name="deadline")
@click.argument("call_id")
@click.argument("kind", type=click.Choice(["evaluation", "consolidation"]))
@click.argument("due_on", metavar="DATE")
@click.option("--task", "task_id", type=int,
              help="One task's deadline instead of the call's (its evaluation, or its expert's "
                   "part in the proposal's consolidation).")
@db_option
def deadline(call_id: str, kind: str, due_on: str, task_id: int | None, url: str | None) -> None:
    """Set the call's evaluation or consolidation deadline (the last day allowed), or one
    task's override of either with --task."""
    from evalpanel.store.deadlines import set_deadline
    from evalpanel.vocab import DeadlineKind

    day = _date(due_on, "DATE")
    engine = open_engine(url)
    try:
        set_deadline(engine, SYSTEM, call_id, cast(DeadlineKind, kind), day, task_id=task_id)
    except StoreError as exc:
        raise _invalid(str(exc)) from None
    target = f"task {task_id}" if task_id else f"the call {call_id!r}"
    click.echo(f"the {kind} deadline of {target} is now {day}")


@notify.command(name="invite")
@click.argument("call_id")
@click.option("--expert", "expert_ids", multiple=True, metavar="EXPERT_ID",
              help="Only these experts (repeat the option); default: the whole pool.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The configuration file whose [notify] dashboard_url the links point to.")
@db_option
def invite(call_id: str, expert_ids: tuple[str, ...], config_path: Path | None,
           url: str | None) -> None:
    """Invite the call's expert pool: an account per expert and a one-time link by e-mail
    (sent by the next `evalpanel notify run`)."""
    from evalpanel.store.invitations import invite_experts

    path, config = _config(config_path)
    engine = open_engine(url)
    try:
        invited = invite_experts(engine, SYSTEM, call_id, expert_ids=expert_ids or None,
                                 dashboard_url=config.dashboard_url)
    except StoreError as exc:
        raise _invalid(f"{exc} ([notify] dashboard_url in {path})") from None
    created = sum(i.created for i in invited)
    click.echo(f"invited {len(invited)} experts ({created} new accounts); the links go out "
               "with the next `evalpanel notify run`")
