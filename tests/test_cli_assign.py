"""``evalpanel assign`` through the real CLI, on the committed tiny call and variants of it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from evalpanel.callfolder import read_call
from evalpanel.planning import conflicts_of
from tests.cli_support import ROOT, TINY, run


def copy_tiny(tmp_path: Path) -> Path:
    return Path(shutil.copytree(TINY, tmp_path / "call"))


def institutional_pairs(folder: Path) -> set[tuple[str, str]]:
    """Pairs where the expert's organisation id is among the proposal's partners."""
    call = read_call(folder)
    joined = call.partners.drop_nulls("org_id").join(
        call.experts.drop_nulls("org_id").select("expert_id", "org_id"), on="org_id"
    )
    return set(joined.select("proposal_id", "expert_id").iter_rows())


@pytest.mark.parametrize("mode", ["max-total", "fair", "randomized"])
def test_assigns_every_panel_within_the_rules(tmp_path: Path, mode: str) -> None:
    out = tmp_path / "pairs.csv"
    code, text = run("assign", str(TINY), "--mode", mode, "-o", str(out))
    assert code == 0, text
    pairs = pl.read_csv(out)
    call = read_call(TINY)
    assert pairs.columns == ["proposal_id", "expert_id", "affinity", "explanation"]
    assert pairs["explanation"].str.contains("eligible experts").all()
    assert pairs.group_by("proposal_id").len()["len"].to_list() == [2] * call.proposals.height
    assert pairs.select("proposal_id", "expert_id").is_unique().all()
    loads = pairs.group_by("expert_id").len().join(call.experts, on="expert_id")
    assert (loads["len"] <= loads["max_load"]).all()
    assigned = set(pairs.select("proposal_id", "expert_id").iter_rows())
    assert not assigned & institutional_pairs(TINY)
    declared = call.conflicts.drop_nulls("proposal_id").select("proposal_id", "expert_id")
    assert not assigned & set(declared.iter_rows())


def test_json_summary_and_k_override() -> None:
    code, text = run("assign", str(TINY), "-k", "1", "--json")
    assert code == 0, text
    summary = json.loads(text)
    assert summary["status"] == "complete"
    assert summary["slots_demanded"] == summary["slots_filled"] == 12
    assert summary["coverage"] == 1.0
    assert summary["certificate"]["violations"] == 0
    for key in ("objective", "min_proposal_affinity", "shortfalls", "seconds"):
        assert key in summary
    found = conflicts_of(read_call(TINY)).select("proposal_id", "expert_id").unique()
    assert summary["conflicted_pairs"] == found.height > 0


def test_json_counts_each_conflicted_pair_once() -> None:
    demo = ROOT / "fixtures" / "demo"
    code, text = run("assign", str(demo), "--json")
    assert code in (0, 3), text
    found = conflicts_of(read_call(demo)).select("proposal_id", "expert_id")
    assert found.height > found.unique().height  # some pairs have two reasons
    assert json.loads(text)["conflicted_pairs"] == found.unique().height


def test_short_capacity_exits_3_writes_the_rest_and_explains(tmp_path: Path) -> None:
    folder = copy_tiny(tmp_path)
    experts = pl.read_csv(folder / "experts.csv", infer_schema=False)
    experts.with_columns(pl.lit("1").alias("max_load"), pl.lit("0").alias("min_load")).write_csv(
        folder / "experts.csv"
    )
    out = tmp_path / "pairs.csv"
    code, text = run("assign", str(folder), "-o", str(out))
    assert code == 3
    pairs = pl.read_csv(out)
    assert pairs.height == experts.height  # every expert used once: the rest is still assigned
    code, text = run("assign", str(folder), "--json")
    summary = json.loads(text)
    assert code == 3 and summary["status"] == "partial"
    missing = sum(s["missing"] for s in summary["shortfalls"])
    assert missing == summary["slots_demanded"] - summary["slots_filled"]
    assert all("max_load" in s["reason"] for s in summary["shortfalls"])


def test_affinity_file_replaces_the_computed_affinity(tmp_path: Path) -> None:
    folder = copy_tiny(tmp_path)
    experts = pl.read_csv(folder / "experts.csv", infer_schema=False)
    experts.with_columns(pl.lit("0").alias("min_load")).write_csv(folder / "experts.csv")
    call = read_call(folder)
    conflicted = set(conflicts_of(call).select("proposal_id", "expert_id").iter_rows())
    # every eligible pair 0.1, except one chosen pair per proposal at 1.0
    chosen = []
    for i, pid in enumerate(call.proposals["proposal_id"]):
        for j in range(call.experts.height):
            eid = call.experts["expert_id"][(i + j) % call.experts.height]
            if (pid, eid) not in conflicted:
                chosen.append((pid, eid))
                break
    grid = call.proposals.select("proposal_id").join(call.experts.select("expert_id"), how="cross")
    marks = pl.DataFrame(chosen, schema=["proposal_id", "expert_id"], orient="row").with_columns(
        pl.lit(1.0).alias("affinity")
    )
    grid.join(marks, on=["proposal_id", "expert_id"], how="left").with_columns(
        pl.col("affinity").fill_null(0.1)
    ).write_csv(folder / "affinity.csv")
    out = tmp_path / "pairs.csv"
    code, text = run("assign", str(folder), "-k", "1", "-o", str(out))
    assert code in (0, 3), text
    got = set(pl.read_csv(out).select("proposal_id", "expert_id").iter_rows())
    loads = (
        pl.DataFrame(chosen, schema=["proposal_id", "expert_id"], orient="row")
        .group_by("expert_id")
        .len()
        .join(call.experts, on="expert_id")
    )
    assert (loads["len"] <= loads["max_load"]).all()  # the chosen pairs are feasible
    assert got == set(chosen)


def test_invalid_call_exits_2(tmp_path: Path) -> None:
    folder = copy_tiny(tmp_path)
    (folder / "experts.csv").write_text("expert_id,name\nX1,A\n")
    code, text = run("assign", str(folder))
    assert code == 2 and "experts.csv:1: max_load: missing column" in text


def test_json_reports_every_phase_summing_to_the_total() -> None:
    demo = ROOT / "fixtures" / "demo"
    code, text = run("assign", str(demo), "--json")
    assert code in (0, 3), text
    summary = json.loads(text)
    phases = summary["phases"]
    assert list(phases) == ["read", "conflicts", "affinity", "plan", "solve", "certify",
                            "summary", "write"]
    assert all(isinstance(v, float) and v >= 0 for v in phases.values())
    assert phases["read"] > 0 and phases["solve"] > 0 and phases["summary"] > 0
    # the phases cover the command from reading the folder to the summary
    assert sum(phases.values()) == pytest.approx(summary["seconds"], rel=0.05, abs=0.02)


def test_pinned_and_existing_pairs_files(tmp_path: Path) -> None:
    folder = copy_tiny(tmp_path)
    out = tmp_path / "first.csv"
    assert run("assign", str(folder), "-o", str(out))[0] == 0
    first = pl.read_csv(out).select("proposal_id", "expert_id")
    existing, pinned = first.head(6), first.slice(6, 2)
    existing.write_csv(tmp_path / "existing.csv")
    pinned.write_csv(tmp_path / "pinned.csv")
    code, text = run("assign", str(folder), "--existing", str(tmp_path / "existing.csv"),
                     "--pinned", str(tmp_path / "pinned.csv"), "--json", "-o", str(out))
    assert code == 0, text
    summary = json.loads(text)
    assert summary["slots_demanded"] == 2 * read_call(folder).proposals.height - existing.height
    got = set(pl.read_csv(out).select("proposal_id", "expert_id").iter_rows())
    assert set(existing.iter_rows()) | set(pinned.iter_rows()) <= got
    (tmp_path / "bad.csv").write_text("proposal,expert_id\nAFI-2026-0001,X001\n")
    code, text = run("assign", str(folder), "--pinned", str(tmp_path / "bad.csv"))
    assert code == 2 and f"{tmp_path / 'bad.csv'}:1: header: needs the column(s) proposal_id" in text
    (tmp_path / "bad.csv").write_text("proposal_id,expert_id\nAFI-2026-0001,NOBODY\n")
    code, text = run("assign", str(folder), "--pinned", str(tmp_path / "bad.csv"))
    assert code == 2 and "unknown ids ['NOBODY']" in text
