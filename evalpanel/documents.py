"""Proposal documents in a call folder: ``documents/<proposal_id>/*.pdf``, checked before import.

Each file must be a real PDF (its first bytes are ``%PDF-``; the extension alone proves nothing),
readable, within the call's limits, and under the folder of a proposal of the call. The limits are
set in ``call.toml``::

    [documents]
    max_mb = 20        # per file (default 20)
    max_pages = 200    # per file (default 200)

Every problem is reported at once, located as ``documents/<proposal_id>/<file>: problem``, and
nothing is stored until the whole folder is valid. :func:`scan_documents` returns the files with
their sha256, size and page count, ready for :func:`evalpanel.store.documents.store_documents`.
"""

from __future__ import annotations

import hashlib
import io
import tomllib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from evalpanel.callfolder.problems import Problem

FOLDER = "documents"
MAGIC = b"%PDF-"
DEFAULT_MAX_MB = 20.0
DEFAULT_MAX_PAGES = 200
NAME_LIMIT = 255


@dataclass(frozen=True, slots=True)
class DocumentLimits:
    max_bytes: int = int(DEFAULT_MAX_MB * 1024 * 1024)
    max_pages: int = DEFAULT_MAX_PAGES


@dataclass(frozen=True, slots=True)
class DocumentFile:
    proposal_id: str
    name: str
    sha256: str
    size: int  # bytes
    pages: int
    data: bytes


def limits_of(call_toml: str) -> tuple[DocumentLimits, list[Problem]]:
    """The ``[documents]`` limits of a call.toml text (the defaults where absent)."""
    try:
        doc = tomllib.loads(call_toml).get(FOLDER, {})
    except tomllib.TOMLDecodeError:
        return DocumentLimits(), []  # the call.toml check reports it
    problems: list[Problem] = []
    if not isinstance(doc, dict):
        return DocumentLimits(), [Problem("call.toml", None, FOLDER, "must be a table")]
    for key in doc:
        if key not in ("max_mb", "max_pages"):
            problems.append(Problem("call.toml", None, f"{FOLDER}.{key}",
                                    "unknown key; known keys are max_mb and max_pages"))
    max_mb = doc.get("max_mb", DEFAULT_MAX_MB)
    if isinstance(max_mb, bool) or not isinstance(max_mb, int | float) or not 0 < max_mb < 1e4:
        problems.append(Problem("call.toml", None, f"{FOLDER}.max_mb",
                                f"must be a number of megabytes above 0; got {max_mb!r}"))
        max_mb = DEFAULT_MAX_MB
    max_pages = doc.get("max_pages", DEFAULT_MAX_PAGES)
    if isinstance(max_pages, bool) or not isinstance(max_pages, int) or max_pages < 1:
        problems.append(Problem("call.toml", None, f"{FOLDER}.max_pages",
                                f"must be a whole number of pages, at least 1; got {max_pages!r}"))
        max_pages = DEFAULT_MAX_PAGES
    return DocumentLimits(int(float(max_mb) * 1024 * 1024), int(max_pages)), problems


def _pages(data: bytes) -> int | str:
    """The page count, or why the file cannot be read."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            return "is encrypted: experts must be able to read it; give an unprotected PDF"
        return len(reader.pages)
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        return f"is not a readable PDF ({type(exc).__name__}); export it again as PDF"


def scan_documents(
    folder: Path, proposal_ids: Collection[str], limits: DocumentLimits
) -> tuple[list[DocumentFile], list[Problem]]:
    """Every document of ``folder/documents`` checked (see the module docstring)."""
    root = folder / FOLDER
    if not root.is_dir():
        return [], []
    files: list[DocumentFile] = []
    problems: list[Problem] = []
    known = set(proposal_ids)
    for sub in sorted(root.iterdir()):
        where = f"{FOLDER}/{sub.name}"
        if not sub.is_dir():
            problems.append(Problem(where, None, "", "put each proposal's files in a folder "
                                    "named by its proposal_id: documents/<proposal_id>/"))
            continue
        if sub.name not in known:
            problems.append(Problem(where, None, "", f"{sub.name!r} is not a proposal_id of "
                                    "proposals.csv"))
            continue
        for path in sorted(sub.iterdir()):
            name = f"{where}/{path.name}"
            if path.is_dir():
                problems.append(Problem(name, None, "", "a folder inside a proposal's "
                                        "documents: put its PDF files directly in " + where))
                continue
            if path.suffix.lower() != ".pdf":
                problems.append(Problem(name, None, "", "only PDF files are accepted"))
                continue
            if len(path.name) > NAME_LIMIT:
                problems.append(Problem(name[:80] + "...", None, "",
                                        f"the file name is longer than {NAME_LIMIT} characters"))
                continue
            size = path.stat().st_size
            if size > limits.max_bytes:  # before reading it
                problems.append(Problem(name, None, "", _too_big(size, limits, CALL_LIMITS)))
                continue
            data = path.read_bytes()
            pages = check_pdf(data, limits)
            if isinstance(pages, str):
                problems.append(Problem(name, None, "", pages))
                continue
            files.append(DocumentFile(sub.name, path.name, hashlib.sha256(data).hexdigest(),
                                      size, pages, data))
    return files, problems


# whose limits, and the settings that hold them (for the problem's text)
CALL_LIMITS = ("the call's", "[documents] max_mb in call.toml",
               "[documents] max_pages in call.toml")


def _too_big(size: int, limits: DocumentLimits, where: tuple[str, str, str]) -> str:
    return (f"{size / 1048576:.1f} MB is above {where[0]} limit of "
            f"{limits.max_bytes / 1048576:g} MB ({where[1]})")


def check_pdf(
    data: bytes, limits: DocumentLimits, where: tuple[str, str, str] = CALL_LIMITS
) -> int | str:
    """The page count of ``data`` when it is a readable PDF within ``limits``, else the problem
    in words (``where`` names the settings of the limits). The one check of every document:
    a call folder's and a rehearsal's draft."""
    if len(data) > limits.max_bytes:
        return _too_big(len(data), limits, where)
    if not data.startswith(MAGIC):
        shown = data[:8].decode("latin-1").encode("unicode_escape").decode()
        return f"is not a PDF: it starts with {shown!r}, a PDF with '%PDF-'"
    pages = _pages(data)
    if isinstance(pages, str):
        return pages
    if pages > limits.max_pages:
        return f"{pages} pages is above {where[0]} limit of {limits.max_pages} ({where[2]})"
    return pages
