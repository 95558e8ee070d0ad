from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor

import polars as pl
import pytest
import sqlalchemy as sa

from evalpanel.store import (
    SYSTEM,
    StaleWrite,
    accept_task,
    audit_frame,
    create_batch,
    get_evaluation,
    publish_batch,
    published_pairs,
    save_draft,
)
from evalpanel.store.engine import writing
from evalpanel.store.tables import audit_log, tasks

from tests.store_fixtures import (
    World,
    hold_write_worker,
    pairs,
    publish,
    save_drafts_worker,
    scores,
    task_of,
)

def test_a_process_killed_mid_write_leaves_nothing(world: World, db_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=hold_write_worker, args=(db_url, ready, 500))
    proc.start()
    try:
        assert ready.wait(60), "the writer never got going"
    finally:
        proc.kill()
        proc.join(30)
    assert proc.exitcode is not None and proc.exitcode < 0
    # The database is usable at once, and holds none of the killed transaction's rows.
    publish(world, PAIRS[:2])
    log = audit_frame(world.engine, SYSTEM)
    assert log.filter(pl.col("action") == "crash-test").is_empty()
    assert log.filter(pl.col("action") == "publish").height == 1
