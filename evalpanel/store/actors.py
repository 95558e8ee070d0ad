"""Who calls a service: :class:`Actor`, and :data:`SYSTEM`, the local operator (the CLI)."""

from __future__ import annotations

from dataclasses import dataclass

from evalpanel.vocab import Role

__all__ = ["SYSTEM", "Actor"]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who calls a service: a user id and role. ``SYSTEM`` is the local operator (the CLI)."""

    user_id: int | None
    role: Role

    def __str__(self) -> str:
        return "system" if self.user_id is None else f"{self.role} #{self.user_id}"


SYSTEM = Actor(None, "system")
