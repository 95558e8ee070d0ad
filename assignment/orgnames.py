"""Organisation-name keys: one string per name, equal for spellings of the same organisation.

``org_key("Univ. of Ghent") == org_key("Ghent University") == org_key("Universiteit Gent")
== "ghent university"``. The key is the sorted set of the name's significant words after folding
case and accents (and transliterating Greek and Cyrillic), dropping punctuation and parenthesised
acronyms, expanding abbreviations, translating the organisation-type words of EU languages and the
local names of large cities to English, and removing stop words and legal-form suffixes (GmbH,
S.A., Ltd, …). An empty key means the name had nothing significant and must not be matched.

Numbers are significant: "Zespół Szkół nr 1" and "Zespół Szkół nr 2", "Université Paris 1" and
"Université Paris 8", "Liceo II" and "Liceo III" are different organisations. Number markers
("nr", "no.", "n°", "nº", "núm.", "č.", "br.", "#") are dropped, ordinals lose their suffix ("1st",
"1er", "1°", "1ο" → ``1``), leading zeros go, and roman numerals become arabic ones ("Paris VIII"
→ ``8``). A single ``i``, ``v`` or ``x`` is a numeral only first, last or after a marker ("I
Liceum", "Paris I"): elsewhere it is the Polish, Czech or Catalan conjunction or preposition.

:func:`name_similarity` scores two keys for a *likely* match (a potential conflict, never an
exclusion by itself): see there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Final

import numpy as np
import polars as pl
from rapidfuzz import process
from rapidfuzz.distance import OSA

from . import _sets
from ._sets import IntArray
from .text import fold

# abbreviations and organisation-type words in EU languages → English word(s)
_WORDS: dict[str, str] = {
    "univ": "university", "uni": "university", "universitat": "university",
    "universite": "university", "universita": "university", "universidad": "university",
    "universidade": "university", "universiteit": "university", "uniwersytet": "university",
    "univerzita": "university", "universitet": "university", "universitatea": "university",
    "univerza": "university", "yliopisto": "university", "egyetem": "university",
    "panepistimio": "university", "universitas": "university", "universitaet": "university",
    "universitetet": "university", "universitesi": "university", "universitetas": "university",
    "universitate": "university", "sveuciliste": "university", "univerzitet": "university",
    "tudomanyegyetem": "university",
    "inst": "institute", "institut": "institute", "instituto": "institute",
    "istituto": "institute", "instytut": "institute", "insitute": "institute",
    "institutul": "institute",
    "tech": "technical", "techn": "technical", "technische": "technical",
    "technischen": "technical", "technical": "technical", "technique": "technical",
    "teknisk": "technical", "tekniske": "technical", "tekniska": "technical", "teknik": "technical",
    "technicka": "technical", "technicke": "technical", "tehnica": "technical",
    "tehniska": "technical", "technikos": "technical", "tehnicheski": "technical",
    "tecnica": "technical", "tecnico": "technical", "technology": "technology",
    "natl": "national", "nat": "national", "nationale": "national", "nacional": "national",
    "nazionale": "national", "intl": "international", "internat": "international",
    "assoc": "association", "assn": "association", "verein": "association",
    "asociacion": "association", "associazione": "association", "associacao": "association",
    "dept": "department", "ctr": "centre", "cntr": "centre", "center": "centre",
    "centrum": "centre", "centro": "centre", "zentrum": "centre", "centre": "centre",
    "coll": "college", "acad": "academy", "akademie": "academy", "academia": "academy",
    "akademia": "academy", "fdn": "foundation", "stiftung": "foundation",
    "fundacion": "foundation", "fondazione": "foundation", "fondation": "foundation",
    "fundacao": "foundation", "stichting": "foundation", "hosp": "hospital",
    "sci": "sciences", "science": "sciences", "wissenschaften": "sciences",
    "res": "research", "forschung": "research", "recherche": "research",
    "investigacion": "research", "ricerca": "research",
    # universities of applied sciences are not universities: "Hochschule München" is not
    # "Universität München"
    "hochschule": "applied sciences university", "fachhochschule": "applied sciences university",
    "fh": "applied sciences university", "hogeschool": "applied sciences university",
    "ammattikorkeakoulu": "applied sciences university", "amk": "applied sciences university",
    "politecnico": "polytechnic", "politecnica": "polytechnic", "polytechnique": "polytechnic",
    "politechnika": "polytechnic", "poly": "polytechnic", "ecole": "school", "escuela": "school",
    "scuola": "school", "schule": "school", "sch": "school",
}  # fmt: skip

# multi-word organisation types → the acronym they are written as ("IES", "BBS", "EPAL", …)
_PHRASES: tuple[tuple[str, str], ...] = (
    (r"instituto de educacion secundaria", "ies"),
    (r"centro integrado de formacion profesional", "cifp"),
    (r"colegio de educacion infantil y primaria", "ceip"),
    (r"berufsbildende schulen?", "bbs"),
    (r"berufliches schulzentrum", "bsz"),
    (r"epa(?:gg|ng)elmatiko lykeio", "epal"),
    (r"geniko lykeio", "gel"),
    (r"zespol szkol", "zs"),
    (r"liceum ogolnoksztalcace", "lo"),
    (r"stredni odborna skola", "sos"),
    (r"stredni prumyslova skola", "sps"),
    (r"istituto di istruzione superiore", "iis"),
    (r"istituto comprensivo", "ic"),
    (r"mesleki ve teknik anadolu lisesi", "mtal"),
    (r"regionaal opleidingencentrum", "roc"),
    (r"centre de formation d apprentis", "cfa"),
)
# one pass over a name: alternative i is group i + 1
_PHRASE_RE: Final = re.compile(r"\b(?:" + "|".join(f"({p})" for p, _ in _PHRASES) + r")\b")


# a phrase begins with one of these whole words (the text is words and single spaces by then);
# "epa(gg|ng)elmatiko" is matched by its beginning
_PHRASE_FIRST: Final = frozenset(p.split()[0] for p, _ in _PHRASES if not p.startswith("epa("))


def _phrase(m: re.Match[str]) -> str:
    return _PHRASES[(m.lastindex or 1) - 1][1]

# local names of large European cities → English exonym
_CITIES: dict[str, str] = {
    "wien": "vienna", "gent": "ghent", "gand": "ghent", "munchen": "munich",
    "koln": "cologne", "praha": "prague", "warszawa": "warsaw", "krakow": "cracow",
    "lisboa": "lisbon", "roma": "rome", "milano": "milan", "firenze": "florence",
    "napoli": "naples", "torino": "turin", "venezia": "venice", "genova": "genoa",
    "bruxelles": "brussels", "brussel": "brussels", "antwerpen": "antwerp",
    "anvers": "antwerp", "goteborg": "gothenburg", "kobenhavn": "copenhagen",
    "athina": "athens", "athinon": "athens", "bucuresti": "bucharest", "sevilla": "seville",
    "geneve": "geneva", "genf": "geneva", "nurnberg": "nuremberg", "hannover": "hanover",
    "thessalonikis": "thessaloniki", "beograd": "belgrade",
    "zaragoza": "saragossa", "padova": "padua",
}  # fmt: skip

_STOP: frozenset[str] = frozenset({
    "of", "the", "and", "for", "at", "in", "on", "a", "an", "de", "der", "die", "das", "des",
    "den", "dem", "di", "del", "della", "delle", "degli", "dei", "do", "da", "dos", "du", "la",
    "le", "les", "l", "d", "van", "von", "voor", "vor", "y", "e", "et", "und", "fur", "zu", "i",
    "z", "w", "na", "o", "din", "ta", "im", "u", "v", "ve", "es", "kai", "tis", "tou", "ton",
    "och", "og", "ja", "ir", "un", "si", "al", "el", "per",
})  # fmt: skip

# legal forms, as single tokens after punctuation is removed ("S.A." → "s a" is handled below)
_LEGAL: frozenset[str] = frozenset({
    "gmbh", "ggmbh", "mbh", "ag", "sa", "sas", "sarl", "srl", "srls", "spa", "bv", "nv", "vzw",
    "asbl", "ltd", "limited", "plc", "inc", "llc", "corp", "co", "oy", "oyj", "ab", "aps",
    "as", "asa", "kft", "doo", "dd", "sro", "zrt", "bt", "eg", "ev", "ug", "kg", "ohg", "scrl",
    "sprl", "sl", "slu", "ltda", "lda", "cic", "cio", "ek", "se", "eood", "ad", "ood", "sia",
    "uab", "ou", "pllc", "po", "ae", "epe", "ike", "mtu",
})  # fmt: skip

# words that only announce a number: "nr 1", "no. 1", "n° 1", "núm. 1", "č. 1", "br. 1", "#1"
_MARKERS: frozenset[str] = frozenset({
    "nr", "nro", "no", "n", "num", "numer", "numero", "number", "c", "cislo", "br", "broj",
    "sz", "szam",
})  # fmt: skip
_ALWAYS_MARKERS: frozenset[str] = frozenset({"nr", "nro", "n", "num", "numer", "numero"})

# letters that NFKD does not decompose, and the Greek and Cyrillic alphabets (ELOT 743 and the
# Bulgarian streamlined system, simplified: accents are gone by then)
_LETTERS: dict[str, str] = {
    "ł": "l", "ı": "i", "ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "đ": "d", "ð": "d",
    "þ": "th", "ħ": "h", "ŀ": "l", "°": "o", "º": "o", "ª": "a",
    "α": "a", "β": "v", "γ": "g", "δ": "d", "ε": "e", "ζ": "z", "η": "i", "θ": "th",
    "ι": "i", "κ": "k", "λ": "l", "μ": "m", "ν": "n", "ξ": "x", "ο": "o", "π": "p",
    "ρ": "r", "σ": "s", "ς": "s", "τ": "t", "υ": "y", "φ": "f", "χ": "ch", "ψ": "ps",
    "ω": "o",
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p",
    "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "ts", "ч": "ch",
    "ш": "sh", "щ": "sht", "ъ": "a", "ь": "y", "ю": "yu", "я": "ya", "ё": "e", "ы": "y",
    "э": "e", "є": "ye", "і": "i", "ї": "yi", "ґ": "g", "ј": "j", "љ": "lj", "њ": "nj",
    "ћ": "c", "џ": "dz", "ѓ": "gj", "ќ": "kj", "ѕ": "dz",
}  # fmt: skip
_GREEK_PAIRS: Final = (("ου", "ou"), ("αυ", "av"), ("ευ", "ev"), ("γγ", "ng"), ("γκ", "gk"))
_TABLE: Final = str.maketrans(_LETTERS)

_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_NON_WORD = re.compile(r"[^\w]+")
# dotted legal forms written with single letters, e.g. "S.A.", "B.V.", "e.V.", "S.p.A."
_DOTTED = re.compile(r"\b(?:[a-z]\.){1,3}[a-z]?\.?(?=\s|$)")
_ORDINAL = re.compile(r"^0*(\d+)(?:st|nd|rd|th|er|re|e|eme|ieme|o|a|os|i|is)?$")
_ROMAN = re.compile(r"^(x{0,3})(ix|iv|v?i{0,3})$")
_ROMAN_VALUE: Final = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8,
                       "ix": 9, "": 0}


@lru_cache(maxsize=1 << 16)  # a call's names share most of their words
def _number(word: str) -> str | None:
    """The arabic numeral a word stands for ("01", "1st", "iv" → "1", "1", "4"), else None."""
    if not word:
        return None
    if word[0].isdigit():
        m = _ORDINAL.match(word)
        return str(int(m.group(1))) if m else None
    if word.strip("ivx"):  # a letter no roman numeral below 40 has
        return None
    r = _ROMAN.match(word)
    return str(10 * len(r.group(1)) + _ROMAN_VALUE[r.group(2)]) if r else None


def _fold_name(name: str) -> str:
    text = fold(name.casefold().replace("й", "y"))  # before NFKD splits it into и + breve
    if not text.isascii():
        for greek, latin in _GREEK_PAIRS:
            text = text.replace(greek, latin)
        text = text.translate(_TABLE)
    return text


def org_tokens(name: str | None) -> list[str]:
    """The significant words of a name, in order, numbers as arabic numerals."""
    if not name:
        return []
    text = _fold_name(name)
    # each pattern only where it can match (most names have no brackets, dots or phrase)
    if "(" in text or "[" in text:
        text = _PARENS.sub(" ", text)
    if "." in text:
        text = _DOTTED.sub(lambda m: " " + m.group(0).replace(".", "") + " ", text)
    raw = _NON_WORD.sub(" ", text).replace("_", " ").split()
    # a word beginning with "epa" puts "epa" in the text; where "epa" is only inside a word,
    # the pass finds nothing to replace
    if not _PHRASE_FIRST.isdisjoint(raw) or "epa" in text:
        raw = _PHRASE_RE.sub(_phrase, " ".join(raw)).split()
    out: list[str] = []
    last = len(raw) - 1
    for i, word in enumerate(raw):
        if word in _MARKERS and (
            word in _ALWAYS_MARKERS or (i < last and _number(raw[i + 1]) is not None)
        ):
            continue
        number = _number(word)
        if number is not None and len(word) == 1 and not word.isdigit():
            # a lone i / v / x is a numeral only where a numeral stands
            prev = raw[i - 1] if i else ""
            if not ((i in (0, last) and last > 0) or prev in _MARKERS):
                number = None
        if number is not None:
            out.append(number)
        else:
            out += _significant(word)
    return out


@lru_cache(maxsize=1 << 16)
def _significant(word: str) -> tuple[str, ...]:
    """The English word(s) a word that is not a number stands for, without stop words and
    legal forms."""
    mapped = _CITIES.get(word, _WORDS.get(word, word))
    return tuple(w for w in mapped.split() if w not in _STOP and w not in _LEGAL)


# "Politecnico", "Politechnika", "Technische Universität" and "University of Technology" are
# one type of organisation, written "polytechnic" in keys
_POLYTECHNIC: Final = ({"polytechnic", "university"}, {"technical", "university"},
                       {"technology", "university"}, {"polytechnic"})


@lru_cache(maxsize=1 << 16)  # a call's names are keyed for conflicts, then for potential ones
def org_key(name: str | None) -> str:
    """The matching key of an organisation name (empty when nothing significant is left)."""
    words = set(org_tokens(name))
    for kind in _POLYTECHNIC:
        if kind <= words:
            words = (words - kind) | {"polytechnic"}
            break
    return " ".join(sorted(words))


def org_keys(names: Iterable[str | None]) -> list[str]:
    """:func:`org_key` of each name, computing each distinct name once."""
    names = list(names)
    cache = {n: org_key(n) for n in set(names)}
    return [cache[n] for n in names]


# a key's numeral: the arabic digits org_tokens writes every number it reads as (a word of
# other digit characters it could not read, such as Ethiopic ones, is a word like any other)
NUMERAL: Final = r"^[0-9]+$"
_NUMERAL_RE: Final = re.compile(NUMERAL)


def key_numbers(key: str) -> str:
    """The numerals of a key, e.g. ``"1 2"`` for ``"1 2 liceum"`` (``""`` when none)."""
    return " ".join(w for w in key.split() if _NUMERAL_RE.match(w))


def numerals(key: pl.Expr) -> pl.Expr:
    """:func:`key_numbers` of a String column of keys."""
    return key.str.split(" ").list.eval(
        pl.element().filter(pl.element().str.contains(NUMERAL))
    ).list.join(" ")


# organisation-type words: shared by unrelated organisations, so never evidence of a likely match
GENERIC: Final = frozenset(
    w for v in _WORDS.values() for w in v.split()
) | frozenset({
    "college", "school", "academy", "liceum", "liceo", "lycee", "liceul", "lisesi", "gymnasium",
    "gymnazium", "gimnazjum", "colegio", "colegiul", "escola", "scoala", "skola", "szkola",
    "kolegija", "tehnikums", "studi", "studies", "state", "public", "professional", "vocational",
    "secondary", "primary", "high", "higher", "education", "training", "group", "european",
    "applied",
})  # fmt: skip
# a body running a school ("Stichting Hogeschool Utrecht") is named with or without its form
WEAK: Final = frozenset({"foundation", "association"})
MAX_MISSING: Final = 2  # words one name may lack and still be likely the other
MIN_STEM: Final = 4  # letters two spellings of one word share at least ("lund" / "lunds")
MIN_TYPO: Final = 5  # letters from which a word may carry one typo and still be the same word


def _two_forms(x: list[str], y: list[str]) -> np.ndarray:
    """(n,) bool: whether each ``x[i]``, ``y[i]`` (different words) are two forms of one word:
    a shared beginning of at least :data:`MIN_STEM` letters and all but the last 3 letters of
    the shorter ("Stockholms" / "Stockholm", "Vilniaus" / "Vilnius", "Jagielloński" /
    "Jagiellonian"), or one typo apart (optimal string alignment distance 1: "Ljubljana" /
    "Lujbljana") in words of :data:`MIN_TYPO` letters or more."""
    if not x:
        return np.zeros(0, dtype=bool)
    ax, ay = np.array(x, dtype=np.str_), np.array(y, dtype=np.str_)
    width = max(ax.dtype.itemsize, ay.dtype.itemsize) // 4
    cx = ax.astype(f"<U{width}").view(np.uint32).reshape(-1, width)
    cy = ay.astype(f"<U{width}").view(np.uint32).reshape(-1, width)
    short = np.minimum(np.char.str_len(ax), np.char.str_len(ay))
    differ = cx != cy
    common = np.where(differ.any(axis=1), differ.argmax(axis=1), width)
    out: np.ndarray = np.minimum(common, short) >= np.maximum(MIN_STEM, short - 3)
    typo = np.flatnonzero(~out & (short >= MIN_TYPO))
    if typo.size:
        distance = process.cpdist([x[i] for i in typo.tolist()], [y[i] for i in typo.tolist()],
                                  scorer=OSA.distance, score_cutoff=1)
        out[typo] = np.asarray(distance) <= 1
    return out


def _key_features(keys: pl.Series) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per distinct key: ``key``, ``kid`` (its row), ``strong`` (its words but the weak ones),
    ``generic`` (its organisation-type words), ``numbers`` (:func:`key_numbers`) and ``n``
    (how many other words: neither generic nor numerals, the distinctive ones); and those
    distinctive words, ``kid, word``. One pass of polars over the keys' words (the words keep
    their order in each key)."""
    frame = pl.DataFrame({"key": keys}, schema={"key": pl.String}).with_columns(
        kid=pl.int_range(pl.len(), dtype=pl.Int64))
    word = pl.col("word")
    words = frame.select("kid", word=pl.col("key").str.split(" ")).explode("word").filter(
        word != "").with_columns(
        weak=word.is_in(list(WEAK)), generic=word.is_in(list(GENERIC)),
        numeral=word.str.contains(NUMERAL))
    kept = ~pl.col("weak")
    distinctive = kept & ~pl.col("generic") & ~pl.col("numeral")
    parts = words.group_by("kid").agg(
        strong=word.filter(kept).str.join(" "),
        generic=word.filter(kept & pl.col("generic")).str.join(" "),
        numbers=word.filter(pl.col("numeral")).str.join(" "),
        n=distinctive.sum().cast(pl.Int64),
    )
    features = frame.join(parts, on="kid", how="left").with_columns(
        pl.col("strong", "generic", "numbers").fill_null(""), pl.col("n").fill_null(0))
    return features, words.filter(distinctive).select("kid", "word")


def likely_same(left: Iterable[str], right: Iterable[str]) -> list[bool]:
    """For aligned keys (:func:`org_key`), whether each pair is a *likely* but unconfirmed match
    (a potential conflict): the keys differ, their numerals and organisation-type words
    (:data:`GENERIC`) agree, each has another word, and either one key lacks at most
    :data:`MAX_MISSING` of the other's words ("Univerzita Karlova" / "Univerzita Karlova v
    Praze"), or one word is spelt in two forms (:func:`_two_forms`: "Stockholms universitet"
    / "Stockholm University", typos). Keys that are the same but for a weak word (:data:`WEAK`)
    are likely when a distinctive word is left.

    Each distinct key's words are sorted out once and the pairs are compared by joins, so only
    the pairs that differ by exactly one word on each side reach Python (:func:`_two_forms`,
    once per distinct pair of words)."""
    left, right = list(left), list(right)
    if len(left) != len(right):
        raise ValueError(f"likely_same needs aligned keys; got {len(left)} and {len(right)}")
    pairs = pl.DataFrame({"a": left, "b": right}, schema={"a": pl.String, "b": pl.String})
    out: list[bool] = likely_mask(pairs).tolist()
    return out


def likely_mask(pairs: pl.DataFrame) -> np.ndarray:
    """:func:`likely_same` of the String columns ``a, b`` of ``pairs``, as an (n,) bool array
    (no Python string per pair).

    Each distinct key is sorted out once (:func:`_key_features`) and given integer ids: for
    itself, for its generic words, numerals and strong words as strings, and for each of its
    distinctive words. A pair's shared words are then the (key, word) codes of one side found
    among the other's, one sorted lookup for all pairs; only the one-word-apart pairs' words
    reach Python (:func:`_two_forms`, once per distinct pair of words)."""
    if pairs.height == 0:
        return np.zeros(0, dtype=bool)
    pairs = pairs.select(pl.col("a", "b").fill_null(""))  # no key: never a match
    keys = pl.concat([pairs["a"], pairs["b"]]).unique()
    features, words = _key_features(keys)
    kid = pl.DataFrame({"key": keys, "kid": np.arange(keys.len())})  # as _key_features numbers them
    at = pairs.with_row_index("i").join(
        kid, left_on="a", right_on="key", how="left").join(
        kid, left_on="b", right_on="key", how="left", suffix="_b").sort("i")
    ka, kb = at["kid"].to_numpy(), at["kid_b"].to_numpy()
    by_kid = features.sort("kid")
    # per key: an id for each feature string, so that pairs compare integers
    ids = {col: by_kid[col].rank("dense").to_numpy() for col in ("strong", "generic", "numbers")}
    n = by_kid["n"].to_numpy()
    # a pair may match only when its generic words and numerals agree and both keep a word
    able = ((ids["generic"][ka] == ids["generic"][kb]) & (ids["numbers"][ka] == ids["numbers"][kb])
            & (n[ka] > 0) & (n[kb] > 0) & (ka != kb))
    i = np.flatnonzero(able)
    ka, kb = ka[i], kb[i]
    same = ids["strong"][ka] == ids["strong"][kb]  # the keys but for weak words
    # the distinctive words, key after key, as ids; (key, word) codes of every key's words
    vocab = words["word"].unique().sort()
    n_w = vocab.len()
    wid = words.join(pl.DataFrame({"word": vocab, "w": np.arange(n_w)}), on="word",
                     how="left").sort("kid", maintain_order=True)
    kids, wids = wid["kid"].to_numpy(), wid["w"].to_numpy().astype(np.int64)
    start = np.searchsorted(kids, np.arange(by_kid.height + 1))
    codes = np.sort(kids * n_w + wids)

    def words_of(own: IntArray, other: IntArray) -> tuple[IntArray, IntArray, np.ndarray]:
        """For each word of each key ``own[j]``: ``j``, the word's id, and whether the key
        ``other[j]`` has it too."""
        owner, pos = _sets.ranges(start[own], start[own + 1] - start[own])
        return owner, wids[pos], _sets.member(other[owner] * n_w + wids[pos], codes)

    owner, _, found = words_of(ka, kb)
    shared = np.bincount(owner, weights=found, minlength=i.size).astype(np.int64)
    n_a, n_b = n[ka], n[kb]
    small, large = np.minimum(n_a, n_b), np.maximum(n_a, n_b)
    missing = (small < large) & (large - small <= MAX_MISSING) & (shared == small)
    one_apart = ~same & ~missing & (n_a == n_b) & (shared == n_a - 1)
    out = np.zeros(pairs.height, dtype=bool)
    out[i[same | missing]] = True
    # the one word each side of a one-word-apart pair does not share, then its spelling
    apart = np.flatnonzero(one_apart)
    if apart.size:
        x_of, y_of = np.empty(apart.size, np.int64), np.empty(apart.size, np.int64)
        for own, other, into in ((ka, kb, x_of), (kb, ka, y_of)):
            owner, w, found = words_of(own[apart], other[apart])
            into[owner[~found]] = w[~found]
        forms, back = np.unique(x_of * n_w + y_of, return_inverse=True)
        spelt = _two_forms(vocab.gather(forms // n_w).to_list(),
                           vocab.gather(forms % n_w).to_list())
        out[i[apart[spelt[back.reshape(-1)]]]] = True
    return out
