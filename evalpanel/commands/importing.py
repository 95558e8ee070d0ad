"""``evalpanel import``: a checked call folder into the database, in one transaction."""

from __future__ import annotations

from pathlib import Path

import click
import sqlalchemy as sa

from evalpanel.commands._database import db_option, open_engine
from evalpanel.store import AlreadyImported, StoreError, import_call


@click.command(name="import")
@click.argument("call_dir", type=click.Path(file_okay=False, path_type=Path))
@db_option
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
    from evalpanel.cli import InvalidInput, describe, load_call, load_documents
    from evalpanel.store import SYSTEM
    from evalpanel.store.documents import blob_store, store_documents

    call = load_call(call_dir)
    files = load_documents(call_dir, call)  # the whole folder is checked before any write
    engine = open_engine(url)
    try:
        store = blob_store()
        import_call(engine, call, replace=replace)
        stored = store_documents(engine, SYSTEM, call.config.id, files, store)
    except AlreadyImported as exc:
        raise InvalidInput(f"{call_dir}: {exc} (use --replace to update it)") from None
    except StoreError as exc:
        raise InvalidInput(f"{call_dir}: {exc}") from None
    except sa.exc.DBAPIError as exc:  # validation should have caught it: say so, briefly
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise InvalidInput(
            f"{call_dir}: the database refused the call ({reason}); nothing was stored"
        ) from None
    click.echo(describe(call))
    if stored:
        click.echo(f"  {stored} documents stored")
    click.echo(f"{'updated' if replace else 'imported'} into "
               f"{engine.url.render_as_string(hide_password=True)}")
