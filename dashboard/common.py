"""What every page shares: the engine, the signed-in session, the selected call, a way to
call a service that shows a user's mistake as a message instead of a traceback, and the error
boundary the app runs every page in.

Pages only call ``evalpanel`` services and render their results; they never compute scores or
assignments.
"""

from __future__ import annotations

import importlib
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import ParamSpec, TypeVar

import sqlalchemy as sa
import streamlit as st

from dashboard.auth import Session
from dashboard.context import CHOSEN
from dashboard.text import md
from evalpanel.schemes import Scheme, SchemeError, load_scheme
from evalpanel.store import Actor, StoreError, call_info, default_url, make_engine

DB_ENV = "EVALPANEL_DB_URL"
P = ParamSpec("P")
T = TypeVar("T")


@st.cache_resource(show_spinner=False)
def _engine(url: str) -> sa.Engine:
    return make_engine(url)


def engine() -> sa.Engine:
    """The engine of ``$EVALPANEL_DB_URL`` (set by ``evalpanel dashboard``), else the default."""
    return _engine(os.environ.get(DB_ENV, "").strip() or default_url())


def session() -> Session:
    """The signed-in session (the app signs in before any page runs)."""
    found = st.session_state.get("session")
    if not isinstance(found, Session):
        st.error("Sign in first.")
        st.stop()
    return found


def actor() -> Actor:
    return session().actor


def call_id() -> str:
    """The call chosen in the sidebar (see :mod:`dashboard.context`); stops the page with a
    hint when there is none."""
    chosen = st.session_state.get(CHOSEN)
    if not chosen:
        st.info("No call is open for you yet. A manager imports a call on the Import page.")
        st.stop()
    return str(chosen)


def attempt(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | None:
    """``fn(*args, **kwargs)``, or None after showing a refused or invalid step as an error."""
    try:
        return fn(*args, **kwargs)
    except (StoreError, SchemeError) as exc:
        st.error(md(exc))
        return None


def act(fn: Callable[P, object], *args: P.args, **kwargs: P.kwargs) -> bool:
    """Run a step for its effect; True when it went through, else False after showing why."""
    try:
        fn(*args, **kwargs)
    except (StoreError, SchemeError) as exc:
        st.error(md(exc))
        return False
    return True


@contextmanager
def error_boundary() -> Iterator[None]:
    """Run a page: an unexpected error is logged with its traceback for the operator (the
    server's log), and the visitor sees a short message with a reference to find it there, never
    a traceback or an SQL statement. Streamlit's own stop and rerun signals pass through."""
    try:
        yield
    except Exception:
        from streamlit.logger import get_logger

        reference = secrets.token_hex(4)
        get_logger("evalpanel.dashboard").exception("page error, reference %s", reference)
        st.error(f"Something went wrong on this page (reference {reference}). The details are "
                 "in the server's log for the operator; reload the page to try again.")


def call_scheme(cid: str) -> Scheme:
    """The call's scheme as its experts score by: the preset with the call's overrides."""
    info = attempt(call_info, engine(), actor(), cid)
    if info is None:
        st.stop()
    return load_scheme(str(info.scheme), info.scheme_overrides or None)


def bump() -> None:
    """Mark the data as changed (pages cache per data version)."""
    st.session_state["data_version"] = st.session_state.get("data_version", 0) + 1


def workflow() -> ModuleType:
    """The application services that compute (assignment runs, ranking, reliability)."""
    try:
        return importlib.import_module("evalpanel.workflow")
    except ImportError:
        st.info("This page needs evalpanel.workflow, which this installation lacks.")
        st.stop()
