"""Expertise benchmark: how well the text affinity ranks what a reviewer knows best.

Usage (from the repository root)::

    PYTHONPATH=$PWD python benchmarks/expertise.py [DATA_DIR] [--method tfidf|embeddings|hybrid]
        [--predictions OUT.csv] [--variants] [--bootstrap] [--tried]
    PYTHONPATH=$PWD python benchmarks/expertise.py --scale 10000 4000

``--scale P E`` instead times ``compute_affinity`` and ``find_conflicts`` on a synthetic call of
P proposals and E experts (Zipf-distributed words, ISCED codes, ecosystems, keywords).

``DATA_DIR`` (default ``../shared/data/expertise-goldstandard``) holds ``judgments.csv``
(reviewer_id, paper_id, expertise), ``submissions.jsonl`` and ``profiles/<reviewer_id>.jsonl``
(one ``{"paper_id", "title", "abstract"}`` a line) and optionally ``baselines.csv``.
Writes ``reviewer_id,paper_id,score`` for every judged pair and prints the loss (Stelmakh et al.
2023): per reviewer, each pair of judged papers with different expertise is a comparison weighted
by the expertise difference; the wrong order loses the weight, a tie half; loss = lost / total.
The baselines' losses are computed with the same code as a check.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from assignment.affinity import compute_affinity
from assignment.affinity import tfidf_similarity as call_text_similarity
from assignment.conflicts import find_conflicts
from assignment.text import (
    Aggregation,
    Weighting,
    aggregate_by_owner,
    cosine,
    fit_transform,
    hybrid_similarity,
    profile_similarity,
)

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / (
    "expertise-goldstandard"
)


def loss(frame: pl.DataFrame, score: str) -> float:
    """Weighted pairwise ranking loss of column ``score`` against ``expertise`` per reviewer."""
    pairs = frame.join(frame, on="reviewer_id", suffix="_b").filter(
        pl.col("expertise") > pl.col("expertise_b")
    )
    weight = (pairs["expertise"] - pairs["expertise_b"]).to_numpy()
    s_a, s_b = pairs[score].to_numpy(), pairs[f"{score}_b"].to_numpy()
    lost = np.where(s_a < s_b, weight, np.where(s_a == s_b, weight / 2.0, 0.0))
    return float(lost.sum() / weight.sum())


def reviewer_losses(frame: pl.DataFrame, score: str) -> tuple[np.ndarray, np.ndarray]:
    """Per reviewer (sorted by id): the weight lost by ``score`` and the total weight, so that
    :func:`loss` is ``lost.sum() / weight.sum()``."""
    pairs = frame.join(frame, on="reviewer_id", suffix="_b").filter(
        pl.col("expertise") > pl.col("expertise_b")
    ).with_columns(weight=pl.col("expertise") - pl.col("expertise_b"))
    pairs = pairs.with_columns(
        lost=pl.when(pl.col(score) < pl.col(f"{score}_b")).then(pl.col("weight"))
        .when(pl.col(score) == pl.col(f"{score}_b")).then(pl.col("weight") / 2.0)
        .otherwise(0.0)
    )
    per = pairs.group_by("reviewer_id").agg(pl.col("lost").sum(), pl.col("weight").sum())
    per = per.sort("reviewer_id")
    return per["lost"].to_numpy(), per["weight"].to_numpy()


def bootstrap_interval(
    lost: np.ndarray, weight: np.ndarray, *, draws: int = 2_000, seed: int = 0
) -> tuple[float, float]:
    """95 % percentile interval of the loss over reviewers drawn with replacement."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, lost.size, (draws, lost.size))
    ratios = lost[idx].sum(axis=1) / weight[idx].sum(axis=1)
    low, high = np.percentile(ratios, [2.5, 97.5])
    return float(low), float(high)


def paired_interval(
    lost: np.ndarray, base_lost: np.ndarray, weight: np.ndarray, *, draws: int = 2_000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """The loss difference of two methods on the same reviewers (``lost`` minus ``base_lost``)
    and its 95 % percentile interval, both drawn on the same reviewers with replacement (a
    paired bootstrap: tighter than comparing two marginal intervals)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, lost.size, (draws, lost.size))
    diffs = (lost - base_lost)[idx].sum(axis=1) / weight[idx].sum(axis=1)
    low, high = np.percentile(diffs, [2.5, 97.5])
    return float((lost.sum() - base_lost.sum()) / weight.sum()), float(low), float(high)


def _read_jsonl(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _text(paper: dict[str, str]) -> str:
    return f"{paper.get('title') or ''}. {paper.get('abstract') or ''}"


def load(data: Path) -> tuple[pl.DataFrame, dict[str, str], dict[str, list[str]]]:
    """Judgments, submission texts by paper id, profile texts by reviewer id."""
    judgments = pl.read_csv(data / "judgments.csv", schema_overrides={
        "reviewer_id": pl.String, "paper_id": pl.String, "expertise": pl.Float64,
    }).sort("reviewer_id", "paper_id")
    papers = {p["paper_id"]: _text(p) for p in _read_jsonl(data / "submissions.jsonl")}
    reviewers = judgments["reviewer_id"].unique().sort().to_list()
    profiles = {r: [_text(p) for p in _read_jsonl(data / "profiles" / f"{r}.jsonl")]
                for r in reviewers}
    return judgments, papers, profiles


def score_pairs(
    judgments: pl.DataFrame, paper_ids: list[str], reviewer_ids: list[str], sim: np.ndarray
) -> pl.DataFrame:
    """Look up each judged pair's score in the ``(papers, reviewers)`` matrix ``sim``."""
    p_index = {p: i for i, p in enumerate(paper_ids)}
    r_index = {r: i for i, r in enumerate(reviewer_ids)}
    rows = np.array([p_index[p] for p in judgments["paper_id"]])
    cols = np.array([r_index[r] for r in judgments["reviewer_id"]])
    return judgments.with_columns(score=pl.Series(sim[rows, cols].astype(np.float64)))


def tfidf_similarity(
    paper_texts: list[str], profiles: list[list[str]], *, weighting: Weighting = "tfidf",
    bigrams: bool = False, how: Aggregation = "topk", k: int = 3,
) -> np.ndarray:
    return profile_similarity(paper_texts, profiles, weighting=weighting, bigrams=bigrams,
                              how=how, k=k)


def embedding_similarity(
    paper_texts: list[str], profiles: list[list[str]], *, how: Aggregation = "topk", k: int = 3,
    cache_dir: Path | None = None,
) -> np.ndarray:
    from evalpanel.embeddings import EmbeddingBackend

    backend = EmbeddingBackend(cache_dir=cache_dir)
    docs = [d for prof in profiles for d in prof]
    owner = np.repeat(np.arange(len(profiles)), [len(p) for p in profiles])
    sim = backend.similarity(paper_texts, docs)
    return aggregate_by_owner(sim, owner, len(profiles), how=how, k=k)


def synthetic_call(p: int, e: int, seed: int = 0) -> tuple[pl.DataFrame, ...]:
    """Proposals, partners, experts, declared conflicts of a random call (typed like a folder)."""
    from evalpanel.callfolder.vocab import ECOSYSTEMS, ISCED_DETAILED

    rng = np.random.default_rng(seed)
    vocab = np.array([f"term{i}" for i in range(20_000)])
    zipf = 1.0 / np.arange(1, vocab.size + 1)
    zipf /= zipf.sum()
    codes, ecos = np.array(sorted(ISCED_DETAILED)), np.array(ECOSYSTEMS)
    keywords = np.array([f"keyword {i}" for i in range(2_000)])
    langs = np.array(["en", "de", "fr", "es", "it", "pl"])

    def texts(n: int, length: int) -> list[str]:
        return [" ".join(row) for row in vocab[rng.choice(vocab.size, (n, length), p=zipf)]]

    def lists(n: int, pool: np.ndarray, lo: int, hi: int) -> list[list[str]]:
        return [pool[rng.choice(pool.size, rng.integers(lo, hi + 1), replace=False)].tolist()
                for _ in range(n)]

    orgs = [f"E{i:08d}" for i in range(3 * e)]
    proposals = pl.DataFrame({
        "proposal_id": [f"P{i:05d}" for i in range(p)], "title": texts(p, 10),
        "abstract": texts(p, 200), "language": rng.choice(langs, p, p=[.7, .1, .1, .04, .03, .03]),
        "fields": lists(p, codes, 1, 3), "ecosystems": lists(p, ecos, 0, 2),
        "keywords": lists(p, keywords, 0, 6)})
    n_part = rng.integers(3, 9, p)
    partners = pl.DataFrame({
        "proposal_id": np.repeat(proposals["proposal_id"].to_numpy(), n_part),
        "org_id": rng.choice(orgs, n_part.sum()), "org_name": "Some Organisation",
        "country": rng.choice(["BE", "DE", "FR", "ES", "IT", "PL"], n_part.sum()),
        "role": "partner"}).with_columns(
            org_name=pl.format("University of {}", pl.col("org_id")),
            org_id=pl.when(pl.int_range(pl.len()) % 5 == 0).then(None).otherwise("org_id"))
    experts = pl.DataFrame({
        "expert_id": [f"X{i:05d}" for i in range(e)], "org_id": rng.choice(orgs, e),
        "country": rng.choice(["BE", "DE", "FR", "ES", "IT", "PL"], e),
        "languages": [["en", *extra] for extra in lists(e, langs[1:], 0, 2)],
        "profile": texts(e, 150), "fields": lists(e, codes, 1, 4),
        "ecosystems": lists(e, ecos, 0, 3), "keywords": lists(e, keywords, 0, 10)}).with_columns(
            org_name=pl.format("Univ. of {}", pl.col("org_id")))
    declared = pl.DataFrame({
        "expert_id": rng.choice(experts["expert_id"].to_numpy(), e // 10),
        "proposal_id": None, "org_id": rng.choice(orgs, e // 10), "kind": "employment",
        "since": [date(2020 + int(y), 6, 1) for y in rng.integers(0, 6, e // 10)]},
        schema_overrides={"proposal_id": pl.String})
    return proposals, partners, experts, declared


def _measure(label: str, fn: Callable[[], object], repeats: int) -> None:
    walls, cpus, peaks = [], [], []
    for _ in range(repeats):
        tracemalloc.start()
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        peaks.append(tracemalloc.get_traced_memory()[1] / 2**20)
        tracemalloc.stop()
    print(f"{label:<44} wall median {np.median(walls):6.2f} s  cpu {np.median(cpus):6.2f} s  "
          f"numpy/scipy peak {max(peaks):6.0f} MiB")


def _rss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scale(p: int, e: int, repeats: int) -> None:
    proposals, partners, experts, declared = synthetic_call(p, e)
    rss0 = _rss()
    print(f"synthetic call: {p} proposals, {e} experts, {partners.height} partners")
    text = call_text_similarity(proposals, experts)
    _measure("text similarity (TF-IDF)", lambda: call_text_similarity(proposals, experts),
             repeats)
    _measure("compute_affinity, given text similarity",
             lambda: compute_affinity(proposals, experts, text_similarity=text), repeats)
    _measure("compute_affinity (with TF-IDF)", lambda: compute_affinity(proposals, experts),
             repeats)
    print(f"result {p}x{e} float32 = {p * e * 4 / 2**20:.0f} MiB; process max RSS after the "
          f"affinity runs {_rss():.0f} MiB (synthetic call alone: {rss0:.0f} MiB)")
    found = find_conflicts(proposals, partners, experts, declared, today=date(2026, 3, 1))
    _measure("find_conflicts", lambda: find_conflicts(proposals, partners, experts, declared,
                                                      today=date(2026, 3, 1)), repeats)
    counts = dict(found.group_by("reason").len().sort("reason").iter_rows())
    print("conflict rows by reason:", counts)
    print(f"process max RSS after find_conflicts ({found.height} rows) {_rss():.0f} MiB")


def _bootstrap_table(
    judgments: pl.DataFrame, paper_ids: list[str], reviewer_ids: list[str],
    paper_texts: list[str], profiles: list[list[str]], cache_dir: Path | None,
) -> None:
    from evalpanel import embeddings
    from evalpanel.planning import default_text_model

    aggregations: list[tuple[str, Aggregation, int]] = [
        ("max", "max", 1), ("top-3 mean", "topk", 3), ("mean", "mean", 0)]
    rows: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    for name, how, k in aggregations:
        lexical = tfidf_similarity(paper_texts, profiles, how=how, k=k)
        sims = {"tfidf": lexical}
        if embeddings.available():
            dense = embedding_similarity(paper_texts, profiles, how=how, k=k,
                                         cache_dir=cache_dir)
            sims["embeddings"] = dense
            sims["hybrid"] = hybrid_similarity(lexical, dense)
        for model, sim in sims.items():
            rows[model, name] = reviewer_losses(
                score_pairs(judgments, paper_ids, reviewer_ids, sim), "score")
    default = (default_text_model(), "top-3 mean")
    base_lost = rows[default][0]
    print(f"{'text model':<12} {'aggregation':<12} loss   95 % interval over "
          f"{len(reviewer_ids)} reviewers   difference from the default "
          f"({default[0]}, {default[1]}), paired")
    for (model, name), (lost, weight) in rows.items():
        low, high = bootstrap_interval(lost, weight)
        diff, d_low, d_high = paired_interval(lost, base_lost, weight)
        print(f"{model:<12} {name:<12} {lost.sum() / weight.sum():.3f}  "
              f"[{low:.3f}, {high:.3f}]                 {diff:+.3f} [{d_low:+.3f}, {d_high:+.3f}]")


def _hubness_corrected(sim: np.ndarray, k: int = 10) -> np.ndarray:
    """CSLS (Conneau et al., "Word translation without parallel data", ICLR 2018, k = 10):
    ``2 cos(x, y) - r(x) - r(y)``, ``r`` the mean similarity to the ``k`` nearest of the other
    side, so a text similar to everything (a hub) loses its edge; shifted to stay >= 0."""
    k = min(k, *sim.shape)
    r_row = -np.partition(-sim, k - 1, axis=1)[:, :k].mean(axis=1)
    r_col = -np.partition(-sim, k - 1, axis=0)[:k].mean(axis=0)
    out = 2.0 * sim - r_row[:, None] - r_col[None, :]
    shifted: np.ndarray = out - out.min()
    return shifted


def _column_ranks(sim: np.ndarray) -> np.ndarray:
    """Rank of each paper within its reviewer's column, 1 = most similar."""
    ranks: np.ndarray = sim.shape[0] - np.argsort(np.argsort(sim, axis=0), axis=0)
    return ranks


def _tried(
    data: Path, judgments: pl.DataFrame, paper_ids: list[str], reviewer_ids: list[str],
    cache_dir: Path | None,
) -> None:
    """The principled variants tried against each model's configuration (top-3 mean), with
    the paired difference: fixed from the literature, none tuned on these judgments."""
    import re

    from evalpanel import embeddings

    raw = {p["paper_id"]: p for p in _read_jsonl(data / "submissions.jsonl")}
    papers = [raw[p] for p in paper_ids]
    prof = [_read_jsonl(data / "profiles" / f"{r}.jsonl") for r in reviewer_ids]
    docs = [d for r in prof for d in r]
    owner = np.repeat(np.arange(len(prof)), [len(r) for r in prof])
    n_q = len(papers)

    def per(sim: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return reviewer_losses(score_pairs(judgments, paper_ids, reviewer_ids, sim), "score")

    def top3(doc_sim: np.ndarray) -> np.ndarray:
        return aggregate_by_owner(doc_sim, owner, len(prof), how="topk", k=3)

    def lexical(texts: list[str], weighting: Weighting = "tfidf",
                bigrams: bool = False) -> np.ndarray:
        _, matrix = fit_transform(texts, weighting=weighting, bigrams=bigrams)
        return cosine(matrix[:n_q], matrix[n_q:])

    def report(group: str, base: np.ndarray, variants: dict[str, np.ndarray]) -> None:
        base_lost, weight = per(base)
        print(f"{group:<11} as configured (top-3 mean)            "
              f"loss {base_lost.sum() / weight.sum():.3f}")
        for name, sim in variants.items():
            lost, _ = per(sim)
            diff, low, high = paired_interval(lost, base_lost, weight)
            print(f"{group:<11} {name:<38} loss {lost.sum() / weight.sum():.3f}  "
                  f"difference {diff:+.3f} [{low:+.3f}, {high:+.3f}]")

    texts = [_text(p) for p in [*papers, *docs]]
    title_twice = [f"{p.get('title') or ''}. {_text(p)}" for p in [*papers, *docs]]
    lex_doc = lexical(texts)
    lex = top3(lex_doc)
    lex_variants = {
        "+ bigrams": top3(lexical(texts, bigrams=True)),
        "BM25 (k1 1.2, b 0.75)": top3(lexical(texts, "bm25")),
        "title counted twice": top3(lexical(title_twice)),
        "CSLS hubness correction (k 10)": top3(_hubness_corrected(lex_doc)),
    }
    porter: np.ndarray | None = None
    try:  # optional: the Snowball (Porter2) stemmer instead of the plural S-stemmer
        import snowballstemmer  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        print("(snowballstemmer not installed: the Porter2 variant is left out)")
    else:
        stem = snowballstemmer.stemmer("english")
        stemmed = [" ".join(stem.stemWords(re.findall(r"\w+", t.lower()))) for t in texts]
        porter = top3(lexical(stemmed))
        lex_variants["Porter2 stemming (Snowball)"] = porter
    report("tfidf", lex, lex_variants)
    if not embeddings.available():
        return
    backend = embeddings.EmbeddingBackend(cache_dir=cache_dir)
    vectors = backend.embed(texts)
    dense_doc = np.clip(vectors[:n_q] @ vectors[n_q:].T, 0.0, 1.0)
    dense = top3(dense_doc)
    model = backend._load()
    limit = int(model.max_seq_length) - 2  # the [CLS] and [SEP] tokens

    def windows(text: str) -> list[str]:
        """Whole sentences packed into windows the model reads without truncation."""
        out: list[str] = []
        current: list[str] = []
        size = 0
        for sentence in re.split(r"(?<=[.!?])\s+", text):
            n = len(model.tokenizer.tokenize(sentence))
            if current and size + n > limit:
                out.append(" ".join(current))
                current, size = [], 0
            current.append(sentence)
            size += n
        return [*out, " ".join(current)] if current else out

    def unit(rows: np.ndarray) -> np.ndarray:
        normed: np.ndarray = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
        return normed

    pieces = [windows(t) for t in texts]
    flat = backend.embed([w for ws in pieces for w in ws])
    piece_owner = np.repeat(np.arange(len(texts)), [len(ws) for ws in pieces])
    sums = np.zeros((len(texts), flat.shape[1]), dtype=np.float32)
    np.add.at(sums, piece_owner, flat)
    windowed = unit(sums)
    both = [*papers, *docs]
    separate = unit(backend.embed([p.get("title") or "" for p in both])
                    + backend.embed([p.get("abstract") or "" for p in both]))
    report("embeddings", dense, {
        "mean of sentence windows (no truncation)": top3(
            np.clip(windowed[:n_q] @ windowed[n_q:].T, 0.0, 1.0)),
        "title and abstract embedded apart": top3(
            np.clip(separate[:n_q] @ separate[n_q:].T, 0.0, 1.0)),
        "CSLS hubness correction (k 10)": top3(_hubness_corrected(dense_doc)),
    })
    hybrid_variants = {
        "reciprocal rank fusion (k 60)": (1.0 / (60 + _column_ranks(lex))
                                          + 1.0 / (60 + _column_ranks(dense))),
        "score mixing (z-scores per reviewer)": (
            (lex - lex.mean(axis=0)) / lex.std(axis=0)
            + (dense - dense.mean(axis=0)) / dense.std(axis=0)),
    }
    if porter is not None:
        hybrid_variants["Porter2 stemming in the lexical half"] = hybrid_similarity(porter, dense)
    report("hybrid", hybrid_similarity(lex, dense), hybrid_variants)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--method", choices=("tfidf", "embeddings", "hybrid"), default=None,
                    help="text model (default: what evalpanel assign uses here, the best "
                    "installed)")
    ap.add_argument("--predictions", type=Path, default=None)
    ap.add_argument("--variants", action="store_true", help="also print the lexical variants")
    ap.add_argument("--cache-dir", type=Path, default=None, help="embedding cache folder")
    ap.add_argument("--scale", nargs=2, type=int, metavar=("P", "E"), default=None,
                    help="time affinity and conflicts on a synthetic P x E call instead")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tried", action="store_true",
                    help="the principled variants tried for each text model, with the paired "
                    "difference from its configuration")
    ap.add_argument("--bootstrap", action="store_true",
                    help="every text model x profile aggregation with a 95 %% bootstrap "
                    "interval over reviewers")
    args = ap.parse_args(argv)
    if args.scale is not None:
        scale(*args.scale, repeats=args.repeats)
        return 0
    if not (args.data / "judgments.csv").is_file():
        print(f"error: {args.data} has no judgments.csv; pass the benchmark folder",
              file=sys.stderr)
        return 2

    judgments, papers, profile_map = load(args.data)
    paper_ids = sorted(set(judgments["paper_id"]))
    reviewer_ids = sorted(profile_map)
    paper_texts = [papers[p] for p in paper_ids]
    profiles = [profile_map[r] for r in reviewer_ids]
    print(f"{judgments.height} judgments, {len(paper_ids)} papers, {len(reviewer_ids)} reviewers, "
          f"{sum(map(len, profiles))} profile papers")

    baselines = args.data / "baselines.csv"
    if baselines.is_file():
        base = pl.read_csv(baselines, schema_overrides={"reviewer_id": pl.String,
                                                         "paper_id": pl.String})
        base = judgments.join(base, on=["reviewer_id", "paper_id"], how="left")
        for col in ("tpms", "specter", "specter_mfr", "acl", "elmo"):
            if col in base.columns:
                print(f"baseline {col:<12} loss {loss(base, col):.3f}")

    if args.variants:
        for weighting in ("tfidf", "bm25"):
            for bigrams in (False, True):
                for how, k in (("max", 1), ("topk", 3), ("mean", 0)):
                    sim = tfidf_similarity(paper_texts, profiles, weighting=weighting,
                                           bigrams=bigrams, how=how, k=k)
                    name = f"{weighting}{'+bigrams' if bigrams else ''} {how}"
                    name += str(k) if how == "topk" else ""
                    scored = score_pairs(judgments, paper_ids, reviewer_ids, sim)
                    print(f"variant {name:<24} loss {loss(scored, 'score'):.3f}")

    if args.variants and args.method not in (None, "tfidf"):
        for how, k in (("max", 1), ("topk", 3), ("mean", 0)):
            sim = embedding_similarity(paper_texts, profiles, how=how, k=k,
                                       cache_dir=args.cache_dir)
            name = f"embeddings {how}{k if how == 'topk' else ''}"
            scored = score_pairs(judgments, paper_ids, reviewer_ids, sim)
            print(f"variant {name:<24} loss {loss(scored, 'score'):.3f}")

    if args.tried:
        _tried(args.data, judgments, paper_ids, reviewer_ids, args.cache_dir)
    if args.bootstrap:
        _bootstrap_table(judgments, paper_ids, reviewer_ids, paper_texts, profiles,
                         args.cache_dir)
    if args.method is None:
        from evalpanel.planning import default_text_model

        args.method = default_text_model()
    t0 = time.perf_counter()
    if args.method == "tfidf":
        sim = tfidf_similarity(paper_texts, profiles)
    elif args.method == "embeddings":
        sim = embedding_similarity(paper_texts, profiles, cache_dir=args.cache_dir)
    else:
        lexical = tfidf_similarity(paper_texts, profiles)
        dense = embedding_similarity(paper_texts, profiles, cache_dir=args.cache_dir)
        sim = hybrid_similarity(lexical, dense)
    elapsed = time.perf_counter() - t0
    scored = score_pairs(judgments, paper_ids, reviewer_ids, sim)
    print(f"method {args.method:<10} loss {loss(scored, 'score'):.3f}  ({elapsed:.1f} s)")
    if args.predictions is not None:
        scored.select("reviewer_id", "paper_id", "score").write_csv(args.predictions)
        print(f"wrote {args.predictions}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
