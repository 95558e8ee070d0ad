"""From a validated call to what the pure packages take: an assignment instance (conflicts,
affinity, panel sizes), and the scheme and lot rules for scoring.

Shared by the ``evalpanel assign`` command and the stored workflow, so that both assign a call
the same way. Frames from the reader are sorted by id, which fixes the (proposals × experts)
orientation of every matrix built here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

import assignment
import scoring
from assignment.affinity import tfidf_similarity
from assignment.explain import (
    LOW_AFFINITY,
    CallEvidence,
    affinity_quality,
    best_eligible,
    call_evidence,
    explain_pairs,
)
from assignment.text import hybrid_similarity
from evalpanel import embeddings
from evalpanel.callfolder import CallFolder, isced_label
from evalpanel.callfolder.config import TEXT_MODELS
from evalpanel.phases import PhaseTimer

TFIDF_VERSION = "tfidf-1"  # assignment.text TF-IDF: sublinear tf, smoothed idf, unigrams


class TextModelUnavailable(ValueError):
    """The text model asked for cannot run in this installation; the message says what to do."""


def default_text_model() -> str:
    """The best text model installed: the sentence embeddings when the ``embeddings`` extra is
    importable, TF-IDF otherwise.

    How the default is chosen (benchmarks/RESULTS.md, "The product's text models"): each text
    model keeps the configuration fixed before it was measured (sublinear TF-IDF with unigrams;
    MiniLM on "title. abstract"; the hybrid as the mean of percentile ranks; the mean of the
    three most similar profile papers). A variant replaces it only if its paired bootstrap
    interval over reviewers on the development half of the expertise gold standard lies wholly
    below zero and a single run on the held-out half confirms it; no variant tried so far
    passes the first step, so nothing has been tuned on those judgments."""
    return "embeddings" if embeddings.available() else "tfidf"


def text_model_of(call: CallFolder, text_model: str | None = None) -> str:
    """The text model to use: ``text_model`` when given, else call.toml's, else the default."""
    chosen = text_model or call.config.text_model or default_text_model()
    if chosen not in TEXT_MODELS:
        raise TextModelUnavailable(
            f"the text model must be one of {', '.join(TEXT_MODELS)}; got {chosen!r}"
        )
    if chosen != "tfidf" and not embeddings.available():
        raise TextModelUnavailable(
            f"the {chosen!r} text model needs sentence embeddings: {embeddings.INSTALL_HINT}; "
            "or choose text_model = \"tfidf\""
        )
    return chosen


def text_model_version(text_model: str) -> str:
    """What reproduces the model's similarities: the TF-IDF rule's version, or the embedding
    model and package versions."""
    if text_model == "tfidf":
        return TFIDF_VERSION
    return f"{TFIDF_VERSION}+{embeddings.model_version()}" if text_model == "hybrid" else (
        embeddings.model_version()
    )


def text_similarity_of(
    call: CallFolder,
    text_model: str,
    backend: embeddings.EmbeddingBackend | None = None,
    progress: embeddings.Progress | None = None,
) -> np.ndarray | None:
    """(P, E) float32 text similarity of the model, or None for TF-IDF (built in the affinity).
    ``backend``: the embedding backend (default: the bundled model with the file cache)."""
    if text_model == "tfidf":
        return None
    dense = embeddings.expert_similarity(call.proposals, call.experts, backend, progress)
    if text_model == "embeddings":
        return dense
    return hybrid_similarity(tfidf_similarity(call.proposals, call.experts), dense)


@dataclass(frozen=True, slots=True)
class Plan:
    """An instance ready for :func:`assignment.assign`, with what went into it."""

    instance: assignment.AssignmentInstance
    conflicts: assignment.Conflicts  # as integers; .frame(): proposal_id, expert_id, reason, detail
    affinity_source: str  # "affinity file" or "computed"
    potential: pl.DataFrame  # proposal_id, expert_id, reason, detail: undecided potential pairs
    text_model: str = "tfidf"
    text_model_version: str = TFIDF_VERSION
    text_similarity: np.ndarray | None = None  # (P, E) when not the built-in TF-IDF


def conflicts_of(
    call: CallFolder, *, today: dt.date | None = None, exclude_coordinator_country: bool = False
) -> pl.DataFrame:
    """Every excluded pair of the call with its reason(s), as rows."""
    return conflict_set_of(
        call, today=today, exclude_coordinator_country=exclude_coordinator_country
    ).frame()


def conflict_set_of(
    call: CallFolder, *, today: dt.date | None = None, exclude_coordinator_country: bool = False
) -> assignment.Conflicts:
    """:func:`conflicts_of` as integers (:func:`assignment.conflict_set`): what the instance,
    the counts and the potential conflicts take, with no row per excluded pair."""
    return assignment.conflict_set(
        call.proposals,
        call.partners,
        call.experts,
        call.conflicts,
        today=today or dt.date.today(),
        exclude_coordinator_country=exclude_coordinator_country,
    )


def potential_of(
    call: CallFolder,
    conflicts: pl.DataFrame | assignment.Conflicts | None,
    decided: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The call's potential conflicts (likely organisation matches by name, not excluded for
    another reason: ``conflicts``, as rows or as integers) that the manager has not yet
    confirmed or dismissed (``decided``: ``proposal_id, expert_id``). ``conflicts``: the call's
    excluded pairs (:func:`conflicts_of`) when computed already; without them, see
    :func:`likely_pairs`."""
    if conflicts is None:
        return likely_pairs(call.proposals, call.partners, call.experts, call.conflicts, decided)
    return _undecided(assignment.find_potential_conflicts(call.partners, call.experts, conflicts),
                      decided)


def likely_pairs(
    proposals: pl.DataFrame,
    partners: pl.DataFrame,
    experts: pl.DataFrame,
    declared: pl.DataFrame | None,
    decided: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """:func:`potential_of` from the frames the conflict rule takes, the rule applied to the
    few likely pairs only (:func:`assignment.excluded_pairs`), not to the whole call."""
    found = assignment.find_potential_conflicts(partners, experts)
    if found.height:
        excluded = assignment.excluded_pairs(found, proposals, partners, experts, declared,
                                             today=dt.date.today())
        found = found.join(excluded.select("proposal_id", "expert_id").unique(),
                           on=["proposal_id", "expert_id"], how="anti", maintain_order="left")
    return _undecided(found, decided)


def _undecided(found: pl.DataFrame, decided: pl.DataFrame | None) -> pl.DataFrame:
    if decided is not None and decided.height:
        found = found.join(
            decided.select("proposal_id", "expert_id").cast(pl.String),
            on=["proposal_id", "expert_id"],
            how="anti",
        )
    return found


def affinity_of(
    call: CallFolder, text_similarity: np.ndarray | None = None
) -> tuple[np.ndarray, str]:
    """(P, E) float32 affinity: the call's affinity file when given (the matrix as read, not
    copied), else computed."""
    if call.affinity_matrix is not None:
        return call.affinity_matrix, "affinity file"
    proposal_ids = call.proposals["proposal_id"].to_list()
    expert_ids = call.experts["expert_id"].to_list()
    if call.affinity is not None:
        matrix = assignment.affinity_from_frame(
            call.affinity, proposal_ids, expert_ids, grid=call.affinity_grid
        )
        return matrix, "affinity file"
    return assignment.compute_affinity(
        call.proposals, call.experts, text_similarity=text_similarity
    ), "computed"


def plan(
    call: CallFolder,
    *,
    k: int | None = None,
    today: dt.date | None = None,
    exclude_coordinator_country: bool = False,
    pinned: pl.DataFrame | None = None,
    forbidden: pl.DataFrame | None = None,
    existing: pl.DataFrame | None = None,
    text_model: str | None = None,
    backend: embeddings.EmbeddingBackend | None = None,
    progress: embeddings.Progress | None = None,
    decided: pl.DataFrame | None = None,
    timer: PhaseTimer | None = None,
) -> Plan:
    """The instance for ``call``; ``k`` overrides every lot's panel size when given;
    ``text_model`` overrides call.toml's (see :func:`text_model_of`); ``backend`` and
    ``progress`` go to the embedding step (:func:`text_similarity_of`). The potential conflicts
    not in ``decided`` (pairs the manager confirmed or dismissed) are avoided by the solvers'
    penalty. ``timer`` accumulates the ``conflicts``, ``affinity`` and ``plan`` phases."""
    timer = timer or PhaseTimer()
    with timer("conflicts"):
        conflicts = conflict_set_of(
            call, today=today, exclude_coordinator_country=exclude_coordinator_country
        )
        potential = potential_of(call, conflicts, decided)
    with timer("affinity"):
        model = text_model_of(call, text_model)
        text_similarity = (
            None if call.has_affinity
            else text_similarity_of(call, model, backend, progress)
        )
        affinity, source = affinity_of(call, text_similarity)
    if k is None:
        default = call.config.experts_per_proposal
        by_lot = {lot: call.experts_per_proposal(lot) for lot in call.config.lots}
    else:
        default, by_lot = k, {}
    with timer("plan"):
        instance = assignment.build_instance(
            call.proposals,
            call.experts,
            affinity,
            conflicts,
            k=default,
            k_by_lot=by_lot,
            pinned=pinned,
            forbidden=forbidden,
            existing=existing,
            main_field=assignment.main_field_match(call.proposals, call.experts),
            potential=potential,
        )
    return Plan(instance, conflicts, source, potential, model, text_model_version(model),
                text_similarity)


def explanation_evidence(call: CallFolder) -> CallEvidence:
    """What the explanations compare that depends on the call only
    (:func:`assignment.explain.call_evidence`: TF-IDF vectors, field codes, keyword sets), so
    ``evalpanel assign`` computes it while it plans and solves."""
    return call_evidence(call.proposals, call.experts)


def explain(
    call: CallFolder, prepared: Plan, pairs: pl.DataFrame, *,
    evidence: CallEvidence | None = None,
) -> pl.DataFrame:
    """Why each pair of ``pairs`` (``proposal_id, expert_id``) was assigned: the frame of
    :func:`assignment.explain.explain_pairs`, ISCED-F codes with their labels; ``evidence``:
    :func:`explanation_evidence` of the call, when already computed."""
    return explain_pairs(
        prepared.instance,
        call.proposals,
        call.experts,
        pairs,
        text_similarity=prepared.text_similarity,
        label=isced_label,
        text_model=None if prepared.affinity_source == "affinity file" else prepared.text_model,
        evidence=evidence,
    )


def quality(
    call: CallFolder, prepared: Plan, explained: pl.DataFrame, *, low: float = LOW_AFFINITY,
    best: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, object]:
    """The assignment's field coverage and the proposals to recruit for
    (:func:`assignment.explain.affinity_quality`); ``best``: :func:`best_experts` of the plan,
    when already computed."""
    return affinity_quality(prepared.instance, call.proposals, explained, low=low, best=best)


def best_experts(prepared: Plan) -> tuple[np.ndarray, np.ndarray]:
    """Each proposal's best eligible affinity and expert over the whole pool
    (:func:`assignment.explain.best_eligible`): it depends on the plan only, so
    ``evalpanel assign`` computes it while the instance is solved."""
    return best_eligible(prepared.instance)


def scheme_of(call: CallFolder) -> scoring.Scheme:
    """The call's scheme: its preset with call.toml's overrides."""
    if call.scheme is not None:
        return call.scheme
    return scoring.load_scheme(call.config.scheme, call.config.scheme_overrides or None)


def lot_rules(call: CallFolder) -> dict[str, scoring.LotRules]:
    """The call's lots as the scoring package's rules."""
    return {
        lot.id: scoring.LotRules(
            budget_eur=lot.budget_eur,
            one_per=lot.one_per,
            experts_per_proposal=call.experts_per_proposal(lot.id),
        )
        for lot in call.config.lots.values()
    }


CONFLICT_COLUMNS: dict[str, pl.DataType] = {
    "proposal_id": pl.String(),
    "expert_id": pl.String(),
    "reason": pl.String(),
    "detail": pl.String(),
}


def potential_conflicts_of(call: CallFolder) -> pl.DataFrame:
    """Likely but unconfirmed conflicts (e.g. similar organisation names with no id to confirm
    them), in the columns of :func:`conflicts_of`: a separate result, never an exclusion.
    ``assignment`` does not yet report such matches, so this is empty; it is the one place
    that reports them to the conflict report (:func:`conflict_report`)."""
    del call
    return pl.DataFrame(schema=CONFLICT_COLUMNS)


def conflict_report(call: CallFolder, *, today: dt.date | None = None) -> pl.DataFrame:
    """Every excluded pair with its reasons, and the potential conflicts marked as such:
    ``proposal_id, expert_id, reason, detail, potential`` (Boolean), sorted by ids, the hard
    exclusions of a pair before its potential ones."""
    hard = conflicts_of(call, today=today).select(
        pl.col(c).cast(t) for c, t in CONFLICT_COLUMNS.items()
    )
    likely = potential_conflicts_of(call).select(
        pl.col(c).cast(t) for c, t in CONFLICT_COLUMNS.items()
    )
    return pl.concat(
        [hard.with_columns(potential=pl.lit(False)), likely.with_columns(potential=pl.lit(True))]
    ).sort("proposal_id", "expert_id", "potential", maintain_order=True)
