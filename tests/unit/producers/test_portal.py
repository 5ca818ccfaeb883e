from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.documents import DocumentStore
from pipeline.publishing import RecordingPublisher
from producers.portal import PortalPublisher, SubmissionError


def form(**overrides: object) -> dict[str, object]:
    company = {
        "company_name": "Acme Ltd",
        "registration_number": "123",
        "state_province": "X",
        "city": "Y",
        "address_line1": "1 Z St",
    }
    values: dict[str, object] = {
        "account_id": "acct-1",
        "registered_country": "GB",
        "contact_email": "a@b.example",
        "company": company,
    }
    return values | overrides


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    front, back = tmp_path / "front.jpg", tmp_path / "back.png"
    front.write_bytes(b"\xff\xd8\xff\xe0front")
    back.write_bytes(b"\x89PNG\r\n\x1a\nback")
    return front, back


def portal(tmp_path: Path) -> tuple[PortalPublisher, RecordingPublisher, Path]:
    root = tmp_path / "store"
    recorder = RecordingPublisher()
    return PortalPublisher(recorder, DocumentStore([root], 1000)), recorder, root


def test_valid_submission_stores_both_sides_and_publishes(
    tmp_path: Path, files: tuple[Path, Path]
) -> None:
    publisher, recorder, root = portal(tmp_path)
    event = publisher.submit(form(), *files)
    assert recorder.events == [event]
    assert [d.side for d in event.application.documents] == ["front", "back"]
    assert [d.media_type for d in event.application.documents] == ["image/jpeg", "image/png"]
    assert len(list(root.rglob("*"))) == 3  # the submission folder and two files


def test_a_script_named_like_a_photo_is_refused_before_anything_is_stored(
    tmp_path: Path, files: tuple[Path, Path]
) -> None:
    """Attack (security issue 14.1): `back.js` / HTML uploads became documents the console
    served as active content. The type comes from the bytes, and nothing is stored."""
    publisher, recorder, root = portal(tmp_path)
    script = tmp_path / "back.jpg"
    script.write_bytes(b"<script>fetch('/tasks')</script>")
    with pytest.raises(SubmissionError, match="not a JPEG, PNG, WebP, TIFF or PDF"):
        publisher.submit(form(), files[0], script)
    assert recorder.events == []
    assert not root.exists() or not any(root.rglob("*.*"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"contact_email": "not-an-email"}, "contact_email"),
        ({"registered_country": "ZZ"}, "registered_country"),
        (
            {
                "company": {
                    "company_name": "",
                    "registration_number": "1",
                    "state_province": "X",
                    "city": "Y",
                    "address_line1": "Z",
                }
            },
            "company.company_name",
        ),
    ],
)
def test_invalid_input_publishes_and_stores_nothing(
    tmp_path: Path, files: tuple[Path, Path], change: dict[str, object], message: str
) -> None:
    publisher, recorder, root = portal(tmp_path)
    with pytest.raises(SubmissionError, match=message):
        publisher.submit(form(**change), *files)
    assert recorder.events == []
    assert not root.exists() or not any(root.iterdir())


def test_missing_file_is_refused(tmp_path: Path, files: tuple[Path, Path]) -> None:
    publisher, recorder, _ = portal(tmp_path)
    with pytest.raises(SubmissionError, match="back document is not a readable file"):
        publisher.submit(form(), files[0], tmp_path / "nope.jpg")
    assert recorder.events == []
