"""Lexical text similarity: a small TF-IDF / BM25 vector-space model on numpy and scipy.

Shapes and units:

- a fitted :class:`TextModel` holds a vocabulary of ``V`` terms and their ``idf`` (``(V,)``
  float64, natural log);
- :func:`transform` turns ``D`` documents into a ``(D, V)`` float32 CSR matrix whose non-empty
  rows have unit L2 norm (so a sparse product is the cosine similarity, in [0, 1]);
- :func:`aggregate_by_owner` turns a ``(Q, D)`` similarity of queries to documents into ``(Q, R)``
  for ``R`` owners of several documents each (a reviewer and their papers);
- :func:`profile_similarity` does the whole pipeline: ``Q`` query texts against ``R`` profiles of
  one or more documents each, returning ``(Q, R)`` float32 in [0, 1].

Tokens: Unicode-aware lower-case words with accents folded, English stop words removed, plurals
reduced by Harman's S-stemmer; optionally the bigrams of adjacent kept words (phrases such as
"reinforcement learning" carry more than either word).
Weighting (``weighting=``): ``"tfidf"`` is sublinear tf ``1 + ln tf`` times smoothed idf
``ln((1 + N) / (1 + df)) + 1``; ``"bm25"`` is Okapi BM25's saturating, length-normalised tf
``tf (k1 + 1) / (tf + k1 (1 - b + b len / avglen))`` times ``ln(1 + (N - df + 0.5) / (df + 0.5))``.
Both are L2-normalised, so long documents do not win by length.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp

Weighting = Literal["tfidf", "bm25"]
Aggregation = Literal["max", "mean", "topk"]

# A common English stop-word list (function words only; content words are left to idf).
STOP_WORDS: frozenset[str] = frozenset({
    "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any",
    "are", "aren", "as", "at", "be", "because", "been", "before", "being", "below", "between",
    "both", "but", "by", "can", "cannot", "could", "did", "do", "does", "doing", "don", "down",
    "during", "each", "either", "etc", "few", "for", "from", "further", "had", "has", "have",
    "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "however",
    "i", "if", "in", "into", "is", "isn", "it", "its", "itself", "just", "let", "me", "more",
    "most", "much", "must", "my", "myself", "neither", "no", "nor", "not", "now", "of", "off",
    "on", "once", "only", "or", "other", "otherwise", "our", "ours", "ourselves", "out", "over",
    "own", "per", "same", "shall", "she", "should", "since", "so", "some", "such", "than", "that",
    "the", "their", "theirs", "them", "themselves", "then", "there", "therefore", "these", "they",
    "this", "those", "though", "through", "thus", "to", "too", "under", "until", "up", "upon",
    "us", "very", "via", "was", "we", "were", "what", "when", "where", "whether", "which",
    "while", "who", "whom", "whose", "why", "will", "with", "within", "without", "would", "yet",
    "you", "your", "yours", "yourself", "yourselves",
})  # fmt: skip

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")


def fold(text: str) -> str:
    """Lower-case ``text`` and strip accents ("Universität" → "universitat")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def s_stem(word: str) -> str:
    """Harman's S-stemmer (1991): reduce English plurals, leave everything else alone."""
    if len(word) <= 3:
        return word
    if word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    if word.endswith("s") and not word.endswith(("us", "ss", "is")):
        return word[:-1]
    return word


def tokenize(text: str, *, bigrams: bool = False) -> list[str]:
    """The terms of ``text``: folded words without stop words, plurals stemmed; with ``bigrams``
    also ``"w1 w2"`` for each pair of adjacent kept words."""
    words = [
        s_stem(w.replace("’", "'").split("'")[0])
        for w in _WORD.findall(fold(text))
        if w not in STOP_WORDS
    ]
    words = [w for w in words if w and w not in STOP_WORDS and not w.isdigit()]
    if bigrams and len(words) > 1:
        return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
    return words


@dataclass(frozen=True, slots=True)
class TextModel:
    """A fitted vocabulary with its idf; see the module docstring for the weightings."""

    vocabulary: dict[str, int]
    idf: np.ndarray  # (V,) float64
    weighting: Weighting = "bm25"
    bigrams: bool = True
    avg_length: float = 1.0  # mean number of terms per fitted document (BM25 only)
    k1: float = 1.2
    b: float = 0.75


def _counts(
    documents: Sequence[str], vocabulary: dict[str, int] | None, bigrams: bool
) -> tuple[sp.csr_matrix, dict[str, int], np.ndarray]:
    """Term counts ``(D, V)``, the vocabulary (grown when ``None`` was given), and each
    document's total number of terms ``(D,)`` (including terms outside the vocabulary)."""
    grow = vocabulary is None
    vocab: dict[str, int] = {} if vocabulary is None else vocabulary
    rows: list[np.ndarray] = []
    cols: list[int] = []
    lengths = np.zeros(len(documents), dtype=np.float64)
    for i, doc in enumerate(documents):
        terms = tokenize(doc, bigrams=bigrams)
        lengths[i] = len(terms)
        ids = [vocab.setdefault(t, len(vocab)) for t in terms] if grow else [
            vocab[t] for t in terms if t in vocab
        ]
        cols.extend(ids)
        rows.append(np.full(len(ids), i, dtype=np.int64))
    row = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    counts = sp.coo_matrix(
        (np.ones(len(cols), dtype=np.float64), (row, np.asarray(cols, dtype=np.int64))),
        shape=(len(documents), len(vocab)),
    ).tocsr()
    counts.sum_duplicates()
    return counts, vocab, lengths


def fit_text_model(
    documents: Sequence[str],
    *,
    weighting: Weighting = "bm25",
    bigrams: bool = True,
    k1: float = 1.2,
    b: float = 0.75,
) -> TextModel:
    """Learn the vocabulary and idf of ``documents`` (every text that will be compared)."""
    if weighting not in ("tfidf", "bm25"):
        raise ValueError(f"the `weighting` parameter must be 'tfidf' or 'bm25'; got {weighting!r}")
    counts, vocab, lengths = _counts(documents, None, bigrams)
    n = counts.shape[0]
    df = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.float64)
    if weighting == "tfidf":
        idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    else:
        idf = np.log1p((n - df + 0.5) / (df + 0.5))
    avg = float(lengths.mean()) if n and lengths.mean() > 0 else 1.0
    return TextModel(vocab, idf, weighting, bigrams, avg, k1, b)


def transform(model: TextModel, documents: Sequence[str]) -> sp.csr_matrix:
    """``(D, V)`` float32 CSR, rows L2-normalised (all-zero rows for documents without known
    terms)."""
    counts, _, lengths = _counts(documents, model.vocabulary, model.bigrams)
    tf = counts.data
    row_of = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
    if model.weighting == "tfidf":
        weight = 1.0 + np.log(tf)
    else:
        norm_len = 1.0 - model.b + model.b * lengths[row_of] / model.avg_length
        weight = tf * (model.k1 + 1.0) / (tf + model.k1 * norm_len)
    weight = weight * model.idf[counts.indices]
    norms = np.sqrt(np.bincount(row_of, weights=weight**2, minlength=counts.shape[0]))
    weight = weight / np.where(norms > 0, norms, 1.0)[row_of]
    out = sp.csr_matrix(
        (weight.astype(np.float32), counts.indices, counts.indptr), shape=counts.shape
    )
    return out


def cosine(a: sp.csr_matrix, b: sp.csr_matrix) -> np.ndarray:
    """Dense ``(A, B)`` float32 cosine similarity of two row-normalised matrices, in [0, 1]."""
    prod: np.ndarray = (a @ b.T).toarray().astype(np.float32, copy=False)
    np.clip(prod, 0.0, 1.0, out=prod)
    return prod


def aggregate_by_owner(
    sim: np.ndarray, owner: np.ndarray, n_owners: int, *, how: Aggregation = "topk", k: int = 3
) -> np.ndarray:
    """Combine ``(Q, D)`` document similarities into ``(Q, R)`` per owner.

    ``owner`` is ``(D,)`` ints in ``[0, R)``. ``how``: ``"max"`` the best document, ``"mean"``
    all documents, ``"topk"`` the mean of the ``k`` best (fewer when an owner has fewer).
    Owners without documents get 0.
    """
    owner = np.asarray(owner, dtype=np.int64)
    if sim.shape[1] != owner.shape[0]:
        raise ValueError(f"`owner` has {owner.shape[0]} entries for {sim.shape[1]} documents")
    if owner.size and (owner.min() < 0 or owner.max() >= n_owners):
        raise ValueError(f"`owner` values must lie in [0, {n_owners})")
    q = sim.shape[0]
    out = np.zeros((q, n_owners), dtype=np.float32)
    if owner.size == 0:
        return out
    order = np.argsort(owner, kind="stable")
    sizes = np.bincount(owner, minlength=n_owners)
    width = int(sizes.max())
    # scatter into a padded (Q, R, width) block, padding with -inf, one query chunk at a time
    slot = np.arange(owner.size) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    kk = width if how == "mean" else (1 if how == "max" else max(1, min(k, width)))
    counts = np.minimum(sizes, kk).astype(np.float32)
    chunk = max(1, 2**24 // max(1, n_owners * width))
    for start in range(0, q, chunk):
        block = np.full((min(chunk, q - start), n_owners, width), -np.inf, dtype=np.float32)
        block[:, owner[order], slot] = sim[start : start + chunk][:, order]
        if kk < width:
            block = -np.partition(-block, kk - 1, axis=2)[:, :, :kk]
        block[np.isinf(block)] = 0.0
        out[start : start + chunk] = block.sum(axis=2) / np.maximum(counts, 1.0)
    return out


def profile_similarity(
    queries: Sequence[str],
    profiles: Sequence[Sequence[str]],
    *,
    weighting: Weighting = "bm25",
    bigrams: bool = True,
    how: Aggregation = "topk",
    k: int = 3,
) -> np.ndarray:
    """``(Q, R)`` float32 similarity in [0, 1] of ``Q`` query texts to ``R`` profiles, each a
    sequence of documents (an expert's profile text, or a reviewer's papers).

    The idf is fitted on every query and profile document together.
    """
    docs = [d for prof in profiles for d in prof]
    owner = np.repeat(np.arange(len(profiles)), [len(p) for p in profiles])
    model = fit_text_model([*queries, *docs], weighting=weighting, bigrams=bigrams)
    sim = cosine(transform(model, queries), transform(model, docs))
    return aggregate_by_owner(sim, owner, len(profiles), how=how, k=k)
