"""Errors raised by the store's services; each message says what happened and what to do."""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every error the store raises on purpose."""


class PermissionDenied(StoreError):
    """The actor may not do or see this (the refusal is written to the audit log)."""

    def __init__(self, message: str, *, audit: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.audit = audit or {}
        self.logged = False


class NotFound(StoreError):
    """A call, task, batch or other record does not exist."""


class AlreadyImported(StoreError):
    """The call id is already in the database and ``replace`` was not asked for."""


class StaleWrite(StoreError):
    """Someone else saved the record since it was read: reload it and apply the change again."""


class InvalidState(StoreError):
    """The record is not in a state that allows this step (e.g. editing a submitted evaluation)."""


class InvalidInput(StoreError):
    """An argument is malformed (missing column, bad value); the message says what to change."""


class CallMismatch(PermissionDenied):
    """A step names one call while its record (batch, consolidation, task) belongs to another:
    refused and audited like a denial, so that nothing lands on a call the user is not shown."""
