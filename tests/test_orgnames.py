"""Organisation-name keys and likely matches, on hand-picked cases and on the labelled set of
real naming patterns in ``tests/data/orgname_pairs.csv`` (see ``benchmarks/orgname_match.py``)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from assignment.conflicts import _blocks
from assignment.orgnames import (
    _key_features,
    key_numbers,
    likely_mask,
    likely_same,
    numerals,
    org_key,
    org_keys,
)
from benchmarks.orgname_match import measure

PAIRS = Path(__file__).parent / "data" / "orgname_pairs.csv"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Zespół Szkół nr 1", "Zespół Szkół nr 2"),
        ("Université Paris 1", "Université Paris 8"),
        ("Liceo II", "Liceo III"),
        ("I Liceum Ogólnokształcące", "II Liceum Ogólnokształcące"),
        ("Szkoła Podstawowa nr 12", "Szkoła Podstawowa nr 21"),
        ("Secondary School No. 1", "Secondary School No. 10"),
        ("1ο ΕΠΑΛ Αθηνών", "2ο ΕΠΑΛ Αθηνών"),
    ],
)
def test_numbers_are_significant(a: str, b: str) -> None:
    assert org_key(a) != org_key(b)
    # a different number is a different organisation, not a likely one
    assert likely_same([org_key(a)], [org_key(b)]) == [False]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Zespół Szkół nr 1", "Zespol Szkol Nr. 1"),
        ("Istituto Comprensivo n. 3", "Istituto Comprensivo n° 3"),
        ("Agrupamento de Escolas n.º 1", "Agrupamento de Escolas nº 1"),
        ("IES número 1", "IES núm. 1"),
        ("Základní škola č. 5", "Základní škola 5"),
        ("Osnovna škola br. 2", "Osnovna škola 2"),
        ("School No. 7", "School #7"),
        ("Université Paris 8", "Université Paris VIII"),
        ("Université Paris 1", "Université Paris I"),
        ("II Liceum Ogólnokształcące", "2 Liceum Ogólnokształcące"),
        ("Vocational School 1st", "Vocational School 01"),
        ("Αριστοτέλειο Πανεπιστήμιο Θεσσαλονίκης", "Aristoteleio Panepistimio Thessalonikis"),
        ("Instituto de Educación Secundaria Número 2", "IES Nº 2"),
    ],
)
def test_number_markers_numerals_and_scripts_are_normalised(a: str, b: str) -> None:
    assert org_key(a) == org_key(b) != ""


def test_a_lone_letter_is_a_numeral_only_where_a_numeral_stands() -> None:
    # the Polish "i" (and) and the Czech "v" (in) are not numbers
    assert "1" not in org_key("Zespół Szkół Ekonomicznych i Handlowych").split()
    assert org_key("Univerzita Karlova v Praze") == "karlova praze university"
    assert key_numbers(org_key("I Liceum Ogólnokształcące")) == "1"
    assert key_numbers(org_key("Université Toulouse III - Paul Sabatier")) == "3"


def test_numbers_are_read_into_arabic_numerals_and_other_digits_are_words() -> None:
    # Arabic-Indic and fullwidth digits are read as numbers; Ethiopic ones cannot be, and stay
    # a word of the name: the conflict blocks and the likely-match rule agree on both
    assert key_numbers(org_key("Liceum ٣")) == key_numbers(org_key("Liceum ３")) == "3"
    assert key_numbers(org_key("Liceum ፫")) == ""
    keys = pl.Series([org_key(n) for n in ("Liceum ٣", "Liceum ፫", "12 Gimnazija Foundation")])
    assert pl.select(numerals(pl.lit(keys))).to_series().to_list() == ["3", "", "12"]
    features, words = _key_features(keys)
    assert features.sort("kid")["numbers"].to_list() == ["3", "", "12"]
    assert "፫" in words["word"].to_list() and "3" not in words["word"].to_list()
    blocks = _blocks(keys)
    assert blocks.filter(pl.col("key") == "liceum ፫")["block"].to_list() == ["|፫"]


def test_likely_matches_are_not_keys() -> None:
    pairs = [
        ("Univerzita Karlova", "Univerzita Karlova v Praze"),  # a missing place
        ("Stockholms universitet", "Stockholm University"),  # a genitive
        ("Stichting Hogeschool Utrecht", "Hogeschool Utrecht"),  # the body's legal form
    ]
    left, right = org_keys(a for a, _ in pairs), org_keys(b for _, b in pairs)
    assert all(a != b for a, b in zip(left, right, strict=True))
    assert likely_same(left, right) == [True, True, True]
    # another organisation type is not a likely match, nor are type words alone
    assert likely_same(
        org_keys(["Universität Wien", "University of Vienna", "University", "Hochschule Gent"]),
        org_keys(["Technische Universität Wien", "University of Applied Sciences Vienna",
                  "University College", "Ghent University"]),
    ) == [False, False, False, False]


def test_labelled_set_is_large_varied_and_balanced() -> None:
    pairs = pl.read_csv(PAIRS)
    assert pairs.height >= 200
    assert pairs["language"].n_unique() >= 20
    assert 0.3 < pairs["same"].mean() < 0.7  # type: ignore[operator]
    assert pairs.select("name_a", "name_b").is_duplicated().sum() == 0


def test_precision_and_recall_targets_on_the_labelled_set() -> None:
    m = measure(PAIRS)
    # an equal key excludes a pair: it must almost never join two organisations
    assert m["key_precision"] >= 0.99
    # a same-organisation pair must reach the manager: excluded or shown as potential
    assert m["detection_recall"] >= 0.95
    # the key alone recognises most spellings (translations are left to the manager)
    assert m["key_recall"] >= 0.85


def numeral(word: str) -> bool:
    """A numeral of a key: the arabic digits org_tokens writes numbers as."""
    return word.isascii() and word.isdigit()


def _likely_one_pair(a: str, b: str) -> bool:
    """The likely-match rule written pair by pair, as the docstring of ``likely_same`` states
    it: the reference for its joins."""
    from assignment.orgnames import GENERIC, MAX_MISSING, MIN_STEM, MIN_TYPO, WEAK

    if not a or not b or a == b:
        return False
    wa = [w for w in a.split() if w not in WEAK]
    wb = [w for w in b.split() if w not in WEAK]
    if wa == wb:
        return any(w not in GENERIC and not numeral(w) for w in wa)
    da = [w for w in wa if w not in GENERIC and not numeral(w)]
    db = [w for w in wb if w not in GENERIC and not numeral(w)]
    if ({w for w in wa if w in GENERIC} != {w for w in wb if w in GENERIC}
            or key_numbers(a) != key_numbers(b) or not da or not db):
        return False
    small, large = sorted((set(da), set(db)), key=len)
    if small < large and len(large) - len(small) <= MAX_MISSING:
        return True
    rest_a, rest_b = set(da) - set(db), set(db) - set(da)
    if len(da) != len(db) or len(rest_a) != 1 or len(rest_b) != 1:
        return False
    (x,), (y,) = rest_a, rest_b
    short = min(len(x), len(y))
    common = next((i for i in range(short) if x[i] != y[i]), short)
    if common >= max(MIN_STEM, short - 3):
        return True
    typo = sum(p != q for p, q in zip(x, y, strict=False)) + abs(len(x) - len(y))
    swapped = len(x) == len(y) and any(
        x[:i] + x[i + 1] + x[i] + x[i + 2:] == y for i in range(len(x) - 1))
    dropped = any(x[:i] + x[i + 1:] == y for i in range(len(x))) or any(
        y[:i] + y[i + 1:] == x for i in range(len(y)))
    return short >= MIN_TYPO and (typo <= 1 or swapped or dropped)


def test_likely_same_agrees_with_the_rule_pair_by_pair() -> None:
    """Every pair of the labelled set's names, both ways, and variants with a changed, dropped,
    added or swapped letter, an added word and another number: the joins of ``likely_same``
    decide as the rule written pair by pair."""
    labelled = pl.read_csv(PAIRS)
    names = sorted(set(labelled["name_a"].to_list()) | set(labelled["name_b"].to_list()))
    keys = sorted(set(org_keys(names)))
    variants = []
    for key in keys:
        words = key.split()
        long = max(words, key=len)
        if len(long) < 5:
            continue
        variants += [key.replace(long, long[:-1]), key.replace(long, long + "x"),
                     key.replace(long, long[:2] + long[3] + long[2] + long[4:]),
                     key.replace(long, long[:3] + "q" + long[4:]),
                     " ".join(sorted({*words, "lund"})), " ".join(sorted({*words, "7"}))]
    pool = sorted(set(keys) | set(variants))
    left = [a for a in pool for b in pool[:: 7]] + ["", "x"]
    right = [b for a in pool for b in pool[:: 7]] + ["x", ""]
    assert likely_same(left, right) == [_likely_one_pair(a, b) for a, b in
                                        zip(left, right, strict=True)]
    assert likely_same([], []) == []
    with pytest.raises(ValueError, match="aligned"):
        likely_same(["a"], [])


def test_a_missing_key_is_never_a_likely_match() -> None:
    pairs = pl.DataFrame({"a": [None, "stockholm university", "x", None],
                          "b": ["x", "stockholms university", None, None]},
                         schema={"a": pl.String, "b": pl.String})
    assert likely_mask(pairs).tolist() == [False, True, False, False]
