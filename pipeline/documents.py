"""Claim-check document store: resolves `file://` URIs under configured roots only.

Every refusal is a `DocumentError` with a stable `code`, so stages can turn it into a finding
or a dead letter, and messages never echo the path (it may contain personal data).
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import shutil
import stat
import uuid
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from schemas import DocumentRef
from schemas.enums import Side

_CHUNK = 1 << 20


class DocumentError(Exception):
    """A document reference that cannot be honoured."""

    code = "document_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class DocumentRefused(DocumentError):
    """The reference points outside what the store may serve: a security refusal."""

    code = "document_refused"


class DocumentNotFound(DocumentError):
    code = "document_not_found"


class DocumentTooLarge(DocumentError):
    code = "document_too_large"


class DocumentHashMismatch(DocumentError):
    code = "document_hash_mismatch"


class DocumentStore:
    def __init__(self, roots: Iterable[Path], max_bytes: int) -> None:
        self.roots = tuple(Path(os.path.realpath(root)) for root in roots)
        if not self.roots:
            raise ValueError("a document store needs at least one root")
        self.max_bytes = max_bytes

    # ------------------------------------------------------------------ reading
    def resolve(self, uri: str) -> Path:
        """The real path behind `uri`, or `DocumentRefused`/`DocumentNotFound`."""
        parts = urlsplit(uri)
        if parts.scheme != "file":
            raise DocumentRefused(f"scheme {parts.scheme or '(none)'!r} is not allowed")
        if parts.netloc not in ("", "localhost"):
            raise DocumentRefused("remote file hosts are not allowed")
        if parts.query or parts.fragment:
            raise DocumentRefused("query strings and fragments are not allowed")
        raw_path = unquote(parts.path)
        if "\x00" in raw_path:
            raise DocumentRefused("NUL byte in path")
        if "%" in raw_path:
            raise DocumentRefused("percent-encoding left after decoding (double encoding)")
        if not raw_path.startswith("/"):
            raise DocumentRefused("path must be absolute")
        if any(part == ".." for part in raw_path.split("/")):
            raise DocumentRefused("'..' segments are not allowed")
        real = Path(os.path.realpath(raw_path))
        if not any(real.is_relative_to(root) for root in self.roots):
            raise DocumentRefused("path is outside the document roots")
        try:
            info = real.stat()
        except FileNotFoundError:
            raise DocumentNotFound("document does not exist") from None
        if not stat.S_ISREG(info.st_mode):
            raise DocumentRefused("not a regular file")
        return real

    def read(self, ref: DocumentRef) -> bytes:
        """The document's bytes, after checking its size and sha256 against the reference."""
        path = self.resolve(ref.uri)
        size = path.stat().st_size
        if size > self.max_bytes:
            raise DocumentTooLarge(f"document is {size} bytes; the limit is {self.max_bytes}")
        digest = hashlib.sha256()
        chunks = []
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                chunks.append(chunk)
                digest.update(chunk)
                if sum(map(len, chunks)) > self.max_bytes:
                    raise DocumentTooLarge(f"document grew past the limit of {self.max_bytes}")
        if digest.hexdigest() != ref.sha256:
            raise DocumentHashMismatch("document content does not match its sha256")
        return b"".join(chunks)

    # ------------------------------------------------------------------ writing
    def put(self, source: Path, side: Side, submission_id: str) -> DocumentRef:
        """Copy a local file into the first root and return its reference."""
        if not source.is_file():
            raise DocumentNotFound(f"{side.value} document is not a readable file")
        size = source.stat().st_size
        if size > self.max_bytes:
            raise DocumentTooLarge(f"{side.value} document is {size} bytes; limit {self.max_bytes}")
        folder = self.roots[0] / submission_id
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{side.value}-{uuid.uuid4().hex[:8]}{source.suffix.lower()}"
        shutil.copyfile(source, target)
        return DocumentRef(
            side=side,
            uri=target.as_uri(),
            sha256=sha256_file(target),
            media_type=mimetypes.guess_type(target.name)[0] or "application/octet-stream",
            size_bytes=size,
        )


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
