"""``evalpanel task add|remove``: one manual change to a stored call's assignment."""

from __future__ import annotations

import click

from evalpanel.commands._database import db_option, open_engine, refusals


@click.group(name="task")
def task() -> None:
    """Add or withdraw one expert's task on one proposal of a stored call, as the local
    operator (audit-logged); checked like a batch (conflicts, loads)."""


@task.command(name="add")
@click.argument("call_id")
@click.argument("proposal_id")
@click.argument("expert_id")
@db_option
def add(call_id: str, proposal_id: str, expert_id: str, url: str | None) -> None:
    """Give EXPERT_ID a task on PROPOSAL_ID and print its task id.

    Exit 2 with the reason for an excluded pair (a conflict of interest), an expert at their
    maximum load, a pair that already has an active task, or an unknown call, proposal or
    expert.
    """
    from evalpanel.store import SYSTEM, add_task

    engine = open_engine(url)
    with refusals("task add"):
        task_id = add_task(engine, SYSTEM, call_id, proposal_id, expert_id, origin="manual")
    click.echo(f"added task {task_id}: {expert_id} on {proposal_id} of {call_id}", err=True)
    click.echo(task_id)


@task.command(name="remove")
@click.argument("call_id")
@click.argument("proposal_id")
@click.argument("expert_id")
@db_option
def remove(call_id: str, proposal_id: str, expert_id: str, url: str | None) -> None:
    """Withdraw EXPERT_ID's active task on PROPOSAL_ID (it stays on record as withdrawn).

    Exit 2 with the reason when there is no such active task or its evaluation is submitted.
    """
    from evalpanel.store import SYSTEM, withdraw_task

    engine = open_engine(url)
    with refusals("task remove"):
        task_id = withdraw_task(engine, SYSTEM, call_id, proposal_id, expert_id)
    click.echo(f"withdrew task {task_id}: {expert_id} on {proposal_id} of {call_id}")
