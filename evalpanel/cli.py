"""The ``evalpanel`` command line: one group, one module per command under ``commands/``.

Exit statuses: 0 success, 2 invalid input (with every problem located as ``file:line: column:
problem``), 3 assignment demand that could not be met, 1 an unexpected internal error (reported
in one line; set ``EVALPANEL_DEBUG=1`` for the traceback).
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any, ClassVar

import click

from evalpanel import __version__
from evalpanel.callfolder import CallFolder, CallFolderError, read_call
from evalpanel.callfolder.problems import count, report


class InvalidInput(click.ClickException):
    """Bad input: print every problem, exit 2."""

    exit_code = 2

    def show(self, file: object = None) -> None:
        click.echo(self.message, err=True)


def load_call(
    path: str | Path, *, affinity_matrix: bool = False, wait: bool = True,
    hash_inputs: bool = True,
) -> CallFolder:
    """Read a call folder or raise :class:`InvalidInput` with every problem;
    ``affinity_matrix``: an ``affinity.parquet`` is read as the matrix, ``wait=False``: still
    being read when the call is returned (see ``read_call``; then :func:`invalid_call` words
    its problems), ``hash_inputs=False``: no ``content_hash``, for a run that records none."""
    try:
        return read_call(path, affinity_matrix=affinity_matrix, wait=wait,
                         hash_inputs=hash_inputs)
    except CallFolderError as exc:
        raise invalid_call(path, exc) from None


def invalid_call(path: str | Path, exc: CallFolderError) -> InvalidInput:
    """Every problem of the call folder at ``path``, located, and what it means."""
    n = count(exc.problems)
    lines = report(exc.problems, Path(path))
    lines.append(f"{path}: {n:,} problem{'s' if n != 1 else ''} found; nothing was used")
    return InvalidInput("\n".join(lines))


def load_documents(path: str | Path, call: CallFolder) -> list[Any]:
    """The checked documents of a valid call folder (``documents/<proposal_id>/*.pdf``), or
    :class:`InvalidInput` with every problem."""
    from evalpanel.documents import limits_of, scan_documents

    folder = Path(path)
    config = folder / "call.toml"
    limits, problems = limits_of(config.read_text(encoding="utf-8-sig"))
    files, found = scan_documents(folder, call.proposals["proposal_id"].to_list(), limits)
    problems += found
    if problems:
        lines = [str(p.relocated(folder)) for p in problems]
        n = len(problems)
        lines.append(f"{path}: {n} problem{'s' if n != 1 else ''} found; nothing was used")
        raise InvalidInput("\n".join(lines))
    return files


def describe(call: CallFolder) -> str:
    """A few lines on what a call holds."""
    cfg = call.config
    per_lot = call.proposals.group_by("lot").len().sort("lot")
    counts = dict(per_lot.iter_rows())
    lines = [
        f"call {cfg.id}: {cfg.title}",
        f"  scheme {cfg.scheme}, {cfg.experts_per_proposal} experts per proposal"
        + (f", deadline {cfg.deadline}" if cfg.deadline else ""),
    ]
    for lot in cfg.lots.values():
        extra = f", one funded per {lot.one_per}" if lot.one_per else ""
        if lot.max_grant_eur is not None:
            extra += f", at most EUR {lot.max_grant_eur:,.0f} per proposal"
        lines.append(
            f"  lot {lot.id}: {counts.get(lot.id, 0)} proposals, budget "
            f"EUR {lot.budget_eur:,.0f}{extra}" + (f" ({lot.title})" if lot.title else "")
        )
    lines.append(
        f"  {call.partners.height} partner rows, {call.experts.height} experts, "
        f"{call.conflicts.height} declared conflicts"
    )
    if call.has_affinity:
        lines.append(f"  {call.affinity_count} affinity rows")
    if call.scores is not None:
        n_eval = call.scores.select("proposal_id", "expert_id").unique().height
        lines.append(f"  {call.scores.height} scores in {n_eval} evaluations")
    return "\n".join(lines)


class LazyGroup(click.Group):
    """Imports a command's module only when that command runs (or help lists it), so that
    `evalpanel assign` does not pay for the database layer and `evalpanel import` not for the
    solver."""

    commands_by_name: ClassVar[dict[str, str]] = {
        "assign": "evalpanel.commands.assign:assign",
        "batch": "evalpanel.commands.batch:batch",
        "conflicts": "evalpanel.commands.conflicts:conflicts",
        "dashboard": "evalpanel.commands.dashboard:dashboard",
        "demo": "evalpanel.commands.demo:demo",
        "export": "evalpanel.commands.export:export",
        "import": "evalpanel.commands.importing:import_",
        "notify": "evalpanel.commands.notify:notify",
        "report": "evalpanel.commands.report:report",
        "score": "evalpanel.commands.score:score",
        "task": "evalpanel.commands.tasks:task",
        "user": "evalpanel.commands.users:user",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.commands_by_name])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self.commands_by_name.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module, attr = target.split(":")
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evalpanel")
def cli() -> None:
    """Evaluation scoring and reviewer assignment for competitive grant calls.

    A call is a folder of CSV/XLSX/Parquet files with a call.toml (see README). Start with
    `evalpanel demo`, which runs a whole Erasmus+ Alliances for Innovation call.
    """


@cli.command()
@click.argument("call_dir", type=click.Path(file_okay=False, path_type=Path))
def validate(call_dir: Path) -> None:
    """Check the call folder CALL_DIR and report every problem.

    Exit 0 when the folder is valid, 2 when it is not; each problem is printed as
    file:line: column: problem.
    """
    call = load_call(call_dir, affinity_matrix=True)
    files = load_documents(call_dir, call)
    click.echo(describe(call))
    if files:
        click.echo(f"  {len(files)} documents of {len({f.proposal_id for f in files})} proposals")
    click.echo(f"{call_dir}: valid")


def _run() -> int:
    """Run the command line; the exit status. No traceback reaches the user unless
    EVALPANEL_DEBUG is set."""
    try:
        status = cli.main(standalone_mode=False)  # an Exit(n) comes back as n
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except Exception as exc:
        if os.environ.get("EVALPANEL_DEBUG"):
            raise
        click.echo(
            f"evalpanel: internal error: {type(exc).__name__}: {exc} "
            "(set EVALPANEL_DEBUG=1 to see where)",
            err=True,
        )
        return 1
    return status if isinstance(status, int) else 0


def main() -> None:
    """Console entry point.

    A command that never loaded the store ends at once after flushing its output: it has no
    database connection to close (SQLite's WAL files are tidied when a connection closes), and
    the orderly teardown of the extension modules it used (OR-Tools, polars) takes 0.2 s.
    """
    status = _run()
    if "sqlalchemy" in sys.modules:
        sys.exit(status)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):  # the reader went away, or the stream was closed
        pass
    os._exit(status)


if __name__ == "__main__":
    main()
