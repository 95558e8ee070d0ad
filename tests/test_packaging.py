"""The wheel: what it installs at the top level, and that the demo call ships inside it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_wheel_ships_the_demo_call_without_a_fixtures_package(tmp_path: Path) -> None:
    pytest.importorskip("hatchling", reason="building the wheel needs hatchling")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(ROOT)],
        check=True, stdin=subprocess.DEVNULL,
    )
    (wheel,) = tmp_path.glob("evalpanel-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert top == {"assignment", "scoring", "evalpanel", "dashboard"}
    assert "evalpanel/demo_call/call.toml" in names
    assert "evalpanel/demo_call/proposals.csv" in names
    assert not any(n.startswith("fixtures/") for n in names)
    # and the demo finds its call from the installed layout
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    found = subprocess.run(
        [sys.executable, "-c", "from evalpanel.demo import demo_call_dir; print(demo_call_dir())"],
        check=True, capture_output=True, text=True, cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
    ).stdout.strip()
    assert Path(found) == target / "evalpanel" / "demo_call"


def test_a_checkout_finds_the_demo_call_in_fixtures() -> None:
    from evalpanel.demo import demo_call_dir

    assert demo_call_dir() == ROOT / "fixtures" / "demo"
    assert (demo_call_dir() / "call.toml").is_file()
