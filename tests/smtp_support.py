"""A real SMTP server on loopback (aiosmtpd) for the notification tests: the ``inbox`` fixture
yields the received messages and the server's port."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest

from evalpanel.mailer import NotifyConfig, SmtpConfig

SENDER = "Evaluation panel <panel@agency.example.eu>"


@dataclass
class Inbox:
    """What the loopback SMTP server received; ``on_data`` may answer instead of 250."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    on_data: Callable[[EmailMessage], str | None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)  # what the default policy parses into
        answer = self.on_data(message) if self.on_data else None
        if answer is not None and not answer.startswith("250"):
            return answer
        with self.lock:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return answer or "250 Message accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    box = Inbox()
    port = free_port()
    from aiosmtpd.controller import Controller

    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def smtp_config(port: int, **notify: Any) -> NotifyConfig:
    return NotifyConfig(SmtpConfig("127.0.0.1", SENDER, port=port, starttls=False, timeout=10),
                        **notify)


