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


JPEG = b"\xff\xd8\xff\xe0" + b"jpeg-bytes"


def test_put_copies_under_the_first_root(root: Path, tmp_path: Path) -> None:
    source = tmp_path / "upload.JPG"
    source.write_bytes(JPEG)
    stored = DocumentStore([root], 1000).put(source, Side.BACK, "sub-1")
    assert stored.size_bytes == len(JPEG)
    assert stored.sha256 == hashlib.sha256(JPEG).hexdigest()
    assert DocumentStore([root], 1000).read(stored) == JPEG
    assert stored.uri.startswith(root.as_uri() + "/sub-1/back-")


def test_put_names_and_types_files_by_their_content_not_their_name(
    root: Path, tmp_path: Path
) -> None:
    """Attack (security issue 14.1): a JPEG named front.html was stored as .html with
    media_type text/html, and the console served it as a page."""
    disguised = tmp_path / "front.html"
    disguised.write_bytes(JPEG)
    stored = DocumentStore([root], 1000).put(disguised, Side.FRONT, "sub-2")
    assert stored.media_type == "image/jpeg"
    assert stored.uri.endswith(".jpg")
    pdf = tmp_path / "scan.jpg"
    pdf.write_bytes(b"%PDF-1.7\n%...")
    assert DocumentStore([root], 1000).put(pdf, Side.BACK, "sub-2").media_type == (
        "application/pdf"
    )


@pytest.mark.parametrize(
    "content",
    [b"<html><script>alert(1)</script></html>", b"alert(document.cookie)", b"GIF89a..."],
)
def test_put_refuses_what_is_no_accepted_image_or_pdf(
    root: Path, tmp_path: Path, content: bytes
) -> None:
    source = tmp_path / "front.jpg"
    source.write_bytes(content)
    with pytest.raises(DocumentRefused, match="not a JPEG, PNG, WebP, TIFF or PDF"):
        DocumentStore([root], 1000).put(source, Side.FRONT, "sub-3")
    assert not (root / "sub-3").exists() or not any((root / "sub-3").iterdir())


def test_read_refuses_a_hard_link_to_a_file_outside(root: Path, tmp_path: Path) -> None:
    """A hard link has no symlink to resolve: the opened file's link count gives it away."""
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(b"secret")
    os.link(secret, root / "linked.jpg")
    with pytest.raises(DocumentRefused, match="single link"):
        DocumentStore([root], 1000).read(ref(root / "linked.jpg", b"secret"))


def test_read_of_a_fifo_swapped_in_after_the_check_does_not_hang(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race: the path is checked, then replaced by a FIFO before it is opened."""
    store = DocumentStore([root], 1000)
    checked = store.resolve((root / "front.jpg").as_uri())
    (root / "front.jpg").unlink()
    os.mkfifo(root / "front.jpg")
    monkeypatch.setattr(store, "resolve", lambda uri: checked)
    with pytest.raises(DocumentRefused, match="regular"):
        store.read(ref(root / "front.jpg", b"front-bytes"))


def test_erase_deletes_under_the_roots_only(root: Path, tmp_path: Path) -> None:
    store = DocumentStore([root], max_bytes=1000)
    assert store.erase(ref(root / "front.jpg", b"front-bytes")) is True
    assert not (root / "front.jpg").exists()
    assert store.erase(ref(root / "front.jpg", b"front-bytes")) is False  # already gone
    outside = tmp_path / "outside.txt"
    assert store.erase(ref(outside, b"secret")) is False
    (root / "link.jpg").symlink_to(outside)
    assert store.erase(ref(root / "link.jpg", b"secret")) is False
    assert outside.read_bytes() == b"secret"


def test_erase_submission_removes_its_folder_and_nothing_above_or_beside(
    root: Path, tmp_path: Path
) -> None:
    store = DocumentStore([root], max_bytes=1000)
    (root / "sub-1" / "nested").mkdir(parents=True)
    (root / "sub-1" / "front.jpg").write_bytes(b"a")
    (root / "sub-1" / "nested" / "back.png").write_bytes(b"b")
    (root / "sub-2").mkdir()
    (root / "sub-2" / "front.jpg").write_bytes(b"c")
    assert store.erase_submission("sub-1") == 2
    assert not (root / "sub-1").exists()
    assert (root / "sub-2" / "front.jpg").exists()
    for hostile in ("..", ".", "", "../docs"):
        assert store.erase_submission(hostile) == 0
    (root / "sub-3").symlink_to(tmp_path)  # a folder that is a link leads out: left alone
    assert store.erase_submission("sub-3") == 0
    assert (tmp_path / "outside.txt").exists()
    assert root.exists()
