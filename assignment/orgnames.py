"""Organisation-name keys: one string per name, equal for spellings of the same organisation.

``org_key("Univ. of Ghent") == org_key("Ghent University") == org_key("Universiteit Gent")
== "ghent university"``. The key is the sorted set of the name's significant words after folding
case and accents, dropping punctuation and parenthesised acronyms, expanding abbreviations,
translating the organisation-type words of EU languages and the local names of large cities to
English, and removing stop words and legal-form suffixes (GmbH, S.A., Ltd, …). An empty key means
the name had nothing significant and must not be matched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .text import fold

# abbreviations and organisation-type words in EU languages → one English word
_WORDS: dict[str, str] = {
    "univ": "university", "uni": "university", "universitat": "university",
    "universite": "university", "universita": "university", "universidad": "university",
    "universidade": "university", "universiteit": "university", "uniwersytet": "university",
    "univerzita": "university", "universitet": "university", "universitatea": "university",
    "univerza": "university", "yliopisto": "university", "egyetem": "university",
    "panepistimio": "university", "universitas": "university", "universitaet": "university",
    "inst": "institute", "institut": "institute", "instituto": "institute",
    "istituto": "institute", "instytut": "institute", "insitute": "institute",
    "tech": "technical", "techn": "technical", "technische": "technical",
    "technischen": "technical", "technical": "technical", "technique": "technical",
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
    "investigacion": "research", "ricerca": "research", "hochschule": "university",
    "politecnico": "polytechnic", "politecnica": "polytechnic", "polytechnique": "polytechnic",
    "politechnika": "polytechnic", "poly": "polytechnic", "ecole": "school", "escuela": "school",
    "scuola": "school", "schule": "school", "sch": "school",
}  # fmt: skip

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
    "le", "les", "l", "van", "von", "voor", "vor", "y", "e", "et", "und", "fur", "zu", "i",
    "z", "w", "na", "o",
})  # fmt: skip

# legal forms, as single tokens after punctuation is removed ("S.A." → "s a" is handled below)
_LEGAL: frozenset[str] = frozenset({
    "gmbh", "ggmbh", "mbh", "ag", "sa", "sas", "sarl", "srl", "srls", "spa", "bv", "nv", "vzw",
    "asbl", "ltd", "limited", "plc", "inc", "llc", "corp", "co", "oy", "oyj", "ab", "aps",
    "as", "asa", "kft", "doo", "dd", "sro", "zrt", "bt", "eg", "ev", "ug", "kg", "ohg", "scrl",
    "sprl", "sl", "slu", "ltda", "lda", "cic", "cio", "ek", "se", "eood", "ad", "ood", "sia",
    "uab", "ou", "pllc",
})  # fmt: skip

_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_NON_WORD = re.compile(r"[^\w]+")
# dotted legal forms written with single letters, e.g. "S.A.", "B.V.", "e.V.", "S.p.A."
_DOTTED = re.compile(r"\b(?:[a-z]\.){1,3}[a-z]?\.?(?=\s|$)")


def org_key(name: str | None) -> str:
    """The matching key of an organisation name (empty when nothing significant is left)."""
    if not name:
        return ""
    text = _PARENS.sub(" ", fold(name))
    text = _DOTTED.sub(lambda m: " " + m.group(0).replace(".", "") + " ", text)
    words: set[str] = set()
    for raw in _NON_WORD.sub(" ", text).split():
        word = _CITIES.get(raw, _WORDS.get(raw, raw))
        if word in _STOP or word in _LEGAL or word.isdigit():
            continue
        words.add(word)
    return " ".join(sorted(words))


def org_keys(names: Iterable[str | None]) -> list[str]:
    """:func:`org_key` of each name, computing each distinct name once."""
    names = list(names)
    cache = {n: org_key(n) for n in set(names)}
    return [cache[n] for n in names]
