from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from pipeline.documents import (
    DocumentHashMismatch,
    DocumentNotFound,
    DocumentRefused,
    DocumentStore,
    DocumentTooLarge,
)
from schemas import DocumentRef
from schemas.enums import Side


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "front.jpg").write_bytes(b"front-bytes")
    (tmp_path / "outside.txt").write_bytes(b"secret")
    return folder


def ref(path: Path | str, data: bytes, uri: str | None = None) -> DocumentRef:
    return DocumentRef(
        side=Side.FRONT,
        uri=uri or Path(path).as_uri(),
        sha256=hashlib.sha256(data).hexdigest(),
        media_type="image/jpeg",
        size_bytes=len(data),
    )


def test_reads_a_document_under_the_root(root: Path) -> None:
    store = DocumentStore([root], max_bytes=1000)
    assert store.read(ref(root / "front.jpg", b"front-bytes")) == b"front-bytes"


@pytest.mark.parametrize(
    "uri",
    [
        "file:///etc/passwd",
        "http://127.0.0.1/front.jpg",
        "s3://bucket/front.jpg",
        "front.jpg",
        "file://evil.example/etc/passwd",
    ],
)
def test_refuses_other_schemes_hosts_and_paths(root: Path, uri: str) -> None:
    with pytest.raises(DocumentRefused):
        DocumentStore([root], 1000).resolve(uri)


def test_refuses_dot_dot_even_when_it_stays_inside(root: Path) -> None:
    store = DocumentStore([root], 1000)
    with pytest.raises(DocumentRefused, match=r"'\.\.'"):
        store.resolve(f"file://{root}/../docs/front.jpg")
    with pytest.raises(DocumentRefused):
        store.resolve(f"file://{root}/%2e%2e/outside.txt")


def test_refuses_an_absolute_path_outside_the_roots(root: Path) -> None:
    with pytest.raises(DocumentRefused, match="outside"):
        DocumentStore([root], 1000).resolve((root.parent / "outside.txt").as_uri())


def test_refuses_a_symlink_pointing_out(root: Path) -> None:
    (root / "link.jpg").symlink_to(root.parent / "outside.txt")
    with pytest.raises(DocumentRefused, match="outside"):
        DocumentStore([root], 1000).read(ref(root / "link.jpg", b"secret"))


def test_refuses_fifos_and_devices(root: Path) -> None:
    os.mkfifo(root / "pipe.jpg")
    store = DocumentStore([root], 1000)
    with pytest.raises(DocumentRefused, match="regular"):
        store.resolve((root / "pipe.jpg").as_uri())


def test_hash_mismatch_and_oversize_and_missing(root: Path) -> None:
    store = DocumentStore([root], max_bytes=5)
    with pytest.raises(DocumentTooLarge):
        store.read(ref(root / "front.jpg", b"front-bytes"))
    roomy = DocumentStore([root], max_bytes=1000)
    with pytest.raises(DocumentHashMismatch):
        roomy.read(ref(root / "front.jpg", b"other-bytes"))
    with pytest.raises(DocumentNotFound):
        roomy.read(ref(root / "gone.jpg", b"x"))


def test_put_copies_under_the_first_root(root: Path, tmp_path: Path) -> None:
    source = tmp_path / "upload.JPG"
    source.write_bytes(b"upload")
    stored = DocumentStore([root], 1000).put(source, Side.BACK, "sub-1")
    assert stored.size_bytes == 6
    assert stored.sha256 == hashlib.sha256(b"upload").hexdigest()
    assert DocumentStore([root], 1000).read(stored) == b"upload"
    assert stored.uri.startswith(root.as_uri() + "/sub-1/back-")
