"""``evalpanel demo``: the demo call's whole evaluation, recorded in the embedded database."""

from __future__ import annotations

import click
import polars as pl

from evalpanel.demo import DemoSummary, run_demo
from evalpanel.store import StoreError, default_url
from evalpanel.workflow import ex_aequo_groups


def _lot_lines(summary: DemoSummary) -> list[str]:
    table = summary.result.proposals
    lines = []
    for lot in sorted(table["lot"].unique().to_list()):
        rows = table.filter(pl.col("lot") == lot)
        funded = rows.filter(pl.col("decision") == "funded").sort("rank")
        reserve = rows.filter(pl.col("decision") == "reserve").sort("reserve_position")
        rejected = rows.filter(pl.col("decision") == "rejected").height
        euros = funded["requested_eur"].sum()
        lines.append(
            f"  {lot}: {rows.height} proposals, {funded.height} funded "
            f"(EUR {euros:,.0f}), {reserve.height} on the reserve list, "
            f"{rejected} rejected"
        )
        lines.append(
            "    funded:  "
            + ", ".join(
                f"{p} ({t:.1f})" for p, t in funded.select("proposal_id", "total").iter_rows()
            )
        )
        head = reserve.head(5).select("proposal_id", "total").iter_rows()
        more = f", ... {reserve.height - 5} more" if reserve.height > 5 else ""
        lines.append("    reserve: " + ", ".join(f"{p} ({t:.1f})" for p, t in head) + more)
        ties = [
            f"rank {rank}: {', '.join(ids)}"
            for lot_of, rank, ids in ex_aequo_groups(summary.result)
            if lot_of == lot
        ]
        if ties:
            lines.append(
                "    ex aequo (a manager may record their order on the Ranking page): "
                + "; ".join(ties)
            )
    return lines


@click.command()
@click.option(
    "--db",
    "url",
    metavar="URL",
    help="Database URL (default: the embedded SQLite file, $EVALPANEL_DB or "
    "./evalpanel.sqlite). Only an empty or a former demo database is accepted.",
)
def demo(url: str | None) -> None:
    """Run the demo call (Erasmus+ Alliances for Innovation 2026) end to end.

    Imports the call, creates the demo accounts, assigns experts and publishes the batch,
    repairs a few declines, loads the demo evaluations, brings in a further expert for each
    divergent proposal, consolidates, and ranks each lot against its budget.
    """
    from evalpanel.cli import InvalidInput

    target = url or default_url()
    click.echo(f"Building the demo call into {target} ...")
    try:
        summary = run_demo(target, progress=lambda step: click.echo(f"  done: {step}"))
    except StoreError as exc:
        raise InvalidInput(f"evalpanel demo: {exc}") from None
    result = summary.result
    passed = int(result.proposals["passed"].sum())
    n_experts = sum(1 for name in summary.accounts if name.startswith("expert"))
    lines = [
        "",
        f"Call {summary.call_id}: {result.proposals.height} proposals, {summary.tasks} tasks "
        f"(batch {summary.batch_id} published), {len(summary.declined)} declines reassigned "
        f"({', '.join(f'{p}: {a} -> {b}' for p, a, b in summary.declined)}), "
        f"{summary.extra_tasks} further experts for divergent proposals, "
        f"{summary.consolidated} consolidations.",
        f"{passed} proposals pass the thresholds of {result.scheme.id}.",
        "Ranking per lot:",
        *_lot_lines(summary),
        "",
        f"Demo accounts (password 'demo'): manager, expert1 ... expert{n_experts}, applicant",
        f"Open the dashboard: evalpanel dashboard --db {summary.url}",
    ]
    click.echo("\n".join(lines))
