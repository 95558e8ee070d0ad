"""Application services that compute: assignment batches, replacements, extra experts, ranking.

They read the stored call (:mod:`evalpanel.store`), run the pure packages and write the result
back through the store's services, which check permissions and audit every write. The dashboard
and the CLI call these; neither computes an assignment or a score itself.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import sqlalchemy as sa

import assignment
import scoring
from evalpanel import embeddings
from evalpanel.callfolder import CallFolder
from evalpanel.exclusion_view import ExclusionView
from evalpanel.planning import (
    TextModelUnavailable,
    conflicts_of,
    explain,
    likely_pairs,
    lot_rules,
    plan,
    potential_of,
    quality,
    scheme_of,
    text_model_of,
    text_model_version,
)
from evalpanel.store import (
    STARTED_STATES,
    Actor,
    InvalidInput,
    InvalidState,
    batch_record,
    call_folder,
    conflicted_tasks,
    create_batch,
    list_replacements,
    list_tasks,
    list_tie_orders,
    potential_decisions,
    propose_with,
    publish_batch,
    published_pairs,
    ranking_inputs,
    record_tie_order,
    rule_frames,
    submitted_rehearsal_scores,
)
from evalpanel.vocab import ReplacementState, TaskState

PAIR_KEYS = ["proposal_id", "expert_id"]
# proposals, partners, experts, declared conflicts: what the conflict rule takes
RuleFrames = tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]


EXPLANATION_COLUMNS = ["proposal_id", "expert_id", "explanation"]


@dataclass(frozen=True, slots=True)
class BatchRun:
    batch_id: int
    result: assignment.AssignmentResult
    explanations: pl.DataFrame  # assignment.explain.explain_pairs' frame, one row per pair
    quality: dict[str, Any]  # assignment.explain.affinity_quality


def stored_explanations(summary: dict[str, Any]) -> pl.DataFrame:
    """``proposal_id, expert_id, explanation`` of a batch from its stored summary (empty for
    batches stored before explanations were kept)."""
    return pl.DataFrame(
        summary.get("explanations") or [], schema=EXPLANATION_COLUMNS, orient="row"
    )


def _pairs_frame(rows: list[list[str]] | pl.DataFrame | None) -> pl.DataFrame | None:
    if rows is None:
        return None
    if isinstance(rows, pl.DataFrame):
        return rows.select(PAIR_KEYS)
    return pl.DataFrame(rows, schema=PAIR_KEYS, orient="row")


def _both(a: pl.DataFrame | None, b: pl.DataFrame | None) -> pl.DataFrame | None:
    frames = [f for f in (a, b) if f is not None and f.height]
    return pl.concat(frames).unique().sort(PAIR_KEYS) if frames else None


def store_backend(engine: sa.Engine) -> embeddings.EmbeddingBackend:
    """The bundled embedding model with the store's shared cache
    (:class:`evalpanel.store.embedding_cache.StoreVectorCache`, keyed by model and version)."""
    from evalpanel.store.embedding_cache import StoreVectorCache

    backend = embeddings.EmbeddingBackend(use_cache=False)
    backend.cache = StoreVectorCache(engine, f"{backend.model_name} {embeddings.model_version()}")
    return backend


def _backend(
    engine: sa.Engine, call: CallFolder, text_model: str | None
) -> embeddings.EmbeddingBackend | None:
    """The store-cached backend when the call's chosen model embeds, else None."""
    try:
        model = text_model_of(call, text_model)
    except TextModelUnavailable as exc:
        raise InvalidInput(str(exc)) from None
    return None if model == "tfidf" or call.has_affinity else store_backend(engine)


def _standing(engine: sa.Engine, actor: Actor, call_id: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """What a new batch must respect: the pairs whose task has started (accepted, draft or
    submitted: the expert's work stays, and counts in the panel and the expert's load), and the
    pairs whose expert declined (never proposed again). A started task whose pair the conflict
    rule now excludes is left out of the first: it is neither counted nor removed (the batch
    lists it as ``conflicted`` for the manager, see :func:`evalpanel.store.conflicted_tasks`)."""
    tasks = list_tasks(engine, actor, call_id)
    held = _held(engine, actor, call_id)

    def pairs(state: pl.Expr) -> pl.DataFrame:
        return tasks.filter(state).select(PAIR_KEYS).unique().sort(PAIR_KEYS)

    started = pairs(pl.col("state").is_in(STARTED_STATES)).join(held, on=PAIR_KEYS, how="anti")
    return started, pairs(pl.col("state") == TaskState.DECLINED)


def _held(engine: sa.Engine, actor: Actor, call_id: str) -> pl.DataFrame:
    """Active tasks the conflict rule now excludes (``proposal_id, expert_id``)."""
    return conflicted_tasks(engine, actor, call_id).select(PAIR_KEYS)


def _less_load(
    instance: assignment.AssignmentInstance, held: pl.DataFrame
) -> assignment.AssignmentInstance:
    """The instance with each expert's loads lowered by their ``held`` tasks: work the batch
    neither counts on a panel nor removes still takes the expert's time."""
    if held.is_empty():
        return instance
    index = {e: i for i, e in enumerate(instance.expert_ids.tolist())}
    cols = [index[e] for e in held["expert_id"].to_list() if e in index]
    used = np.bincount(np.asarray(cols, dtype=np.int64), minlength=instance.n_experts)
    max_load = np.maximum(instance.max_load - used, 0)
    return dataclasses.replace(
        instance, max_load=max_load, min_load=np.minimum(instance.min_load, max_load)
    )


def _decided(engine: sa.Engine, actor: Actor, call_id: str) -> pl.DataFrame:
    """The pairs whose potential conflict the manager confirmed or dismissed."""
    return potential_decisions(engine, actor, call_id).select(PAIR_KEYS).sort(PAIR_KEYS)


def run_batch(
    engine: sa.Engine,
    actor: Actor,
    call_id: str,
    *,
    mode: str = "max-total",
    k: int | None = None,
    seed: int = 0,
    q: float = 0.5,
    diversity: bool = False,
    pinned: pl.DataFrame | list[list[str]] | None = None,
    forbidden: pl.DataFrame | list[list[str]] | None = None,
    today: dt.date | None = None,
    text_model: str | None = None,
    progress: embeddings.Progress | None = None,
) -> BatchRun:
    """Solve the stored call and store the result as a preview batch (a change-set against what
    is published). Started tasks are kept and declined pairs are not proposed again
    (:func:`_standing`). The record holds everything needed to reproduce it (the text model and
    its version included), and the summary each pair's explanation and the affinity quality.
    ``text_model`` overrides the call's (:func:`evalpanel.planning.text_model_of`); texts are
    embedded once, through the store's cache, reporting ``progress(done, total)``."""
    call = call_folder(engine, actor, call_id)
    day = today or dt.date.today()
    pin, forbid = _pairs_frame(pinned), _pairs_frame(forbidden)
    kept, declined = _standing(engine, actor, call_id)
    decided = _decided(engine, actor, call_id)
    held = _held(engine, actor, call_id)
    if pin is not None:  # a started task is already on its panel
        pin = pin.join(kept, on=PAIR_KEYS, how="anti")
    try:
        prepared = plan(
            call,
            k=k,
            today=day,
            pinned=pin,
            forbidden=_both(forbid, declined),
            existing=kept if kept.height else None,
            decided=decided,
            text_model=text_model,
            backend=_backend(engine, call, text_model),
            progress=progress,
        )
        result = assignment.assign(
            _less_load(prepared.instance, held), mode, q=q, seed=seed, diversity=diversity
        )
    except (assignment.InstanceError, TextModelUnavailable) as exc:
        raise InvalidInput(str(exc)) from None
    explained = explain(call, prepared, result.pairs)
    readable = quality(call, prepared, explained)
    parameters: dict[str, Any] = {
        "mode": mode,
        "k": k,
        "q": q,
        "seed": seed,
        "diversity": diversity,
        "today": day.isoformat(),
        "affinity": prepared.affinity_source,
        "text_model": prepared.text_model,
        "text_model_version": prepared.text_model_version,
        "pinned": [] if pin is None else pin.rows(),
        "forbidden": [] if forbid is None else forbid.rows(),
        "kept": kept.rows(),
        "declined": declined.rows(),
        "potential_decided": decided.rows(),
        "held": held.rows(),
    }
    batch_id = create_batch(
        engine,
        actor,
        call_id,
        result.pairs.select(*PAIR_KEYS, "affinity"),
        solver=f"ortools-{mode}",
        parameters=parameters,
        seed=seed,
        summary={
            **result.to_json_dict(),
            "affinity_quality": readable,
            "explanations": explained.select(EXPLANATION_COLUMNS).rows(),
        },
        elapsed_s=result.seconds,
        inputs_hash=call.content_hash,
    )
    return BatchRun(batch_id, result, explained, readable)


def reproduce_batch(engine: sa.Engine, actor: Actor, batch_id: int) -> tuple[bool, pl.DataFrame]:
    """Re-run a batch from its record; (same pairs?, the pairs obtained now)."""
    record = batch_record(engine, actor, batch_id)
    params = record.parameters
    if params.get("purpose") == EXTRA:
        raise InvalidInput(
            f"batch {batch_id} adds further experts to divergent proposals; it depends on the "
            "scores submitted at the time and is not reproduced"
        )
    call = call_folder(engine, actor, record.call_id)
    if call.content_hash != record.inputs_hash:
        raise InvalidInput(
            f"batch {batch_id} was made from other inputs than the stored call's "
            "(the call was re-imported since); it cannot be reproduced"
        )
    model = params.get("text_model", "tfidf")  # batches before the choice used TF-IDF
    version = text_model_version(model)
    recorded = params.get("text_model_version", version)
    if recorded != version:
        raise InvalidInput(
            f"batch {batch_id} was made with the text model {model} {recorded}; this "
            f"installation has {version}: install that version to reproduce it"
        )
    try:
        prepared = plan(
            call,
            k=params["k"],
            today=dt.date.fromisoformat(params["today"]),
            pinned=_pairs_frame(params["pinned"] or None),
            forbidden=_both(
                _pairs_frame(params["forbidden"] or None),
                _pairs_frame(params.get("declined") or None),
            ),
            existing=_pairs_frame(params.get("kept") or None),
            decided=_pairs_frame(params.get("potential_decided") or None),
            text_model=model,
            backend=_backend(engine, call, model),
        )
    except TextModelUnavailable as exc:
        raise InvalidInput(f"batch {batch_id} cannot be reproduced here: {exc}") from None
    held = _pairs_frame(params.get("held") or None)
    result = assignment.assign(
        prepared.instance if held is None else _less_load(prepared.instance, held),
        params["mode"],
        q=params["q"],
        seed=params["seed"],
        diversity=params["diversity"],
    )
    now = result.pairs.select(PAIR_KEYS).sort(PAIR_KEYS)
    then = record.pairs.select(PAIR_KEYS).sort(PAIR_KEYS)
    return now.equals(then), now


def conflict_table(
    engine: sa.Engine, actor: Actor, call_id: str, *, call: CallFolder | None = None
) -> pl.DataFrame:
    """Every excluded pair of the stored call with its reason(s). ``call``: the stored call
    already read by the caller (as for :func:`rank_call`)."""
    return conflicts_of(call or call_folder(engine, actor, call_id))


def potential_conflict_table(
    engine: sa.Engine,
    actor: Actor,
    call_id: str,
    *,
    call: CallFolder | None = None,
    excluded: pl.DataFrame | None = None,
    frames: RuleFrames | None = None,
) -> pl.DataFrame:
    """The stored call's potential conflicts still to decide (``proposal_id, expert_id,
    reason, detail``): likely organisation matches by name with no id to confirm them, not
    excluded for another reason, neither confirmed nor dismissed yet (managers of the call).
    ``call`` and ``excluded``: the stored call and its :func:`conflict_table` already computed
    by the caller (without ``excluded``, the rule is applied to the likely pairs only);
    ``frames``: instead of ``call``, the rule's frames of the call
    (:func:`evalpanel.store.rule_frames`) already read by the caller."""
    decided = _decided(engine, actor, call_id)
    if call is None:  # the rule's few columns are read, not the whole call folder
        return likely_pairs(*(frames or rule_frames(engine, actor, call_id)), decided)
    return potential_of(call, excluded, decided)


def stored_conflicts(
    engine: sa.Engine,
    actor: Actor,
    call_id: str,
    *,
    frames: RuleFrames | None = None,
    today: dt.date | None = None,
) -> assignment.Conflicts:
    """The conflict rule applied to the whole stored call on ``today`` (default: today), as
    integers (:func:`assignment.conflict_set`, proposals and experts in id order), with the
    defaults the store's checks use (:func:`evalpanel.store.exclusions.excluded`). ``frames``:
    the rule's frames of the call (:func:`evalpanel.store.rule_frames`) already read by the
    caller."""
    return assignment.conflict_set(*(frames or rule_frames(engine, actor, call_id)),
                                   today=today or dt.date.today())


def exclusion_view(
    engine: sa.Engine,
    actor: Actor,
    call_id: str,
    *,
    frames: RuleFrames | None = None,
    conflicts: assignment.Conflicts | None = None,
) -> ExclusionView:
    """The stored call's excluded pairs counted by reason and built a page at a time
    (:class:`evalpanel.exclusion_view.ExclusionView`); the rows of :func:`conflict_table`.
    ``frames``: the rule's frames of the call (:func:`evalpanel.store.rule_frames`), or
    ``conflicts``: the rule's result (:func:`stored_conflicts`), already computed by the
    caller."""
    return ExclusionView.of_set(
        conflicts or stored_conflicts(engine, actor, call_id, frames=frames))


def rank_call(
    engine: sa.Engine, actor: Actor, call_id: str, *, call: CallFolder | None = None
) -> scoring.ScoreResult:
    """The call's decisions from submitted evaluations, final consolidations and the managers'
    recorded orders of ex-aequo proposals (shown in ``tie_order_note``), all read in one
    transaction. ``call``: the stored call already read by the caller; its scheme and lots are
    used (the data still come from the one snapshot)."""
    inputs = ranking_inputs(engine, actor, call_id)
    rules = call or inputs.call
    return scoring.score_call(
        inputs.scores,
        scheme_of(rules),
        inputs.call.proposals,
        lot_rules(rules),
        inputs.consensus if inputs.consensus.height else None,
        tie_orders=[scoring.TieOrder(lot, ids, note) for lot, ids, note in inputs.tie_orders],
    )


def ex_aequo_groups(result: scoring.ScoreResult) -> list[tuple[str, int, list[str]]]:
    """``(lot, shared rank, proposal ids)`` of every tie no recorded order resolves."""
    tied = result.proposals.filter(pl.col("tied").fill_null(False))
    groups = tied.group_by("lot", "rank", maintain_order=True).agg("proposal_id")
    return [(str(lot), int(rank), list(ids)) for lot, rank, ids in groups.iter_rows()]


def order_ties(
    engine: sa.Engine,
    actor: Actor,
    call_id: str,
    lot_id: str,
    proposal_ids: list[str],
    justification: str,
) -> int:
    """Record a manager's order (best first) of proposals that are ex aequo now: exactly the
    proposals of one tie of ``lot_id`` in the current ranking. Returns the order's id."""
    current = rank_call(engine, actor, call_id)
    wanted = set(proposal_ids)
    placed = set(current.proposals.filter(pl.col("tie_order_note").is_not_null())["proposal_id"])
    for lot, ids in list_tie_orders(engine, actor, call_id).select(
        "lot_id", "proposal_ids"
    ).iter_rows():
        if lot == lot_id and set(ids) == wanted and wanted <= placed:  # re-ordering an order
            return record_tie_order(engine, actor, call_id, lot_id, proposal_ids, justification)
    for lot, rank, ids in ex_aequo_groups(current):
        if lot == lot_id and set(ids) == wanted and len(ids) == len(proposal_ids):
            return record_tie_order(engine, actor, call_id, lot_id, proposal_ids, justification)
        if lot == lot_id and wanted & set(ids):
            raise InvalidInput(
                f"the proposals tied at rank {rank} of lot {lot_id} are {', '.join(ids)}: "
                "order all of them, and only them"
            )
    raise InvalidState(
        f"{', '.join(proposal_ids)} are not ex aequo in lot {lot_id} now (their scores or "
        "tie-break criteria differ, or an order is already applied): nothing to order"
    )


def reliability_report(
    engine: sa.Engine,
    actor: Actor,
    call_id: str,
    *,
    call: CallFolder | None = None,
    ranked: scoring.ScoreResult | None = None,
) -> scoring.ReliabilityReport:
    """Agreement and expert leniency (advisory). ``call`` and ``ranked``: the stored call and
    its :func:`rank_call` already computed by the caller."""
    call = call or call_folder(engine, actor, call_id)
    if ranked is None:
        ranked = rank_call(engine, actor, call_id, call=call)
    return scoring.reliability(ranked, call.proposals, lot_rules(call))


EXTRA = "further experts"  # the ``purpose`` parameter of a further-expert change-set


def preview_extra_experts(engine: sa.Engine, actor: Actor, call_id: str) -> BatchRun | None:
    """A preview change-set adding one task to each proposal whose experts diverge, with the best
    eligible expert that has a free slot; every existing task is kept (a task the conflict rule
    now excludes is not counted: see :func:`_standing`). None when no proposal needs one. The
    manager publishes it (all or nothing) with :func:`evalpanel.store.publish_batch`, or
    discards it."""
    needy = rank_call(engine, actor, call_id).proposals.filter(pl.col("needs_expert"))
    if needy.is_empty():
        return None
    call = call_folder(engine, actor, call_id)
    _, declined = _standing(engine, actor, call_id)
    held = _held(engine, actor, call_id)
    current = (
        published_pairs(engine, actor, call_id)
        .select(PAIR_KEYS)
        .unique()
        .join(held, on=PAIR_KEYS, how="anti")
        .sort(PAIR_KEYS)
    )
    try:
        prepared = plan(
            call,
            existing=current,
            forbidden=declined if declined.height else None,
            decided=_decided(engine, actor, call_id),
            backend=_backend(engine, call, None),
        )
        inst = _less_load(prepared.instance, held)
        panel = np.bincount(inst.existing[:, 0], minlength=inst.n_proposals).astype(np.int64)
        wants = np.isin(inst.proposal_ids, needy["proposal_id"].to_numpy())
        k = panel + wants.astype(np.int64)  # only the divergent proposals get another expert
        result = assignment.assign(dataclasses.replace(inst, k=k), "max-total")
    except (assignment.InstanceError, TextModelUnavailable) as exc:
        raise InvalidInput(str(exc)) from None
    explained = explain(call, prepared, result.pairs)
    readable = quality(call, prepared, explained)
    batch_id = create_batch(
        engine,
        actor,
        call_id,
        result.pairs.select(*PAIR_KEYS, "affinity"),
        solver="ortools-max-total",
        parameters={
            "purpose": EXTRA,
            "mode": "max-total",
            "proposals": sorted(needy["proposal_id"].to_list()),
            "kept": current.rows(),
            "held": held.rows(),
        },
        seed=None,
        summary={
            **result.to_json_dict(),
            "affinity_quality": readable,
            "explanations": explained.select(EXPLANATION_COLUMNS).rows(),
        },
        elapsed_s=result.seconds,
        inputs_hash=call.content_hash,
        origin="extra",
    )
    return BatchRun(batch_id, result, explained, readable)


def add_extra_experts(engine: sa.Engine, actor: Actor, call_id: str) -> list[int]:
    """:func:`preview_extra_experts` and publish it at once; returns the new task ids."""
    run = preview_extra_experts(engine, actor, call_id)
    if run is None:
        return []
    publish_batch(engine, actor, run.batch_id, call_id=call_id)
    tasks = list_tasks(engine, actor, call_id)
    return sorted(tasks.filter(pl.col("batch_id") == run.batch_id)["task_id"].to_list())


def _replacement_solver(
    call: CallFolder, pending: pl.DataFrame, published: pl.DataFrame, decided: pl.DataFrame
) -> pl.DataFrame:
    declined = pending.select(PAIR_KEYS)
    current = pl.concat([published.select(PAIR_KEYS), declined]).unique().sort(PAIR_KEYS)
    inst = plan(call, decided=decided).instance
    repaired = assignment.reassign(inst, current, declined=declined)
    added = repaired.added.sort(PAIR_KEYS).with_columns(
        slot=pl.int_range(pl.len()).over("proposal_id")
    )
    requests = pending.sort("replacement_id").with_columns(
        slot=pl.int_range(pl.len()).over("proposal_id")
    )
    return (
        requests.select("replacement_id", "proposal_id", "slot")
        .join(added, on=["proposal_id", "slot"])
        .select("replacement_id", *PAIR_KEYS, "affinity")
    )


def propose_replacements(engine: sa.Engine, actor: Actor, call_id: str) -> int:
    """Propose a replacement expert for every pending decline or new conflict, changing only
    those pairs; the manager confirms each. Returns how many requests got a proposal."""
    if list_replacements(engine, actor, call_id, state=ReplacementState.PENDING).is_empty():
        return 0
    decided = _decided(engine, actor, call_id)
    return len(
        propose_with(
            engine,
            actor,
            call_id,
            lambda call, pending, published: _replacement_solver(
                call, pending, published, decided
            ),
        )
    )


def rehearsal_report(engine: sa.Engine, actor: Actor, rehearsal_id: int) -> scoring.MockReport:
    """The mock-evaluation report of a rehearsal from its scorers' submitted scores, for the
    applicant who made it; refused with :class:`InvalidState` while nobody has submitted."""
    scheme_id, scores = submitted_rehearsal_scores(engine, actor, rehearsal_id)
    if scores.is_empty():
        raise InvalidState(
            f"no scorer of rehearsal {rehearsal_id} has submitted yet; the report needs at "
            "least one submitted evaluation"
        )
    return scoring.mock_report(scores, scoring.load_scheme(scheme_id))
