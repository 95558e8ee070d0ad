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

# Every expert but E01/E02 (conflicted on P01/P02) gets P03 and P04.
EXPERTS = ["E03", "E04", "E05", "E06"]
PAIRS = [(p, e) for p in ("P03", "P04") for e in EXPERTS]
SAVES = 6


def _accepted(w: World) -> dict[tuple[str, str], int]:
    publish(w, PAIRS)
    ids = {}
    for p, e in PAIRS:
        ids[(p, e)] = task_of(w, p, e)
        accept_task(w.engine, w.experts[e], ids[(p, e)])
    return ids


def test_threads_saving_their_own_drafts_lose_nothing(world: World) -> None:
    ids = _accepted(world)

    def run(key: tuple[str, str]) -> int:
        version = 0
        for i in range(1, SAVES + 1):
            version = save_draft(
                world.engine,
                world.experts[key[1]],
                ids[key],
                scores({"quality": float(i), "task": float(ids[key])}),
                expected_version=version,
            )
        return version

    with ThreadPoolExecutor(max_workers=len(ids)) as pool:
        versions = list(pool.map(run, ids))
    assert versions == [SAVES] * len(ids)
    for key, task in ids.items():
        ev = get_evaluation(world.engine, world.experts[key[1]], task)
        assert dict(ev.scores.select("criterion", "score").iter_rows()) == {
            "quality": float(SAVES),
            "task": float(task),
        }
    saves = audit_frame(world.engine, world.manager, world.call_id).filter(
        pl.col("action") == "save_draft"
    )
    assert saves.height == SAVES * len(ids)


def test_racing_saves_of_one_draft_let_exactly_one_win(world: World) -> None:
    ids = _accepted(world)
    task = ids[("P03", "E03")]
    me = world.experts["E03"]
    save_draft(world.engine, me, task, scores({"quality": 0.0}), expected_version=0)
    n = 8
    barrier = threading.Barrier(n)

    def run(i: int) -> str:
        barrier.wait()
        try:
            save_draft(world.engine, me, task, scores({"quality": float(i)}), expected_version=1)
        except StaleWrite:
            return "stale"
        return f"won {i}"

    with ThreadPoolExecutor(max_workers=n) as pool:
        outcomes = list(pool.map(run, range(1, n + 1)))
    winners = [o for o in outcomes if o != "stale"]
    assert len(winners) == 1, outcomes
    ev = get_evaluation(world.engine, me, task)
    assert ev.version == 2
    assert ev.scores["score"].to_list() == [float(winners[0].split()[1])]


def test_racing_publishers_publish_once(world: World) -> None:
    batches = [
        create_batch(
            world.engine,
            world.manager,
            world.call_id,
            pairs(rows),
            solver="hand",
            parameters={},
            seed=None,
            summary={},
            elapsed_s=0.0,
        )
        for rows in (PAIRS[:4], PAIRS[4:])
    ]
    barrier = threading.Barrier(2)

    def run(batch: int) -> str:
        barrier.wait()
        try:
            publish_batch(world.engine, world.manager, batch)
        except StaleWrite:
            return "stale"
        return "published"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(run, batches))
    assert outcomes == ["published", "stale"]
    assert published_pairs(world.engine, world.manager, world.call_id).height == 4


@pytest.mark.slow
def test_processes_saving_at_once_lose_nothing(world: World, db_url: str) -> None:
    ids = _accepted(world)
    jobs = [(db_url, world.experts[e].user_id, task, SAVES) for (_, e), task in ids.items()]
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(processes=2) as pool:
        versions = pool.starmap(save_drafts_worker, jobs)
    assert versions == [SAVES] * len(jobs)
    with world.engine.connect() as conn:
        states = conn.execute(sa.select(tasks.c.state).distinct()).scalars().all()
    assert states == ["draft"]
    for (_, e), task in ids.items():
        ev = get_evaluation(world.engine, world.experts[e], task)
        assert ev.scores["score"].to_list() == [float(SAVES)]


def test_an_error_inside_a_transaction_leaves_nothing(world: World) -> None:
    before = audit_frame(world.engine, SYSTEM).height
    with pytest.raises(RuntimeError), writing(world.engine) as conn:
        conn.execute(
            tasks.insert().values(
                call_id=world.call_id,
                proposal_id="P03",
                expert_id="E03",
                state="assigned",
                origin="batch",
                created_at=sa.func.now(),
                updated_at=sa.func.now(),
            )
        )
        conn.execute(
            audit_log.insert().values(
                at=sa.func.now(), role="system", action="x", entity="task", entity_id="1"
            )
        )
        raise RuntimeError("crash in the middle")
    assert audit_frame(world.engine, SYSTEM).height == before
    assert published_pairs(world.engine, world.manager, world.call_id).is_empty()


@pytest.mark.slow
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
