"""Advisory checks of evaluation comments: copied text, wording that contradicts the score's band,
and criterion scores far from the rest of the panel.

Applicants receive the comments, and complaints about evaluations most often cite a lack of
coherence between scores and comments, so the scoring form and the manager's follow-up flag:

- ``copied``: a comment identical or near-identical (at least :data:`COPY_SIMILARITY` of its
  words the same and in the same order, after folding case, accents and punctuation; at least
  :data:`COPY_MIN_WORDS` words) to the same expert's comment on the same criterion of *another*
  proposal;
- ``contradicts_band``: a comment whose wording contradicts its score's band: strong praise
  ("excellent", "outstanding", "exzellent", "remarquable"...) on a score in the scheme's lowest
  band, or strong criticism ("weak", "insufficient", "unzureichend", "insuffisant"...) on a
  score in its highest band. The lexicon covers English, French, German, Spanish, Italian,
  Dutch, Polish and Portuguese; a negated phrase ("not excellent") is not praise;
- ``off_panel``: a criterion score that differs from the mean of the other experts of the same
  proposal by more than the criterion's share of the scheme's ``total_gap`` (``total_gap *
  criterion max / total max``; 7.5 points on a 25-point criterion with the Erasmus+ gap of 30).

Nothing here blocks a submission (blocking rules are the form's, :func:`~scoring.check_form`).

Input ``evaluations``: ``proposal_id, expert_id, criterion, score, comment`` (one row per
criterion score). Output: ``proposal_id, expert_id, criterion, check, detail`` sorted by
``proposal_id, expert_id, criterion, check``.
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher
from itertools import combinations

import polars as pl

from ._checks import EPS
from ._form import band_label
from ._scheme import Scheme

COPY_SIMILARITY = 0.85
COPY_MIN_WORDS = 8
FLAG_SCHEMA: dict[str, pl.DataType] = {
    "proposal_id": pl.String(), "expert_id": pl.String(), "criterion": pl.String(),
    "check": pl.String(), "detail": pl.String(),
}  # fmt: skip
CHECKS = ("copied", "contradicts_band", "off_panel")

# Folded (lower case, no accents) stems; a word matches when it starts with one of them.
PRAISE = (
    "excellent", "outstanding", "exceptional", "superb", "remarkabl", "exemplar", "flawless",
    "remarquabl", "exceptionnel", "parfait",  # fr
    "hervorragend", "exzellent", "ausgezeichnet", "herausragend", "vorbildlich",  # de
    "excelente", "sobresaliente", "extraordinari", "impecable",  # es / pt
    "eccellent", "ottim", "eccezional",  # it
    "uitstekend", "uitmuntend",  # nl
    "doskonal", "znakomit", "wybitn",  # pl (doskonały, znakomity, wybitny)
)
CRITICISM = (
    "weak", "insufficient", "inadequate", "poor", "lacking", "lacks", "unconvincing",
    "deficient", "fails", "unclear",
    "faible", "insuffisant", "inadequat", "lacunaire", "peu convaincant",  # fr
    "schwach", "unzureichend", "mangelhaft", "ungenugend", "unklar",  # de
    "debil", "insuficiente", "deficiente", "pobre",  # es / pt
    "debole", "insufficiente", "carente", "scarso", "scarsa",  # it
    "zwak", "onvoldoende", "gebrekkig",  # nl
    "slab", "niewystarczajac", "niedostateczn",  # pl (słaby, niewystarczający)
)
NEGATIONS = ("not", "no", "never", "hardly", "pas", "nicht", "kein", "keine", "non", "nie",
             "niet", "nao", "ni", "jamais", "nunca")
_WORD = re.compile(r"[^\W\d_]+(?:[-'][^\W\d_]+)*", re.UNICODE)


def fold(text: str) -> str:
    """Lower case without accents (so that "Unzureichend", "unzureichend" and a Polish "ł"
    written as "l" compare equal)."""
    text = text.lower().replace("ł", "l").replace("ß", "ss")
    return "".join(c for c in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def similarity(a: str, b: str) -> float:
    """How much of two comments is the same words in the same order, in [0, 1] (difflib's
    ratio over the folded words: 2 * matched / total)."""
    wa, wb = words(a), words(b)
    if not wa or not wb:
        return 0.0
    return SequenceMatcher(None, wa, wb, autojunk=False).ratio()


def _lexicon_hits(tokens: list[str], stems: tuple[str, ...]) -> list[str]:
    """The words of ``tokens`` that start with a stem and are not negated (a negation among the
    two words before them)."""
    singles = tuple(s for s in stems if " " not in s)
    phrases = tuple(s for s in stems if " " in s)
    hits = []
    for i, token in enumerate(tokens):
        if token.startswith(singles) and not set(tokens[max(0, i - 2):i]) & set(NEGATIONS):
            hits.append(token)
    joined = " ".join(tokens)
    hits += [p for p in phrases if p in joined]
    return hits


def _copied(frame: pl.DataFrame, tokens: dict[str, list[str]]
            ) -> list[tuple[str, str, str, str, str]]:
    """Pairs of one expert's comments on the same criterion of two proposals (``tokens``: the
    words of each comment text; a call repeats texts, so each pair of texts is compared once)."""
    groups: dict[tuple[object, object], list[tuple[str, str]]] = {}
    for p, expert, criterion, text in frame.select(
            "proposal_id", "expert_id", "criterion", "comment").iter_rows():
        if len(tokens[text]) >= COPY_MIN_WORDS:
            groups.setdefault((expert, criterion), []).append((p, text))
    ratios: dict[tuple[str, str], float] = {}
    out = []
    for (expert, criterion), rows in groups.items():
        for (p1, t1), (p2, t2) in combinations(rows, 2):
            if p1 == p2:
                continue
            sim = ratios.get((t1, t2))
            if sim is None:
                sim = ratios[t1, t2] = _copy_ratio(tokens[t1], tokens[t2])
            if sim >= COPY_SIMILARITY:
                kind = "identical to" if tokens[t1] == tokens[t2] else f"{sim:.0%} the same as"
                for a, b in ((p1, p2), (p2, p1)):
                    out.append((a, str(expert), str(criterion), "copied",
                                f"{kind} their comment on {b}"))
    return out


def _copy_ratio(w1: list[str], w2: list[str]) -> float:
    """difflib's ratio of two word lists, or 0 when a cheap upper bound is already below
    :data:`COPY_SIMILARITY` (most pairs are far apart)."""
    matcher = SequenceMatcher(None, w1, w2, autojunk=False)
    if matcher.real_quick_ratio() < COPY_SIMILARITY or matcher.quick_ratio() < COPY_SIMILARITY:
        return 0.0
    return matcher.ratio()


def _contradictions(frame: pl.DataFrame, scheme: Scheme, tokens: dict[str, list[str]]
                    ) -> list[tuple[str, str, str, str, str]]:
    top, bottom = scheme.bands[0].label, scheme.bands[-1].label
    maxima = {c.id: c.max for c in scheme.criteria}
    out = []
    for p, e, c, score, comment in frame.select(
            "proposal_id", "expert_id", "criterion", "score", "comment").iter_rows():
        if c not in maxima or score is None or not comment:
            continue
        band = band_label(scheme, float(score), maxima[c])
        lexicon = PRAISE if band == bottom else CRITICISM if band == top else ()
        if lexicon and (hits := _lexicon_hits(tokens[comment], lexicon)):
            out.append((p, e, c, "contradicts_band",
                        f"\"{hits[0]}\" in a comment on a {band} score ({score:g}/{maxima[c]:g})"))
    return out


def _off_panel(frame: pl.DataFrame, scheme: Scheme) -> list[tuple[str, str, str, str, str]]:
    total_max = scheme.total_max
    gaps = pl.DataFrame({
        "criterion": [c.id for c in scheme.criteria],
        "_gap": [scheme.divergence.total_gap * c.max / total_max for c in scheme.criteria],
    })
    scored = frame.filter(pl.col("score").is_not_null()).join(gaps, on="criterion")
    sums = scored.group_by("proposal_id", "criterion").agg(
        _sum=pl.col("score").sum(), _n=pl.len())
    others = scored.join(sums, on=["proposal_id", "criterion"]).filter(pl.col("_n") >= 2)
    others = others.with_columns(
        _mean=(pl.col("_sum") - pl.col("score")) / (pl.col("_n") - 1)).filter(
        (pl.col("score") - pl.col("_mean")).abs() > pl.col("_gap") + EPS)
    return [
        (p, e, c, "off_panel",
         f"{score:g} against {mean:.3g} from the other experts (more than {gap:.3g} apart)")
        for p, e, c, score, mean, gap in others.select(
            "proposal_id", "expert_id", "criterion", "score", "_mean", "_gap").iter_rows()
    ]


def comment_checks(evaluations: pl.DataFrame, scheme: Scheme) -> pl.DataFrame:
    """Every advisory flag on ``evaluations`` (see the module docstring)."""
    if evaluations.is_empty():
        return pl.DataFrame(schema=FLAG_SCHEMA)
    frame = evaluations.select(
        pl.col("proposal_id").cast(pl.String), pl.col("expert_id").cast(pl.String),
        pl.col("criterion").cast(pl.String), pl.col("score").cast(pl.Float64),
        pl.col("comment").cast(pl.String).fill_null(""))
    tokens = {text: words(text) for text in frame["comment"].unique().to_list()}
    rows = (_copied(frame, tokens) + _contradictions(frame, scheme, tokens)
            + _off_panel(frame, scheme))
    return pl.DataFrame(rows, schema=FLAG_SCHEMA, orient="row").unique().sort(
        "proposal_id", "expert_id", "criterion", "check", "detail")
