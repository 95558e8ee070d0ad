"""Each Erasmus+ preset against the numbers of the Programme Guide, copied here by hand.

Source: Erasmus+ Programme Guide 2026, version 1 (12/11/2025). The table below is typed from the
Guide's own text (the "Award criteria" tables and the paragraphs that follow them), not from the
preset files, so a preset that drifts from the Guide fails here.
"""

from __future__ import annotations

import tomllib
from typing import TypedDict

import pytest

from scoring import load_scheme, preset_text

GUIDE = "Erasmus+ Programme Guide 2026, version 1 (12/11/2025)"

# preset: criteria {id: (maximum, minimum to pass)}, total pass mark, ex-aequo order, pages
# where the numbers are written, whole points only.
class GuideRow(TypedDict):
    criteria: dict[str, tuple[int, int]]
    total: int
    tie_break: tuple[str, ...]
    pages: tuple[str, str]


GUIDE_TABLE: dict[str, GuideRow] = {
    # Alliances for Innovation, all three lots: maxima in each lot's award-criteria table
    # (Lot 1 pp. 303-305, Lot 2 pp. 306-308, Lot 3 pp. 309-311); "at least 70 points ...
    # minimum 13 points for relevance; 16 points for quality of the project design and
    # implementation, 13 points for quality of the partnership and the cooperation arrangements
    # and 11 points for impact" (pp. 306, 309, 311); ex aequo: "Relevance", then "quality of the
    # project design and implementation", then "Impact" (pp. 306, 309, 311).
    "erasmus-afi": {
        "criteria": {"relevance": (25, 13), "quality": (30, 16), "partnership": (25, 13),
                     "impact": (20, 11)},
        "total": 70,
        "tie_break": ("relevance", "quality", "impact"),
        "pages": ("303", "311"),
    },
    # Cooperation Partnerships: maxima pp. 240-242; "at least 70 points (out of 100 points in
    # total) ... minimum 13 points for relevance and impact; 15 points for quality of the project
    # design and implementation and 10 points for quality of the partnership" (p. 242); ex aequo:
    # "relevance of the project" and then "impact" (p. 242); footnote 247: "decimal points are
    # not applicable", a half maximum is rounded up to the next point.
    "erasmus-ka220": {
        "criteria": {"relevance": (25, 13), "quality": (30, 15), "partnership": (20, 10),
                     "impact": (25, 13)},
        "total": 70,
        "tie_break": ("relevance", "impact"),
        "pages": ("240", "242"),
    },
    # Small-scale Partnerships: maxima pp. 248-249; "at least 60 points ... minimum 15 points
    # for relevance and quality of the project design and implementation; 10 points for quality
    # of the partnership and impact" (p. 249); ex aequo: relevance, then impact (p. 249).
    "erasmus-ka210": {
        "criteria": {"relevance": (30, 15), "quality": (30, 15), "partnership": (20, 10),
                     "impact": (20, 10)},
        "total": 60,
        "tie_break": ("relevance", "impact"),
        "pages": ("248", "249"),
    },
}
# What the Guide leaves to the Agencies: each preset must name these as practice.
PRACTICE = ("experts_per_proposal", "total_gap", "closest_two", "bands")


@pytest.mark.parametrize("preset", sorted(GUIDE_TABLE))
def test_preset_follows_the_guide(preset: str) -> None:
    expected = GUIDE_TABLE[preset]
    scheme = load_scheme(preset)
    assert {c.id: (c.max, c.min_pass) for c in scheme.criteria} == expected["criteria"]
    assert scheme.total_threshold == expected["total"]
    assert scheme.tie_break == expected["tie_break"]
    # whole points, and every minimum a whole number of at least half the maximum
    assert all(c.step == 1 for c in scheme.criteria)
    for c in scheme.criteria:
        assert c.min_pass == int(c.min_pass) and c.min_pass >= c.max / 2
    assert scheme.total_max == 100


@pytest.mark.parametrize("preset", sorted(GUIDE_TABLE))
def test_preset_names_its_source_and_what_is_practice(preset: str) -> None:
    scheme = load_scheme(preset)
    first, last = GUIDE_TABLE[preset]["pages"]
    assert "Programme Guide 2026" in scheme.source and "version 1 (12/11/2025)" in scheme.source
    assert f"pp. {first}-{last}" in scheme.source
    assert scheme.status == "confirmed"
    practice = " ".join(scheme.practice)
    for item in PRACTICE:
        assert item in practice, f"{preset}: {item} is not marked as practice"
    assert "not confirmed" not in preset_text(preset)
    # the file itself says which numbers are programme rules, next to them
    raw = tomllib.loads(preset_text(preset))
    assert set(raw["criteria"]) == set(GUIDE_TABLE[preset]["criteria"])
    assert "programme rule" in preset_text(preset)


def test_afi_guiding_questions_follow_the_guides_headings() -> None:
    scheme = load_scheme("erasmus-afi")
    headings = {
        "relevance": ("Link to EU policies", "Purpose", "EU values", "Needs analysis",
                      "Innovation", "European added value"),
        "quality": ("Coherence", "Structure", "Methodology", "Management", "Work plan", "Budget",
                    "quality control"),
        "partnership": ("Configuration", "Commitment", "Tasks", "Collaboration", "Reward"),
        "impact": ("Exploitation", "Impact", "Dissemination", "Open access", "Sustainability"),
    }
    for cid, names in headings.items():
        text = " ".join(scheme.criterion(cid).questions)
        for name in names:
            assert name in text, f"{cid}: no question on {name}"


def test_afi_ex_aequo_further_prioritisation_is_left_to_the_manager() -> None:
    # Lots 1 and 2 allow a documented further prioritisation (pp. 306, 309); the preset says the
    # engine does not invent it.
    scheme = load_scheme("erasmus-afi")
    assert any("further prioritisation" in note and "manager" in note
               for note in scheme.unconfirmed)
