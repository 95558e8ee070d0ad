"""The environment of the processes a benchmark times, with the project's bytecode compiled.

An installed package runs from bytecode: a regular ``pip install`` compiles it, and an editable
install writes it on its first run. Where ``PYTHONDONTWRITEBYTECODE`` is set (as on some build
machines) an editable install never does, and every process would compile the project's source
again (about 0.2 s of each ``evalpanel assign``), a cost no user's second run pays. So the
project's packages are compiled once before the first timing, into their ``__pycache__``
folders (ignored by git), as an install does; every process a benchmark compares, baselines
included, then reads the same bytecode.
"""

from __future__ import annotations

import compileall
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("assignment", "scoring", "evalpanel", "fixtures", "benchmarks")


def child_env() -> dict[str, str]:
    """This process's environment with the project first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def compile_project() -> None:
    """Compile the project's packages (only the files changed since they last were)."""
    for name in PACKAGES:
        if not compileall.compile_dir(ROOT / name, quiet=1):
            raise SystemExit(f"{name}: a source file does not compile")
