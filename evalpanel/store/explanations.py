"""Why each task's expert was chosen: the explanation the batch that created the task stored in
its summary (``summary["explanations"]``: ``[proposal_id, expert_id, explanation]`` rows, built
by :func:`assignment.explain.explain_pairs` in :func:`evalpanel.workflow.run_batch`).

Read through :func:`~evalpanel.store.tasks.list_tasks`, so the same permission applies: a
manager reads every task's explanation, an expert only those of their own tasks.
"""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from evalpanel.store.audit import Actor
from evalpanel.store.engine import reading
from evalpanel.store.tables import batches
from evalpanel.store.tasks import list_tasks

KEYS = ["batch_id", "proposal_id", "expert_id"]
SCHEMA = {"batch_id": pl.Int64, "proposal_id": pl.String, "expert_id": pl.String,
          "explanation": pl.String}


def task_explanations(engine: sa.Engine, actor: Actor, call_id: str) -> pl.DataFrame:
    """``task_id, proposal_id, expert_id, explanation`` of the tasks the actor may list; the
    explanation is null for a task no batch explained (a replacement, a further expert, or a
    batch stored before explanations were kept)."""
    tasks = list_tasks(engine, actor, call_id).select("task_id", *KEYS)
    ids = tasks["batch_id"].drop_nulls().unique().to_list()
    rows: list[tuple[int, str, str, str]] = []
    if ids:
        with reading(engine) as conn:
            for batch_id, summary in conn.execute(
                sa.select(batches.c.batch_id, batches.c.summary).where(
                    batches.c.call_id == call_id, batches.c.batch_id.in_(ids)
                )
            ):
                rows.extend((batch_id, p, e, text) for p, e, text in
                            (summary or {}).get("explanations") or [])
    stored = pl.DataFrame(rows, schema=SCHEMA, orient="row")
    return tasks.join(stored, on=KEYS, how="left", maintain_order="left").select(
        "task_id", "proposal_id", "expert_id", "explanation"
    )


def published_with_explanations(engine: sa.Engine, actor: Actor, call_id: str) -> pl.DataFrame:
    """The published assignment (:func:`~evalpanel.store.batches.published_pairs`, managers)
    with each task's ``explanation``."""
    from evalpanel.store.batches import published_pairs

    pairs = published_pairs(engine, actor, call_id)
    why = task_explanations(engine, actor, call_id).select("task_id", "explanation")
    return pairs.join(why, on="task_id", how="left", maintain_order="left")
