"""``python -m evalpanel`` runs the same command line as the console script."""

from __future__ import annotations

import subprocess
import sys

from evalpanel import __version__


def test_python_m_evalpanel_prints_the_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "evalpanel", "--version"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"evalpanel, version {__version__}"


def test_python_m_evalpanel_reports_bad_input_with_status_2(tmp_path: object) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "evalpanel", "validate", str(tmp_path)],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, check=False,
    )
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
