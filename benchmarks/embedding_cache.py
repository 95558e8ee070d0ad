"""Embedding cache benchmark: a first embedding of a call's texts, then a rerun from the store.

Usage (from the repository root, with the ``embeddings`` extra installed)::

    PYTHONPATH=$PWD python benchmarks/embedding_cache.py [--scale P E] [--db URL]
        [--prefilled URL]

Generates P proposals and E experts with profiles (default 5,000 and 2,000; the synthetic texts
of ``benchmarks/expertise.py``), then times :func:`evalpanel.embeddings.expert_similarity`
through the store's cache (:class:`evalpanel.store.embedding_cache.StoreVectorCache`, a fresh
SQLite file unless ``--db`` is given): the first run embeds every text, the rerun (a new backend,
as a new process or batch would make) reads them all from the store, and a third run after one
changed abstract embeds that text only. ``--prefilled URL`` copies the vectors an earlier run
left in another store (e.g. its SQLite file) into the store first and skips the first
embedding, to time the reruns on another database without embedding everything again.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from assignment.affinity import expert_texts, proposal_texts
from benchmarks.expertise import synthetic_call
from evalpanel import embeddings
from evalpanel.store import make_engine
from evalpanel.store.embedding_cache import StoreVectorCache


def _backend(engine_url: str) -> embeddings.EmbeddingBackend:
    backend = embeddings.EmbeddingBackend(use_cache=False)
    backend.cache = StoreVectorCache(make_engine(engine_url), backend.model_name)
    return backend


def _backend_name(url: str) -> str:
    """The database kind of ``url``, never its credentials."""
    return sa.make_url(url).get_backend_name()


def _copy(source: str, target: str, keys: list[str], model: str) -> int:
    """Copy the vectors of ``keys`` from the store at ``source`` into the one at ``target``."""
    vectors = StoreVectorCache(make_engine(source), model).get(keys)
    StoreVectorCache(make_engine(target), model).put(vectors)
    return len(vectors)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", nargs=2, type=int, metavar=("P", "E"), default=(5_000, 2_000))
    ap.add_argument("--db", default=None, help="database URL (default: a new SQLite file)")
    ap.add_argument("--prefilled", default=None, metavar="URL",
                    help="copy the vectors of an earlier run's store and time the reruns only")
    args = ap.parse_args(argv)
    if not embeddings.available():
        print(f"error: {embeddings.INSTALL_HINT}", file=sys.stderr)
        return 2
    p, e = args.scale
    proposals, _, experts, _ = synthetic_call(p, e)
    url = args.db or f"sqlite:///{Path(tempfile.mkdtemp()) / 'cache.sqlite'}"
    print(f"{p} proposals, {e} experts with profiles; store {_backend_name(url)}")

    def timed(label: str, frame: pl.DataFrame) -> None:
        backend = _backend(url)
        t0, c0 = time.perf_counter(), time.process_time()
        sim = embeddings.expert_similarity(frame, experts, backend)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"{label:<38} {elapsed:8.2f} s  cpu {cpu:7.2f} s  embedded {backend.embedded:>5} "
              f"texts  matrix {sim.shape}")

    if args.prefilled:
        texts = [*proposal_texts(proposals), *filter(None, expert_texts(experts))]
        copied = _copy(args.prefilled, url, [embeddings.text_key(t) for t in texts],
                       embeddings.EmbeddingBackend(use_cache=False).model_name)
        print(f"copied {copied} vectors from a {_backend_name(args.prefilled)} store")
    else:
        timed("first embedding (empty cache)", proposals)
    timed("rerun (every text in the store)", proposals)
    changed = proposals.with_columns(
        abstract=pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("A changed abstract."))
        .otherwise(pl.col("abstract")))
    timed("re-import with one changed abstract", changed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
