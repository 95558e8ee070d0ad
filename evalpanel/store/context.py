"""The call a step acts on: a step that names its call (the one the user is shown) is refused
when its record belongs to another call.

Every service that takes a record id (a batch, a consolidation, a task) also takes the
keyword ``call_id``; when it is given, :func:`require_same_call` runs after the permission
check (so a refusal never tells anyone about a call they may not see) and raises
:class:`~evalpanel.store.errors.CallMismatch`, which the store's transactions write to the audit
log as ``denied:<action>`` under the record's call (which the actor may see).
"""

from __future__ import annotations

from evalpanel.store.audit import Actor
from evalpanel.store.errors import CallMismatch


def require_same_call(
    actor: Actor, action: str, entity: str, entity_id: object, record_call: str,
    named_call: str | None,
) -> None:
    """Raise :class:`CallMismatch` when ``named_call`` is given and is not ``record_call``."""
    if named_call is None or named_call == record_call:
        return
    why = (f"belongs to call {record_call!r}, not to call {named_call[:80]!r} that this step "
           "names")
    raise CallMismatch(
        f"{action.replace('_', ' ')} refused, nothing changed: {entity} {entity_id} {why}. "
        f"Select call {record_call!r} to act on it, or reload the page.",
        audit={
            "user_id": actor.user_id,
            "role": actor.role,
            "action": "denied:" + action,
            "entity": entity,
            "entity_id": str(entity_id),
            "call_id": record_call,
            "after": {"reason": why, "named_call": named_call[:255]},
        },
    )
