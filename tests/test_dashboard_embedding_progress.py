"""The assignment page shows the embedding's progress while a batch embeds its texts (the
workflow's ``progress`` callback drawn as a progress bar)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from evalpanel import embeddings
from evalpanel.store.tables import affinities, experts
from tests.dashboard_fixtures import DashWorld, as_user, click, open_page, texts

NEEDS_MODEL = pytest.mark.skipif(not embeddings.available(),
                                 reason="the embeddings extra is not installed")


@NEEDS_MODEL
@pytest.mark.slow  # loads torch and the model
def test_assignment_page_shows_embedding_progress(dash: DashWorld) -> None:
    w = dash.world
    with w.engine.begin() as conn:  # no affinity file, and experts who describe their work
        conn.execute(affinities.delete())
        conn.execute(experts.update().values(
            profile=sa.literal("Profile of ") + experts.c.expert_id
            + sa.literal(": renewable energy, power electronics and smart grids.")))
    n_texts = w.call.proposals.height + w.call.experts.height
    at = open_page(as_user(w.manager, "manager"), "manager_assignment.py")
    at.default_timeout = 300
    next(s for s in at.selectbox if s.label == "Text model").select("embeddings")
    click(at, "Run the assignment")
    assert not at.exception, at.exception
    assert "Preview of batch" in texts(at)
    bars = at.get("progress")
    assert bars, "no progress bar on the page"
    assert bars[-1].proto.text == f"Embedding texts: {n_texts} of {n_texts}"
    assert bars[-1].proto.value == 100
