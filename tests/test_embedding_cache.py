"""The store's embedding cache (SQLite and PostgreSQL): vectors kept by model and text hash,
shared by every batch, so a rerun embeds nothing and a re-import only the changed texts."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import sqlalchemy as sa

from evalpanel import embeddings
from evalpanel.callfolder import read_call
from evalpanel.embeddings import text_key
from evalpanel.store import SYSTEM, import_call
from evalpanel.store.embedding_cache import StoreVectorCache
from evalpanel.workflow import reproduce_batch, run_batch, store_backend
from tests.store_fixtures import *  # noqa: F403
from tests.test_workflow import TINY, setup

NEEDS_MODEL = pytest.mark.skipif(not embeddings.available(),
                                 reason="the embeddings extra is not installed")


def test_vectors_round_trip_by_model_and_key(engine: sa.Engine) -> None:
    rng = np.random.default_rng(1)
    vectors = {text_key(t): rng.standard_normal(384).astype(np.float32)
               for t in ("a", "b", "c")}
    cache = StoreVectorCache(engine, "model-1")
    assert cache.get(list(vectors)) == {}
    cache.put(vectors)
    got = cache.get([*vectors, text_key("unknown")])
    assert set(got) == set(vectors)
    for key, vector in vectors.items():
        np.testing.assert_array_equal(got[key], vector)
    # a second writer with the same texts (another process) is a no-op, not an error
    cache.put({k: v + 1 for k, v in vectors.items()})
    np.testing.assert_array_equal(cache.get([text_key("a")])[text_key("a")],
                                  vectors[text_key("a")])
    assert cache.count() == 3
    # another model's vectors are another cache
    assert StoreVectorCache(engine, "model-2").get(list(vectors)) == {}


def test_many_keys_are_read_in_several_queries(engine: sa.Engine) -> None:
    cache = StoreVectorCache(engine, "m")
    vectors = {text_key(str(i)): np.full(4, i, dtype=np.float32) for i in range(1_203)}
    cache.put(vectors)
    got = cache.get(list(vectors))
    assert len(got) == 1_203 and float(got[text_key("1202")][0]) == 1202.0


@NEEDS_MODEL
@pytest.mark.slow  # loads torch and the model
def test_batches_embed_each_text_once(engine: sa.Engine, tmp_path: Path) -> None:
    call_id, manager, _ = setup(engine)
    reports: list[tuple[int, int]] = []
    first = run_batch(engine, manager, call_id, text_model="embeddings",
                      progress=lambda done, total: reports.append((done, total)))
    call = read_call(TINY)
    texts = call.proposals.height + call.experts.filter(
        pl.col("profile").fill_null("") != "").height
    assert reports and reports[-1][0] == reports[-1][1] <= texts
    backend = store_backend(engine)
    assert isinstance(backend.cache, StoreVectorCache)
    assert backend.cache.count() == reports[-1][1]
    reports.clear()
    again = run_batch(engine, manager, call_id, text_model="embeddings",
                      progress=lambda done, total: reports.append((done, total)))
    assert reports == []  # nothing left to embed
    assert again.result.pairs.equals(first.result.pairs)
    same, _ = reproduce_batch(engine, manager, again.batch_id)
    assert same
    # a re-import with one changed abstract embeds that text only
    folder = tmp_path / "call"
    shutil.copytree(TINY, folder)
    changed = read_call(folder)
    proposals = changed.proposals.with_columns(
        abstract=pl.when(pl.col("proposal_id") == changed.proposals["proposal_id"][0])
        .then(pl.lit("A new abstract about offshore wind turbine blades."))
        .otherwise(pl.col("abstract")))
    import_call(engine, dataclasses.replace(changed, proposals=proposals,
                                            content_hash="changed"), replace=True, actor=SYSTEM)
    run_batch(engine, manager, call_id, text_model="embeddings",
              progress=lambda done, total: reports.append((done, total)))
    assert reports == [(1, 1)]
