"""``evalpanel batch run|show|publish``: assignment batches on a stored call, from a script.

``run`` solves the stored call and keeps the result as a preview (a change-set against the
published assignment: pairs added, kept, removed); ``show`` prints a batch's record, change-set
and diagnostics; ``publish`` turns the preview into tasks in one transaction, and is refused
(exit 2, with the reason) when the batch is stale or would create a conflicted task. Every step
acts as the local operator and is audit-logged by the store.
"""

from __future__ import annotations

import json
from typing import Any

import click
import polars as pl

from evalpanel.callfolder.config import TEXT_MODELS
from evalpanel.commands._database import db_option, open_engine, refusals
from evalpanel.commands._output import progress_option, progress_reporter
from evalpanel.vocab import BatchState

EXIT_PARTIAL = 3
CHANGES = ("added", "kept", "removed")


def _counts(changes: pl.DataFrame) -> dict[str, int]:
    found = dict(changes.group_by("change").len().iter_rows())
    return {change: int(found.get(change, 0)) for change in CHANGES}


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


@click.group(name="batch")
def batch() -> None:
    """Run, inspect and publish assignment batches of a stored call (see `evalpanel import`).

    Each subcommand acts on the embedded database unless --db URL is given, as the local
    operator; every change is written to the audit log.
    """


@batch.command(name="run")
@click.argument("call_id")
@click.option("-k", "k", type=click.IntRange(min=1), default=None,
              help="Experts per proposal for every lot (default: the call's, per lot).")
@click.option("--mode", type=click.Choice(["max-total", "fair", "randomized"]),
              default="max-total", show_default=True,
              help="max-total: most total affinity; fair: raise the worst-covered proposal "
              "first; randomized: most expected affinity with each pair's probability capped.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the randomized mode's sample (recorded with the batch).")
@click.option("--q", "q", type=click.FloatRange(min=0, max=1, min_open=True), default=0.5,
              show_default=True, help="Randomized mode: cap on any pair's probability.")
@click.option("--diversity", is_flag=True,
              help="Avoid two experts of one nationality, then of one organisation, on a panel.")
@click.option("--text-model", type=click.Choice(TEXT_MODELS), default=None,
              help="How proposal and profile texts are compared (default: call.toml's "
              "[assignment] text_model, else embeddings when installed, else tfidf).")
@click.option("--json", "as_json", is_flag=True,
              help="Print batch_id, status, the change-set counts and the diagnostics as JSON.")
@progress_option
@db_option
def run(call_id: str, k: int | None, mode: str, seed: int, q: float, diversity: bool,
        text_model: str | None, as_json: bool, show_progress: bool, url: str | None) -> None:
    """Solve the stored call CALL_ID and keep the result as a preview batch.

    Started tasks are kept and declined pairs never proposed again. Exit 0 when every proposal
    got its experts, 3 when some demand could not be met (the batch is still made, each
    shortfall explained), 2 when the call is unknown or cannot be assigned.
    """
    from evalpanel.store import SYSTEM, batch_changes
    from evalpanel.workflow import run_batch

    engine = open_engine(url)
    with refusals("batch run"):
        made = run_batch(engine, SYSTEM, call_id, mode=mode, k=k, seed=seed, q=q,
                         diversity=diversity, text_model=text_model,
                         progress=progress_reporter(show_progress))
        counts = _counts(batch_changes(engine, SYSTEM, made.batch_id))
    result = made.result
    if as_json:
        summary = result.to_json_dict()
        summary.pop("pairs", None)
        click.echo(json.dumps({"batch_id": made.batch_id, "call_id": call_id,
                               "batch_status": BatchState.PREVIEW, **summary, "changes": counts,
                               "affinity_quality": made.quality},
                              indent=2, default=str))
    else:
        click.echo(
            f"batch {made.batch_id} of {call_id} (preview): {result.status}, "
            f"{result.slots_filled} of {result.slots_demanded} slots, total affinity "
            f"{result.objective:.3f}; changes: "
            + ", ".join(f"{counts[c]} {c}" for c in CHANGES)
        )
        for message in result.messages:
            click.echo(message, err=True)
        click.echo(f"review it with `evalpanel batch show {made.batch_id}`, publish it with "
                   f"`evalpanel batch publish {made.batch_id}`", err=True)
    if result.status != "complete":
        raise click.exceptions.Exit(EXIT_PARTIAL)


@batch.command(name="show")
@click.argument("batch_id", type=int)
@click.option("--json", "as_json", is_flag=True,
              help="Print the record, the change-set and the diagnostics as JSON.")
@db_option
def show(batch_id: int, as_json: bool, url: str | None) -> None:
    """The record of batch BATCH_ID, its change-set and the solver's diagnostics."""
    from evalpanel.store import SYSTEM, batch_changes, batch_record

    engine = open_engine(url)
    with refusals("batch show"):
        record = batch_record(engine, SYSTEM, batch_id)
        changes = batch_changes(engine, SYSTEM, batch_id)
    summary = dict(record.summary)
    info = {key: _iso(getattr(record, key)) for key in (
        "batch_id", "call_id", "status", "solver", "seed", "parameters", "inputs_hash",
        "base_hash", "created_at", "published_at", "elapsed_s")}
    if as_json:
        click.echo(json.dumps({**info, "changes": _counts(changes),
                               "change_set": changes.to_dicts(), "diagnostics": summary},
                              indent=2, default=str))
        return
    counts = _counts(changes)
    click.echo(f"batch {batch_id} of {info['call_id']}: {info['status']}, solver "
               f"{info['solver']}, seed {info['seed']}, made {info['created_at']}"
               + (f", published {info['published_at']}" if info["published_at"] else ""))
    click.echo("  parameters: " + json.dumps(info["parameters"], sort_keys=True, default=str))
    click.echo(f"  {summary.get('status', '?')}: {summary.get('slots_filled', '?')} of "
               f"{summary.get('slots_demanded', '?')} slots, coverage "
               f"{summary.get('coverage', '?')}, objective {summary.get('objective', '?')}")
    for message in summary.get("messages", []):
        click.echo(f"  {message}")
    for shortfall in summary.get("shortfalls", []):
        click.echo("  shortfall: " + ", ".join(f"{k} {v}" for k, v in shortfall.items()))
    click.echo("  changes: " + ", ".join(f"{counts[c]} {c}" for c in CHANGES))
    for proposal_id, expert_id, affinity, change in changes.sort(
        "change", "proposal_id", "expert_id"
    ).iter_rows():
        shown = "" if affinity is None else f" {affinity:.3f}"
        click.echo(f"  {change:<8} {proposal_id} {expert_id}{shown}")


@batch.command(name="publish")
@click.argument("batch_id", type=int)
@db_option
def publish(batch_id: int, url: str | None) -> None:
    """Publish the preview batch BATCH_ID: its added pairs become tasks, its removed pairs'
    tasks are withdrawn, in one transaction.

    Exit 2 with the reason when the batch is not a preview, is stale (the published assignment
    or the conflicts changed since it was made: run a new batch), or would create a task on a
    conflicted pair.
    """
    from evalpanel.store import SYSTEM, publish_batch

    engine = open_engine(url)
    with refusals(f"batch publish: batch {batch_id} was not published"):
        counts = publish_batch(engine, SYSTEM, batch_id)
    click.echo(f"published batch {batch_id}: "
               + ", ".join(f"{counts.get(c, 0)} {c}" for c in CHANGES))
