from __future__ import annotations

import dataclasses

import polars as pl
import pytest
import sqlalchemy as sa
from polars.testing import assert_frame_equal

from evalpanel.store import (
    SYSTEM,
    AlreadyImported,
    InvalidState,
    audit_frame,
    call_folder,
    import_call,
)
from evalpanel.store.tables import calls, metadata, proposals
from tests.store_fixtures import World, make_call, publish


def _counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in metadata.sorted_tables
        }


def test_import_round_trips_every_frame(engine: sa.Engine) -> None:
    call = make_call()
    import_call(engine, call)
    back = call_folder(engine, SYSTEM, call.config.id)
    assert back.config == call.config
    assert back.content_hash == call.content_hash
    for name in ("proposals", "partners", "experts", "conflicts", "affinity", "scores"):
        expected = getattr(call, name)
        assert expected is not None
        assert_frame_equal(
            getattr(back, name), expected.sort(expected.columns[:2]), check_row_order=False
        )


def test_import_without_optional_tables(engine: sa.Engine) -> None:
    call = make_call(with_optional=False)
    import_call(engine, call)
    back = call_folder(engine, SYSTEM, call.config.id)
    assert back.affinity is None and back.scores is None
    assert back.proposals.height == call.proposals.height


def test_second_import_is_refused_and_changes_nothing(engine: sa.Engine) -> None:
    import_call(engine, make_call())
    before = _counts(engine)
    with pytest.raises(AlreadyImported, match="replace=True"):
        import_call(engine, make_call(title="Changed"))
    assert _counts(engine) == before
    with engine.connect() as conn:
        assert conn.execute(sa.select(calls.c.title)).scalar() == "Alliances for Innovation 2026"


def test_replace_updates_without_duplicates(engine: sa.Engine) -> None:
    import_call(engine, make_call(n_proposals=4))
    smaller = make_call(n_proposals=3, title="Corrected title")
    smaller = dataclasses.replace(
        smaller,
        proposals=smaller.proposals.with_columns(
            title=pl.concat_str(pl.lit("Renamed "), "proposal_id")
        ),
    )
    import_call(engine, smaller, replace=True)
    back = call_folder(engine, SYSTEM, "AFI-2026")
    assert back.proposals["title"].to_list() == ["Renamed P01", "Renamed P02", "Renamed P03"]
    counts = _counts(engine)
    assert counts["calls"] == 1
    assert counts["proposals"] == 3
    assert counts["partners"] == smaller.partners.height
    assert counts["affinities"] == (smaller.affinity.height if smaller.affinity is not None else 0)
    with engine.connect() as conn:
        assert conn.execute(sa.select(calls.c.title)).scalar() == "Corrected title"
    log = audit_frame(engine, SYSTEM, "AFI-2026")
    assert log["action"].to_list() == ["import", "replace"]


def test_replace_refuses_to_drop_a_proposal_with_tasks(world: World) -> None:
    publish(world, [("P04", "E04")])
    before = _counts(world.engine)
    with pytest.raises(InvalidState, match="P04"):
        import_call(world.engine, make_call(n_proposals=3), replace=True)
    assert _counts(world.engine) == before


def test_a_failing_import_leaves_nothing(engine: sa.Engine) -> None:
    call = make_call()
    assert call.affinity is not None
    bad_affinity = pl.concat(
        [
            call.affinity,
            pl.DataFrame({"proposal_id": ["P99"], "expert_id": ["E01"], "affinity": [0.5]}),
        ]
    )
    broken = dataclasses.replace(call, affinity=bad_affinity)
    with pytest.raises(sa.exc.IntegrityError):
        import_call(engine, broken)
    counts = _counts(engine)
    assert all(n == 0 for n in counts.values()), counts
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(proposals)).scalar() == 0
