"""The synthetic call generator: determinism, committed folders, and the invariants of its data."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import evalpanel.callfolder as callfolder
from evalpanel.callfolder.schema import CONFLICT_KINDS, ROLES, TABLES
from evalpanel.callfolder.vocab import (
    ECOSYSTEMS,
    ISCED_DETAILED,
    PROGRAMME_COUNTRIES,
    normalise_language,
)
from fixtures.generate import CRITERIA, FILES, TINY, generate_call, main, write_call

ROOT = Path(__file__).resolve().parents[1]
MAXIMA = {name: maximum for name, maximum, _ in CRITERIA}
MINIMA = {name: minimum for name, _, minimum in CRITERIA}


@pytest.fixture(scope="module")
def demo() -> dict[str, pl.DataFrame | str]:
    return generate_call()


def frames(call: dict[str, pl.DataFrame | str]) -> dict[str, pl.DataFrame]:
    return {name: value for name, value in call.items() if isinstance(value, pl.DataFrame)}


def totals(scores: pl.DataFrame) -> pl.DataFrame:
    """One row per (proposal, expert) with the expert's total."""
    return scores.group_by("proposal_id", "expert_id").agg(pl.col("score").sum().alias("total"))


# --- determinism and committed folders ---------------------------------------------------------


def test_same_seed_gives_identical_frames() -> None:
    a, b = (
        generate_call(seed=11, n_proposals=40, n_experts=25),
        generate_call(seed=11, n_proposals=40, n_experts=25),
    )
    assert a["call"] == b["call"]
    for name, frame in frames(a).items():
        assert frame.equals(frames(b)[name]), name


def test_different_seed_gives_different_data() -> None:
    a, b = (
        generate_call(seed=11, n_proposals=40, n_experts=25),
        generate_call(seed=12, n_proposals=40, n_experts=25),
    )
    assert not frames(a)["scores"].equals(frames(b)["scores"])
    assert not frames(a)["partners"].equals(frames(b)["partners"])


@pytest.mark.parametrize(("folder", "kwargs"), [("demo", {}), ("tiny", TINY)])
def test_committed_folders_match_the_generator(
    tmp_path: Path, folder: str, kwargs: dict[str, object]
) -> None:
    write_call(tmp_path, **kwargs)
    committed = ROOT / "fixtures" / folder
    names = sorted(p.name for p in committed.iterdir())
    assert names == sorted([*(f"{f}.csv" for f in FILES), "call.toml"])
    for name in names:
        assert (tmp_path / name).read_bytes() == (committed / name).read_bytes(), (
            f"fixtures/{folder}/{name} is stale: regenerate with python -m fixtures.generate"
        )


# --- structure of generated calls --------------------------------------------------------------


def check_call(call: dict[str, pl.DataFrame | str], partner_range: tuple[int, int]) -> None:
    f = frames(call)
    props, parts, experts, conflicts, scores = (f[n] for n in FILES)
    for name, frame in f.items():
        assert frame.columns == [c.name for c in TABLES[name]], name
        for col in TABLES[name]:
            if not col.nullable:
                assert frame[col.name].null_count() == 0, (name, col.name)

    # ids
    assert props["proposal_id"].is_unique().all()
    assert experts["expert_id"].is_unique().all()
    assert experts["email"].is_unique().all()

    # partners: one coordinator, 4..14 rows, no organisation twice in a proposal
    per = parts.group_by("proposal_id").agg(
        pl.len().alias("n"), (pl.col("role") == "coordinator").sum().alias("coord")
    )
    assert per.height == props.height
    assert per["coord"].to_list() == [1] * per.height
    assert per["n"].min() >= partner_range[0]  # type: ignore[operator]
    assert per["n"].max() <= partner_range[1]  # type: ignore[operator]
    with_id = parts.drop_nulls("org_id")
    assert with_id.select("proposal_id", "org_id").is_unique().all()
    assert set(parts["role"]) <= set(ROLES)
    assert all(re.fullmatch(r"9\d{8}", pic) for pic in parts["org_id"].drop_nulls())

    # vocabularies
    for frame in (props, experts):
        assert set(frame["fields"].explode().drop_nulls()) <= set(ISCED_DETAILED)
        assert frame["fields"].list.len().min() >= 1  # type: ignore[operator]
        assert set(frame["ecosystems"].explode().drop_nulls()) <= set(ECOSYSTEMS)
    lot2 = props.filter(pl.col("lot") == "LOT2")
    assert lot2["ecosystems"].list.len().min() >= 1 if lot2.height else True  # type: ignore[operator]
    for frame in (parts, experts):
        assert set(frame["country"]) <= set(PROGRAMME_COUNTRIES)
    assert set(experts["nationality"].drop_nulls()) <= set(PROGRAMME_COUNTRIES)
    assert all(normalise_language(x) == x for x in props["language"])
    assert all(normalise_language(x) == x for x in experts["languages"].explode())
    assert all(langs[0] == "en" and len(langs) <= 3 for langs in experts["languages"])
    assert set(experts["gender"].drop_nulls()) <= {"F", "M"}
    assert set(conflicts["kind"]) <= set(CONFLICT_KINDS)
    assert (conflicts["proposal_id"].is_null() ^ conflicts["org_id"].is_null()).all()

    # loads and capacity
    assert (experts["min_load"] <= experts["max_load"]).all()
    k = tomllib.loads(str(call["call"]))["call"]["experts_per_proposal"]
    assert experts["max_load"].sum() >= 1.5 * k * props.height
    load = scores.select("proposal_id", "expert_id").unique().group_by("expert_id").len()
    over = load.join(experts, on="expert_id").filter(pl.col("len") > pl.col("max_load"))
    assert over.height == 0

    # scores: k experts per proposal, every criterion, integer points in range
    panel = scores.select("proposal_id", "expert_id").unique()
    assert panel.group_by("proposal_id").len()["len"].to_list() == [k] * props.height
    assert scores.group_by("proposal_id", "expert_id").len()["len"].unique().to_list() == [
        len(CRITERIA)
    ]
    bounds = scores.with_columns(pl.col("criterion").replace_strict(MAXIMA).alias("max"))
    assert bounds.filter((pl.col("score") < 0) | (pl.col("score") > pl.col("max"))).height == 0

    # the panel is plausible: reads the language, no institutional or declared conflict
    pairs = panel.join(props.select("proposal_id", "language"), on="proposal_id").join(
        experts.select("expert_id", "languages", "org_id", "org_name"), on="expert_id"
    )
    assert all(lang in langs for lang, langs in zip(pairs["language"], pairs["languages"],
                                                     strict=True))  # fmt: skip
    same_org = pairs.drop_nulls("org_id").join(parts.drop_nulls("org_id"),
                                               on=["proposal_id", "org_id"])  # fmt: skip
    assert same_org.height == 0
    same_name = pairs.drop_nulls("org_name").join(
        parts, left_on=["proposal_id", "org_name"], right_on=["proposal_id", "org_name"]
    )
    assert same_name.height == 0
    declared = conflicts.drop_nulls("proposal_id").join(panel, on=["proposal_id", "expert_id"])
    assert declared.height == 0
    by_org = (
        conflicts.drop_nulls("org_id").select("expert_id", "org_id")
        .join(parts.drop_nulls("org_id"), on="org_id").join(panel, on=["proposal_id", "expert_id"])
    )  # fmt: skip
    assert by_org.height == 0


def test_demo_call_structure(demo: dict[str, pl.DataFrame | str]) -> None:
    check_call(demo, (4, 14))


def test_tiny_call_structure() -> None:
    call = generate_call(**TINY)
    check_call(call, TINY["partner_range"])
    assert frames(call)["proposals"].height == TINY["n_proposals"]
    assert set(frames(call)["proposals"]["lot"]) == set(TINY["lots"])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n_proposals=st.integers(1, 60),
    n_experts=st.integers(8, 40),
    low=st.integers(4, 9),
    width=st.integers(0, 5),
)
def test_generated_calls_hold_the_invariants(
    seed: int, n_proposals: int, n_experts: int, low: int, width: int
) -> None:
    sizes = (low, min(14, low + width))
    check_call(generate_call(seed, n_proposals, n_experts, partner_range=sizes), sizes)


def test_bad_arguments_are_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="n_proposals must be at least 1"):
        generate_call(n_proposals=0)
    with pytest.raises(ValueError, match="lots must be a non-empty subset"):
        generate_call(lots=("LOT9",))
    with pytest.raises(ValueError, match="partner_range"):
        generate_call(partner_range=(3, 20))


# --- what the demo is meant to show ------------------------------------------------------------


def test_demo_divergence_and_pass_shares(demo: dict[str, pl.DataFrame | str]) -> None:
    gaps = (
        totals(frames(demo)["scores"]).group_by("proposal_id")
        .agg((pl.col("total").max() - pl.col("total").min()).alias("gap"),
             pl.col("total").mean().alias("mean"))
    )  # fmt: skip
    assert 0.15 <= (gaps["gap"] >= 30).mean() <= 0.20  # type: ignore[operator]
    assert 0.4 <= (gaps["mean"] >= 70).mean() <= 0.75  # type: ignore[operator]
    assert gaps["mean"].quantile(0.05) >= 40  # type: ignore[operator]
    assert gaps["mean"].quantile(0.95) <= 97  # type: ignore[operator]


def test_divergence_share_holds_at_larger_scale() -> None:
    scores = frames(generate_call(seed=5, n_proposals=1500, n_experts=650))["scores"]
    gaps = (
        totals(scores)
        .group_by("proposal_id")
        .agg((pl.col("total").max() - pl.col("total").min()).alias("gap"))
    )
    assert 0.13 <= (gaps["gap"] >= 30).mean() <= 0.22  # type: ignore[operator]


def test_demo_has_the_cases_a_manager_must_handle(demo: dict[str, pl.DataFrame | str]) -> None:
    f = frames(demo)
    parts, experts, conflicts = f["partners"], f["experts"], f["conflicts"]
    # Some organisations take part in several proposals; some are written in two ways.
    assert (parts.drop_nulls("org_id").group_by("org_id").len()["len"] > 1).sum() >= 20
    names = parts.drop_nulls("org_id").group_by("org_id").agg(pl.col("org_name").n_unique())
    assert (names["org_name"] > 1).sum() >= 3
    assert parts["org_id"].null_count() >= 3
    assert (parts["role"] == "associated").sum() >= 10
    # Institutional conflicts occur for a few experts (5-10 %).
    applicant = set(parts["org_id"].drop_nulls())
    share = experts["org_id"].is_in(list(applicant)).mean()
    assert 0.03 <= share <= 0.10  # type: ignore[operator]
    # A dozen declared conflicts, recent and old ones among the dated kinds.
    assert 10 <= conflicts.height <= 16
    assert {"declared", "preparation", "family", "employment", "collaboration"} <= set(
        conflicts["kind"]
    )
    dated = conflicts.drop_nulls("org_id")
    assert dated["since"].null_count() == 0
    assert (dated["since"] >= dt.date(2024, 1, 1)).sum() >= 2
    assert (dated["since"] <= dt.date(2022, 6, 30)).sum() >= 2
    # Mostly English, a few other languages.
    lang = f["proposals"]["language"]
    assert 0.8 <= (lang == "en").mean() <= 0.97  # type: ignore[operator]
    assert lang.n_unique() >= 3


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]{4,}", text.lower())}


def test_text_similarity_carries_signal(demo: dict[str, pl.DataFrame | str]) -> None:
    f = frames(demo)
    props = {r["proposal_id"]: _words(r["title"] + " " + r["abstract"])
             for r in f["proposals"].iter_rows(named=True)}  # fmt: skip
    experts = {r["expert_id"]: _words(r["profile"]) for r in f["experts"].iter_rows(named=True)}

    def jaccard(p: str, e: str) -> float:
        return len(props[p] & experts[e]) / len(props[p] | experts[e])

    panel = f["scores"].select("proposal_id", "expert_id").unique().rows()
    assigned = sum(jaccard(p, e) for p, e in panel) / len(panel)
    shifted = list(zip([p for p, _ in panel], [e for _, e in panel[7:] + panel[:7]],
                       strict=True))  # fmt: skip
    other = sum(jaccard(p, e) for p, e in shifted) / len(shifted)
    assert assigned > 1.5 * other


def test_budgets_fund_a_third_to_a_half_of_the_passing_proposals(
    demo: dict[str, pl.DataFrame | str],
) -> None:
    f = frames(demo)
    lots = tomllib.loads(str(demo["call"]))["lots"]
    mean = (
        f["scores"].group_by("proposal_id", "criterion").agg(pl.col("score").mean())
        .with_columns(pl.col("criterion").replace_strict(MINIMA).alias("min"))
        .group_by("proposal_id")
        .agg(pl.col("score").sum().alias("total"),
             (pl.col("score") >= pl.col("min")).all().alias("ok"))
    )  # fmt: skip
    ranked = (
        f["proposals"].join(mean, on="proposal_id")
        .filter((pl.col("total") >= 70) & pl.col("ok"))
        .with_columns(pl.col("ecosystems").list.first().alias("eco"))
        .sort(["total", "proposal_id"], descending=[True, False])
    )  # fmt: skip
    for lot, spec in lots.items():
        passing = ranked.filter(pl.col("lot") == lot)
        fundable = passing.unique("eco", keep="first", maintain_order=True) if spec.get(
            "one_per") else passing  # fmt: skip
        spent = fundable["requested_eur"].cum_sum()
        funded = int((spent <= spec["budget_eur"]).sum())
        # Lot 2 funds one proposal per ecosystem at most, which may cap it below a third.
        assert min(passing.height / 3, fundable.height) - 1 <= funded, lot
        assert funded <= passing.height / 2 + 1, lot


# --- command line and reader -------------------------------------------------------------------


def test_command_line_writes_a_folder_and_refuses_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--tiny", "--seed", "3", str(tmp_path / "t")]) == 0
    assert {p.name for p in (tmp_path / "t").iterdir()} == {*(f"{f}.csv" for f in FILES),
                                                            "call.toml"}  # fmt: skip
    experts = pl.read_csv(tmp_path / "t" / "experts.csv", infer_schema=False)
    assert experts.height == TINY["n_experts"]
    assert main(["--proposals", "0", str(tmp_path / "u")]) == 2
    assert "n_proposals must be at least 1" in capsys.readouterr().err


@pytest.mark.parametrize("folder", ["demo", "tiny"])
def test_committed_folders_pass_the_reader(folder: str) -> None:
    read_call = getattr(callfolder, "read_call", None)
    if read_call is None:
        pytest.skip("the call-folder reader is not in this tree")
    call = read_call(ROOT / "fixtures" / folder)
    assert call.proposals.height == pl.read_csv(ROOT / "fixtures" / folder / "proposals.csv").height


def test_demo_lots_follow_the_programme_guide(demo: dict[str, pl.DataFrame | str]) -> None:
    # Programme Guide 2026 (version 1): the lots' names (p. 303 ff.) and the maximum EU grant per
    # project (p. 312): Lot 1 EUR 1.5 million (3-year project), Lot 2 4 million, Lot 3 1.5 million.
    lots = tomllib.loads(str(demo["call"]))["lots"]
    assert {k: (v["title"], v["max_grant_eur"]) for k, v in lots.items()} == {
        "LOT1": ("Alliances for Education and Enterprises", 1_500_000),
        "LOT2": ("Alliances for Sectoral Cooperation on Skills", 4_000_000),
        "LOT3": ("STEM Skills Foundries", 1_500_000),
    }
    assert lots["LOT2"]["one_per"] == "ecosystem" and "one_per" not in lots["LOT1"]
    props = frames(demo)["proposals"].with_columns(
        pl.col("lot").replace_strict({k: v["max_grant_eur"] for k, v in lots.items()})
        .alias("max"))
    assert props.filter(pl.col("requested_eur") > pl.col("max")).is_empty()
    assert CRITERIA == (("relevance", 25, 13), ("quality", 30, 16), ("partnership", 25, 13),
                        ("impact", 20, 11))
