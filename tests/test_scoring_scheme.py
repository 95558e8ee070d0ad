"""Scheme presets, overrides and their validation."""

from __future__ import annotations

from typing import Any

import pytest

from scoring import SchemeError, list_presets, load_scheme, preset_text

# The numbers of DESIGN.md's preset table, written out independently of the TOML files.
EXPECTED = {
    "erasmus-afi": (
        {"relevance": (25, 13), "quality": (30, 16), "partnership": (25, 13), "impact": (20, 11)},
        70,
        2,
    ),
    "erasmus-ka220": (
        {"relevance": (25, 13), "quality": (30, 15), "partnership": (20, 10), "impact": (25, 13)},
        70,
        2,
    ),
    "erasmus-ka210": (
        {"relevance": (30, 15), "quality": (30, 15), "partnership": (20, 10), "impact": (20, 10)},
        60,
        2,
    ),
    "horizon-ria": ({"excellence": (5, 3), "impact": (5, 3), "implementation": (5, 3)}, 10, 3),
    "horizon-ia": ({"excellence": (5, 3), "impact": (5, 3), "implementation": (5, 3)}, 10, 3),
}


def test_presets_listed() -> None:
    assert list_presets() == tuple(sorted(EXPECTED))


@pytest.mark.parametrize("preset", sorted(EXPECTED))
def test_preset_numbers(preset: str) -> None:
    criteria, threshold, k = EXPECTED[preset]
    scheme = load_scheme(preset)
    assert scheme.id == preset
    assert {c.id: (c.max, c.min_pass) for c in scheme.criteria} == criteria
    assert scheme.total_threshold == threshold
    assert scheme.experts_per_proposal == k
    assert scheme.source
    assert [b.label for b in scheme.bands] == ["Very good", "Good", "Fair", "Weak"]
    assert [b.min_share for b in scheme.bands] == [0.85, 0.70, 0.50, 0.0]
    assert all(c.questions for c in scheme.criteria)


def test_erasmus_defaults() -> None:
    for preset in ("erasmus-afi", "erasmus-ka220", "erasmus-ka210"):
        s = load_scheme(preset)
        assert (s.divergence.total_gap, s.divergence.skip_if_all_below) == (30, True)
        assert s.third_expert_rule == "closest_two"
        assert s.tie_break == (
            ("relevance", "quality", "impact") if preset == "erasmus-afi" else ("relevance", "impact")
        )
        assert s.funding == "strict"
        assert all(c.step == 1 for c in s.criteria)


def test_horizon_defaults() -> None:
    ria, ia = load_scheme("horizon-ria"), load_scheme("horizon-ia")
    assert ria.third_expert_rule == ia.third_expert_rule == "consensus"
    assert ria.tie_break == ("excellence", "impact")
    assert ia.tie_break == ("impact", "excellence")
    assert all(c.step == 0.5 for c in ria.criteria)
    assert {c.id: c.rank_weight for c in ia.criteria} == {
        "excellence": 1.0,
        "impact": 1.5,
        "implementation": 1.0,
    }
    assert all(c.rank_weight == 1.0 for c in ria.criteria)


def test_afi_points_confirmed_and_practice_marked() -> None:
    scheme = load_scheme("erasmus-afi")
    assert scheme.status == "confirmed"
    assert any("total_gap 30" in note and "not a rule of the Programme Guide" in note
               for note in scheme.practice)
    assert "not confirmed" not in preset_text("erasmus-afi")


def test_overrides_merge() -> None:
    scheme = load_scheme(
        "erasmus-afi",
        {
            "total_threshold": 65,
            "criteria": {"relevance": {"min_pass": 12}},
            "divergence": {"total_gap": 25},
            "funding": "skip",
            "one_per": "ecosystem",
        },
    )
    assert scheme.total_threshold == 65
    assert scheme.criterion("relevance").min_pass == 12
    assert scheme.criterion("relevance").max == 25  # untouched
    assert scheme.criterion("quality").min_pass == 16
    assert scheme.divergence.total_gap == 25
    assert scheme.divergence.skip_if_all_below is True
    assert scheme.funding == "skip"
    assert scheme.one_per == "ecosystem"
    assert set(scheme.overridden) == {
        "total_threshold",
        "criteria.relevance.min_pass",
        "divergence.total_gap",
        "funding",
        "one_per",
    }
    assert load_scheme("erasmus-afi", {"one_per": "none"}).one_per is None


def test_min_pass_above_max_is_located() -> None:
    with pytest.raises(SchemeError) as err:
        load_scheme("erasmus-afi", {"criteria": {"quality": {"min_pass": 40}}})
    assert err.value.messages == (
        "call.toml: scheme.criteria.quality.min_pass: 40 is above the criterion's max 30",
    )


def test_all_problems_at_once() -> None:
    bad: dict[str, Any] = {
        "total_threshold": 120,
        "criteria": {
            "quality": {"min_pass": 40},
            "partnership": {"step": 0.25},
            "ethics": {"max": 5},
        },
        "divergence": {"total_gap": -5},
        "tie_break": ["relevance", "budget"],
        "third_expert_rule": "median",
        "funding": "greedy",
        "total_treshold": 60,
    }
    with pytest.raises(SchemeError) as err:
        load_scheme("erasmus-afi", bad, source="calls/x/call.toml")
    text = "\n".join(err.value.messages)
    assert all(m.startswith("calls/x/call.toml: scheme.") for m in err.value.messages)
    for located in (
        "scheme.total_threshold: 120 must be at most 100",
        "scheme.criteria.quality.min_pass: 40 is above",
        "scheme.criteria.partnership.step: 0.25 is not allowed",
        "scheme.criteria.ethics: unknown criterion 'ethics'",
        "scheme.divergence.total_gap: -5 must be above 0",
        "scheme.tie_break: unknown criterion 'budget'",
        "scheme.third_expert_rule: 'median': choose one of closest_two",
        "scheme.funding: 'greedy'",
        "scheme.total_treshold: unknown key",
    ):
        assert located in text, located
    assert len(err.value.messages) == 9


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            {"criteria": {"impact": {"max": 10}}},
            "scheme.criteria.impact.max: 10 is below the criterion's min_pass 11",
        ),
        ({"criteria": {"impact": {"min_pass": -1}}}, "min_pass: -1 must be at least 0"),
        ({"criteria": {"impact": {"min_pass": 12.5}}}, "12.5 is not a multiple of the step 1"),
        ({"criteria": {"impact": {"label": 3}}}, "impact.label: 3 is not a text"),
        ({"experts_per_proposal": 0}, "experts_per_proposal: 0: give a whole number"),
        ({"experts_per_proposal": 2.5}, "experts_per_proposal: 2.5: give a whole number"),
        (
            {"divergence": {"skip_if_all_below": "yes"}},
            "skip_if_all_below: 'yes': give true or false",
        ),
        ({"ranking_weights": {"impact": 0}}, "ranking_weights.impact: 0 must be above 0"),
        ({"ranking_weights": {"budget": 2}}, "ranking_weights.budget: unknown criterion"),
        ({"tie_break": ["impact", "impact"]}, "tie_break: a criterion is listed twice"),
        ({"one_per": "country"}, "one_per: 'country': choose one of ecosystem, none"),
        (
            {"bands": [{"label": "A", "min_share": 0.5}, {"label": "B", "min_share": 0.6}]},
            "min_share must decrease",
        ),
        ({"bands": [{"label": "A", "min_share": 0.5}]}, "the last band must have min_share = 0"),
        ({"total_threshold": "seventy"}, "total_threshold: 'seventy' is not a number"),
    ],
)
def test_each_invalid_value_is_refused(override: dict[str, Any], expected: str) -> None:
    with pytest.raises(SchemeError) as err:
        load_scheme("erasmus-afi", override)
    assert any(expected in m for m in err.value.messages), err.value.messages


def test_problem_in_scheme_file_names_that_file() -> None:
    text = preset_text("horizon-ria").replace(
        'tie_break = ["excellence", "impact"]', 'tie_break = ["excellence", "novelty"]'
    )
    with pytest.raises(SchemeError) as err:
        load_scheme(text, scheme_source="my-scheme.toml")
    assert err.value.messages == (
        "my-scheme.toml: tie_break: unknown criterion 'novelty'; the scheme has excellence, "
        "impact, implementation",
    )


def test_custom_scheme_text() -> None:
    text = """
id = "tiny"
total_threshold = 6
experts_per_proposal = 1
third_expert_rule = "mean_all"
[divergence]
total_gap = 4
[criteria.merit]
max = 10
min_pass = 5
step = 0.5
[[bands]]
label = "Pass"
min_share = 0.5
[[bands]]
label = "Fail"
min_share = 0
"""
    scheme = load_scheme(text)
    assert scheme.criterion_ids == ("merit",)
    assert scheme.criterion("merit").label == "merit"
    assert scheme.status == "custom"
    assert scheme.tie_break == ()
    assert scheme.one_per is None


def test_unknown_preset_and_bad_toml() -> None:
    with pytest.raises(SchemeError, match="unknown scheme 'erasmus'"):
        load_scheme("erasmus")
    with pytest.raises(SchemeError, match="scheme: not valid TOML"):
        load_scheme("id = \n[")


def test_reserved_criterion_id_refused() -> None:
    text = preset_text("horizon-ria").replace("[criteria.implementation]", "[criteria.total]")
    with pytest.raises(SchemeError, match=r"criteria\.total: a criterion id must be"):
        load_scheme(text)


def test_criterion_labels_in_other_languages() -> None:
    scheme = load_scheme("erasmus-afi")
    relevance = next(c for c in scheme.criteria if c.id == "relevance")
    assert relevance.label_in("fr") == "Pertinence du projet"
    assert relevance.label_in("de") == "Relevanz des Projekts"
    assert relevance.label_in("en") == relevance.label == "Relevance of the project"
    assert relevance.label_in("mt") == relevance.label  # no Maltese name: the scheme's own
    for preset in list_presets():  # every preset names every criterion in fr and de
        for c in load_scheme(preset).criteria:
            assert {lang for lang, _ in c.labels} == {"fr", "de"}, (preset, c.id)
    # a call may rename a criterion in one language, keeping the others
    over = load_scheme("erasmus-afi", {"criteria": {"impact": {"labels": {"fr": "Retombées"}}}})
    impact = next(c for c in over.criteria if c.id == "impact")
    assert (impact.label_in("fr"), impact.label_in("de")) == ("Retombées", "Wirkung")
    with pytest.raises(SchemeError) as err:
        load_scheme("erasmus-afi", {"criteria": {"impact": {"labels": {"French": "Impact",
                                                                       "de": ""}}}})
    assert err.value.messages == (
        "call.toml: scheme.criteria.impact.labels.de: '' is not a text",
        "call.toml: scheme.criteria.impact.labels.French: not a language: give a two-letter "
        "ISO 639-1 code in lower case (fr, de)",
    )
