"""Expertise in the product: the call's text model (call.toml, CLI, batch record), the stored
explanations (batch summary, the expert's own tasks, the assignment export) on SQLite and
PostgreSQL, and the dashboard's preview and queue."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from evalpanel import embeddings
from evalpanel.callfolder import read_call
from evalpanel.callfolder.config import parse_call_toml
from evalpanel.planning import (
    TFIDF_VERSION,
    TextModelUnavailable,
    default_text_model,
    text_model_of,
)
from evalpanel.store import (
    InvalidInput,
    PermissionDenied,
    call_folder,
    list_tasks,
    publish_batch,
    task_explanations,
)
from evalpanel.store.exports import table_frame
from evalpanel.store.tables import batches
from evalpanel.workflow import reproduce_batch, run_batch, stored_explanations
from tests.cli_support import run
from tests.dashboard_fixtures import DashWorld, as_user, click, confirm, open_page
from tests.store_fixtures import *  # noqa: F403
from tests.test_workflow import TINY, setup

NO_EMBEDDINGS = pytest.mark.skipif(embeddings.available(), reason="the embeddings are installed")
CALL = """[call]
id = "C1"
title = "t"
scheme = "erasmus-afi"
experts_per_proposal = 2

[lots.L1]
budget_eur = 1000

[assignment]
{line}
"""


def test_call_toml_names_the_text_model() -> None:
    config, problems = parse_call_toml(CALL.format(line='text_model = "hybrid"'))
    assert problems == [] and config is not None and config.text_model == "hybrid"
    config, problems = parse_call_toml(CALL.replace("[assignment]\n{line}\n", ""))
    assert problems == [] and config is not None and config.text_model is None


def test_a_bad_text_model_is_located_with_a_suggestion() -> None:
    _, problems = parse_call_toml(CALL.format(line='text_model = "embedings"'))
    assert [(p.line, p.column) for p in problems] == [(11, "assignment.text_model")]
    assert 'did you mean "embeddings"?' in problems[0].message
    _, problems = parse_call_toml(CALL.format(line='txt_model = "tfidf"'))
    assert [(p.line, p.column) for p in problems] == [(11, "assignment.txt_model")]
    assert 'did you mean "text_model"?' in problems[0].message


def test_the_default_is_the_best_installed_model() -> None:
    call = read_call(TINY)
    expected = "embeddings" if embeddings.available() else "tfidf"
    assert default_text_model() == expected
    assert text_model_of(call) == expected
    assert text_model_of(call, "tfidf") == "tfidf"


@NO_EMBEDDINGS
@pytest.mark.parametrize("model", ["embeddings", "hybrid"])
def test_an_embedding_model_without_the_extra_says_how_to_install(
    tmp_path: Path, model: str
) -> None:
    with pytest.raises(TextModelUnavailable, match=r"pip install 'torch==2\.13\.0'"):
        text_model_of(read_call(TINY), model)
    folder = tmp_path / "call"
    shutil.copytree(TINY, folder)
    with (folder / "call.toml").open("a") as f:
        f.write(f'\n[assignment]\ntext_model = "{model}"\n')
    code, text = run("assign", str(folder))
    assert code == 2 and "needs sentence embeddings" in text and "Traceback" not in text
    code, text = run("assign", str(folder), "--text-model", "tfidf", "--json")
    assert code == 0, text
    summary = json.loads(text[text.index("{"):])
    assert summary["text_model"] == "tfidf"
    assert summary["text_model_version"] == TFIDF_VERSION
    quality = summary["affinity_quality"]
    assert set(quality["field_coverage"]) == {"detailed", "narrow", "broad"}
    assert quality["with_fields"] == read_call(TINY).proposals.height
    assert [s["explanation"] != "" for s in summary["explanations_sample"]] == [True] * 5


def test_batches_keep_model_and_explanations(engine: sa.Engine) -> None:
    call_id, manager, experts = setup(engine)
    stored = call_folder(engine, manager, call_id)
    assert stored.config.text_model is None
    batch = run_batch(engine, manager, call_id, text_model="tfidf")
    with engine.connect() as conn:  # closed at once: on SQLite an open one holds the write lock
        record = conn.execute(
            sa.select(batches.c.parameters, batches.c.summary).where(
                batches.c.batch_id == batch.batch_id)).one()
    assert record.parameters["text_model"] == "tfidf"
    assert record.parameters["text_model_version"] == TFIDF_VERSION
    kept = stored_explanations(record.summary)
    assert kept.height == batch.result.pairs.height
    assert kept.select("proposal_id", "expert_id").sort("proposal_id", "expert_id").equals(
        batch.result.pairs.select("proposal_id", "expert_id").sort("proposal_id", "expert_id"))
    assert (kept["explanation"].str.len_chars() > 0).all()
    assert record.summary["affinity_quality"] == batch.quality
    same, _ = reproduce_batch(engine, manager, batch.batch_id)
    assert same

    publish_batch(engine, manager, batch.batch_id)
    export = table_frame(engine, manager, call_id, "assignment")
    assert "explanation" in export.columns
    assert export["explanation"].null_count() == 0
    eid = export["expert_id"][0]
    mine = task_explanations(engine, experts[eid], call_id)
    assert set(mine["expert_id"]) == {eid}
    assert mine.height == export.filter(pl.col("expert_id") == eid).height
    assert mine["explanation"].null_count() == 0
    with pytest.raises(PermissionDenied):
        table_frame(engine, experts[eid], call_id, "assignment")

    with engine.begin() as conn:  # a batch made with another version of the model
        params = dict(record.parameters, text_model_version="tfidf-0")
        conn.execute(batches.update().where(batches.c.batch_id == batch.batch_id)
                     .values(parameters=params))
    with pytest.raises(InvalidInput, match="tfidf tfidf-0; this installation has tfidf-1"):
        reproduce_batch(engine, manager, batch.batch_id)


def test_the_call_toml_choice_is_stored_with_the_call(engine: sa.Engine, tmp_path: Path) -> None:
    from evalpanel.store import SYSTEM, import_call

    folder = tmp_path / "call"
    shutil.copytree(TINY, folder)
    with (folder / "call.toml").open("a") as f:
        f.write('\n[assignment]\ntext_model = "tfidf"\n')
    call = read_call(folder)
    import_call(engine, call)
    assert call_folder(engine, SYSTEM, call.config.id).config.text_model == "tfidf"


def test_dashboard_preview_and_queue_explain(dash: DashWorld) -> None:
    w = dash.world
    at = open_page(as_user(w.manager, "manager"), "manager_assignment.py")
    at.selectbox[1].set_value("tfidf")
    click(at, "Run the assignment")
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert {"Detailed field", "Narrow field", "Broad field"} <= set(metrics)
    why = next(d.value for d in at.dataframe if "explanation" in d.value.columns)
    assert (why["explanation"].str.len() > 0).all() and (why["rank"] >= 1).all()
    confirm(at, "I understand that publishing cannot be undone")
    click(at, "Publish this batch")
    assert not at.exception
    tasks = list_tasks(w.engine, w.manager, w.call_id)
    new = tasks.filter(pl.col("batch_id").is_not_null() & (pl.col("state") == "assigned"))
    eid = next(e for e in new["expert_id"] if e not in ("E03", "E04"))
    queue = as_user(w.experts[eid], f"user-{eid}")
    assert not queue.exception
    shown = queue.dataframe[0].value
    assert "assigned_because" in shown.columns
    assert shown["assigned_because"].str.contains("eligible experts").all()
