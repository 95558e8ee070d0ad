from __future__ import annotations

import polars as pl
import pytest
import sqlalchemy as sa

from evalpanel.store import (
    SYSTEM,
    InvalidInput,
    InvalidState,
    PermissionDenied,
    add_identity,
    audit_frame,
    authenticate,
    create_demo_accounts,
    create_user,
    import_call,
    is_demo_database,
    list_tasks,
    mark_demo_database,
    set_password,
)
from evalpanel.store.accounts import actor_for_identity
from evalpanel.store.tables import expert_links, identities

from tests.store_fixtures import make_call

def test_external_identities(engine: sa.Engine) -> None:
    uid = create_user(engine, SYSTEM, "carol", "manager")
    add_identity(engine, SYSTEM, uid, "oidc:https://login.example.eu", "sub-123")
    actor = actor_for_identity(engine, "oidc:https://login.example.eu", "sub-123")
    assert actor.user_id == uid and actor.role == "manager"
    with pytest.raises(PermissionDenied):
        add_identity(engine, actor, uid, "oidc:https://evil", "x")
