"""One vocabulary: every state and kind is defined in evalpanel.vocab and used from there."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TypeGuard

import sqlalchemy as sa

import assignment.solvers
from evalpanel import vocab
from evalpanel.callfolder import config, schema
from evalpanel.store import tables

ROOT = Path(__file__).resolve().parents[1]
STATE_WORDS = {
    m.value
    for enum in (
        vocab.TaskState,
        vocab.BatchState,
        vocab.ConsolidationState,
        vocab.ReplacementState,
        vocab.RequestState,
        vocab.NotificationStatus,
    )
    for m in enum
} - {"draft"}  # "draft" also names an action ("draft a consensus")


def test_the_modes_are_the_engines() -> None:
    assert vocab.MODES == assignment.solvers.MODES


def test_the_other_lists_are_the_vocabulary() -> None:
    assert config.TEXT_MODELS == vocab.TEXT_MODELS
    assert vocab.values(vocab.ConflictKind) == schema.CONFLICT_KINDS
    assert set(vocab.STARTED_STATES) < set(vocab.ACTIVE_STATES) <= set(vocab.TaskState)
    assert set(vocab.OPEN_STATES) == set(vocab.ACTIVE_STATES) - {vocab.TaskState.SUBMITTED}


def _check(table: sa.Table, name: str) -> str:
    for constraint in table.constraints:
        if isinstance(constraint, sa.CheckConstraint) and constraint.name == f"ck_{table.name}_{name}":
            return str(constraint.sqltext)
    raise AssertionError(f"{table.name} has no check {name}")


def test_the_tables_check_the_vocabulary() -> None:
    task_check = _check(tables.tasks, "state")
    assert all(repr(s.value) in task_check for s in vocab.TaskState)
    assert all(repr(s.value) in _check(tables.requests, "state") for s in vocab.RequestState)
    status = _check(tables.notifications, "status")
    assert all(repr(s.value) in status for s in vocab.NotificationStatus)


def _literal_states(path: Path) -> list[str]:
    """``line: text`` of every state word compared, assigned as ``state=``/``status=`` or
    passed to ``in_`` as a bare string literal."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []

    def bare(node: ast.AST) -> TypeGuard[ast.Constant]:
        return isinstance(node, ast.Constant) and node.value in STATE_WORDS

    for node in ast.walk(tree):
        operands: list[ast.AST] = []
        if isinstance(node, ast.Compare):
            left = node.left
            if (isinstance(left, ast.Name) and left.id == "decision") or (
                isinstance(left, ast.Attribute) and left.attr == "decision"
            ):
                continue  # a ranking decision (funded, reserve, rejected, pending): scoring's
            operands = [node.left, *node.comparators]
            for c in node.comparators:
                if isinstance(c, ast.Tuple | ast.List | ast.Set):
                    operands.extend(c.elts)
        elif isinstance(node, ast.keyword) and node.arg in ("state", "status"):
            operands = [node.value]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") in ("in_", "is_in"):
            for arg in node.args:
                operands.extend(arg.elts if isinstance(arg, ast.Tuple | ast.List) else [arg])
        found.extend(
            f"{path.relative_to(ROOT)}:{o.lineno}: {o.value!r}"
            for o in operands
            if bare(o)
        )
    return found


def test_no_service_spells_a_state_itself() -> None:
    """A typo in a bare "submited" would silently match nothing; the members cannot."""
    files = [
        p
        for p in sorted((ROOT / "evalpanel").rglob("*.py"))
        if "migrations" not in p.parts and p.name != "vocab.py"
    ]
    assert len(files) > 30
    spelled = [hit for p in files for hit in _literal_states(p)]
    assert not spelled, "use evalpanel.vocab instead of:\n" + "\n".join(spelled)
