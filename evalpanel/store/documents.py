"""Proposal documents: stored content-addressed, opened only by those who may read the proposal.

The ``documents`` table lists each proposal's files (name, sha256, size, pages); the bytes are kept
under their sha256 by one of three blob stores, chosen by the deployment with
``EVALPANEL_DOCUMENTS``:

- ``database`` (the default): the ``blobs`` table, in the same transaction as the listing;
- ``folder:/srv/evalpanel/documents``: files ``<root>/<ab>/<sha256>`` written atomically;
- ``s3://bucket/prefix``: an S3-compatible bucket (needs ``boto3``; the endpoint and credentials
  come from the usual ``AWS_*`` variables, e.g. ``AWS_ENDPOINT_URL`` for a MinIO or Ceph server).

Bytes are written before the listing, so a failed import leaves at most unreferenced blobs, never
a listing without its bytes; the same file is kept once however often it is imported. Reading a
document (:func:`open_document`) follows the proposal's own rule
(:func:`~evalpanel.store.calls.get_proposal`: the call's managers, and an expert only after
accepting the task without a conflict), checks the bytes against their sha256, and is audited.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import polars as pl
import sqlalchemy as sa

from evalpanel.store.access import require_manager
from evalpanel.store.audit import Actor, now, record
from evalpanel.store.engine import reading, writing
from evalpanel.store.errors import InvalidInput, NotFound
from evalpanel.store.frames import query_frame
from evalpanel.store.tables import blobs, documents

STORE_ENV = "EVALPANEL_DOCUMENTS"
LIST_SCHEMA: dict[str, pl.DataType] = {
    "proposal_id": pl.String(), "name": pl.String(), "sha256": pl.String(),
    "size": pl.Int64(), "pages": pl.Int64(),
}  # fmt: skip


class BlobStore(Protocol):
    def put(self, conn: sa.Connection, sha256: str, data: bytes) -> None: ...
    def get(self, conn: sa.Connection, sha256: str) -> bytes | None: ...


class DatabaseBlobs:
    """Blobs in the ``blobs`` table, inside the caller's transaction."""

    def put(self, conn: sa.Connection, sha256: str, data: bytes) -> None:
        if conn.execute(sa.select(blobs.c.sha256).where(blobs.c.sha256 == sha256)).first():
            return
        conn.execute(blobs.insert().values(sha256=sha256, data=data))

    def get(self, conn: sa.Connection, sha256: str) -> bytes | None:
        data = conn.execute(sa.select(blobs.c.data).where(blobs.c.sha256 == sha256)).scalar()
        return None if data is None else bytes(data)


class FolderBlobs:
    """Blobs as files under ``root`` (created 0700, files 0600)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, conn: sa.Connection, sha256: str, data: bytes) -> None:
        path = self._path(sha256)
        if path.exists():
            return
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, conn: sa.Connection, sha256: str) -> bytes | None:
        path = self._path(sha256)
        return path.read_bytes() if path.is_file() else None


class S3Blobs:
    """Blobs as objects ``<prefix><sha256>`` of an S3-compatible bucket."""

    def __init__(self, bucket: str, prefix: str = "", client: Any = None) -> None:
        if client is None:
            try:
                import boto3
            except ImportError as exc:
                raise InvalidInput("an s3:// document store needs boto3: pip install boto3") \
                    from exc
            client = boto3.client("s3")
        self.client, self.bucket, self.prefix = client, bucket, prefix

    def put(self, conn: sa.Connection, sha256: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.prefix + sha256, Body=data,
                               ChecksumSHA256=_b64_sha256(data))

    def get(self, conn: sa.Connection, sha256: str) -> bytes | None:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.prefix + sha256)
        except self.client.exceptions.NoSuchKey:
            return None
        return bytes(answer["Body"].read())


def _b64_sha256(data: bytes) -> str:
    import base64

    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def blob_store(setting: str | None = None) -> BlobStore:
    """The blob store named by ``setting`` (default ``$EVALPANEL_DOCUMENTS`` or database)."""
    setting = setting if setting is not None else os.environ.get(STORE_ENV, "database")
    if setting in ("", "database"):
        return DatabaseBlobs()
    if setting.startswith("folder:"):
        return FolderBlobs(Path(setting.removeprefix("folder:")).expanduser())
    if setting.startswith("s3://"):
        bucket, _, prefix = setting.removeprefix("s3://").partition("/")
        return S3Blobs(bucket, prefix)
    raise InvalidInput(f"{STORE_ENV}={setting!r}: give database, folder:/path or "
                       "s3://bucket/prefix")


def store_documents(
    engine: sa.Engine, actor: Actor, call_id: str, files: Sequence[Any],
    store: BlobStore | None = None,
) -> int:
    """Store checked documents (:class:`evalpanel.documents.DocumentFile`) of a stored call:
    bytes first, then the listing in one transaction (a file of the same name is replaced)."""
    store = store or blob_store()
    with writing(engine) as conn:
        require_manager(conn, actor, "add documents to", call_id)
        for f in files:
            store.put(conn, f.sha256, f.data)
            conn.execute(documents.delete().where(
                documents.c.call_id == call_id, documents.c.proposal_id == f.proposal_id,
                documents.c.name == f.name))
            conn.execute(documents.insert().values(
                call_id=call_id, proposal_id=f.proposal_id, name=f.name, sha256=f.sha256,
                size=f.size, pages=f.pages, added_at=now()))
        if files:
            record(conn, actor, "add_documents", "call", call_id, call_id=call_id,
                   after={"files": len(files)})
        return len(files)


def list_documents(
    engine: sa.Engine, actor: Actor, call_id: str, proposal_id: str
) -> pl.DataFrame:
    """The documents of one proposal, for those who may read the proposal."""
    from evalpanel.store.proposals import get_proposal

    get_proposal(engine, actor, call_id, proposal_id)  # the proposal's rule, audited if refused
    with reading(engine) as conn:
        stmt = sa.select(documents.c.proposal_id, documents.c.name, documents.c.sha256,
                         documents.c.size, documents.c.pages).where(
            documents.c.call_id == call_id, documents.c.proposal_id == proposal_id)
        return query_frame(conn, stmt, LIST_SCHEMA, ["name"])


def open_document(
    engine: sa.Engine, actor: Actor, call_id: str, proposal_id: str, name: str,
    store: BlobStore | None = None,
) -> bytes:
    """The bytes of one document, checked against their sha256; every opening is audited."""
    from evalpanel.store.proposals import get_proposal

    get_proposal(engine, actor, call_id, proposal_id)
    store = store or blob_store()
    with writing(engine) as conn:
        sha = conn.execute(sa.select(documents.c.sha256).where(
            documents.c.call_id == call_id, documents.c.proposal_id == proposal_id,
            documents.c.name == name)).scalar()
        if sha is None:
            raise NotFound(f"no document {name!r} for the proposal {proposal_id!r}")
        data = store.get(conn, sha)
        if data is None or hashlib.sha256(data).hexdigest() != sha:
            raise NotFound(f"the stored bytes of {name!r} are missing or damaged "
                           f"(sha256 {sha[:12]}...); import the call's documents again")
        record(conn, actor, "open_document", "proposal", proposal_id, call_id=call_id,
               after={"name": name, "sha256": sha})
        return data
