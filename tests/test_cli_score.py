"""``evalpanel score`` and the scheme checks of ``evalpanel validate``, through the real CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
import pytest

from evalpanel.callfolder.formulas import drop_formula_quote
from tests.callfolder_factory import CALL_TOML, SCORES, replace_line, write_call
from tests.cli_support import TINY, run


def test_scores_the_tiny_call_by_its_rules(tmp_path: Path) -> None:
    out = tmp_path / "ranked.csv"
    code, text = run("score", str(TINY / "scores.csv"), "--call", str(TINY), "-o", str(out))
    assert code == 0, text
    table = pl.read_csv(out)
    proposals = pl.read_csv(TINY / "proposals.csv")
    assert sorted(table["proposal_id"]) == sorted(proposals["proposal_id"])
    for column in (
        "lot",
        "experts",
        "relevance",
        "quality",
        "partnership",
        "impact",
        "total",
        "band",
        "passed",
        "fail_reasons",
        "divergent",
        "needs_expert",
        "rank",
        "decision",
    ):
        assert column in table.columns
    # the total is the sum of the criterion means, and a rank goes only to what passed
    sums = table.select(pl.sum_horizontal("relevance", "quality", "partnership", "impact"))
    assert (table["total"] - sums.to_series()).abs().max() < 1e-9  # type: ignore[operator]
    assert table.filter(pl.col("rank").is_not_null())["passed"].all()
    assert set(table["decision"]) <= {"funded", "reserve", "rejected", "pending"}
    # what is funded fits each lot's budget
    budgets: dict[str, float | None] = {"LOT1": None, "LOT2": None}
    toml = (TINY / "call.toml").read_text()
    for lot in budgets:
        section = toml.split(f"[lots.{lot}]")[1]
        budgets[lot] = float(section.split("budget_eur =")[1].split("\n")[0].replace("_", ""))
    funded = table.filter(pl.col("decision") == "funded").join(
        proposals.select("proposal_id", "requested_eur"), on="proposal_id", suffix="_p"
    )
    for lot, budget in budgets.items():
        assert funded.filter(pl.col("lot") == lot)["requested_eur_p"].sum() <= budget  # type: ignore[operator]
    # a failing proposal says why
    failed = table.filter(~pl.col("passed") & ~pl.col("needs_expert"))
    assert failed.height > 0 and failed["fail_reasons"].str.contains("<").all()


def test_json_summary_lists_funded_in_rank_order() -> None:
    code, text = run("score", str(TINY / "scores.csv"), "--call", str(TINY), "--json")
    assert code == 0, text
    summary = json.loads(text)
    table_code, table_text = run("score", str(TINY / "scores.csv"), "--call", str(TINY))
    assert table_code == 0
    table = pl.read_csv(io.StringIO(table_text))
    for lot, info in summary["lots"].items():
        funded = table.filter((pl.col("lot") == lot) & (pl.col("decision") == "funded")).sort(
            "rank"
        )
        assert info["funded"] == funded["proposal_id"].to_list()


def test_scores_without_a_call_use_one_lot(tmp_path: Path) -> None:
    code, text = run("score", str(TINY / "scores.csv"), "--scheme", "erasmus-afi")
    assert code == 0, text
    table = pl.read_csv(io.StringIO(text))
    # "-" starts like a formula, so the CSV holds it quoted; the quote is not part of the value
    assert table["lot"].unique().to_list() == ["'-"]
    assert drop_formula_quote(table)["lot"].unique().to_list() == ["-"]


@pytest.mark.parametrize(
    ("line", "new", "expected"),
    [
        (3, "P01,X02,quality,31,", "scores.csv:3: score: "),
        (3, "P01,X02,quality,12.3,", "scores.csv:3: score: "),
        (3, "P01,X02,quality,many,", "scores.csv:3: score: "),
        (3, "P01,X02,originality,12,", "scores.csv:3: criterion: "),
    ],
)
def test_bad_score_rows_are_located(tmp_path: Path, line: int, new: str, expected: str) -> None:
    path = tmp_path / "scores.csv"
    path.write_text(replace_line(SCORES, line, new))
    code, text = run("score", str(path))
    assert code == 2
    assert any(row.startswith(str(tmp_path / expected)) for row in text.splitlines()), text


def test_unknown_proposal_or_expert_with_a_call(tmp_path: Path) -> None:
    folder = write_call(tmp_path / "call")
    path = tmp_path / "scores.csv"
    path.write_text(
        replace_line(replace_line(SCORES, 2, "P77,X02,relevance,20,"), 3, "P01,X99,quality,20,")
    )
    code, text = run("score", str(path), "--call", str(folder))
    assert code == 2
    assert f'{tmp_path / "scores.csv"}:2: proposal_id: "P77"' in text
    assert f'{tmp_path / "scores.csv"}:3: expert_id: "X99"' in text


def test_unknown_scheme_is_refused() -> None:
    code, text = run("score", str(TINY / "scores.csv"), "--scheme", "erasmus-nope")
    assert code == 2 and "unknown scheme" in text


def test_validate_checks_the_scheme_and_its_overrides(tmp_path: Path) -> None:
    unknown = write_call(tmp_path / "a", call_toml=CALL_TOML.replace("erasmus-afi", "nope"))
    code, text = run("validate", str(unknown))
    assert code == 2 and f"{unknown / 'call.toml'}:4: call.scheme: unknown scheme" in text
    override = CALL_TOML + "\n[scheme.criteria.quality]\nmin_pass = 40\n"
    bad = write_call(tmp_path / "b", call_toml=override)
    code, text = run("validate", str(bad))
    assert code == 2
    assert f"{bad / 'call.toml'}:18: scheme.criteria.quality.min_pass: 40 is above" in text


def test_validate_checks_score_rows(tmp_path: Path) -> None:
    folder = write_call(tmp_path, scores_csv=replace_line(SCORES, 4, "P01,X02,partnership,26,"))
    code, text = run("validate", str(folder))
    assert code == 2 and f"{folder / 'scores.csv'}:4: score: " in text
