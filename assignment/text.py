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

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import polars as pl

if TYPE_CHECKING:
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

_RAW_WORD = r"[\p{L}\p{M}\p{N}]+(?:['’][\p{L}\p{M}\p{N}]+)?"
_STOP_SERIES = pl.Series(sorted(STOP_WORDS), dtype=pl.String)


def fold(text: str) -> str:
    """Lower-case ``text`` and strip accents ("Universität" → "universitat")."""
    if text.isascii():  # nothing to decompose
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _fold_expr(expr: pl.Expr) -> pl.Expr:
    return (expr.str.normalize("NFKD").str.replace_all(r"\p{M}", "").str.to_lowercase()
            .str.replace_all("ß", "ss"))


def _s_stem_expr(word: pl.Expr) -> pl.Expr:
    """Harman's S-stemmer (1991): reduce English plurals, leave everything else alone."""
    n = word.str.len_chars()
    return (
        pl.when(n <= 3).then(word)
        .when(word.str.ends_with("ies") & ~word.str.ends_with("eies")
              & ~word.str.ends_with("aies")).then(word.str.slice(0, n - 3) + "y")
        .when(word.str.ends_with("es") & ~word.str.ends_with("aes") & ~word.str.ends_with("ees")
              & ~word.str.ends_with("oes")).then(word.str.slice(0, n - 1))
        .when(word.str.ends_with("s") & ~word.str.ends_with("us") & ~word.str.ends_with("ss")
              & ~word.str.ends_with("is")).then(word.str.slice(0, n - 1))
        .otherwise(word)
    )


def s_stem(word: str) -> str:
    """:func:`_s_stem_expr` on one word."""
    return str(pl.select(_s_stem_expr(pl.lit(word, dtype=pl.String))).item())


def _normalise_words(words: pl.Series) -> pl.Series:
    """The term of each distinct raw word: folded, without its apostrophe suffix, plural
    stemmed; null for stop words, numbers and empty results."""
    stop = (
        pl.col("t").is_in(_STOP_SERIES.implode())
        | (pl.col("t") == "")
        | pl.col("t").str.contains(r"^\d+$")
    )
    return (
        pl.DataFrame({"w": words})
        .select(t=_fold_expr(pl.col("w")).str.replace(r"['’].*$", ""))
        .select(t=pl.when(stop).then(None).otherwise(_s_stem_expr(pl.col("t"))))
        .select(t=pl.when(stop).then(None).otherwise(pl.col("t")))
        .to_series()
    )


@dataclass(frozen=True, slots=True)
class _Tokens:
    """Term occurrences of a document set, unigrams in text order then bigrams."""

    doc: np.ndarray  # (N,) int64 document index
    term: np.ndarray  # (N,) int64 index into ``terms``
    terms: list[str]  # distinct terms; unigrams sorted


def _tokens(documents: Sequence[str], bigrams: bool) -> _Tokens:
    raw = (
        pl.DataFrame({"text": pl.Series(list(documents), dtype=pl.String)})
        .with_row_index("doc")
        .select("doc", w=pl.col("text").fill_null("").str.to_lowercase().str.extract_all(
            _RAW_WORD))
        .explode("w")
        .drop_nulls("w")
    )
    if raw.height == 0:
        return _Tokens(np.zeros(0, np.int64), np.zeros(0, np.int64), [])
    # normalise each distinct word once, not each occurrence
    codes = raw["w"].cast(pl.Categorical).to_physical().to_numpy()
    _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    ranked = pl.DataFrame({"t": _normalise_words(raw["w"].gather(first))}).with_columns(
        i=pl.col("t").rank("dense").cast(pl.Int64) - 1
    )
    terms = ranked.drop_nulls("t").sort("i").unique("i", keep="first", maintain_order=True)
    word_term = ranked["i"].fill_null(-1).to_numpy()
    term = word_term[inverse.ravel()]
    keep = term >= 0
    doc = raw["doc"].to_numpy().astype(np.int64)[keep]
    term = term[keep]
    names: list[str] = terms["t"].to_list()
    if bigrams and term.size > 1:
        same = doc[:-1] == doc[1:]
        key = term[:-1][same] * len(names) + term[1:][same]
        pairs, pair_inv = np.unique(key, return_inverse=True)
        names = names + [f"{names[a]} {names[b]}" for a, b in
                         zip((pairs // len(names)).tolist(), (pairs % len(names)).tolist(),
                             strict=True)]
        doc = np.concatenate([doc, doc[:-1][same]])
        term = np.concatenate([term, len(terms) + pair_inv.ravel()])
    return _Tokens(doc, term, names)


def terms_frame(documents: Sequence[str], *, bigrams: bool = False) -> pl.DataFrame:
    """The terms of each document: columns ``doc`` (index into ``documents``) and ``term``,
    unigrams in text order, then bigrams. Terms are folded words without stop words or numbers,
    plurals stemmed; with ``bigrams`` also ``"w1 w2"`` for each pair of adjacent kept words."""
    tokens = _tokens(documents, bigrams)
    names = pl.Series(tokens.terms, dtype=pl.String)
    return pl.DataFrame({"doc": tokens.doc, "term": names.gather(tokens.term)})


def tokenize(text: str, *, bigrams: bool = False) -> list[str]:
    """The terms of one text (see :func:`terms_frame`)."""
    return terms_frame([text], bigrams=bigrams)["term"].to_list()


@dataclass(frozen=True, slots=True)
class TextModel:
    """A fitted vocabulary with its idf; see the module docstring for the weightings."""

    vocabulary: dict[str, int]
    idf: np.ndarray  # (V,) float64
    weighting: Weighting = "tfidf"
    bigrams: bool = False
    avg_length: float = 1.0  # mean number of terms per fitted document (BM25 only)
    k1: float = 1.2
    b: float = 0.75


def _count_arrays(
    doc: np.ndarray, term: np.ndarray, n_docs: int, n_terms: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``(D, V)`` term counts of the occurrences ``(doc, term)`` as CSR arrays: ``indptr``
    (D + 1,) int64, ``indices`` (nnz,) int64 (sorted within each row) and ``tf`` (nnz,)
    float64, by one sort (no scipy)."""
    key = np.sort(doc.astype(np.int64) * max(n_terms, 1) + term)
    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1]))) if key.size else key
    uniq = key[starts]
    tf = np.diff(np.append(starts, key.size)).astype(np.float64)
    rows = uniq // max(n_terms, 1)
    indptr = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_docs), out=indptr[1:])
    return indptr, uniq - rows * max(n_terms, 1), tf


@dataclass(frozen=True, slots=True)
class TermWeights:
    """Weighted, L2-normalised term vectors of ``D`` documents as CSR arrays (what
    :func:`fit_transform` returns as a scipy matrix): ``indptr`` (D + 1,) int64, ``indices``
    (nnz,) int64 term indices (sorted within each document), ``data`` (nnz,) float32 weights;
    ``model`` the fitted vocabulary."""

    model: TextModel
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray

    def csr(self) -> sp.csr_matrix:
        """The ``(D, V)`` float32 scipy CSR matrix of the same arrays."""
        import scipy.sparse as sp  # imported when text is compared, not with the package

        shape = (self.indptr.size - 1, len(self.model.vocabulary))
        return sp.csr_matrix((self.data, self.indices, self.indptr), shape=shape)


def _fit(
    tokens: _Tokens, n_docs: int, weighting: Weighting, bigrams: bool, k1: float, b: float
) -> tuple[TextModel, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The model, and the counts of the fitted documents over its vocabulary (CSR arrays)."""
    if weighting not in ("tfidf", "bm25"):
        raise ValueError(f"the `weighting` parameter must be 'tfidf' or 'bm25'; got {weighting!r}")
    counts = _count_arrays(tokens.doc, tokens.term, n_docs, len(tokens.terms))
    df = np.bincount(counts[1], minlength=len(tokens.terms)).astype(np.float64)
    if weighting == "tfidf":
        idf = np.log((1.0 + n_docs) / (1.0 + df)) + 1.0
    else:
        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
    avg = tokens.doc.size / n_docs if n_docs and tokens.doc.size else 1.0
    vocab = dict(zip(tokens.terms, range(len(tokens.terms)), strict=True))
    return TextModel(vocab, idf, weighting, bigrams, avg, k1, b), counts


def fit_text_model(
    documents: Sequence[str],
    *,
    weighting: Weighting = "tfidf",
    bigrams: bool = False,
    k1: float = 1.2,
    b: float = 0.75,
) -> TextModel:
    """Learn the vocabulary and idf of ``documents`` (every text that will be compared)."""
    return _fit(_tokens(documents, bigrams), len(documents), weighting, bigrams, k1, b)[0]


def _weigh(
    model: TextModel, counts: tuple[np.ndarray, np.ndarray, np.ndarray], lengths: np.ndarray
) -> TermWeights:
    indptr, indices, tf = counts
    row_of = np.repeat(np.arange(indptr.size - 1), np.diff(indptr))
    if model.weighting == "tfidf":
        weight = 1.0 + np.log(tf)
    else:
        norm_len = 1.0 - model.b + model.b * lengths[row_of] / model.avg_length
        weight = tf * (model.k1 + 1.0) / (tf + model.k1 * norm_len)
    weight = weight * model.idf[indices]
    norms = np.sqrt(np.bincount(row_of, weights=weight**2, minlength=indptr.size - 1))
    weight = weight / np.where(norms > 0, norms, 1.0)[row_of]
    return TermWeights(model, indptr, indices, weight.astype(np.float32))


def transform(model: TextModel, documents: Sequence[str]) -> sp.csr_matrix:
    """``(D, V)`` float32 CSR, rows L2-normalised (all-zero rows for documents without known
    terms)."""
    tokens = _tokens(documents, model.bigrams)
    lengths = np.bincount(tokens.doc, minlength=len(documents)).astype(np.float64)
    to_model = np.array([model.vocabulary.get(t, -1) for t in tokens.terms], dtype=np.int64)
    term = to_model[tokens.term] if tokens.term.size else tokens.term
    known = term >= 0
    counts = _count_arrays(tokens.doc[known], term[known], len(documents),
                           len(model.vocabulary))
    return _weigh(model, counts, lengths).csr()


def term_weights(
    documents: Sequence[str],
    *,
    weighting: Weighting = "tfidf",
    bigrams: bool = False,
    k1: float = 1.2,
    b: float = 0.75,
) -> TermWeights:
    """:func:`fit_transform` as arrays, without scipy: the model fitted on ``documents`` and
    their weighted term vectors."""
    tokens = _tokens(documents, bigrams)
    model, counts = _fit(tokens, len(documents), weighting, bigrams, k1, b)
    lengths = np.bincount(tokens.doc, minlength=len(documents)).astype(np.float64)
    return _weigh(model, counts, lengths)


def fit_transform(
    documents: Sequence[str],
    *,
    weighting: Weighting = "tfidf",
    bigrams: bool = False,
    k1: float = 1.2,
    b: float = 0.75,
) -> tuple[TextModel, sp.csr_matrix]:
    """:func:`fit_text_model` and :func:`transform` of the same documents, tokenising once."""
    weights = term_weights(documents, weighting=weighting, bigrams=bigrams, k1=k1, b=b)
    return weights.model, weights.csr()


_DENSE_SHARE = 1.0 / 512.0  # a term goes to the dense product when df_a df_b > A B / 512
_MAX_DENSE_TERMS = 2048
_ROWS = 1024


def cosine(a: sp.csr_matrix, b: sp.csr_matrix) -> np.ndarray:
    """Dense ``(A, B)`` float32 cosine similarity of two row-normalised matrices, in [0, 1].

    A sparse product costs ``sum_t df_a(t) df_b(t)``, which frequent terms dominate; those
    (at most 2048) are multiplied as dense blocks with BLAS instead, the rest sparsely, in
    blocks of rows of ``a`` so temporaries stay small.
    """
    import scipy.sparse as sp  # imported when text is compared, not with the package

    a = sp.csr_matrix(a, dtype=np.float32)
    b = sp.csr_matrix(b, dtype=np.float32)
    n_a, n_b = a.shape[0], b.shape[0]
    df_a = np.bincount(a.indices, minlength=a.shape[1]).astype(np.float64)
    df_b = np.bincount(b.indices, minlength=b.shape[1]).astype(np.float64)
    cost = df_a * df_b
    order = np.argsort(-cost, kind="stable")[:_MAX_DENSE_TERMS]
    head = order[cost[order] > _DENSE_SHARE * n_a * n_b]
    is_head = np.zeros(a.shape[1], dtype=bool)
    is_head[head] = True
    tail = np.flatnonzero(~is_head)
    b_head = b[:, head].toarray().T.copy()  # (H, B)
    b_tail_t = b[:, tail].T.tocsr()  # (T, B)
    a_head, a_tail = a[:, head].tocsr(), a[:, tail].tocsr()
    out = np.empty((n_a, n_b), dtype=np.float32)
    for start in range(0, n_a, _ROWS):
        rows = slice(start, min(n_a, start + _ROWS))
        block = (a_tail[rows] @ b_tail_t).toarray()
        if head.size:
            block += a_head[rows].toarray() @ b_head
        out[rows] = block
    np.clip(out, 0.0, 1.0, out=out)
    return out


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
    weighting: Weighting = "tfidf",
    bigrams: bool = False,
    how: Aggregation = "topk",
    k: int = 3,
) -> np.ndarray:
    """``(Q, R)`` float32 similarity in [0, 1] of ``Q`` query texts to ``R`` profiles, each a
    sequence of documents (an expert's profile text, or a reviewer's papers).

    The idf is fitted on every query and profile document together.
    """
    docs = [d for prof in profiles for d in prof]
    owner = np.repeat(np.arange(len(profiles)), [len(p) for p in profiles])
    _, matrix = fit_transform([*queries, *docs], weighting=weighting, bigrams=bigrams)
    sim = cosine(matrix[: len(queries)], matrix[len(queries) :])
    return aggregate_by_owner(sim, owner, len(profiles), how=how, k=k)


def rank_scores(sim: np.ndarray) -> np.ndarray:
    """Per-column percentile ranks in [0, 1] of a ``(Q, R)`` similarity: for each owner
    (column), where each query stands among all queries. Scale-free, so two text models can
    be averaged (:func:`hybrid_similarity`)."""
    order = np.argsort(np.argsort(sim, axis=0, kind="stable"), axis=0, kind="stable")
    out: np.ndarray = (order / max(1, sim.shape[0] - 1)).astype(np.float32)
    return out


def hybrid_similarity(lexical: np.ndarray, dense: np.ndarray) -> np.ndarray:
    """``(Q, R)`` float32 in [0, 1]: the mean of the two similarities' per-column percentile
    ranks (lexical TF-IDF and sentence embeddings), 0 where both are 0 (no text to compare)."""
    if lexical.shape != dense.shape:
        raise ValueError(f"the two similarities differ in shape: {lexical.shape}, {dense.shape}")
    out: np.ndarray = (rank_scores(lexical) + rank_scores(dense)) / np.float32(2.0)
    out[(lexical <= 0) & (dense <= 0)] = 0.0
    return out
