"""Fixtures of the store tests: an engine per backend, and small call folders built in code.

The ``engine`` fixture is parametrised over ``sqlite`` (a fresh file in ``tmp_path``) and
``postgres`` (``EVALPANEL_TEST_PG_URL``, every table dropped before the test; skipped with a
message when the variable is unset). Import it into a test module with
``from tests.store_fixtures import *``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

from evalpanel.callfolder.model import CallConfig, CallFolder, Lot
from evalpanel.callfolder.schema import polars_schema
from evalpanel.store.audit import Actor
from evalpanel.store.engine import make_engine
from evalpanel.store.tables import metadata

PG_ENV = "EVALPANEL_TEST_PG_URL"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def reset_postgres(url: str) -> None:
    """Drop every table (and the migration stamp) of the test database."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7405519)")
        metadata.drop_all(conn)
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    engine.dispose()


def worker_schema_url(url: str) -> str:
    """``url`` with a search path of its own per pytest-xdist worker (they share one database)."""
    schema = "test_" + os.environ.get("PYTEST_XDIST_WORKER", "main")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    engine.dispose()
    return str(
        sa.make_url(url)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


def truncate_postgres(engine: sa.Engine) -> None:
    # DELETE is much faster than TRUNCATE on a handful of rows.
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


_migrated: dict[str, Path | bool] = {}


def backend_url(backend: str, tmp_path: Path) -> str:
    """A migrated, empty database of ``backend`` for one test."""
    if backend == "sqlite":
        # Migrate a template once per session, then copy it (much faster than migrating).
        template = _migrated.get("sqlite")
        if not isinstance(template, Path):
            template = tmp_path.parent / "template.sqlite"
            make_engine(f"sqlite:///{template}").dispose()
            _migrated["sqlite"] = template
        target = tmp_path / "store.sqlite"
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f'PostgreSQL tests need {PG_ENV}; run `eval "$(.ci/start-postgres)"` first')
    url = worker_schema_url(url)
    if not _migrated.get("postgres"):
        reset_postgres(url)
        make_engine(url).dispose()
        _migrated["postgres"] = True
    eng = sa.create_engine(url)
    truncate_postgres(eng)
    eng.dispose()
    return url


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return backend_url(str(request.param), tmp_path)


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def frame(table: str, rows: Sequence[Mapping[str, object]]) -> pl.DataFrame:
    schema = polars_schema(table)
    return pl.DataFrame([{c: r.get(c) for c in schema} for r in rows], schema=schema)


def make_call(
    call_id: str = "AFI-2026",
    n_proposals: int = 4,
    n_experts: int = 6,
    *,
    with_optional: bool = True,
    title: str = "Alliances for Innovation 2026",
) -> CallFolder:
    """A small valid call: two lots, ``n_proposals`` proposals with two partners each,
    ``n_experts`` experts; expert E01 works at proposal P01's coordinator (a conflict)."""
    lots = {
        "L1": Lot("L1", 1_000_000.0, "Education and enterprises"),
        "L2": Lot("L2", 800_000.0, "Sectoral skills", one_per="ecosystem"),
    }
    props = [
        {
            "proposal_id": f"P{i:02d}",
            "lot": "L1" if i % 2 else "L2",
            "title": f"Proposal {i}",
            "abstract": '=HYPERLINK("x")' if i == 1 else "text",
            "language": "en",
            "fields": ["0714"],
            "ecosystems": ["Digital"],
            "keywords": ["ai", "skills"],
            "requested_eur": 400_000.0 + i,
        }
        for i in range(1, n_proposals + 1)
    ]
    parts = [
        {
            "proposal_id": f"P{i:02d}",
            "org_id": f"9000000{i:02d}{j}",
            "org_name": f"Org {i}-{j}",
            "country": "DE" if j else "EL",
            "role": "coordinator" if j == 0 else "partner",
        }
        for i in range(1, n_proposals + 1)
        for j in range(2)
    ]
    exps = [
        {
            "expert_id": f"E{i:02d}",
            "name": f"Expert {i}",
            "email": f"e{i}@example.org",
            "org_id": "9000000010" if i == 1 else f"8000000{i:02d}",
            "org_name": "",
            "country": "FR",
            "nationality": None,
            "gender": None,
            "languages": ["en"],
            "fields": ["0714"],
            "ecosystems": [],
            "keywords": [],
            "profile": "",
            "max_load": 4,
            "min_load": 0,
        }
        for i in range(1, n_experts + 1)
    ]
    conflicts = [
        {
            "expert_id": "E02",
            "proposal_id": "P02",
            "org_id": None,
            "kind": "preparation",
            "since": None,
            "note": "helped write it",
        }
    ]
    affinity = scores = None
    if with_optional:
        affinity = frame(
            "affinity",
            [
                {
                    "proposal_id": p["proposal_id"],
                    "expert_id": e["expert_id"],
                    "affinity": round(0.1 + 0.8 * ((pi * 7 + ei * 3) % 10) / 10, 3),
                }
                for pi, p in enumerate(props)
                for ei, e in enumerate(exps)
            ],
        )
        scores = frame(
            "scores",
            [
                {
                    "proposal_id": "P03",
                    "expert_id": "E03",
                    "criterion": c,
                    "score": 10.0,
                    "comment": "@SUM(A1)",
                }
                for c in ("relevance", "quality")
            ],
        )
    return CallFolder(
        path=Path("/nowhere"),
        config=CallConfig(
            id=call_id, title=title, scheme="erasmus-afi", experts_per_proposal=2, lots=lots
        ),
        proposals=frame("proposals", props).sort("proposal_id"),
        partners=frame("partners", parts).sort("proposal_id", "org_id"),
        experts=frame("experts", exps).sort("expert_id"),
        conflicts=frame("conflicts", conflicts),
        affinity=affinity,
        scores=scores,
        content_hash="sha256:" + call_id,
    )


@dataclass(frozen=True)
class World:
    """An imported call with a manager, an expert user per expert and an applicant."""

    engine: sa.Engine
    call: CallFolder
    manager: Actor
    experts: dict[str, Actor]  # expert_id -> actor
    applicant: Actor
    outsider: Actor  # a manager of no call

    @property
    def call_id(self) -> str:
        return self.call.config.id


def build_world(engine: sa.Engine, call: CallFolder | None = None) -> World:
    from evalpanel.store import SYSTEM, create_user, grant_call, import_call, link_expert

    call = call or make_call()
    import_call(engine, call)
    manager = Actor(create_user(engine, SYSTEM, "manager", "manager"), "manager")
    grant_call(engine, SYSTEM, call.config.id, manager.user_id or 0)
    outsider = Actor(create_user(engine, SYSTEM, "other-manager", "manager"), "manager")
    experts = {}
    for expert_id in call.experts["expert_id"].to_list():
        uid = create_user(engine, manager, f"user-{expert_id}", "expert")
        link_expert(engine, manager, uid, call.config.id, expert_id)
        experts[expert_id] = Actor(uid, "expert")
    applicant = Actor(create_user(engine, manager, "applicant", "applicant"), "applicant")
    return World(engine, call, manager, experts, applicant, outsider)


@pytest.fixture
def world(engine: sa.Engine) -> World:
    return build_world(engine)


def pairs(rows: list[tuple[str, str]], affinity: float = 0.5) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "proposal_id": [p for p, _ in rows],
            "expert_id": [e for _, e in rows],
            "affinity": [affinity] * len(rows),
        }
    )


def publish(w: World, rows: list[tuple[str, str]]) -> int:
    from evalpanel.store import create_batch, publish_batch

    batch = create_batch(
        w.engine,
        w.manager,
        w.call_id,
        pairs(rows),
        solver="hand",
        parameters={"k": 2},
        seed=1,
        summary={"status": "ok"},
        elapsed_s=0.01,
    )
    publish_batch(w.engine, w.manager, batch)
    return batch


def task_of(w: World, proposal_id: str, expert_id: str) -> int:
    from evalpanel.store import list_tasks

    tasks = list_tasks(w.engine, w.manager, w.call_id)
    row = tasks.filter((pl.col("proposal_id") == proposal_id) & (pl.col("expert_id") == expert_id))
    return int(row["task_id"].item())


# A complete Erasmus+ AfI form: submission needs every criterion of the scheme (and comments).
AFI_FORM = {"relevance": 15.0, "quality": 18.0, "partnership": 12.0, "impact": 10.0}


def complete(values: dict[str, float]) -> dict[str, float]:
    """``values`` with the AfI criteria it lacks filled in from :data:`AFI_FORM`."""
    return {c: float(v) for c, v in {**AFI_FORM, **values}.items()}


def scores(values: Mapping[str, float], comment: str = "ok") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "criterion": list(values),
            "score": list(values.values()),
            "comment": [comment] * len(values),
        }
    )


# Workers for the multi-process tests (module-level so that "spawn" can import them).


def save_drafts_worker(url: str, user_id: int, task_id: int, n: int) -> int:
    """Save ``n`` successive drafts of a task (score i on save i); returns the last version."""
    from evalpanel.store import save_draft

    engine = make_engine(url, migrate=False)
    version = 0
    for i in range(1, n + 1):
        version = save_draft(
            engine,
            Actor(user_id, "expert"),
            task_id,
            scores({"quality": float(i)}),
            expected_version=version,
        )
    engine.dispose()
    return version


def hold_write_worker(url: str, ready: Any, rows: int) -> None:
    """Insert ``rows`` audit lines in one transaction, signal ``ready``, then hang (to be
    killed before committing)."""
    import time

    from evalpanel.store.audit import SYSTEM, record
    from evalpanel.store.engine import writing

    engine = make_engine(url, migrate=False)
    with writing(engine) as conn:
        for i in range(rows):
            record(conn, SYSTEM, "crash-test", "row", i)
        ready.set()
        time.sleep(120)


def join_by_link(engine: sa.Engine, owner: Actor, rehearsal_id: int, colleague: Actor) -> None:
    """``colleague`` (an applicant) joins ``owner``'s rehearsal through a one-time link."""
    from evalpanel.store.rehearsal_invites import REHEARSAL_PARAM, invite_by_link, join_rehearsal

    link = invite_by_link(engine, owner, rehearsal_id, dashboard_url="https://panel.example.org")
    join_rehearsal(engine, colleague, link.split(f"?{REHEARSAL_PARAM}=", 1)[1])
