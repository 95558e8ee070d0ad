"""A lot's maximum EU grant (``[lots.<id>] max_grant_eur``): parsed, checked, located."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalpanel.callfolder import CallFolderError, read_call
from tests.callfolder_factory import CALL_TOML, PROPOSALS, write_call

WITH_MAX = CALL_TOML.replace(
    "budget_eur = 2000000\n", "budget_eur = 2000000\nmax_grant_eur = 950_000\n"
).replace('one_per = "ecosystem"\n', 'one_per = "ecosystem"\nmax_grant_eur = 1_500_000\n')


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(CallFolderError) as err:
        read_call(folder)
    return [str(p) for p in err.value.problems]


def test_max_grant_is_read_per_lot(tmp_path: Path) -> None:
    ok = CALL_TOML.replace("budget_eur = 2000000\n", "budget_eur = 2000000\nmax_grant_eur = 1e6\n")
    call = read_call(write_call(tmp_path, call_toml=ok))
    assert call.config.lots["L1"].max_grant_eur == 1_000_000
    assert call.config.lots["L2"].max_grant_eur is None  # no limit given: none applies


def test_request_above_the_lot_maximum_is_located(tmp_path: Path) -> None:
    # P01 (lot L1, 1,000,000, on lines 2-3) is above 950,000; P02 (900,000) is not; in L2,
    # P03 asks exactly the maximum 1,500,000 (allowed).
    found = problems_of(write_call(tmp_path, call_toml=WITH_MAX))
    assert [p for p in found if "requested_eur" in p] == [
        "proposals.csv:2: requested_eur: 1000000 is above the maximum grant of "
        "lot L1 (950000 EUR, call.toml lots.L1.max_grant_eur)"
    ]


def test_every_request_above_is_reported_at_once(tmp_path: Path) -> None:
    proposals = PROPOSALS.replace(",1500000\n", ",1500001\n").replace(",1400000\n", ",4000000\n")
    found = problems_of(write_call(tmp_path, call_toml=WITH_MAX, proposals_csv=proposals))
    lines = [p.split(":")[1] for p in found if p.startswith("proposals.csv:")]
    assert lines == ["2", "5", "6"]
    assert any("1500001 is above the maximum grant of lot L2 (1500000 EUR" in p for p in found)


@pytest.mark.parametrize(
    ("value", "shown"),
    [("0", "0"), ("-5", "-5"), ('"1.5 M"', "'1.5 M'"), ("true", "True"), ("nan", "nan"),
     ("inf", "inf")],
)
def test_bad_max_grant_is_located(tmp_path: Path, value: str, shown: str) -> None:
    toml = CALL_TOML.replace(
        "budget_eur = 2000000\n", f"budget_eur = 2000000\nmax_grant_eur = {value}\n"
    )
    found = problems_of(write_call(tmp_path, call_toml=toml))
    assert found == [f"call.toml:11: lots.L1.max_grant_eur: must be a number > 0 (euros); "
                     f"got {shown}"]
