"""The call folder's code lists against their sources: ISCED-F 2013 as UNESCO publishes it, every
ISO 3166-1 country pycountry knows, and the EU's own country codes (EL, UK)."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pycountry
import pytest

from evalpanel.callfolder import isced_label, vocab
from evalpanel.callfolder.check import check_table
from evalpanel.callfolder.schema import Column
from evalpanel.callfolder.tables import LINE, RawTable

PUBLISHED = Path(__file__).parent / "data" / "isced_f_2013_possible_codes.txt"
_ENTRY = re.compile(r"^(\d{2,4}) (.+)$")


def published_codes() -> dict[str, str]:
    """Code -> label from the publication's text; an entry's label may wrap onto the next
    lines, and the column headings and comments are not entries."""
    entries: dict[str, str] = {}
    last = None
    for line in PUBLISHED.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or line in ("Broad field", "Narrow field",
                                                        "Detailed field"):
            last = None
            continue
        match = _ENTRY.match(line)
        if match:
            last = match[1]
            assert last not in entries, f"{last} twice in the publication's text"
            entries[last] = match[2]
        else:
            assert last is not None, f"text outside an entry: {line!r}"
            entries[last] += " " + line
    return entries


PUBLISHED_CODES = published_codes()
DETAILED = {c: label for c, label in PUBLISHED_CODES.items() if len(c) == 4}


def test_the_published_list_has_every_kind_of_code() -> None:
    # the publication's own examples of each kind, as a check that the text was read whole
    assert len(DETAILED) == 149
    assert {"0119", "0619", "0719", "0110", "0000", "0200", "0188", "0588", "9999"} <= set(DETAILED)
    assert {c[:2] for c in PUBLISHED_CODES if len(c) == 2} == {f"{b:02}" for b in range(11)} | {"99"}


def test_detailed_codes_and_labels_are_the_published_ones() -> None:
    assert set(vocab.ISCED_CODES) == set(DETAILED)
    wrong = {c: (vocab.ISCED_DETAILED[c], label) for c, label in DETAILED.items()
             if vocab.ISCED_DETAILED[c] != label}  # fmt: skip
    assert not wrong


def test_every_published_code_has_its_label_at_every_level() -> None:
    for code, label in PUBLISHED_CODES.items():
        assert isced_label(code) == label, code
    assert isced_label("0714") == "Electronics and automation"
    assert isced_label("071") == "Engineering and engineering trades"
    assert isced_label("07") == "Engineering, manufacturing and construction"
    assert isced_label("0549") is None and isced_label("7") is None


def test_every_detailed_code_sits_in_its_published_narrow_and_broad_field() -> None:
    for code in DETAILED:
        assert code[:3] in PUBLISHED_CODES and code[:2] in PUBLISHED_CODES, code


def _field_problems(cells: list[str]) -> dict[int, str]:
    raw = RawTable(
        "proposals.csv",
        pl.DataFrame({"fields": cells, LINE: list(range(2, len(cells) + 2))}),
    )
    _, problems = check_table(raw, (Column("fields", "isced", multi=True),))
    return {p.line: p.message for p in problems if p.line is not None}


def test_the_validator_accepts_exactly_the_published_detailed_codes() -> None:
    every = [f"{n:04}" for n in range(10_000)]
    chunk = 100  # several codes per cell, as a call folder writes them
    cells = [";".join(every[i : i + chunk]) for i in range(0, len(every), chunk)]
    typed, _ = check_table(
        RawTable("p.csv", pl.DataFrame({"fields": cells, LINE: list(range(2, 102))})),
        (Column("fields", "isced", multi=True),),
    )
    accepted = {code for row in typed["fields"].to_list() for code in row}
    assert accepted == set(DETAILED)


@pytest.mark.parametrize(
    ("cell", "words"),
    [
        ("714", 'did you mean "0714"?'),  # a spreadsheet dropped the leading zero
        ("0549", "is not an ISCED-F 2013 detailed field code"),  # 054 has no "n.e.c." code
        ("0739", "is not an ISCED-F 2013 detailed field code"),
        ("071", "4 digits"),  # a narrow field, not a detailed one
    ],
)
def test_a_wrong_field_code_is_located_with_a_hint(cell: str, words: str) -> None:
    found = _field_problems(["0714", f"0111;{cell}"])
    assert list(found) == [3] and words in found[3], found


# The Erasmus+ Programme Guide 2026, Part A, "Eligible countries", in the EU's own notation: the
# EU Member States, the third countries associated to the programme, and the third countries not
# associated of regions 1 (Western Balkans), 2 (Neighbourhood East), 3 (South-Mediterranean),
# 4 (Russian Federation) and 14 (Faroe Islands, Switzerland, United Kingdom).
EU_LISTED = [
    "BE", "BG", "CZ", "DK", "DE", "EE", "IE", "EL", "ES", "FR", "HR", "IT", "CY", "LV", "LT",
    "LU", "HU", "MT", "NL", "AT", "PL", "PT", "RO", "SI", "SK", "FI", "SE",
    "MK", "RS", "IS", "LI", "NO", "TR",
    "AL", "BA", "XK", "ME", "AM", "AZ", "BY", "GE", "MD", "UA", "DZ", "EG", "IL", "JO", "LB",
    "LY", "MA", "PS", "SY", "TN", "RU", "FO", "CH", "UK",
]  # fmt: skip


def _country_problems(cells: list[str]) -> tuple[list[str | None], dict[int, str]]:
    raw = RawTable(
        "partners.csv", pl.DataFrame({"country": cells, LINE: list(range(2, len(cells) + 2))})
    )
    typed, problems = check_table(raw, (Column("country", "country"),))
    return typed["country"].to_list(), {p.line: p.message for p in problems if p.line}


def test_every_iso_3166_code_is_accepted_in_any_case_and_stored_as_the_eu_writes_it() -> None:
    iso = sorted(c.alpha_2 for c in pycountry.countries)
    assert len(iso) >= 249
    cells = iso + [c.lower() for c in iso] + [c[0] + c[1].lower() for c in iso]
    stored, problems = _country_problems(cells)
    assert not problems
    expected = [{"GR": "EL", "GB": "UK"}.get(c, c) for c in iso] * 3
    assert stored == expected


def test_the_eus_list_of_countries_is_accepted_as_written() -> None:
    stored, problems = _country_problems(EU_LISTED + [c.lower() for c in EU_LISTED])
    assert not problems
    assert stored == EU_LISTED * 2


@pytest.mark.parametrize(
    ("cell", "hint"),
    [("DEU", "DE"), ("GRC", "EL"), ("Germany", "DE"), ("GBR", "UK"), ("PLN", "PL")],
)
def test_an_unknown_country_suggests_the_nearest_code(cell: str, hint: str) -> None:
    _, problems = _country_problems(["BE", cell])
    assert list(problems) == [3]
    assert f'"{cell}" is not an ISO 3166-1 alpha-2 country code' in problems[3]
    assert f'did you mean "{hint}"?' in problems[3], problems


def test_an_unknown_language_suggests_its_code() -> None:
    raw = RawTable("p.csv", pl.DataFrame({"language": ["en", "English"], LINE: [2, 3]}))
    _, problems = check_table(raw, (Column("language", "language"),))
    assert [p.line for p in problems] == [3]
    assert 'did you mean "en"?' in problems[0].message
