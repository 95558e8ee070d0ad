"""The conflicts page's view of the excluded pairs (`evalpanel.exclusion_view`): its counts by
reason and every slice of its rows are those of `assignment.find_conflicts`' whole table, for
each reason and for all, on the demo call and on calls with a proposal without a language, an
expert reading none, and no declared conflict."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from evalpanel.callfolder import CallFolder, read_call
from evalpanel.exclusion_view import ExclusionView
from evalpanel.planning import conflicts_of, potential_of

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DAY = dt.date(2026, 6, 1)


def _odd(call: CallFolder) -> CallFolder:
    """``call`` with its second proposal in no language and its first expert reading none."""
    second = call.proposals["proposal_id"].sort()[1]
    first = call.experts["expert_id"].sort()[0]
    return dataclasses.replace(
        call,
        proposals=call.proposals.with_columns(
            language=pl.when(pl.col("proposal_id") == second).then(None)
            .otherwise(pl.col("language"))),
        experts=call.experts.with_columns(
            languages=pl.when(pl.col("expert_id") == first)
            .then(pl.lit([], dtype=pl.List(pl.String))).otherwise(pl.col("languages"))),
    )


def _calls() -> list[tuple[str, CallFolder]]:
    demo, tiny = read_call(FIXTURES / "demo"), read_call(FIXTURES / "tiny")
    return [("demo", demo), ("tiny", tiny), ("demo, odd languages", _odd(demo)),
            ("tiny without declared conflicts",
             dataclasses.replace(tiny, conflicts=tiny.conflicts.clear()))]


@pytest.mark.parametrize("name", [n for n, _ in _calls()])
def test_the_view_counts_and_pages_the_rule_s_rows(name: str) -> None:
    call = dict(_calls())[name]
    full = conflicts_of(call, today=DAY)
    view = ExclusionView.of(call.proposals, call.partners, call.experts, call.conflicts,
                            today=DAY)
    assert view.reasons().equals(
        full.group_by("reason").len("pairs").sort("pairs", "reason", descending=[True, False]))
    if name.startswith("demo"):  # the tiny call's experts read every proposal's language
        assert "language" in view.reasons()["reason"].to_list()
    for reason in [None, *full["reason"].unique().to_list()]:
        rows = full if reason is None else full.filter(pl.col("reason") == reason)
        paged = view.rows(reason)
        assert paged.height == rows.height
        for offset, length in [(0, 1), (0, 7), (3, 50), (rows.height - 5, 10),
                               (rows.height // 2, 500), (0, rows.height), (rows.height, 5)]:
            assert paged.slice(offset, length).equals(rows.slice(max(0, offset), length)), (
                reason, offset, length)


def test_potential_conflicts_without_the_whole_table_are_the_same() -> None:
    """The rule applied to the likely pairs alone leaves out what the whole table does."""
    call = read_call(FIXTURES / "demo")
    likely = potential_of(call, pl.DataFrame(schema={"proposal_id": pl.String,
                                                     "expert_id": pl.String}))
    found = potential_of(call, None)
    assert found.height < likely.height  # a likely pair excluded for another reason is left out
    assert found.equals(potential_of(call, conflicts_of(call)))
