"""The call reads that pages show, cached across reruns, pages and sessions of this server
process (``st.cache_data``; the largest with ``st.cache_resource``, see ``SHARED``) and keyed by
the call's data version: that of the call's tables alone for the reads that depend on nothing
else (the call folder, its configuration, the excluded pairs and the potential conflicts), so
that an evaluation submitted does not make the conflicts page compute them again.

Every read first asks the store for the call's data version
(:func:`evalpanel.store.summary.call_data_version`: one indexed query that also checks that the
signed-in user is a manager or expert of the call), then looks up the result computed for that
version, that database and that user. Any write to the call moves the version, so a result is
never shown once its data changed; and the key holds the user, so one user's result is never
served to another (the store's permission checks ran when it was computed, and a refusal is
raised again, never cached).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import polars as pl
import sqlalchemy as sa
import streamlit as st

from dashboard.common import actor, engine
from evalpanel.callfolder.model import CallConfig, CallFolder
from evalpanel.store import (
    Actor,
    Names,
    StoreError,
    audit_frame,
    call_names,
    conflicted_tasks,
    list_consolidations,
    list_tasks,
)
from evalpanel.store import call_folder as read_call_folder
from evalpanel.store import rule_frames as read_rule_frames
from evalpanel.store.names import named_audit_frame
from evalpanel.store.summary import (
    Progress,
    call_config,
    call_data_version,
    evaluation_progress,
    lot_summary,
)

if TYPE_CHECKING:  # the module imports the engines: loaded by the first read, not at start
    from evalpanel.exclusion_view import ExclusionView

# Only the newest version of a read is asked for again, by the few users of a call.
ENTRIES = 64
# The call's tables, its excluded pairs counted (and, once a filter asks for them all, as one
# frame: a million rows, ~100 MB, at 5,000 proposals) are shared, not copied: ``st.cache_data``
# would unpickle a copy on every run (~1 s for the pairs). The pages never change a polars
# frame in place, so sharing one is safe. Six reads a call and user (see SHARED_READS), for a
# few of each.
SHARED = 16

Key = tuple[str, int | None, str, str, str]


def version(call_id: str, *, tables_only: bool = False) -> str:
    """The call's data version (checks that the user may read the call at all)."""
    return call_data_version(engine(), actor(), call_id, tables_only=tables_only)


def _key_of(eng: sa.Engine, who: Actor, call_id: str, *, tables_only: bool = False) -> Key:
    # the conflict rule's windows count back from today: its results are a day's
    data = call_data_version(eng, who, call_id, tables_only=tables_only)
    return (str(eng.url), who.user_id, who.role, call_id, f"{data}@{dt.date.today()}")


def _key(call_id: str, *, tables_only: bool = False) -> Key:
    return _key_of(engine(), actor(), call_id, tables_only=tables_only)


def _tables_key(call_id: str) -> Key:
    """The key of a read of the call's tables and conflict decisions only."""
    return _key(call_id, tables_only=True)


def _workflow() -> Any:
    from dashboard.common import workflow

    return workflow()


def _ranking() -> Any:
    import evalpanel.ranking

    return evalpanel.ranking


# The key's parts are the arguments Streamlit hashes; the engine and the actor (not hashed:
# their names start with "_") are the ones the key names. They are passed, not read from the
# session, so that a read can also run in :func:`prefetch`'s thread.
@st.cache_data(show_spinner=False, max_entries=ENTRIES)
def _read(name: str, key: Key, _eng: sa.Engine, _who: Actor) -> Any:
    return READS[name](_eng, _who, key[3])


@st.cache_resource(show_spinner=False, max_entries=SHARED)
def _shared(name: str, key: Key, _eng: sa.Engine, _who: Actor) -> Any:
    return SHARED_READS[name](_eng, _who, key[3])


def _mine(name: str, key: Key) -> Any:
    """A cached read as this session's user."""
    return _read(name, key, engine(), actor())


def _mine_shared(name: str, key: Key) -> Any:
    """A shared cached read as this session's user."""
    return _shared(name, key, engine(), actor())


def _sub(e: sa.Engine, a: Actor, c: str, name: str, *, tables: bool = False) -> Any:
    """Another cached read of the same call, engine and user (tables: keyed by the version of
    the call's tables)."""
    key = _key_of(e, a, c, tables_only=tables)
    return (_shared if name in SHARED_READS else _read)(name, key, e, a)


def _quality_flags(eng: sa.Engine, who: Actor, call_id: str) -> pl.DataFrame:
    from evalpanel.quality import call_flags

    return call_flags(eng, who, call_id,
                      call=_sub(eng, who, call_id, "proposals_call", tables=True))


def _report_index(eng: sa.Engine, who: Actor, call_id: str) -> pl.DataFrame:
    from evalpanel.reports import report_index

    return report_index(eng, who, call_id,
                        call=_sub(eng, who, call_id, "proposals_call", tables=True),
                        ranked=_sub(eng, who, call_id, "ranked").proposals)


# name -> (engine, actor, call id) -> result. The heavy ones read the call's tables once, from
# the shared cache, through ``call=``.
READS: dict[str, Callable[[sa.Engine, Actor, str], Any]] = {
    "config": call_config,
    "tasks": list_tasks,
    "progress": evaluation_progress,
    "lots": lot_summary,
    "consolidations": list_consolidations,
    "conflicted_tasks": lambda e, a, c: conflicted_tasks(
        e, a, c, conflicts=_sub(e, a, c, "conflict_set", tables=True)),
    "audit": audit_frame,
    "quality_flags": _quality_flags,
    "report_index": _report_index,
    "potential": lambda e, a, c: _workflow().potential_conflict_table(
        e, a, c, frames=_sub(e, a, c, "rule_frames", tables=True)),
    "ranked": lambda e, a, c: _workflow().rank_call(e, a, c),
    "reliability": lambda e, a, c: _workflow().reliability_report(
        e, a, c, call=_sub(e, a, c, "proposals_call", tables=True), ranked=_sub(e, a, c, "ranked")),
    "names": call_names,
    "named_audit": named_audit_frame,
    "ranking_view": lambda e, a, c: _ranking().ranking_view(
        e, a, c, call=_sub(e, a, c, "proposals_call", tables=True), result=_sub(e, a, c, "ranked"),
        names=_sub(e, a, c, "names", tables=True)),
    "reliability_view": lambda e, a, c: _ranking().reliability_view(
        e, a, c, call=_sub(e, a, c, "proposals_call", tables=True), result=_sub(e, a, c, "ranked"),
        names=_sub(e, a, c, "names", tables=True)),
    "conflict_reasons": lambda e, a, c: _sub(e, a, c, "exclusions", tables=True).reasons(),
}
SHARED_READS: dict[str, Callable[[sa.Engine, Actor, str], Any]] = {
    "call_folder": read_call_folder,
    # the configuration and proposals alone: what the ranking, its views, the quality checks
    # and the report list read
    "proposals_call": lambda e, a, c: read_call_folder(e, a, c, proposals_only=True),
    "conflicts": lambda e, a, c: _workflow().conflict_table(
        e, a, c, call=_sub(e, a, c, "call_folder", tables=True)),
    "rule_frames": read_rule_frames,
    "conflict_set": lambda e, a, c: _workflow().stored_conflicts(
        e, a, c, frames=_sub(e, a, c, "rule_frames", tables=True)),
    "exclusions": lambda e, a, c: _workflow().exclusion_view(
        e, a, c, conflicts=_sub(e, a, c, "conflict_set", tables=True)),
}
# What :func:`prefetch` computes ahead of a manager's visits, the pages' heaviest reads first
# in the order of the navigation (name, keyed by the call's tables only).
PREFETCH: tuple[tuple[str, bool], ...] = (
    ("names", True), ("exclusions", True), ("conflict_reasons", True), ("potential", True),
    ("conflicted_tasks", False), ("ranked", False), ("ranking_view", False),
    ("reliability_view", False), ("named_audit", False),
)
# Each read of the prefetch starts only once no page run is in progress in this process and
# the last one ended this long ago (its browser still draws it), so that the prefetch does not
# take the CPU from the page in front (a manager's first page after signing in, or the page
# opened next, on two cores); after PREFETCH_WAIT_S of busy pages it goes on regardless.
PREFETCH_DELAY_S = 1.0
PREFETCH_WAIT_S = 30.0
_prefetching: set[Key] = set()
_prefetch_lock = threading.Lock()
_runs = threading.Condition()
_running = 0
_last_run_end = 0.0


@contextmanager
def page_run() -> Iterator[None]:
    """Around a page's run (the app's ``navigation.run()``): the prefetch waits meanwhile."""
    global _running, _last_run_end
    with _runs:
        _running += 1
    try:
        yield
    finally:
        with _runs:
            _running -= 1
            _last_run_end = time.monotonic()
            _runs.notify_all()


def _wait_for_quiet(delay_s: float = PREFETCH_DELAY_S, limit_s: float = PREFETCH_WAIT_S) -> None:
    """Until no page run is in progress and the last one ended ``delay_s`` ago (at most
    ``limit_s``)."""
    give_up = time.monotonic() + limit_s
    with _runs:
        while (left := give_up - time.monotonic()) > 0:
            quiet = time.monotonic() - _last_run_end
            if _running == 0 and quiet >= delay_s:
                return
            _runs.wait(min(left, delay_s - quiet if _running == 0 else delay_s))


def _ahead(eng: sa.Engine, who: Actor, call_id: str, name: str, tables: bool) -> bool:
    """Compute one read into its cache; False when it was refused or failed (the page asks
    again and reports it)."""
    try:
        _sub(eng, who, call_id, name, tables=tables)
    except Exception:
        return False
    return True


def _prefetch_all(eng: sa.Engine, who: Actor, call_id: str) -> None:
    for name, tables in PREFETCH:
        _wait_for_quiet()
        if not _ahead(eng, who, call_id, name, tables):
            return


def ahead(call_id: str, *reads: tuple[str, bool]) -> list[threading.Thread]:
    """Start computing ``reads`` (name, keyed by the call's tables only) now, each in its own
    thread, into the caches the page reads next: a page that needs several independent reads
    starts the later ones while it computes the first (the database reads and polars' work
    overlap on two cores; a read asked for while being computed waits for that computation).
    Returns the threads started."""
    eng, who = engine(), actor()
    threads = [threading.Thread(target=_ahead, args=(eng, who, call_id, name, tables),
                                daemon=True, name=f"evalpanel-ahead-{name}")
               for name, tables in reads]
    for thread in threads:
        thread.start()
    return threads


def prefetch(call_id: str) -> threading.Thread | None:
    """Compute the call's heavy page reads for this manager in a background thread, into the
    same caches the pages read, so that a page's first visit finds them ready (or waits for
    the one being computed: Streamlit computes a cached value once per key). Once per
    database, user, call and data version; returns the thread started, or None."""
    eng, who = engine(), actor()
    try:
        key = _key_of(eng, who, call_id)
    except StoreError:  # not a call of this user: its pages say so
        return None
    with _prefetch_lock:
        if key in _prefetching:
            return None
        if len(_prefetching) > ENTRIES:
            _prefetching.clear()
        _prefetching.add(key)
    thread = threading.Thread(target=_prefetch_all, args=(eng, who, call_id), daemon=True,
                              name=f"evalpanel-prefetch-{call_id}")
    thread.start()
    return thread


def call_folder(call_id: str) -> CallFolder:
    """:func:`evalpanel.store.call_folder` (shared, not copied: do not change its frames)."""
    return _mine_shared("call_folder", _tables_key(call_id))  # type: ignore[no-any-return]


def config(call_id: str) -> CallConfig:
    """:func:`evalpanel.store.summary.call_config`."""
    return _mine("config", _tables_key(call_id))  # type: ignore[no-any-return]


def tasks(call_id: str) -> pl.DataFrame:
    """:func:`evalpanel.store.list_tasks`."""
    return _mine("tasks", _key(call_id))  # type: ignore[no-any-return]


def progress(call_id: str) -> Progress:
    """:func:`evalpanel.store.summary.evaluation_progress`."""
    return _mine("progress", _key(call_id))  # type: ignore[no-any-return]


def lots(call_id: str) -> pl.DataFrame:
    """:func:`evalpanel.store.summary.lot_summary`."""
    return _mine("lots", _key(call_id))  # type: ignore[no-any-return]


def consolidations(call_id: str) -> pl.DataFrame:
    """:func:`evalpanel.store.list_consolidations`."""
    return _mine("consolidations", _key(call_id))  # type: ignore[no-any-return]


def held_tasks(call_id: str) -> pl.DataFrame:
    """:func:`evalpanel.store.conflicted_tasks`."""
    return _mine("conflicted_tasks", _key(call_id))  # type: ignore[no-any-return]


def audit(call_id: str) -> pl.DataFrame:
    """:func:`evalpanel.store.audit_frame` of the call."""
    return _mine("audit", _key(call_id))  # type: ignore[no-any-return]


def quality_flags(call_id: str) -> pl.DataFrame:
    """:func:`evalpanel.quality.call_flags`."""
    return _mine("quality_flags", _key(call_id))  # type: ignore[no-any-return]


def report_index(call_id: str) -> pl.DataFrame:
    """:func:`evalpanel.reports.report_index`: the reports there are, none of them built."""
    return _mine("report_index", _key(call_id))  # type: ignore[no-any-return]


def conflict_table(call_id: str) -> pl.DataFrame:
    """:func:`evalpanel.workflow.conflict_table` (shared, not copied): every excluded pair as
    one frame, for a filter over them all (a page of them is :func:`exclusions`')."""
    return _mine_shared("conflicts", _tables_key(call_id))  # type: ignore[no-any-return]


def exclusions(call_id: str) -> ExclusionView:
    """:func:`evalpanel.workflow.exclusion_view`: the excluded pairs counted and built a page
    at a time (shared, not copied)."""
    return _mine_shared("exclusions", _tables_key(call_id))  # type: ignore[no-any-return]


def rule_frames(call_id: str) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """:func:`evalpanel.store.rule_frames`: the call's proposals, partners, experts and declared
    conflicts in the rule's few columns (shared, not copied)."""
    return _mine_shared("rule_frames", _tables_key(call_id))  # type: ignore[no-any-return]


def conflict_reasons(call_id: str) -> pl.DataFrame:
    """``reason, pairs`` of the conflict table, most pairs first."""
    return _mine("conflict_reasons", _tables_key(call_id))  # type: ignore[no-any-return]


def potential_conflict_table(call_id: str) -> pl.DataFrame:
    """:func:`evalpanel.workflow.potential_conflict_table`."""
    return _mine("potential", _tables_key(call_id))  # type: ignore[no-any-return]


def rank_call(call_id: str) -> Any:
    """:func:`evalpanel.workflow.rank_call` (a ``scoring.ScoreResult``)."""
    return _mine("ranked", _key(call_id))


def reliability_report(call_id: str) -> Any:
    """:func:`evalpanel.workflow.reliability_report`."""
    return _mine("reliability", _key(call_id))


def names(call_id: str) -> Names:
    """:func:`evalpanel.store.call_names` (keyed by the version of the call's tables)."""
    return _mine("names", _tables_key(call_id))  # type: ignore[no-any-return]


def named_audit(call_id: str) -> pl.DataFrame:
    """:func:`evalpanel.store.names.named_audit_frame` of the call."""
    return _mine("named_audit", _key(call_id))  # type: ignore[no-any-return]


def ranking_view(call_id: str) -> Any:
    """:func:`evalpanel.ranking.ranking_view` (the ranking with names and the lots)."""
    return _mine("ranking_view", _key(call_id))


def reliability_view(call_id: str) -> Any:
    """:func:`evalpanel.ranking.reliability_view` (the report with names and empty states)."""
    return _mine("reliability_view", _key(call_id))


def clear() -> None:
    """Forget every cached read (a new version makes this unnecessary otherwise)."""
    _read.clear()
    _shared.clear()
    with _prefetch_lock:
        _prefetching.clear()
