"""The conflicts page's potential-conflict section: listed as text, confirmed or dismissed
through the store's services (a real SQLite store, Streamlit's AppTest)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from evalpanel.store import list_conflicts, make_engine, potential_decisions
from tests.dashboard_fixtures import as_user, click, open_page, texts
from tests.store_fixtures import World, build_world
from tests.test_store_potential import PAIR, likely_call

HOSTILE = "**Univerzita** Karlova <b>v</b> [Praze](https://x.example)"


@pytest.fixture
def pw(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    url = f"sqlite:///{tmp_path / 'potential.sqlite'}"
    engine = make_engine(url)
    call = likely_call()
    call = dataclasses.replace(call, partners=call.partners.with_columns(
        org_name=pl.when(pl.col("org_name") == "Univerzita Karlova v Praze")
        .then(pl.lit(HOSTILE)).otherwise(pl.col("org_name"))))  # fmt: skip
    w = build_world(engine, call)
    monkeypatch.setenv("EVALPANEL_DB_URL", url)
    yield w
    engine.dispose()


def potential_table(at: AppTest) -> pl.DataFrame | None:
    for frame in at.dataframe:
        value = frame.value
        if "detail" in value.columns and "reason" not in value.columns:
            return pl.from_pandas(value)
    return None


def test_listed_as_text_and_dismissed(pw: World) -> None:
    at = open_page(as_user(pw.manager, "manager"), "manager_conflicts.py")
    assert not at.exception, at.exception
    table = potential_table(at)
    assert table is not None
    assert set(zip(table["proposal_id"], table["expert_id"], strict=True)) == {PAIR}
    assert HOSTILE in table["detail"].item()  # the name as written, in a table cell
    assert "Univerzita" not in texts(at)  # never rendered as markdown
    at = click(at, "Dismiss")
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "dismissed" in texts(at)
    assert potential_table(at) is None
    assert "No likely organisation match" in texts(at)
    assert potential_decisions(pw.engine, pw.manager, pw.call_id)["decision"].to_list() == [
        "dismissed"
    ]


def test_confirmed_with_a_kind_and_reason(pw: World) -> None:
    at = open_page(as_user(pw.manager, "manager"), "manager_conflicts.py")
    form = next(i for i, s in enumerate(at.selectbox) if s.label == "Kind, if confirmed")
    at.selectbox[form].set_value("employment")
    reason = next(t for t in at.text_input if t.label == "Reason (optional)")
    reason.input("works at the Prague faculty")
    at = click(at, "Confirm as a conflict")
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "confirmed" in texts(at)
    row = list_conflicts(pw.engine, pw.manager, pw.call_id).filter(
        pl.col("source") == "declared"
    ).row(0, named=True)
    assert (row["proposal_id"], row["expert_id"], row["kind"], row["note"]) == (
        *PAIR, "employment", "works at the Prague faculty")  # fmt: skip
    assert potential_table(at) is None


def test_the_preview_lists_the_potential_pairs_it_still_uses(pw: World) -> None:
    at = open_page(as_user(pw.manager, "manager"), "manager_assignment.py")
    at.session_state[f"pinned:{pw.call_id}"] = {
        "edited_rows": {},
        "added_rows": [{"proposal_id": PAIR[0], "expert_id": PAIR[1]}],
        "deleted_rows": [],
    }
    at = click(at, "Run the assignment")
    assert not at.exception, at.exception
    assert "1 potential conflicts still used" in texts(at)
    used = next(pl.from_pandas(d.value) for d in at.dataframe if "fixed" in d.value.columns)
    assert used.select("proposal_id", "expert_id", "fixed").rows() == [(*PAIR, True)]
