"""The notification outbox: which messages the state of the store calls for, and their delivery.

:func:`plan_notifications` looks at the store and queues every message its state calls for, each
under a ``dedupe_key`` naming the event, so running it again queues nothing twice:

- ``assigned``: a batch task waits for its expert (key ``assigned:<task>``);
- ``replaced``: a replacement task waits for its expert (``replaced:<task>``);
- ``further_expert``: a further expert's task waits (``further_expert:<task>``);
- ``reminder``: an open task is due within ``reminder_days`` (``reminder:<task>:<date>``);
- ``overdue``: an open task's deadline has passed (``overdue:<task>:<date>``);
- ``consolidation_ready``: a consensus draft awaits a panel expert's approval
  (``consolidation_ready:<consolidation>:<draft version>:<expert>``);
- ``consolidation_reminder``: an expert's part in a running consolidation (drafting the
  consensus, or approving it) is due within ``reminder_days``
  (``consolidation_reminder:<task>:<date>``);
- ``consolidation_overdue``: that part's deadline has passed
  (``consolidation_overdue:<task>:<date>``); who owes which part, and by when, is
  :func:`~evalpanel.store.deadlines.consolidation_work`'s;
- ``results_released``: a lot's results are released, to each applicant contact of a released
  proposal with an e-mail address (``results_released:<call>:<proposal>:<user>:<report's
  sha256>``), queued by the release itself (:func:`queue_release_messages`) and by the planner
  for contacts linked later; a corrected report released again is a new message, the same
  report released again is not.

Moving a deadline makes a new reminder (the date is in the key). Messages are rendered when
queued, in the first of the expert's languages that has a template (English otherwise), from
``evalpanel/notify_templates/messages.toml``.

Delivery is at most once: :func:`claim_next` moves one due message to ``sending`` in its own
transaction before it is handed to the mail server; :func:`mark_sent` or :func:`mark_failed`
records the outcome. A refusal by the server is a known non-delivery and is retried with a
growing delay (1, 4, 16, 64 minutes) until ``max_attempts``; a message left in ``sending`` (the
sender stopped between handing it over and recording it) is never sent again automatically, so no
expert gets a message twice; :func:`list_notifications` shows it as in doubt. Queuing, sending
and failing are audited. The operator (the CLI's system actor) plans and sends for every call;
a manager may plan and list for their own calls.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import polars as pl
import sqlalchemy as sa

from evalpanel.store.access import can_read_outbox, require
from evalpanel.store.audit import Actor, now, record
from evalpanel.store.deadlines import consolidation_work, open_task_deadlines
from evalpanel.store.engine import reading, writing
from evalpanel.store.frames import bulk_insert, rows_frame
from evalpanel.store.tables import (
    calls,
    contact_emails,
    experts,
    lots,
    notifications,
    proposal_contacts,
    proposals,
    released_reports,
    releases,
    tasks,
    users,
)
from evalpanel.vocab import (
    ACTIVE_STATES,
    NotificationKind,
    NotificationStatus,
    TaskState,
    values,
)

KINDS = values(NotificationKind)
ORIGIN_KIND = {"batch": "assigned", "replacement": "replaced", "extra": "further_expert"}
DEFAULT_LANGUAGE = "en"
RETRY_MINUTES = (1, 4, 16, 64)
REDACTED = "(sent; the one-time link is not kept)"
LINK_KINDS = ("invitation", "rehearsal_invitation")  # their one-time link is forgotten once sent

NOTIFICATION_SCHEMA: dict[str, pl.DataType] = {
    "notification_id": pl.Int64(),
    "call_id": pl.String(),
    "kind": pl.String(),
    "recipient": pl.String(),
    "recipient_name": pl.String(),
    "language": pl.String(),
    "subject": pl.String(),
    "status": pl.String(),
    "attempts": pl.Int64(),
    "created_at": pl.String(),
    "next_attempt_at": pl.String(),
    "sent_at": pl.String(),
    "last_error": pl.String(),
    "dedupe_key": pl.String(),
}


@dataclass(frozen=True, slots=True)
class Message:
    """One claimed message, ready to hand to a mail server."""

    notification_id: int
    dedupe_key: str
    call_id: str | None
    recipient: str
    recipient_name: str
    language: str
    subject: str
    body: str
    attempts: int  # including this one


@cache
def templates() -> dict[str, dict[str, dict[str, str]]]:
    """kind -> language -> {"subject", "body"}."""
    text = resources.files("evalpanel.notify_templates").joinpath("messages.toml").read_text(
        encoding="utf-8")
    return tomllib.loads(text)


def template_language(kind: str, languages: Iterable[str]) -> str:
    """The first of ``languages`` with a template of ``kind``, else English."""
    available = templates()[kind]
    for lang in languages:
        if lang.lower() in available:
            return lang.lower()
    return DEFAULT_LANGUAGE


class _Fields(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def render(kind: str, language: str, fields: Mapping[str, object]) -> tuple[str, str]:
    """The subject and body of ``kind`` in ``language`` with ``fields`` filled in. Outside text
    goes into a plain-text e-mail, never into markup."""
    template = templates()[kind][language]
    values = _Fields({k: "" if v is None else str(v) for k, v in fields.items()})
    return template["subject"].format_map(values).replace("\n", " "), \
        template["body"].format_map(values)


def _due_texts(due: dt.date | None) -> dict[str, str]:
    if due is None:
        return {}
    return {"due_text_en": f" by {due}", "due_text_fr": f" avant le {due}",
            "due_text_de": f" bis zum {due}"}


# An expert's part in a consolidation, in words (the ``step`` of consolidation_work).
STEP_TEXTS: dict[str, dict[str, str]] = {
    "draft": {"step_en": "drafting the consensus report",
              "step_fr": "la rédaction du rapport de consensus",
              "step_de": "der Entwurf des Konsensberichts"},
    "approve": {"step_en": "approving the consensus report",
                "step_fr": "l'approbation du rapport de consensus",
                "step_de": "die Freigabe des Konsensberichts"},
}


def _check_actor(conn: sa.Connection, actor: Actor, call_id: str | None, action: str) -> None:
    require(can_read_outbox(conn, actor, call_id), actor, action, "notifications", call_id or "*",
            call_id=call_id)


def _task_rows(conn: sa.Connection, call_id: str | None) -> dict[int, dict[str, Any]]:
    """Everything a task message needs, by task id (tasks on the published assignment)."""
    stmt = (
        sa.select(tasks.c.task_id, tasks.c.call_id, tasks.c.proposal_id, tasks.c.expert_id,
                  tasks.c.state, tasks.c.origin, experts.c.name, experts.c.email,
                  experts.c.languages, proposals.c.title.label("proposal_title"),
                  calls.c.title.label("call_title"))
        .join(experts, sa.and_(experts.c.call_id == tasks.c.call_id,
                               experts.c.expert_id == tasks.c.expert_id))
        .join(proposals, sa.and_(proposals.c.call_id == tasks.c.call_id,
                                 proposals.c.proposal_id == tasks.c.proposal_id))
        .join(calls, calls.c.call_id == tasks.c.call_id)
        .where(tasks.c.state.in_(ACTIVE_STATES))
    )
    if call_id is not None:
        stmt = stmt.where(tasks.c.call_id == call_id)
    return {int(r["task_id"]): dict(r) for r in conn.execute(stmt).mappings()}


def _message(kind: str, key: str, row: Mapping[str, Any], fields: Mapping[str, object],
             when: dt.datetime) -> dict[str, Any]:
    language = template_language(kind, row["languages"] or [])
    subject, body = render(kind, language, {
        "name": row["name"], "call_id": row["call_id"], "call_title": row["call_title"],
        "proposal_id": row["proposal_id"], "proposal_title": row["proposal_title"], **fields})
    return {
        "dedupe_key": key, "call_id": row["call_id"], "kind": kind, "recipient": row["email"],
        "recipient_name": row["name"], "language": language, "subject": subject, "body": body,
        "status": NotificationStatus.PENDING, "attempts": 0, "created_at": when,
        "next_attempt_at": when,
    }


def plan_notifications(
    engine: sa.Engine,
    actor: Actor,
    *,
    call_id: str | None = None,
    today: dt.date | None = None,
    reminder_days: int = 3,
    dashboard_url: str = "",
) -> int:
    """Queue every message the store's state calls for (see the module docstring); the number
    queued now. ``call_id`` None: every call (the operator only)."""
    when = now()
    today = today or when.date()
    link = f"Open the dashboard: {dashboard_url}" if dashboard_url else ""
    with writing(engine) as conn:
        _check_actor(conn, actor, call_id, "plan notifications of")
        known = set(conn.execute(sa.select(notifications.c.dedupe_key)).scalars())
        rows = _task_rows(conn, call_id)
        due_by_task = {int(t): d for t, d in open_task_deadlines(conn, call_id)
                       .select("task_id", "due_on").iter_rows()}
        queued: list[dict[str, Any]] = []

        def add(kind: str, key: str, row: Mapping[str, Any], **fields: object) -> None:
            if key not in known:
                known.add(key)
                queued.append(_message(kind, key, row, {"dashboard": link, **fields}, when))

        for task_id, row in rows.items():
            due = due_by_task.get(task_id)
            kind = ORIGIN_KIND.get(str(row["origin"]))
            if row["state"] == TaskState.ASSIGNED and kind is not None:
                add(kind, f"{kind}:{task_id}", row, due_on=due or "not set")
            if due is None:
                continue
            left = (due - today).days
            if left < 0:
                add("overdue", f"overdue:{task_id}:{due}", row, due_on=due, days_overdue=-left)
            elif left <= reminder_days:
                add("reminder", f"reminder:{task_id}:{due}", row, due_on=due, days_left=left)
        for work in consolidation_work(conn, call_id).iter_rows(named=True):
            task_id, due, step = int(work["task_id"]), work["due_on"], str(work["step"])
            row = rows[task_id]
            if step == "approve":
                add("consolidation_ready", f"consolidation_ready:{work['consolidation_id']}:"
                    f"{work['version']}:{work['expert_id']}", row, **_due_texts(due))
            if due is None:
                continue
            left = (due - today).days
            if left < 0:
                add("consolidation_overdue", f"consolidation_overdue:{task_id}:{due}", row,
                    due_on=due, days_overdue=-left, **STEP_TEXTS[step])
            elif left <= reminder_days:
                add("consolidation_reminder", f"consolidation_reminder:{task_id}:{due}", row,
                    due_on=due, days_left=left, **STEP_TEXTS[step])
        queued += [m for m in _release_messages(conn, call_id, None, link, when)
                   if m["dedupe_key"] not in known]
        _insert(conn, actor, queued)
        return len(queued)


def _insert(conn: sa.Connection, actor: Actor, queued: list[dict[str, Any]]) -> None:
    bulk_insert(conn, notifications, queued)
    for message in queued:
        record(conn, actor, "queue_notification", "notification", message["dedupe_key"],
               call_id=message["call_id"],
               after={"kind": message["kind"], "recipient": message["recipient"]})


def contact_address(email: str | None, username: str) -> str | None:
    """Where an applicant's notices go: the address set with the contact link, else the
    username when it is an e-mail address, else nowhere."""
    if email:
        return email
    name = username.strip()
    local, at, domain = name.partition("@")
    return name if at and local and "." in domain and " " not in name else None


def _release_messages(
    conn: sa.Connection, call_id: str | None, release_id: int | None, link: str,
    when: dt.datetime,
) -> list[dict[str, Any]]:
    """A ``results_released`` message per applicant contact (with an address) of each released
    proposal: of one release, of one call's, or of every call's."""
    stmt = (
        sa.select(releases.c.release_id, releases.c.call_id, releases.c.lot_id,
                  released_reports.c.proposal_id, proposals.c.title.label("proposal_title"),
                  proposals.c.language, calls.c.title.label("call_title"),
                  lots.c.title.label("lot_title"), released_reports.c.sha256,
                  users.c.user_id, users.c.username,
                  users.c.display_name, contact_emails.c.email)
        .join(released_reports, released_reports.c.release_id == releases.c.release_id)
        .join(proposals, sa.and_(proposals.c.call_id == releases.c.call_id,
                                 proposals.c.proposal_id == released_reports.c.proposal_id))
        .join(calls, calls.c.call_id == releases.c.call_id)
        .join(lots, sa.and_(lots.c.call_id == releases.c.call_id,
                            lots.c.lot_id == releases.c.lot_id))
        .join(proposal_contacts, sa.and_(
            proposal_contacts.c.call_id == releases.c.call_id,
            proposal_contacts.c.proposal_id == released_reports.c.proposal_id))
        .join(users, users.c.user_id == proposal_contacts.c.user_id)
        .join(contact_emails, contact_emails.c.user_id == users.c.user_id, isouter=True)
        .where(users.c.disabled_at.is_(None))
        .order_by(releases.c.release_id, released_reports.c.proposal_id, users.c.user_id)
    )
    if release_id is not None:
        stmt = stmt.where(releases.c.release_id == release_id)
    elif call_id is not None:
        stmt = stmt.where(releases.c.call_id == call_id)
    out = []
    for row in conn.execute(stmt).mappings():
        address = contact_address(row["email"], row["username"])
        if address is None:
            continue
        language = template_language("results_released", [row["language"] or ""])
        name = row["display_name"] or row["username"]
        subject, body = render("results_released", language, {
            "name": name, "call_id": row["call_id"], "call_title": row["call_title"],
            "proposal_id": row["proposal_id"], "proposal_title": row["proposal_title"],
            "lot_title": row["lot_title"] or row["lot_id"], "dashboard": link})
        out.append({
            "dedupe_key": f"results_released:{row['call_id']}:{row['proposal_id']}:"
                          f"{row['user_id']}:{row['sha256'][:16]}",
            "call_id": row["call_id"], "kind": "results_released", "recipient": address,
            "recipient_name": name, "language": language, "subject": subject, "body": body,
            "status": "pending", "attempts": 0, "created_at": when, "next_attempt_at": when,
        })
    return out


def queue_release_messages(
    conn: sa.Connection, actor: Actor, release_id: int, *, dashboard_url: str = ""
) -> int:
    """Queue the ``results_released`` messages of one release inside the releasing
    transaction (the caller checked the permission); the number queued."""
    when = now()
    link = f"Open the dashboard: {dashboard_url}" if dashboard_url else ""
    messages = _release_messages(conn, None, release_id, link, when)
    if messages:
        known = set(conn.execute(sa.select(notifications.c.dedupe_key).where(
            notifications.c.dedupe_key.in_([m["dedupe_key"] for m in messages]))).scalars())
        messages = [m for m in messages if m["dedupe_key"] not in known]
    _insert(conn, actor, messages)
    return len(messages)


def claim_next(engine: sa.Engine, when: dt.datetime | None = None) -> Message | None:
    """Move the oldest due pending message to ``sending`` and return it (None when none is due).
    Safe with several senders: a message is claimed by one of them only."""
    when = when or now()
    with writing(engine) as conn:
        while True:
            row = conn.execute(
                sa.select(notifications).where(notifications.c.status == NotificationStatus.PENDING,
                                               notifications.c.next_attempt_at <= when)
                .order_by(notifications.c.notification_id).limit(1)).mappings().first()
            if row is None:
                return None
            claimed = conn.execute(
                notifications.update()
                .where(notifications.c.notification_id == row["notification_id"],
                       notifications.c.status == NotificationStatus.PENDING)
                .values(status=NotificationStatus.SENDING, claimed_at=when,
                        attempts=row["attempts"] + 1))
            if claimed.rowcount == 1:
                return Message(int(row["notification_id"]), row["dedupe_key"], row["call_id"],
                               row["recipient"],
                               row["recipient_name"], row["language"], row["subject"],
                               row["body"], int(row["attempts"]) + 1)


def mark_sent(engine: sa.Engine, actor: Actor, message: Message) -> None:
    with writing(engine) as conn:
        conn.execute(notifications.update()
                     .where(notifications.c.notification_id == message.notification_id)
                     .values(status=NotificationStatus.SENT, sent_at=now(), last_error=None,
                             # an invitation's one-time link is not kept once sent
                             body=sa.case((notifications.c.kind.in_(LINK_KINDS), REDACTED),
                                          else_=notifications.c.body)))
        record(conn, actor, "send_notification", "notification", message.dedupe_key,
               call_id=message.call_id,
               after={"recipient": message.recipient, "attempt": message.attempts})


def mark_failed(
    engine: sa.Engine, actor: Actor, message: Message, error: str, *, max_attempts: int = 5
) -> bool:
    """Record a refused delivery; True when it will be retried (later), False when it failed for
    good after ``max_attempts``."""
    retry = message.attempts < max_attempts
    delay = RETRY_MINUTES[min(message.attempts, len(RETRY_MINUTES)) - 1]
    with writing(engine) as conn:
        conn.execute(notifications.update()
                     .where(notifications.c.notification_id == message.notification_id)
                     .values(status=(NotificationStatus.PENDING if retry
                                     else NotificationStatus.FAILED),
                             last_error=error[:2000],
                             next_attempt_at=now() + dt.timedelta(minutes=delay)))
        record(conn, actor, "notification_failed", "notification", message.dedupe_key,
               call_id=message.call_id,
               after={"recipient": message.recipient, "attempt": message.attempts,
                      "error": error[:500], "retry": retry})
    return retry


def list_notifications(
    engine: sa.Engine, actor: Actor, *, call_id: str | None = None, status: str | None = None
) -> pl.DataFrame:
    """The outbox (:data:`NOTIFICATION_SCHEMA`, newest last); ``sending`` rows are in doubt."""
    with reading(engine) as conn:
        _check_actor(conn, actor, call_id, "read the notifications of")
        stmt = sa.select(*[notifications.c[name] for name in NOTIFICATION_SCHEMA])
        if call_id is not None:
            stmt = stmt.where(notifications.c.call_id == call_id)
        if status is not None:
            stmt = stmt.where(notifications.c.status == status)
        rows = conn.execute(stmt.order_by(notifications.c.notification_id)).all()
    return rows_frame(
        ([v.isoformat(timespec="seconds") if isinstance(v, dt.datetime) else v for v in row]
         for row in rows), NOTIFICATION_SCHEMA)
