"""``evalpanel assign``: experts to proposals, optimal, with a reason for every shortfall."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click
import polars as pl

import assignment
from assignment.explain import LOW_AFFINITY
from evalpanel.callfolder.config import TEXT_MODELS
from evalpanel.commands._output import echo_csv, progress_option, progress_reporter, write_table
from evalpanel.phases import PhaseTimer
from evalpanel.planning import (
    TextModelUnavailable,
    best_experts,
    explain,
    explanation_evidence,
    plan,
    quality,
)

EXIT_PARTIAL = 3
JSON_SAMPLE = 5  # explanations printed by --json (every one is in -o)


def _pairs_file(path: Path, invalid: type[Exception]) -> pl.DataFrame:
    """``proposal_id, expert_id`` (String) of a pairs CSV, or ``invalid`` naming the file."""
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
        raise invalid(f"{path}:1: cannot be read as CSV: {exc}") from None
    missing = [c for c in ("proposal_id", "expert_id") if c not in frame.columns]
    if missing:
        raise invalid(f"{path}:1: header: needs the column(s) {', '.join(missing)}")
    pairs = frame.select("proposal_id", "expert_id")
    empty = pairs.with_row_index("line").filter(
        pl.any_horizontal(pl.col("proposal_id", "expert_id").is_null())
    )
    if empty.height:
        raise invalid(f"{path}:{int(empty['line'][0]) + 2}: a pair needs both ids")
    return pairs


@click.command()
@click.argument("call_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "-k",
    "k",
    type=click.IntRange(min=1),
    default=None,
    help="Experts per proposal for every lot (default: call.toml, per lot).",
)
@click.option(
    "--mode",
    type=click.Choice(["max-total", "fair", "randomized"]),
    default="max-total",
    show_default=True,
    help="max-total: most total affinity; fair: raise the worst-covered proposal "
    "first; randomized: most expected affinity with each pair's probability "
    "capped at --q (against collusion).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Seed of the randomized mode's sample.",
)
@click.option(
    "--q",
    "q",
    type=click.FloatRange(min=0, max=1, min_open=True),
    default=0.5,
    show_default=True,
    help="Randomized mode: cap on any pair's probability.",
)
@click.option(
    "--diversity",
    is_flag=True,
    help="Avoid two experts of one nationality, then of one organisation, on a panel.",
)
@click.option(
    "--text-model",
    type=click.Choice(TEXT_MODELS),
    default=None,
    help="How proposal and profile texts are compared (default: call.toml's "
    "[assignment] text_model, else embeddings when installed, else tfidf).",
)
@click.option(
    "--low-affinity",
    type=click.FloatRange(min=0, max=1),
    default=LOW_AFFINITY,
    show_default=True,
    help="--json lists the proposals whose best eligible expert has a lower affinity "
    "(where to recruit).",
)
@click.option(
    "--pinned",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV of proposal_id, expert_id pairs that must be on the panels (counted in k).",
)
@click.option(
    "--existing",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV of proposal_id, expert_id pairs already assigned (a reassignment keeps them and "
    "fills the rest of k).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write proposal_id, expert_id, affinity, explanation rows here (.csv, .xlsx, "
    ".parquet) instead of standard output.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print a JSON summary: status, coverage, objective, minimum proposal "
    "affinity, shortfalls with reasons, the text model, field coverage and the proposals "
    "with a weak best expert, a sample of explanations, seconds.",
)
@progress_option
def assign(
    call_dir: Path,
    k: int | None,
    mode: str,
    seed: int,
    q: float,
    diversity: bool,
    text_model: str | None,
    low_affinity: float,
    pinned: Path | None,
    existing: Path | None,
    output: Path | None,
    as_json: bool,
    show_progress: bool,
) -> None:
    """Assign experts to the proposals of CALL_DIR.

    Every slot the conflicts of interest, languages and loads allow is covered first, then the
    objective of --mode is optimised. Exit 0 when every proposal got its experts, 3 when some
    demand could not be met (the rest is still assigned and written, and each shortfall is
    explained), 2 when the input is invalid.
    """
    from evalpanel.callfolder import CallFolder, CallFolderError
    from evalpanel.cli import InvalidInput, invalid_call, load_call

    def affinity_first(found: Exception) -> InvalidInput:
        """``found``, unless the affinity table read in the background has problems: those
        come first, as when the whole folder was read before anything else."""
        try:
            call.check_affinity()
        except CallFolderError as exc:
            return invalid_call(call_dir, exc)
        return found if isinstance(found, InvalidInput) else InvalidInput(f"{call_dir}: {found}")

    start = time.perf_counter()
    timer = PhaseTimer()
    with timer("read"):
        # the affinity matrix goes on being decoded while the conflicts are found; the plan's
        # affinity phase waits for it (see evalpanel.phases)
        # (no content hash: this run records no batch)
        call: CallFolder = load_call(call_dir, affinity_matrix=True, wait=False,
                                     hash_inputs=False)
        # what the explanations compare that does not depend on the pairs (text vectors, field
        # codes, keyword sets): computed, mostly in polars outside the interpreter lock, while
        # the conflicts are found and the instance solved
        background = ThreadPoolExecutor(max_workers=1)
        evidence = background.submit(explanation_evidence, call)
    try:
        with timer("read"):
            fixed = {name: _pairs_file(path, InvalidInput)
                     for name, path in (("pinned", pinned), ("existing", existing)) if path}
        prepared = plan(
            call, k=k, text_model=text_model, progress=progress_reporter(show_progress),
            timer=timer,
            pinned=fixed.get("pinned"), existing=fixed.get("existing"),
        )
        # each proposal's best eligible expert, which the JSON summary reports: one pass over
        # the matrix, in numpy outside the interpreter lock, while the instance is solved
        best = background.submit(best_experts, prepared) if as_json else None
        with timer("solve"):
            result = assignment.assign(prepared.instance, mode, q=q, seed=seed, diversity=diversity)
    except CallFolderError as exc:  # the affinity table's problems, found in the background
        raise invalid_call(call_dir, exc) from None
    except (InvalidInput, assignment.InstanceError, TextModelUnavailable) as exc:
        raise affinity_first(exc) from None
    finally:
        background.shutdown(wait=False)  # what was submitted still runs
    timer.move(result.timings.get("diagnostics", 0.0), "solve", "summary")
    timer.move(result.timings.get("certify", 0.0), "solve", "certify")
    with timer("summary"):
        explained = explain(call, prepared, result.pairs, evidence=evidence.result())
        # explain keeps the order of the pairs it is given
        rows = result.pairs.select(
            "proposal_id", "expert_id", pl.col("affinity").round(6),
        ).with_columns(explanation=explained["explanation"])
    with timer("write"):
        if output is not None:
            write_table(rows, output)
        elif not as_json:
            echo_csv(rows)
    if as_json:
        with timer("summary"):
            summary = result.to_json_dict()
            summary["solver_seconds"] = summary.pop("seconds")
            summary["affinity_source"] = prepared.affinity_source
            summary["conflicted_pairs"] = prepared.instance.conflicted_pair_count()
            summary["text_model"] = prepared.text_model
            summary["text_model_version"] = prepared.text_model_version
            summary["affinity_quality"] = quality(
                call, prepared, explained, low=low_affinity,
                best=best.result() if best is not None else None)
            summary["explanations_sample"] = rows.head(JSON_SAMPLE).to_dicts()
        summary["seconds"] = round(time.perf_counter() - start, 3)
        summary["phases"] = timer.rounded()
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo(
            f"{result.status}: {result.slots_filled} of {result.slots_demanded} slots, "
            f"total affinity {result.objective:.3f}, lowest panel "
            f"{result.min_proposal_affinity:.3f}, {result.seconds:.2f} s",
            err=True,
        )
        for message in result.messages:
            click.echo(message, err=True)
    if result.status != "complete":
        raise click.exceptions.Exit(EXIT_PARTIAL)
