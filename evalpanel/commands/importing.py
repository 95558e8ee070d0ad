"""``evalpanel import``: a checked call folder into the database, in one transaction."""

from __future__ import annotations

from pathlib import Path

import click

from evalpanel.store import AlreadyImported, StoreError, default_url, import_call, make_engine


@click.command(name="import")
@click.argument("call_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--db",
    "url",
    metavar="URL",
    help="Database URL (default: the embedded SQLite file, $EVALPANEL_DB or "
    "./evalpanel.sqlite); e.g. postgresql+psycopg://user@host/evalpanel.",
)
@click.option(
    "--replace",
    is_flag=True,
    help="Update a call imported before (rows matched by id; refused for proposals "
    "or experts that already have tasks).",
)
def import_(call_dir: Path, url: str | None, replace: bool) -> None:
    """Check CALL_DIR, then store the call in one transaction.

    Exit 0 when imported, 2 when the folder is invalid or the call exists already (the
    database is then left unchanged).
    """
    from evalpanel.cli import InvalidInput, describe, load_call

    call = load_call(call_dir)
    target = url or default_url()
    engine = make_engine(target)
    try:
        import_call(engine, call, replace=replace)
    except AlreadyImported as exc:
        raise InvalidInput(f"{call_dir}: {exc} (use --replace to update it)") from None
    except StoreError as exc:
        raise InvalidInput(f"{call_dir}: {exc}") from None
    finally:
        engine.dispose()
    click.echo(describe(call))
    click.echo(f"{'updated' if replace else 'imported'} into {target}")
