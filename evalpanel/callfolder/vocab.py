"""Controlled vocabularies of the call-folder format.

ISCED-F 2013 fields of education and training, the 14 industrial ecosystems of the EU
industrial strategy, ISO 3166-1 alpha-2 countries as the EU writes them (``EL`` for Greece, ``UK``
for the United Kingdom) and ISO 639-1 languages. Each ``normalise_*`` returns the canonical form
or ``None`` when unknown; each ``suggest_*`` the valid value an unknown one most likely meant.
"""

from __future__ import annotations

import difflib
import re
from functools import cache

import pycountry

from evalpanel.callfolder import isced

# ISCED-F 2013 (see :mod:`.isced`): the detailed (4-digit) codes a call folder may name.
ISCED_DETAILED: dict[str, str] = isced.DETAILED
ISCED_CODES: frozenset[str] = frozenset(isced.DETAILED)


def isced_label(code: str) -> str | None:
    """The English label of an ISCED-F 2013 code (broad, narrow or detailed), or None."""
    return isced.label(code)


ECOSYSTEMS: tuple[str, ...] = (
    "Aerospace and defence",
    "Agri-food",
    "Construction",
    "Cultural and creative industries",
    "Digital",
    "Electronics",
    "Energy-intensive industries",
    "Renewable energy",
    "Health",
    "Mobility, transport and automotive",
    "Proximity, social economy and civil security",
    "Retail",
    "Textile",
    "Tourism",
)

# The 27 EU member states and the 6 third countries associated to Erasmus+ (as of 2026).
PROGRAMME_COUNTRIES: tuple[str, ...] = (
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "EL", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
    "IS", "LI", "NO", "MK", "RS", "TR",
)  # fmt: skip


def _ecosystem_key(name: str) -> str:
    key = name.casefold().replace("&", " and ")
    return re.sub(r"[\s\-–—_,]+", "", key)


_ECOSYSTEM_BY_KEY = {_ecosystem_key(name): name for name in ECOSYSTEMS}


def normalise_ecosystem(name: str) -> str | None:
    """Canonical ecosystem name, matched regardless of case, spacing, dashes and & / and."""
    return _ECOSYSTEM_BY_KEY.get(_ecosystem_key(name))


# Where the EU's own country codes differ from ISO 3166-1 alpha-2 (the EU's Interinstitutional
# Style Guide, list of countries): the EU writes Greece EL and the United Kingdom UK. Kosovo,
# which ISO 3166-1 does not list, is XK in EU programmes.
EU_STYLE: dict[str, str] = {"GR": "EL", "GB": "UK"}


@cache
def country_codes() -> dict[str, str]:
    """Every accepted country code (upper case) -> the code as the EU writes it."""
    codes = {c.alpha_2: EU_STYLE.get(c.alpha_2, c.alpha_2) for c in pycountry.countries}
    codes.update({eu: eu for eu in EU_STYLE.values()})
    codes["XK"] = "XK"
    return codes


def _country_codes() -> frozenset[str]:
    return frozenset(country_codes())


def normalise_country(code: str) -> str | None:
    """The code as the EU writes it (``gr`` -> ``EL``, ``GB`` -> ``UK``), or None when unknown."""
    return country_codes().get(code.strip().upper())


def suggest_country(value: str) -> str | None:
    """The valid code someone most likely meant by ``value``: the alpha-2 code of an alpha-3
    code or a country name, else the nearest programme country code, else the nearest code."""
    text = value.strip()
    try:
        found = pycountry.countries.lookup(text)
    except LookupError:
        found = None
    if found is not None:
        return normalise_country(found.alpha_2)
    upper = text.upper()
    for pool in (PROGRAMME_COUNTRIES, sorted(set(country_codes().values()))):
        close = difflib.get_close_matches(upper, pool, n=1, cutoff=0.5)
        if close:
            return close[0]
    return None


def suggest_isced(value: str) -> str | None:
    """The ISCED-F 2013 detailed code someone most likely meant: a code whose leading zero a
    spreadsheet dropped (``714`` -> ``0714``), else the nearest code in the list."""
    text = value.strip()
    if text.isdigit() and len(text) < 4 and text.zfill(4) in ISCED_CODES:
        return text.zfill(4)
    close = difflib.get_close_matches(text, sorted(ISCED_CODES), n=1, cutoff=0.7)
    return close[0] if close else None


# ISO 639-1 (two-letter) language codes, as listed by pycountry; a test keeps them in step. Kept
# here because pycountry loads all ~8,000 ISO 639-3 languages (0.1 s) to list these 184.
LANGUAGE_CODES: frozenset[str] = frozenset({
    "aa", "ab", "ae", "af", "ak", "am", "an", "ar", "as", "av", "ay", "az", "ba", "be", "bg",
    "bi", "bm", "bn", "bo", "br", "bs", "ca", "ce", "ch", "co", "cr", "cs", "cu", "cv", "cy",
    "da", "de", "dv", "dz", "ee", "el", "en", "eo", "es", "et", "eu", "fa", "ff", "fi", "fj",
    "fo", "fr", "fy", "ga", "gd", "gl", "gn", "gu", "gv", "ha", "he", "hi", "ho", "hr", "ht",
    "hu", "hy", "hz", "ia", "id", "ie", "ig", "ii", "ik", "io", "is", "it", "iu", "ja", "jv",
    "ka", "kg", "ki", "kj", "kk", "kl", "km", "kn", "ko", "kr", "ks", "ku", "kv", "kw", "ky",
    "la", "lb", "lg", "li", "ln", "lo", "lt", "lu", "lv", "mg", "mh", "mi", "mk", "ml", "mn",
    "mr", "ms", "mt", "my", "na", "nb", "nd", "ne", "ng", "nl", "nn", "no", "nr", "nv", "ny",
    "oc", "oj", "om", "or", "os", "pa", "pi", "pl", "ps", "pt", "qu", "rm", "rn", "ro", "ru",
    "rw", "sa", "sc", "sd", "se", "sg", "sh", "si", "sk", "sl", "sm", "sn", "so", "sq", "sr",
    "ss", "st", "su", "sv", "sw", "ta", "te", "tg", "th", "ti", "tk", "tl", "tn", "to", "tr",
    "ts", "tt", "tw", "ty", "ug", "uk", "ur", "uz", "ve", "vi", "vo", "wa", "wo", "xh", "yi",
    "yo", "za", "zh", "zu"
})  # fmt: skip


def _language_codes() -> frozenset[str]:
    return LANGUAGE_CODES


def normalise_language(code: str) -> str | None:
    """ISO 639-1 code in lower case, or None."""
    lower = code.strip().lower()
    return lower if lower in _language_codes() else None


def is_isced_code(code: str) -> bool:
    return code in ISCED_CODES


def suggest_language(value: str) -> str | None:
    """The ISO 639-1 code of a language written by name or as an ISO 639-2/3 code."""
    try:
        found = pycountry.languages.lookup(value.strip())
    except LookupError:
        return None
    return getattr(found, "alpha_2", None)


def suggest_ecosystem(value: str) -> str | None:
    """The ecosystem whose name is nearest to ``value``."""
    close = difflib.get_close_matches(_ecosystem_key(value), list(_ECOSYSTEM_BY_KEY), n=1)
    return _ECOSYSTEM_BY_KEY[close[0]] if close else None
