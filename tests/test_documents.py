"""Proposal documents: checked at import (real PDFs, limits, located problems), stored
content-addressed in the database, a folder or an S3-compatible server on loopback, and opened
only by those who may read the proposal, every opening audited."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from evalpanel.documents import DocumentLimits, limits_of, scan_documents
from evalpanel.store import SYSTEM, PermissionDenied, accept_task, audit_frame
from evalpanel.store.documents import (
    BlobStore,
    DatabaseBlobs,
    FolderBlobs,
    S3Blobs,
    list_documents,
    open_document,
    store_documents,
)
from tests.store_fixtures import World, publish, task_of

typst = pytest.importorskip("typst")
pypdf = pytest.importorskip("pypdf")

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def pdf(pages: int, text: str = "Part B") -> bytes:
    """A real PDF of ``pages`` pages, made by typst."""
    body = "\n#pagebreak()\n".join(f"{text} page {i + 1}" for i in range(pages))
    data: bytes = typst.compile(body.encode(), ignore_system_fonts=True)
    return data


def _folder(tmp_path: Path, files: dict[str, bytes]) -> Path:
    root = tmp_path / "call"
    for rel, data in files.items():
        path = root / "documents" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def test_real_pdfs_within_the_limits_are_accepted(tmp_path: Path) -> None:
    part_b = pdf(3)
    root = _folder(tmp_path, {"P01/part-b.pdf": part_b, "P01/annex.PDF": pdf(1),
                              "P02/part-b.pdf": part_b})
    files, problems = scan_documents(root, ["P01", "P02"], DocumentLimits())
    assert problems == []
    assert [(f.proposal_id, f.name, f.pages) for f in files] == [
        ("P01", "annex.PDF", 1), ("P01", "part-b.pdf", 3), ("P02", "part-b.pdf", 3)]
    assert files[1].sha256 == hashlib.sha256(part_b).hexdigest() == files[2].sha256


def test_every_bad_document_is_located(tmp_path: Path) -> None:
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(pdf(1)))
    writer.encrypt("secret")
    locked = io.BytesIO()
    writer.write(locked)
    root = _folder(tmp_path, {
        "P01/fake.pdf": b"\x89PNG\r\n\x1a\n" + b"0" * 100,
        "P01/notes.docx": b"PK\x03\x04",
        "P01/long.pdf": pdf(5),
        "P01/broken.pdf": b"%PDF-1.7\n" + b"garbage" * 50,
        "P01/locked.pdf": locked.getvalue(),
        "P02/big.pdf": pdf(1) + b"%" * 200_000,
        "P99/part-b.pdf": pdf(1),
    })
    (root / "documents" / "stray.pdf").write_bytes(pdf(1))
    files, problems = scan_documents(root, ["P01", "P02"],
                                     DocumentLimits(max_bytes=100_000, max_pages=4))
    assert files == []
    got = {str(p) for p in problems}
    assert got == {
        "documents/P01/broken.pdf: is not a readable PDF (PdfStreamError); export it again as PDF",
        "documents/P01/fake.pdf: is not a PDF: it starts with '\\\\x89PNG\\\\r\\\\n\\\\x1a\\\\n', "
        "a PDF with '%PDF-'",
        "documents/P01/locked.pdf: is encrypted: experts must be able to read it; give an "
        "unprotected PDF",
        "documents/P01/long.pdf: 5 pages is above the call's limit of 4 ([documents] "
        "max_pages in call.toml)",
        "documents/P01/notes.docx: only PDF files are accepted",
        "documents/P02/big.pdf: 0.2 MB is above the call's limit of 0.0953674 MB "
        "([documents] max_mb in call.toml)",
        "documents/P99: 'P99' is not a proposal_id of proposals.csv",
        "documents/stray.pdf: put each proposal's files in a folder named by its proposal_id: "
        "documents/<proposal_id>/",
    }
    assert len(problems) == 8


def test_limits_come_from_call_toml() -> None:
    limits, problems = limits_of("[call]\nid='x'\n[documents]\nmax_mb = 5\nmax_pages = 40\n")
    assert problems == [] and limits == DocumentLimits(5 * 1024 * 1024, 40)
    _, problems = limits_of("[documents]\nmax_mb = -1\nmax_page = 3\n")
    assert [str(p) for p in problems] == [
        "call.toml: documents.max_page: unknown key; known keys are max_mb and max_pages",
        "call.toml: documents.max_mb: must be a number of megabytes above 0; got -1",
    ]


@pytest.fixture(params=["database", "folder", "s3"])
def blob_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "database":
        yield DatabaseBlobs()
    elif request.param == "folder":
        yield FolderBlobs(tmp_path / "blobs")
    else:
        moto_server = pytest.importorskip("moto.server")
        boto3 = pytest.importorskip("boto3")
        server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        client = boto3.client("s3", endpoint_url=f"http://{host}:{port}", region_name="us-east-1",
                              aws_access_key_id="test", aws_secret_access_key="test")
        client.create_bucket(Bucket="evalpanel-docs")
        try:
            yield S3Blobs("evalpanel-docs", "calls/", client)
        finally:
            server.stop()


def test_documents_open_only_for_readers_of_the_proposal(
        world: World, blob_backend: BlobStore, tmp_path: Path) -> None:
    part_b = pdf(2, "Zespół Szkół nr 1")
    root = _folder(tmp_path, {"P03/part-b.pdf": part_b, "P01/part-b.pdf": pdf(1)})
    files, problems = scan_documents(root, ["P01", "P03"], DocumentLimits())
    assert problems == []
    assert store_documents(world.engine, SYSTEM, world.call_id, files, blob_backend) == 2
    assert store_documents(world.engine, SYSTEM, world.call_id, files, blob_backend) == 2
    publish(world, [("P03", "E03"), ("P03", "E04"), ("P01", "E03")])

    # a manager reads them; an expert only after accepting; an outsider never
    got = open_document(world.engine, world.manager, world.call_id, "P03", "part-b.pdf",
                        blob_backend)
    assert got == part_b
    expert = world.experts["E03"]
    with pytest.raises(PermissionDenied, match="after accepting"):
        open_document(world.engine, expert, world.call_id, "P03", "part-b.pdf", blob_backend)
    accept_task(world.engine, expert, task_of(world, "P03", "E03"))
    assert open_document(world.engine, expert, world.call_id, "P03", "part-b.pdf",
                         blob_backend) == part_b
    listing = list_documents(world.engine, expert, world.call_id, "P03")
    assert listing.select("name", "pages", "size").rows() == [("part-b.pdf", 2, len(part_b))]
    for actor in (world.experts["E04"], world.outsider, world.applicant):
        with pytest.raises(PermissionDenied):
            open_document(world.engine, actor, world.call_id, "P03", "part-b.pdf", blob_backend)
    audit = audit_frame(world.engine, SYSTEM, world.call_id)
    assert audit.filter(pl.col("action") == "open_document").height == 2
    assert audit.filter(pl.col("action") == "denied:read").height >= 4


def test_damaged_bytes_are_not_served(world: World, tmp_path: Path) -> None:
    store = FolderBlobs(tmp_path / "blobs")
    root = _folder(tmp_path, {"P01/part-b.pdf": pdf(1)})
    files, _ = scan_documents(root, ["P01"], DocumentLimits())
    store_documents(world.engine, SYSTEM, world.call_id, files, store)
    (tmp_path / "blobs" / files[0].sha256[:2] / files[0].sha256).write_bytes(b"%PDF-tampered")
    from evalpanel.store import NotFound

    with pytest.raises(NotFound, match="missing or damaged"):
        open_document(world.engine, world.manager, world.call_id, "P01", "part-b.pdf", store)


def test_validate_and_import_check_the_documents_first(tmp_path: Path) -> None:
    call = tmp_path / "tiny"
    shutil.copytree(FIXTURES / "tiny", call)
    proposals = pl.read_csv(call / "proposals.csv")["proposal_id"].to_list()
    good = call / "documents" / proposals[0]
    good.mkdir(parents=True)
    (good / "part-b.pdf").write_bytes(pdf(2))
    (good / "fake.pdf").write_bytes(b"not a pdf")
    db = tmp_path / "store.sqlite"
    run = [sys.executable, "-m", "evalpanel"]
    out = subprocess.run([*run, "import", str(call), "--db", f"sqlite:///{db}"],
                         capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
    assert out.returncode == 2, out.stdout + out.stderr
    assert f"{call}/documents/{proposals[0]}/fake.pdf: is not a PDF" in out.stderr
    assert "Traceback" not in out.stderr
    (good / "fake.pdf").unlink()
    out = subprocess.run([*run, "validate", str(call)], capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, timeout=300)
    assert out.returncode == 0 and "1 documents of 1 proposals" in out.stdout
    out = subprocess.run([*run, "import", str(call), "--db", f"sqlite:///{db}"],
                         capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "1 documents stored" in out.stdout
