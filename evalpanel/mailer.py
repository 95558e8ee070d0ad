"""Sending the notification outbox over SMTP, and the operator's configuration file for it.

The configuration is a TOML file (``evalpanel notify run --config FILE``; default
``$EVALPANEL_CONFIG`` or ``./evalpanel.toml``)::

    [smtp]
    host = "smtp.example.org"
    port = 587                     # default 587
    starttls = true                # default true: STARTTLS before anything is sent
    username = "panel@example.org" # optional
    password_env = "SMTP_PASSWORD" # optional: the environment variable holding the password
    sender = "Evaluation panel <panel@example.org>"
    cafile = "/etc/ssl/panel-ca.pem"  # optional: trust this CA instead of the system's
    timeout = 30                   # seconds

    [notify]
    reminder_days = 3              # a reminder this many days before a deadline
    dashboard_url = "https://panel.example.org"   # put in every message
    max_attempts = 5               # refused deliveries are retried up to this many times

The password is never written in the file. Without an ``[smtp]`` table, messages are queued and
listed but not sent. Every problem of the file is reported at once as ``FILE: key: problem``.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, formatdate, parseaddr
from hashlib import sha256
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from evalpanel.store.audit import Actor
from evalpanel.store.notifications import Message, claim_next, mark_failed, mark_sent

CONFIG_ENV = "EVALPANEL_CONFIG"
_SMTP_KEYS = ("host", "port", "starttls", "username", "password_env", "sender", "cafile",
              "timeout")
_NOTIFY_KEYS = ("reminder_days", "dashboard_url", "max_attempts")


class ConfigError(ValueError):
    """Every problem of a configuration file, one located line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    sender: str
    port: int = 587
    starttls: bool = True
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    cafile: str | None = None
    timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class NotifyConfig:
    smtp: SmtpConfig | None = None
    reminder_days: int = 3
    dashboard_url: str = ""
    max_attempts: int = 5


def default_config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or "evalpanel.toml")


def load_config(path: Path, *, required: bool = False) -> NotifyConfig:
    """The configuration in ``path``; the defaults when it does not exist (unless
    ``required``). Raises :class:`ConfigError` with every problem."""
    if not path.exists():
        if required:
            raise ConfigError([f"{path}: no such file"])
        return NotifyConfig()
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError([f"{path}: {exc}"]) from None
    problems: list[str] = []

    def bad(key: str, message: str) -> None:
        problems.append(f"{path}: {key}: {message}")

    for table, keys in (("smtp", _SMTP_KEYS), ("notify", _NOTIFY_KEYS)):
        value = doc.get(table, {})
        if not isinstance(value, dict):
            bad(table, "must be a table")
            continue
        for key in value:
            if key not in keys:
                bad(f"{table}.{key}", f"unknown key; known keys are {', '.join(keys)}")
    for key in doc:
        if key not in ("smtp", "notify"):
            bad(key, "unknown table; known tables are [smtp] and [notify]")
    notify = doc.get("notify", {}) if isinstance(doc.get("notify", {}), dict) else {}
    smtp_doc = doc.get("smtp") if isinstance(doc.get("smtp"), dict) else None

    def integer(table: dict[str, Any], key: str, default: int, lo: int, where: str) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            bad(f"{where}.{key}", f"must be a whole number of at least {lo}; got {value!r}")
            return default
        return value

    def text(table: dict[str, Any], key: str, where: str, *, needed: bool) -> str | None:
        value = table.get(key)
        if value is None:
            if needed:
                bad(f"{where}.{key}", "missing: give a text")
            return None
        if not isinstance(value, str) or not value.strip():
            bad(f"{where}.{key}", f"must be a non-empty text; got {value!r}")
            return None
        return value

    reminder_days = integer(notify, "reminder_days", 3, 0, "notify")
    max_attempts = integer(notify, "max_attempts", 5, 1, "notify")
    dashboard_url = text(notify, "dashboard_url", "notify", needed=False) or ""
    smtp = None
    if smtp_doc is not None:
        host = text(smtp_doc, "host", "smtp", needed=True)
        sender = text(smtp_doc, "sender", "smtp", needed=True)
        if sender and "@" not in parseaddr(sender)[1]:
            bad("smtp.sender", f"{sender!r} is not an e-mail address")
        port = integer(smtp_doc, "port", 587, 1, "smtp")
        timeout = integer(smtp_doc, "timeout", 30, 1, "smtp")
        starttls = smtp_doc.get("starttls", True)
        if not isinstance(starttls, bool):
            bad("smtp.starttls", f"must be true or false; got {starttls!r}")
        username = text(smtp_doc, "username", "smtp", needed=False)
        password = None
        env = text(smtp_doc, "password_env", "smtp", needed=False)
        if env is not None:
            password = os.environ.get(env)
            if password is None:
                bad("smtp.password_env", f"the environment variable {env} is not set")
        cafile = text(smtp_doc, "cafile", "smtp", needed=False)
        if cafile is not None and not Path(cafile).is_file():
            bad("smtp.cafile", f"{cafile} is not a file")
        if host and sender and isinstance(starttls, bool):
            smtp = SmtpConfig(host, sender, port, starttls, username, password, cafile,
                              float(timeout))
    if problems:
        raise ConfigError(problems)
    return NotifyConfig(smtp, reminder_days, dashboard_url, max_attempts)


def email_of(message: Message, sender: str) -> EmailMessage:
    """The e-mail of one outbox message. Its Message-ID is derived from the outbox row, so a
    receiving system can tell a message it already has."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = formataddr((message.recipient_name, message.recipient))
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    digest = sha256(message.dedupe_key.encode()).hexdigest()[:16]
    mail["Message-ID"] = f"<evalpanel.{message.notification_id}.{digest}@{domain}>"
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(message.body)
    mail["Content-Language"] = message.language  # after set_content, which resets Content-*
    return mail


def _connect(config: SmtpConfig) -> smtplib.SMTP:
    client = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
    try:
        if config.starttls:
            context = ssl.create_default_context(cafile=config.cafile)
            client.starttls(context=context)
        if config.username:
            client.login(config.username, config.password or "")
    except BaseException:
        client.close()
        raise
    return client


@dataclass(frozen=True, slots=True)
class SendReport:
    sent: int
    retrying: int
    failed: int


def send_due(
    engine: sa.Engine,
    actor: Actor,
    config: NotifyConfig,
    *,
    connect: Callable[[SmtpConfig], smtplib.SMTP] = _connect,
) -> SendReport:
    """Send every due message of the outbox over one SMTP connection (see
    :mod:`evalpanel.store.notifications` for the at-most-once rule)."""
    if config.smtp is None:
        return SendReport(0, 0, 0)
    smtp = config.smtp
    sent = retrying = failed = 0
    client: smtplib.SMTP | None = None
    try:
        while (message := claim_next(engine)) is not None:
            unreachable = False
            try:
                if client is None:
                    unreachable = True
                    client = connect(smtp)
                    unreachable = False
                refused = client.send_message(email_of(message, smtp.sender))
                if refused:
                    raise smtplib.SMTPRecipientsRefused(refused)
            except (smtplib.SMTPException, OSError) as exc:
                if client is not None and isinstance(exc, smtplib.SMTPServerDisconnected |
                                                     OSError):
                    client.close()
                    client = None
                if mark_failed(engine, actor, message, f"{type(exc).__name__}: {exc}",
                               max_attempts=config.max_attempts):
                    retrying += 1
                else:
                    failed += 1
                if unreachable:  # the server is down: the rest waits for the next run
                    break
                continue
            mark_sent(engine, actor, message)
            sent += 1
    finally:
        if client is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                client.quit()
            client.close()
    return SendReport(sent, retrying, failed)
