"""Claim-check document store: `file://` URIs under configured roots, and `s3://` URIs in
allow-listed buckets when object storage is configured (`pipeline/objects.py`).

Every refusal is a `DocumentError` with a stable `code`, so stages can turn it into a finding
or a dead letter, and messages never echo the path (it may contain personal data).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from pipeline import filetypes
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


class ObjectStorage(Protocol):
    """What the store needs of object storage (`pipeline.objects.ObjectDocuments`)."""

    def read(self, uri: str, max_bytes: int) -> bytes: ...
    def write(self, uri: str, data: bytes) -> None: ...
    def delete(self, uri: str) -> bool: ...
    def delete_prefix(self, uri: str) -> int: ...


OBJECT_SCHEME = "s3://"


class DocumentStore:
    def __init__(
        self,
        roots: Iterable[Path],
        max_bytes: int,
        objects: ObjectStorage | None = None,
        upload_to: str | None = None,
    ) -> None:
        self.roots = tuple(Path(os.path.realpath(root)) for root in roots)
        if not self.roots:
            raise ValueError("a document store needs at least one root")
        self.max_bytes = max_bytes
        self.objects = objects
        self.upload_to = upload_to.rstrip("/") if upload_to else None
        if self._uploads_to_objects() and objects is None:
            raise ValueError("uploads to object storage need object storage configured")

    def _uploads_to_objects(self) -> bool:
        return bool(self.upload_to and self.upload_to.startswith(OBJECT_SCHEME))

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
        """The document's bytes, after checking its size and sha256 against the reference.

        The file is opened without following a link and without blocking (a FIFO swapped in
        after `resolve` cannot hang the worker), and the opened descriptor is checked again:
        a regular file with one link, under a root. The hash is of the bytes actually read.
        """
        if ref.uri.startswith(OBJECT_SCHEME):
            return self._read_object(ref)
        path = self.resolve(ref.uri)
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        try:
            descriptor = os.open(path, flags)
        except FileNotFoundError:
            raise DocumentNotFound("document does not exist") from None
        except OSError:
            raise DocumentRefused("document cannot be opened safely") from None
        with os.fdopen(descriptor, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
                raise DocumentRefused("not a regular file with a single link")
            if not self._opened_under_root(descriptor):
                raise DocumentRefused("path is outside the document roots")
            if info.st_size > self.max_bytes:
                raise DocumentTooLarge(
                    f"document is {info.st_size} bytes; the limit is {self.max_bytes}"
                )
            digest = hashlib.sha256()
            chunks: list[bytes] = []
            size = 0
            while chunk := handle.read(_CHUNK):
                size += len(chunk)
                if size > self.max_bytes:
                    raise DocumentTooLarge(f"document grew past the limit of {self.max_bytes}")
                chunks.append(chunk)
                digest.update(chunk)
        if digest.hexdigest() != ref.sha256:
            raise DocumentHashMismatch("document content does not match its sha256")
        return b"".join(chunks)

    def _read_object(self, ref: DocumentRef) -> bytes:
        if self.objects is None:
            raise DocumentRefused("object storage is not configured")
        data = self.objects.read(ref.uri, self.max_bytes)
        if hashlib.sha256(data).hexdigest() != ref.sha256:
            raise DocumentHashMismatch("document content does not match its sha256")
        return data

    def verify(self, ref: DocumentRef) -> None:
        """The claim check alone: raises what `read` raises, returns nothing."""
        self.read(ref)

    def _opened_under_root(self, descriptor: int) -> bool:
        """Where the open descriptor really points (Linux `/proc`; elsewhere `resolve` stands)."""
        link = Path(f"/proc/self/fd/{descriptor}")
        if not link.exists():
            return True
        real = Path(os.readlink(link))
        return any(real.is_relative_to(root) for root in self.roots)

    # ------------------------------------------------------------------ writing
    def upload_type(self, source: Path, side: Side) -> str:
        """The media type of a local file to upload, from its magic bytes; refuses files that
        are missing, too large, or no accepted image or PDF, with a sentence saying which."""
        if not source.is_file():
            raise DocumentNotFound(f"{side.value} document is not a readable file")
        size = source.stat().st_size
        if size > self.max_bytes:
            raise DocumentTooLarge(f"{side.value} document is {size} bytes; limit {self.max_bytes}")
        with source.open("rb") as handle:
            media_type = filetypes.sniff(handle.read(16))
        if media_type not in filetypes.ACCEPTED:
            raise DocumentRefused(
                f"{side.value} document is not a JPEG, PNG, WebP, TIFF or PDF file "
                f"(its content says {media_type or 'unknown'})"
            )
        return media_type

    def put(self, source: Path, side: Side, submission_id: str) -> DocumentRef:
        """Copy a local file into the first root and return its reference.

        The stored name and `media_type` come from the file's magic bytes, never its name: a
        JPEG called `front.html` is stored as `.jpg`, and a file that is no accepted image or
        PDF is refused here with a clear error.
        """
        media_type = self.upload_type(source, side)
        data = source.read_bytes()
        if filetypes.sniff(data) != media_type or len(data) > self.max_bytes:
            raise DocumentRefused(f"{side.value} document changed while it was stored")
        name = f"{side.value}-{uuid.uuid4().hex[:8]}{filetypes.extension(media_type)}"
        if self.objects is not None and self._uploads_to_objects():
            uri = f"{self.upload_to}/{submission_id}/{name}"
            self.objects.write(uri, data)
        else:
            folder = self.roots[0] / submission_id
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
            uri = (folder / name).as_uri()
        return DocumentRef(
            side=side,
            uri=uri,
            sha256=hashlib.sha256(data).hexdigest(),
            media_type=media_type,
            size_bytes=len(data),
        )

    # ------------------------------------------------------------------ erasing
    def erase(self, ref: DocumentRef) -> bool:
        """Delete the file behind `ref` (only under a root, never through a link); True when
        a file was removed. Missing is fine: erasure is repeated by every stage that sees it."""
        if ref.uri.startswith(OBJECT_SCHEME):
            try:
                return self.objects is not None and self.objects.delete(ref.uri)
            except DocumentRefused:
                return False
        try:
            path = self.resolve(ref.uri)
        except DocumentNotFound:
            return False
        except DocumentRefused:
            return False  # outside the roots or not a regular file: not ours to delete
        path.unlink(missing_ok=True)
        return True

    def erase_submission(self, submission_id: str) -> int:
        """Delete the folder `put` keeps a submission's files in, under every root; returns
        how many files went. The folder must be a real directory directly under a root."""
        if submission_id in ("", ".", "..") or "/" in submission_id or "\x00" in submission_id:
            return 0  # never a folder of ours (ids like ".." would name a root's parent)
        removed = 0
        if self.objects is not None and self._uploads_to_objects():
            removed += self.objects.delete_prefix(f"{self.upload_to}/{submission_id}/")
        for root in self.roots:
            folder = root / submission_id
            if folder.is_symlink() or not folder.is_dir():
                continue
            if Path(os.path.realpath(folder)).parent != root:
                continue
            removed += sum(1 for item in folder.rglob("*") if not item.is_dir())
            shutil.rmtree(folder)
        return removed


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
