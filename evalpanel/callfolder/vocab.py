"""Controlled vocabularies of the call-folder format.

ISCED-F 2013 fields of education and training, the 14 industrial ecosystems of the EU
industrial strategy, ISO 3166-1 alpha-2 countries (with the EU's ``EL`` for Greece) and ISO
639-1 languages. Each ``normalise_*`` returns the canonical form or ``None`` when unknown.
"""

from __future__ import annotations

import re
from functools import cache

import pycountry

# ISCED-F 2013 detailed fields (4 digits). Broad field = first 2 digits, narrow = first 3.
ISCED_DETAILED: dict[str, str] = {
    "0011": "Basic programmes and qualifications",
    "0021": "Literacy and numeracy",
    "0031": "Personal skills and development",
    "0111": "Education science",
    "0112": "Training for pre-school teachers",
    "0113": "Teacher training without subject specialisation",
    "0114": "Teacher training with subject specialisation",
    "0211": "Audio-visual techniques and media production",
    "0212": "Fashion, interior and industrial design",
    "0213": "Fine arts",
    "0214": "Handicrafts",
    "0215": "Music and performing arts",
    "0221": "Religion and theology",
    "0222": "History and archaeology",
    "0223": "Philosophy and ethics",
    "0231": "Language acquisition",
    "0232": "Literature and linguistics",
    "0311": "Economics",
    "0312": "Political sciences and civics",
    "0313": "Psychology",
    "0314": "Sociology and cultural studies",
    "0321": "Journalism and reporting",
    "0322": "Library, information and archival studies",
    "0411": "Accounting and taxation",
    "0412": "Finance, banking and insurance",
    "0413": "Management and administration",
    "0414": "Marketing and advertising",
    "0415": "Secretarial and office work",
    "0416": "Wholesale and retail sales",
    "0417": "Work skills",
    "0421": "Law",
    "0511": "Biology",
    "0512": "Biochemistry",
    "0521": "Environmental sciences",
    "0522": "Natural environments and wildlife",
    "0531": "Chemistry",
    "0532": "Earth sciences",
    "0533": "Physics",
    "0541": "Mathematics",
    "0542": "Statistics",
    "0611": "Computer use",
    "0612": "Database and network design and administration",
    "0613": "Software and applications development and analysis",
    "0711": "Chemical engineering and processes",
    "0712": "Environmental protection technology",
    "0713": "Electricity and energy",
    "0714": "Electronics and automation",
    "0715": "Mechanics and metal trades",
    "0716": "Motor vehicles, ships and aircraft",
    "0721": "Food processing",
    "0722": "Materials (glass, paper, plastic and wood)",
    "0723": "Textiles (clothes, footwear and leather)",
    "0724": "Mining and extraction",
    "0731": "Architecture and town planning",
    "0732": "Building and civil engineering",
    "0811": "Crop and livestock production",
    "0812": "Horticulture",
    "0821": "Forestry",
    "0831": "Fisheries",
    "0841": "Veterinary",
    "0911": "Dental studies",
    "0912": "Medicine",
    "0913": "Nursing and midwifery",
    "0914": "Medical diagnostic and treatment technology",
    "0915": "Therapy and rehabilitation",
    "0916": "Pharmacy",
    "0917": "Traditional and complementary medicine and therapy",
    "0921": "Care of the elderly and of disabled adults",
    "0922": "Child care and youth services",
    "0923": "Social work and counselling",
    "1011": "Domestic services",
    "1012": "Hair and beauty services",
    "1013": "Hotel, restaurants and catering",
    "1014": "Sports",
    "1015": "Travel, tourism and leisure",
    "1021": "Community sanitation",
    "1022": "Occupational health and safety",
    "1031": "Military and defence",
    "1032": "Protection of persons and property",
    "1041": "Transport services",
}

ISCED_BROAD = sorted({code[:2] for code in ISCED_DETAILED})
ISCED_NARROW = sorted({code[:3] for code in ISCED_DETAILED})


def _isced_valid_codes() -> frozenset[str]:
    # Besides the detailed fields, ISCED-F codes "not further defined" programmes at the narrow
    # (xxx0) and broad (xx00) level, inter-disciplinary ones (xx88), and "field unknown" (9999).
    codes = set(ISCED_DETAILED)
    codes |= {narrow + "0" for narrow in ISCED_NARROW}
    codes |= {broad + "00" for broad in ISCED_BROAD}
    codes |= {broad + "88" for broad in ISCED_BROAD if broad != "00"}
    codes.add("9999")
    return frozenset(codes)


ISCED_CODES: frozenset[str] = _isced_valid_codes()

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


@cache
def _country_codes() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries) | {"EL", "XK"}


def normalise_country(code: str) -> str | None:
    """ISO 3166-1 alpha-2 code in upper case (``GR`` is written ``EL`` as the EU does)."""
    upper = code.strip().upper()
    if upper not in _country_codes():
        return None
    return "EL" if upper == "GR" else upper


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
