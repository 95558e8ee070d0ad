"""Conflict-of-interest detection on hand-built calls, and invariants on generated ones."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assignment.conflicts import (
    POTENTIAL_REASON,
    REASONS,
    conflict_mask,
    find_conflicts,
    find_potential_conflicts,
    years_before,
)
from assignment.orgnames import likely_same, org_key
from evalpanel.callfolder.schema import polars_schema

TODAY = date(2026, 3, 1)


def frame(table: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema = polars_schema(table)
    full = [{c: r.get(c) for c in schema} for r in rows]
    return pl.DataFrame(full, schema=schema)


def proposal(pid: str, language: str = "en") -> dict[str, Any]:
    return {
        "proposal_id": pid,
        "lot": "L1",
        "title": f"T {pid}",
        "language": language,
        "fields": ["0714"],
        "requested_eur": 1.0,
    }


def partner(
    pid: str, org_id: str | None, name: str, country: str = "BE", role: str = "partner"
) -> dict[str, Any]:
    return {
        "proposal_id": pid,
        "org_id": org_id,
        "org_name": name,
        "country": country,
        "role": role,
    }


def expert(
    eid: str,
    org_id: str | None = None,
    name: str = "Independent Consulting",
    country: str = "FR",
    languages: tuple[str, ...] = ("en",),
) -> dict[str, Any]:
    return {
        "expert_id": eid,
        "name": eid,
        "email": f"{eid}@x.eu",
        "org_id": org_id,
        "org_name": name,
        "country": country,
        "languages": list(languages),
        "fields": ["0714"],
        "max_load": 5,
    }


def declared(
    eid: str,
    kind: str,
    *,
    pid: str | None = None,
    org: str | None = None,
    since: date | None = None,
) -> dict[str, Any]:
    return {"expert_id": eid, "proposal_id": pid, "org_id": org, "kind": kind, "since": since}


def pairs(result: pl.DataFrame, reason: str | None = None) -> set[tuple[str, str]]:
    if reason is not None:
        result = result.filter(pl.col("reason") == reason)
    return set(zip(result["proposal_id"], result["expert_id"], strict=True))


def run(
    props: list[dict[str, Any]],
    parts: list[dict[str, Any]],
    exps: list[dict[str, Any]],
    decl: list[dict[str, Any]] | None = None,
    **kw: Any,
) -> pl.DataFrame:
    return find_conflicts(
        frame("proposals", props),
        frame("partners", parts),
        frame("experts", exps),
        frame("conflicts", decl) if decl is not None else None,
        today=kw.pop("today", TODAY),
        **kw,
    )


def test_org_id_match_names_the_organisation_and_role() -> None:
    out = run(
        [proposal("P1"), proposal("P2")],
        [
            partner("P1", "E12345678", "Ghent University", role="coordinator"),
            partner("P2", "999999999", "Other Org"),
        ],
        [expert("X1", "E12345678", "Ghent University"), expert("X2", "111111111", "Elsewhere")],
    )
    assert pairs(out) == {("P1", "X1")}
    row = out.row(0, named=True)
    assert row["reason"] == "organisation"
    assert "E12345678 (Ghent University)" in row["detail"] and "coordinator of P1" in row["detail"]


@pytest.mark.parametrize(
    ("expert_org", "partner_org"),
    [
        ("Univ. of Ghent", "Ghent University"),
        ("Universiteit Gent", "Ghent University (UGent)"),
        ("Universität Wien", "University of Vienna"),
        ("ACME Consulting GmbH", "Acme consulting S.A."),
        ("Technische Universität München", "Technical University of Munich"),
    ],
)
def test_name_variants_match_when_an_id_is_missing(expert_org: str, partner_org: str) -> None:
    out = run(
        [proposal("P1")],
        [partner("P1", None, partner_org)],
        [expert("X1", "E00000001", expert_org)],
    )
    assert pairs(out, "organisation_name") == {("P1", "X1")}


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("University of Vienna", "University of Applied Sciences Vienna"),
        ("KU Leuven", "UCLouvain"),
        ("Ghent University", "University of Antwerp"),
    ],
)
def test_different_organisations_do_not_match(a: str, b: str) -> None:
    out = run([proposal("P1")], [partner("P1", None, a)], [expert("X1", None, b)])
    assert out.height == 0


def test_names_are_not_compared_when_both_ids_are_known() -> None:
    # two different PICs under the same name are two organisations
    out = run(
        [proposal("P1")],
        [partner("P1", "111111111", "Ghent University")],
        [expert("X1", "222222222", "Ghent University")],
    )
    assert out.height == 0


@pytest.mark.parametrize(
    ("kind", "years_ago", "conflicts"),
    [
        ("employment", 2, True),
        ("employment", 4, False),
        ("collaboration", 2, True),
        ("collaboration", 4, False),
        ("employment", None, True),
    ],
)
def test_employment_and_collaboration_window(
    kind: str, years_ago: int | None, conflicts: bool
) -> None:
    since = None if years_ago is None else years_before(TODAY, years_ago)
    out = run(
        [proposal("P1"), proposal("P2")],
        [partner("P1", "E1", "Org One"), partner("P2", "E2", "Org Two")],
        [expert("X1")],
        [declared("X1", kind, org="E1", since=since)],
    )
    assert pairs(out, kind) == ({("P1", "X1")} if conflicts else set())


def test_window_boundary_and_parameter() -> None:
    props, parts, exps = [proposal("P1")], [partner("P1", "E1", "Org")], [expert("X1")]
    exactly = [declared("X1", "employment", org="E1", since=years_before(TODAY, 3))]
    day_less = [
        declared(
            "X1", "employment", org="E1", since=date(TODAY.year - 3, TODAY.month, TODAY.day + 1)
        )
    ]
    assert run(props, parts, exps, exactly).height == 0
    assert run(props, parts, exps, day_less).height == 1
    assert run(props, parts, exps, exactly, window_years=5).height == 1


def test_declared_per_proposal_and_per_organisation() -> None:
    props = [proposal("P1"), proposal("P2"), proposal("P3")]
    parts = [
        partner("P1", "E1", "Org One"),
        partner("P2", "E1", "Org One"),
        partner("P3", "E3", "Org Three"),
    ]
    exps = [expert("X1"), expert("X2")]
    decl = [
        declared("X1", "declared", pid="P3"),
        declared("X2", "family", org="E1"),
        declared("X2", "preparation", pid="P3"),
    ]
    out = run(props, parts, exps, decl)
    assert pairs(out, "declared") == {("P3", "X1")}
    assert pairs(out, "family") == {("P1", "X2"), ("P2", "X2")}
    assert pairs(out, "preparation") == {("P3", "X2")}


def test_language() -> None:
    out = run(
        [proposal("P1", "de"), proposal("P2", "en")],
        [],
        [
            expert("X1", languages=("en", "fr")),
            expert("X2", languages=("de", "en")),
            expert("X3", languages=()),
        ],
    )
    assert pairs(out, "language") == {("P1", "X1"), ("P1", "X3"), ("P2", "X3")}
    detail = out.filter((pl.col("proposal_id") == "P1") & (pl.col("expert_id") == "X1"))["detail"]
    assert detail.item() == "proposal is in de; expert reads en, fr"


def test_coordinator_country_only_when_asked() -> None:
    props = [proposal("P1")]
    parts = [
        partner("P1", "E1", "Org", country="BE", role="coordinator"),
        partner("P1", "E2", "Org Two", country="FR"),
    ]
    exps = [expert("X1", country="BE"), expert("X2", country="FR")]
    assert run(props, parts, exps).height == 0
    on = run(props, parts, exps, exclude_coordinator_country=True)
    assert pairs(on, "coordinator_country") == {("P1", "X1")}


def test_several_reasons_for_one_pair_are_kept_and_sorted() -> None:
    out = run(
        [proposal("P1", "de")],
        [partner("P1", "E1", "Ghent University")],
        [expert("X1", "E1", "Ghent University", languages=("en",))],
        [declared("X1", "declared", pid="P1")],
    )
    assert out["reason"].to_list() == ["declared", "language", "organisation"]
    assert out.columns == ["proposal_id", "expert_id", "reason", "detail"]


def test_bad_input_is_reported_clearly() -> None:
    props, exps = [proposal("P1")], [expert("X1")]
    parts: list[dict[str, Any]] = []
    with pytest.raises(ValueError, match="window_years"):
        run(props, parts, exps, window_years=-1)
    with pytest.raises(ValueError, match="experts table lacks the column"):
        find_conflicts(
            frame("proposals", props),
            frame("partners", parts),
            frame("experts", exps).drop("languages"),
            today=TODAY,
        )


def test_org_key_examples() -> None:
    assert org_key("Univ. of Ghent") == org_key("Ghent University") != ""
    assert org_key("S.A.") == ""


ORGS = ["Ghent University", "Univ. of Ghent", "University of Vienna", "Acme GmbH", "Beta Ltd"]


@st.composite
def calls(draw: st.DrawFn) -> tuple[list[dict[str, Any]], ...]:
    n_p = draw(st.integers(1, 5))
    n_e = draw(st.integers(1, 5))
    props = [proposal(f"P{i}", draw(st.sampled_from(["en", "de"]))) for i in range(n_p)]
    orgs = st.tuples(st.sampled_from([None, "E1", "E2", "E3"]), st.sampled_from(ORGS))
    parts = [
        partner(f"P{i}", *draw(orgs), role=draw(st.sampled_from(["coordinator", "partner"])))
        for i in range(n_p)
        for _ in range(draw(st.integers(0, 3)))
    ]
    exps = [
        expert(
            f"X{j}",
            *draw(orgs),
            languages=tuple(draw(st.sets(st.sampled_from(["en", "de"]), max_size=2))),
        )
        for j in range(n_e)
    ]
    decl = [
        declared(
            f"X{draw(st.integers(0, n_e - 1))}",
            draw(st.sampled_from(["declared", "employment", "family"])),
            pid=f"P{draw(st.integers(0, n_p - 1))}",
        )
        for _ in range(draw(st.integers(0, 3)))
    ]
    return props, parts, exps, decl


@settings(max_examples=40, deadline=None)
@given(calls(), st.booleans())
def test_invariants(call: tuple[list[dict[str, Any]], ...], coord: bool) -> None:
    props, parts, exps, decl = call
    out = run(props, parts, exps, decl, exclude_coordinator_country=coord)
    # one row per pair and reason, sorted, known reasons, non-empty details
    assert out.select("proposal_id", "expert_id", "reason").is_duplicated().sum() == 0
    assert out.equals(out.sort("proposal_id", "expert_id", "reason"))
    assert set(out["reason"]) <= set(REASONS)
    assert (out["detail"].str.len_chars() > 0).all()
    # the option only adds rows
    plain = run(props, parts, exps, decl)
    assert pairs(plain) <= pairs(out)
    # every same-id pair is found, brute force over the small call
    expected = {
        (p["proposal_id"], e["expert_id"])
        for p in parts
        for e in exps
        if p["org_id"] is not None and p["org_id"] == e["org_id"]
    }
    assert pairs(out, "organisation") == expected
    readable = {
        (p["proposal_id"], e["expert_id"])
        for p in props
        for e in exps
        if p["language"] not in e["languages"]
    }
    assert pairs(out, "language") == readable
    # the mask marks exactly the pairs found
    pids = [p["proposal_id"] for p in props]
    eids = [e["expert_id"] for e in exps]
    mask = conflict_mask(out, pids, eids)
    assert {(pids[i], eids[j]) for i, j in zip(*np.nonzero(mask), strict=True)} == pairs(out)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "University",
                "of",
                "Ghent",
                "Applied",
                "Sciences",
                "Wien",
                "Institute",
                "Technology",
                "GmbH",
                "Acme",
                "Ltd.",
            ]
        ),
        min_size=1,
        max_size=6,
    ),
    st.randoms(use_true_random=False),
    st.sampled_from([" ", ", ", " - ", "  "]),
)
def test_org_key_ignores_order_case_and_punctuation(words: list[str], rnd: Any, sep: str) -> None:
    shuffled = words[:]
    rnd.shuffle(shuffled)
    variant = sep.join(w.upper() if rnd.random() < 0.5 else w.lower() for w in shuffled)
    assert org_key(variant) == org_key(" ".join(words))


@settings(max_examples=40, deadline=None)
@given(calls())
def test_language_rows_interleave_with_the_other_reasons(
    call: tuple[list[dict[str, Any]], ...],
) -> None:
    props, parts, exps, decl = call
    out = run(props, parts, exps, decl)
    # each language row carries its own pair's sentence, and no other row carries one
    language_of = {p["proposal_id"]: p["language"] for p in props}
    reads = {e["expert_id"]: e["languages"] for e in exps}
    for pid, eid, reason, detail in out.iter_rows():
        if reason == "language":
            listed = ", ".join(reads[eid]) if reads[eid] else "no listed language"
            assert detail == f"proposal is in {language_of[pid]}; expert reads {listed}"
        else:
            assert not detail.startswith("proposal is in")
    # the other rows are exactly those found when every expert reads every language
    polyglots = [{**e, "languages": ["de", "en"]} for e in exps]
    others = run(props, parts, polyglots, decl)
    assert others.filter(pl.col("reason") == "language").height == 0
    assert out.filter(pl.col("reason") != "language").equals(others)


def test_language_and_other_reasons_in_order_across_many_pairs() -> None:
    # expert X1 shares P1's and P3's organisation and cannot read German: its rows for P1 and
    # P3 hold two reasons each, around the single-reason rows of the other experts
    props = [proposal("P1", "de"), proposal("P2", "de"), proposal("P3", "en")]
    parts = [partner("P1", "E1", "Ghent University"), partner("P3", "E1", "Ghent University")]
    exps = [
        expert("X0", languages=("en",)),
        expert("X1", "E1", "Ghent University", languages=("en",)),
        expert("X2", languages=("de",)),
    ]
    out = run(props, parts, exps, [declared("X2", "declared", pid="P1")])
    assert out.select("proposal_id", "expert_id", "reason").rows() == [
        ("P1", "X0", "language"),
        ("P1", "X1", "language"),
        ("P1", "X1", "organisation"),
        ("P1", "X2", "declared"),
        ("P2", "X0", "language"),
        ("P2", "X1", "language"),
        ("P3", "X1", "organisation"),
        ("P3", "X2", "language"),
    ]
    assert out["detail"][3] == "declared conflict with P1"


# -- potential conflicts: likely name matches, shown to the manager, never an exclusion ----------


def potential(
    parts: list[dict[str, Any]], exps: list[dict[str, Any]], hard: pl.DataFrame | None = None
) -> pl.DataFrame:
    return find_potential_conflicts(frame("partners", parts), frame("experts", exps), hard)


def test_a_likely_name_is_a_potential_conflict_not_an_exclusion() -> None:
    props = [proposal("P1"), proposal("P2")]
    parts = [
        partner("P1", None, "Univerzita Karlova v Praze", role="coordinator"),
        partner("P2", None, "Stockholm University"),
    ]
    exps = [
        expert("X1", "E1", "Univerzita Karlova"),
        expert("X2", None, "Stockholms universitet"),
        expert("X3", None, "Masarykova univerzita"),
    ]
    assert run(props, parts, exps).height == 0  # no hard exclusion
    out = potential(parts, exps)
    assert out.columns == ["proposal_id", "expert_id", "reason", "detail"]
    assert pairs(out, POTENTIAL_REASON) == {("P1", "X1"), ("P2", "X2")}
    detail = out.filter(pl.col("expert_id") == "X1")["detail"].item()
    assert '"Univerzita Karlova"' in detail and "coordinator" in detail and "P1" in detail


def test_potential_conflicts_need_a_missing_id_and_equal_numbers() -> None:
    parts = [
        partner("P1", "E1", "Univerzita Karlova v Praze"),
        partner("P2", None, "Zespół Szkół Elektronicznych nr 2 w Sosnowcu"),
    ]
    exps = [
        expert("X1", "E2", "Univerzita Karlova"),  # ids on both sides: by id only
        expert("X2", None, "Zespół Szkół Elektronicznych nr 1"),  # another number
        expert("X3", None, "Zespół Szkół Elektronicznych nr 2"),
    ]
    assert pairs(potential(parts, exps)) == {("P2", "X3")}


def test_equal_keys_and_excluded_pairs_are_not_repeated() -> None:
    props = [proposal("P1", "de")]
    parts = [
        partner("P1", None, "Ghent University"),
        partner("P1", None, "Ghent University Foundation"),
    ]
    exps = [expert("X1", None, "Univ. of Ghent"), expert("X2", None, "Ghent University Campus Kortrijk")]
    hard = run(props, parts, [{**e, "languages": ["de"]} for e in exps])
    # X1: the same key as the first partner (a hard exclusion), likely the second
    assert pairs(hard, "organisation_name") == {("P1", "X1")}
    assert pairs(potential(parts, exps)) == {("P1", "X1"), ("P1", "X2")}
    assert pairs(potential(parts, exps, hard)) == {("P1", "X2")}


LIKELY_ORGS = [
    "Univerzita Karlova", "Univerzita Karlova v Praze", "Stockholms universitet",
    "Stockholm University", "Zespół Szkół nr 1", "Zespół Szkół nr 1 w Krakowie",
    "Zespół Szkół nr 2", "Hogeschool Utrecht", "Stichting Hogeschool Utrecht", "University",
]  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_potential_conflicts_are_every_likely_pair_with_a_missing_id(data: st.DataObject) -> None:
    orgs = st.tuples(st.sampled_from([None, "E1", "E2"]), st.sampled_from(LIKELY_ORGS))
    parts = [partner(f"P{i}", *data.draw(orgs)) for i in range(data.draw(st.integers(1, 6)))]
    exps = [expert(f"X{j}", *data.draw(orgs)) for j in range(data.draw(st.integers(1, 5)))]
    out = potential(parts, exps)
    expected = {
        (p["proposal_id"], e["expert_id"])
        for p in parts
        for e in exps
        if (p["org_id"] is None or e["org_id"] is None)
        and likely_same([org_key(e["org_name"])], [org_key(p["org_name"])])[0]
    }
    assert pairs(out) == expected
    # the hard name matches: equal keys, an id missing on one side at least (brute force)
    props = [proposal(p["proposal_id"]) for p in parts]
    by_name = pairs(run(props, parts, exps), "organisation_name")
    assert by_name == {
        (p["proposal_id"], e["expert_id"])
        for p in parts
        for e in exps
        if (p["org_id"] is None or e["org_id"] is None)
        and org_key(e["org_name"]) == org_key(p["org_name"]) != ""
    }
    assert not pairs(out) & by_name


def test_the_name_join_skips_rows_with_ids_on_both_sides() -> None:
    # 300 partners and 300 experts of one name, all with ids: no pair is formed by name, and
    # the call is decided by id only
    parts = [partner(f"P{i}", f"9{i:08d}", "Organisation University") for i in range(300)]
    exps = [expert(f"X{j}", f"8{j:08d}", "Organisation University") for j in range(300)]
    out = run([proposal(f"P{i}") for i in range(300)], parts, exps)
    assert out.height == 0
    # one expert without an id meets every partner of that name
    exps.append(expert("X_none", None, "Organisation University"))
    out = run([proposal(f"P{i}") for i in range(300)], parts, exps)
    assert pairs(out) == {(f"P{i}", "X_none") for i in range(300)}


def test_potential_conflicts_report_bad_input_clearly() -> None:
    parts, exps = [partner("P1", None, "Org")], [expert("X1")]
    with pytest.raises(ValueError, match="experts table lacks the column"):
        find_potential_conflicts(frame("partners", parts), frame("experts", exps).drop("org_name"))
    with pytest.raises(ValueError, match="partners table lacks the column"):
        find_potential_conflicts(frame("partners", parts).drop("role"), frame("experts", exps))
    with pytest.raises(ValueError, match="conflicts frame needs"):
        find_potential_conflicts(frame("partners", parts), frame("experts", exps),
                                 pl.DataFrame({"proposal_id": ["P1"]}))
