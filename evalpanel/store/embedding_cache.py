"""The store's embedding cache: a :class:`evalpanel.embeddings.VectorCache` over the
``text_embeddings`` table, so every dashboard process and every batch of a deployment reuses
the vectors of texts embedded once, and a re-imported call embeds only its changed texts.

A system cache, not a call's data: it holds vectors keyed by text hash (no text, no call), is
read and written only by the workflow's embedding step, and needs no actor.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sqlalchemy as sa

from evalpanel.store.audit import now
from evalpanel.store.engine import reading, writing
from evalpanel.store.tables import text_embeddings

_KEYS_PER_QUERY = 500  # bound parameters per SELECT ... IN


class StoreVectorCache:
    """Vectors of one model (``model``: the backend's model name) in the store."""

    def __init__(self, engine: sa.Engine, model: str) -> None:
        self.engine = engine
        self.model = model

    def get(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        t = text_embeddings.c
        with reading(self.engine) as conn:
            for start in range(0, len(keys), _KEYS_PER_QUERY):
                part = list(keys[start : start + _KEYS_PER_QUERY])
                rows = conn.execute(
                    sa.select(t.text_hash, t.vector).where(
                        t.model == self.model, t.text_hash.in_(part)
                    )
                )
                for key, blob in rows:
                    out[key] = np.frombuffer(blob, dtype="<f4")
        return out

    def put(self, vectors: dict[str, np.ndarray]) -> None:
        if not vectors:
            return
        # another process may have cached some of them meanwhile: insert only the rest, and
        # retry once the other transaction has committed
        for attempt in range(2):
            cached = self.get(list(vectors))
            fresh = {k: v for k, v in vectors.items() if k not in cached}
            if not fresh:
                return
            stamp = now()
            rows = [
                {
                    "model": self.model,
                    "text_hash": key,
                    "dim": int(vector.shape[0]),
                    "vector": np.asarray(vector, dtype="<f4").tobytes(),
                    "created_at": stamp,
                }
                for key, vector in fresh.items()
            ]
            try:
                with writing(self.engine) as conn:
                    conn.execute(text_embeddings.insert(), rows)
                return
            except sa.exc.IntegrityError:
                if attempt:
                    raise

    def count(self) -> int:
        """How many vectors of this model the store holds."""
        with reading(self.engine) as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count()).where(text_embeddings.c.model == self.model)
                ).scalar_one()
            )
