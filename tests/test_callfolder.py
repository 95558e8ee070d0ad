"""The call-folder reader: valid folders load typed; every class of bad input is refused with a
located message, all problems in one run, exit status 2 from the CLI."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalpanel.callfolder import CallFolderError, read_call
from evalpanel.callfolder.schema import polars_schema
from evalpanel.cli import cli
from tests.callfolder_factory import (
    AFFINITY,
    CALL_TOML,
    CONFLICTS,
    EXPERTS,
    PARTNERS,
    PROPOSALS,
    replace_line,
    write_call,
)


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(CallFolderError) as info:
        read_call(folder)
    return [str(p) for p in info.value.problems]


def run_validate(folder: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["validate", str(folder)])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.output


def test_valid_folder_loads_typed_frames(tmp_path: Path) -> None:
    call = read_call(write_call(tmp_path))
    assert call.config.id == "TEST-CALL"
    assert set(call.config.lots) == {"L1", "L2"}
    assert call.config.lots["L2"].one_per == "ecosystem"
    assert call.proposals.schema == pl.Schema(polars_schema("proposals"))
    assert call.experts.schema == pl.Schema(polars_schema("experts"))
    p01 = call.proposals.row(0, named=True)
    assert p01["fields"] == ["0714", "0521"]
    assert p01["abstract"] == "Training for green skills.\nA second line of abstract."
    assert call.proposals["ecosystems"].to_list()[2] == ["Renewable energy"]
    assert call.experts["min_load"].to_list() == [0, 1, 0, 0]  # empty cell -> 0
    assert call.experts["languages"].to_list()[1] == ["en", "fr", "de"]
    assert call.conflicts["since"].to_list() == [None, dt.date(2025, 6, 30)]
    assert call.affinity is not None and call.affinity.height == 3
    assert call.scores is not None and call.scores["score"].sum() == 78
    assert len(call.content_hash) == 64


def test_the_content_hash_follows_the_files_and_is_left_out_when_asked(tmp_path: Path) -> None:
    """The hash changes with any byte of an input file; a read that records no batch (as
    ``evalpanel assign``) can skip it and still reads the same call."""
    folder = write_call(tmp_path)
    first = read_call(folder)
    assert read_call(folder).content_hash == first.content_hash
    experts = folder / "experts.csv"
    experts.write_bytes(experts.read_bytes() + b"\n")  # a trailing empty line changes no row
    again = read_call(folder)
    assert again.experts.equals(first.experts) and again.content_hash != first.content_hash
    skipped = read_call(folder, hash_inputs=False)
    assert skipped.content_hash == "" and skipped.experts.equals(again.experts)


def test_cli_accepts_valid_folder(tmp_path: Path) -> None:
    code, out = run_validate(write_call(tmp_path))
    assert code == 0, out
    assert "valid" in out and "4 experts" in out


def test_normalises_vocabularies(tmp_path: Path) -> None:
    proposals = replace_line(
        PROPOSALS, 5, "P03,L2,Battery skills,,DE,0713, renewable-ENERGY ,battery,1500000"
    )
    partners = replace_line(PARTNERS, 2, "P01,900000001,Ghent University,be,coordinator")
    partners = replace_line(partners, 3, "P01,900000002,Tallinn Tech,GR,partner")
    call = read_call(write_call(tmp_path, proposals_csv=proposals, partners_csv=partners))
    row = call.proposals.filter(pl.col("proposal_id") == "P03").row(0, named=True)
    assert row["language"] == "de"
    assert row["ecosystems"] == ["Renewable energy"]
    assert call.partners["country"].to_list()[:2] == ["BE", "EL"]


BAD_CELLS = [
    # (file, line, new line, column, words the message must contain)
    ("proposals_csv", 4, "P01,L1,Dup,,en,0114,,,1", "proposal_id", "appears again"),
    ("experts_csv", 5, EXPERTS.splitlines()[1], "expert_id", "appears again"),
    ("proposals_csv", 4, "P02,L1,T,,en,07145,,,1", "fields", "ISCED-F"),
    ("proposals_csv", 4, "P02,L1,T,,en,0739,,,1", "fields", "ISCED-F"),  # 0799 is official
    (
        "proposals_csv",
        4,
        "P02,L1,T,,en,0114,Space tourism,,1",
        "ecosystems",
        "industrial ecosystems",
    ),
    ("proposals_csv", 4, "P02,L1,T,,english,0114,,,1", "language", "ISO 639-1"),
    ("proposals_csv", 4, "P02,L1,T,,en,0114,,,lots", "requested_eur", "not a number"),
    ("proposals_csv", 4, "P02,L9,T,,en,0114,,,1", "lot", "call.toml"),
    ("proposals_csv", 5, "P03,L2,T,,de,0713,,,1", "ecosystems", "one proposal per ecosystem"),
    ("partners_csv", 3, "P09,900000002,Tallinn Tech,EE,partner", "proposal_id", "not in proposals"),
    ("partners_csv", 3, "P01,900000002,Tallinn Tech,XX,partner", "country", "ISO 3166-1"),
    ("partners_csv", 3, "P01,900000002,Tallinn Tech,EE,coordinator", "role", "second coordinator"),
    ("partners_csv", 3, "P01,900000002,Tallinn Tech,EE,sponsor", "role", "not one of"),
    ("experts_csv", 2, "X01,A,a@x.eu,,O,BE,,F,en,0714,,,,-1,0", "max_load", "below the minimum"),
    ("experts_csv", 2, "X01,A,a@x.eu,,O,BE,,F,en,0714,,,,2.5,0", "max_load", "whole number"),
    ("experts_csv", 2, "X01,A,a@x.eu,,O,BE,,F,en,0714,,,,many,0", "max_load", "not a number"),
    ("experts_csv", 2, "X01,A,a@x.eu,,O,BE,,F,en,0714,,,,2,3", "min_load", "above max_load"),
    ("experts_csv", 2, "X01,A,a@x.eu,,O,BE,,F,en,0714,,,,2,-2", "min_load", "below the minimum"),
    ("experts_csv", 2, "X01,A,a@x.eu,,O,BE,,F,,0714,,,,2,0", "languages", "empty"),
    ("conflicts_csv", 2, "X99,P03,,declared,,", "expert_id", "not in experts"),
    ("conflicts_csv", 2, "X02,P99,,declared,,", "proposal_id", "not in proposals"),
    ("conflicts_csv", 2, "X02,,999999999,declared,,", "org_id", "no organisation"),
    ("conflicts_csv", 2, "X02,P03,900000001,declared,,", "proposal_id", "exactly one"),
    ("conflicts_csv", 2, "X02,P03,,bribery,,", "kind", "not one of"),
    ("conflicts_csv", 2, "X02,P03,,declared,30/06/2025,", "since", "ISO date"),
    ("affinity_csv", 3, "P01,X02,1.5", "affinity", "above the maximum 1"),
    ("affinity_csv", 3, "P01,X02,-0.1", "affinity", "below the minimum 0"),
    ("affinity_csv", 3, "P01,X01,0.3", "proposal_id, expert_id", "appears again"),
    ("affinity_csv", 3, "P01,X77,0.3", "expert_id", "not in experts"),
]
SOURCES = {
    "proposals_csv": PROPOSALS,
    "partners_csv": PARTNERS,
    "experts_csv": EXPERTS,
    "conflicts_csv": CONFLICTS,
    "affinity_csv": AFFINITY,
}


@pytest.mark.parametrize(("key", "line", "new", "column", "words"), BAD_CELLS)
def test_bad_cell_is_located(
    tmp_path: Path, key: str, line: int, new: str, column: str, words: str
) -> None:
    folder = write_call(tmp_path, **{key: replace_line(SOURCES[key], line, new)})
    code, out = run_validate(folder)
    assert code == 2
    file = key.replace("_csv", ".csv")
    expected = f"{folder / file}:{line}: {column}: "
    located = [row for row in out.splitlines() if row.startswith(expected)]
    assert located, f"no message starting {expected!r} in:\n{out}"
    assert any(words in row for row in located), out
    assert "Traceback" not in out


def test_every_problem_in_one_run(tmp_path: Path) -> None:
    experts = replace_line(EXPERTS, 2, "X01,A,a@x.eu,,O,BE,,F,en,0714,,,,many,0")
    experts = replace_line(experts, 4, "X03,C,c@x.eu,,O,ZZ,,F,en,0114,,,,2,0")
    proposals = replace_line(PROPOSALS, 4, "P02,L1,T,,en,0114,,,lots")
    found = problems_of(write_call(tmp_path, experts_csv=experts, proposals_csv=proposals))
    assert len(found) == 3
    assert [p.split(":")[0] for p in found] == ["experts.csv", "experts.csv", "proposals.csv"]


@pytest.mark.parametrize(
    ("replace", "expected"),
    [
        ({"proposals_csv": None}, "proposals.csv: missing"),
        ({"experts_csv": ""}, "experts.csv: empty file"),
        ({"partners_csv": "proposal_id,org_id,org_name,country,role\n"}, "partners.csv: has a header but no rows"),
        ({"call_toml": None}, "call.toml: missing"),
        ({"call_toml": "[call\nid = 1\n"}, "call.toml:1: not valid TOML"),
        ({"call_toml": CALL_TOML.replace("budget_eur = 3000000\n", "")}, "call.toml:12: lots.L2: lot has no budget"),
        ({"call_toml": CALL_TOML.replace('one_per = "ecosystem"', 'one_per = "country"')}, "call.toml:15: lots.L2.one_per:"),
        ({"call_toml": CALL_TOML.replace("experts_per_proposal = 2", "experts_per_proposal = 0")}, "call.toml:5: call.experts_per_proposal:"),
        ({"experts_csv": EXPERTS.replace("max_load,", "maxload,")}, "experts.csv:1: max_load: missing column"),
        ({"experts_csv": EXPERTS.replace("Ana Silva", "Ana Silv\xe9").encode("latin-1")}, "experts.csv:2: not UTF-8"),
        ({"partners_csv": PARTNERS + "P04,900000007,Extra,IT\n"}, "partners.csv:10: has 4 cells"),
    ],
)  # fmt: skip
def test_bad_files_are_located(
    tmp_path: Path, replace: dict[str, str | bytes | None], expected: str
) -> None:
    found = problems_of(write_call(tmp_path, **replace))
    assert any(p.startswith(expected) for p in found), found


def test_two_formats_of_one_table_is_ambiguous(tmp_path: Path) -> None:
    folder = write_call(tmp_path)
    read_call(folder).experts.write_parquet(folder / "experts.parquet")
    assert any("given twice" in p for p in problems_of(folder))


def test_xlsx_and_parquet_read_like_csv(tmp_path: Path) -> None:
    reference = read_call(write_call(tmp_path / "csv"))
    folder = write_call(tmp_path / "other")
    raw = pl.read_csv(folder / "experts.csv", infer_schema=False)
    (folder / "experts.csv").unlink()
    raw.write_excel(folder / "experts.xlsx")
    affinity = pl.read_csv(folder / "affinity.csv")
    (folder / "affinity.csv").unlink()
    affinity.write_parquet(folder / "affinity.parquet")
    other = read_call(folder)
    assert other.experts.equals(reference.experts)
    assert other.affinity is not None and reference.affinity is not None
    assert other.affinity.equals(reference.affinity)


def test_located_errors_in_xlsx_and_parquet(tmp_path: Path) -> None:
    folder = write_call(tmp_path)
    raw = pl.read_csv(folder / "experts.csv", infer_schema=False)
    (folder / "experts.csv").unlink()
    raw.with_columns(
        pl.when(pl.col("expert_id") == "X03")
        .then(pl.lit("-3"))
        .otherwise(pl.col("max_load"))
        .alias("max_load")
    ).write_excel(folder / "experts.xlsx")
    affinity = pl.DataFrame(
        {"proposal_id": ["P01", "P02"], "expert_id": ["X01", "X03"], "affinity": [0.5, 7.0]}
    )
    (folder / "affinity.csv").unlink()
    affinity.write_parquet(folder / "affinity.parquet")
    found = problems_of(folder)
    assert any(p.startswith("experts.xlsx:4: max_load: -3 is below") for p in found), found
    assert any(p.startswith("affinity.parquet:2: affinity: 7.0 is above") for p in found), found


def test_crlf_and_bom_are_accepted(tmp_path: Path) -> None:
    experts = ("\ufeff" + EXPERTS).replace("\n", "\r\n")
    call = read_call(write_call(tmp_path, experts_csv=experts))
    assert call.experts["expert_id"].to_list() == ["X01", "X02", "X03", "X04"]


def test_optional_columns_may_be_left_out(tmp_path: Path) -> None:
    experts = pl.read_csv(EXPERTS.encode(), infer_schema=False).drop(
        "nationality", "gender", "keywords", "profile", "min_load", "ecosystems"
    )
    call = read_call(write_call(tmp_path, experts_csv=experts.write_csv()))
    assert call.experts["min_load"].to_list() == [0, 0, 0, 0]
    assert call.experts["keywords"].to_list() == [[], [], [], []]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(row=st.integers(min_value=0, max_value=3), bad=st.sampled_from(["-1", "x", "1.5", "", "1e"]))
def test_any_bad_load_is_reported_on_its_line(
    tmp_path_factory: pytest.TempPathFactory, row: int, bad: str
) -> None:
    lines = EXPERTS.splitlines()
    cells = lines[row + 1].split(",")
    cells[-2] = bad  # max_load
    folder = write_call(
        tmp_path_factory.mktemp("call"), experts_csv=replace_line(EXPERTS, row + 2, ",".join(cells))
    )
    found = problems_of(folder)
    assert any(p.startswith(f"experts.csv:{row + 2}: max_load: ") for p in found), found


def test_console_script_prints_no_traceback(tmp_path: Path) -> None:
    folder = write_call(tmp_path, call_toml="[call\n")
    proc = subprocess.run(
        [sys.executable, "-m", "evalpanel.cli", "validate", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "call.toml:1: not valid TOML" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "evalpanel.cli", "validate", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 2 and "is not a folder" in missing.stderr


def test_language_codes_are_pycountrys_iso_639_1_codes() -> None:
    import pycountry

    from evalpanel.callfolder.vocab import LANGUAGE_CODES

    listed = {lang.alpha_2 for lang in pycountry.languages if getattr(lang, "alpha_2", None)}
    assert listed == LANGUAGE_CODES
