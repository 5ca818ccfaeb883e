"""Hostile or wrong document references through the real quality stage: every one is refused
with a machine-readable reason for the portal (no finding for the customer, no dead letter);
the next good submission is still processed."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from pipeline.app.topology import stage_named
from pipeline.documents import DocumentStore
from pipeline.processing import Source
from pipeline.settings import Settings
from pipeline.state import memory_state_store
from pipeline.wiring import build_processor
from producers.synthetic import random_spec, write_pair
from schemas import DocumentRef, encode_event
from schemas.enums import Side, SubmissionRefusal
from schemas.events import QualityChecked
from tests.helpers import application, document_ref, submission

SHA = "0" * 64


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "documents"
    folder.mkdir()
    return folder


def hostile_uris(root: Path, tmp_path: Path) -> dict[str, str]:
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(b"secret")
    (root / "link.jpg").symlink_to(outside)
    os.mkfifo(root / "pipe.jpg")
    inside = root.as_posix()
    return {
        "etc passwd": "file:///etc/passwd",
        "dot dot": f"file://{inside}/../secret.jpg",
        "encoded dot dot": f"file://{inside}/%2e%2e/secret.jpg",
        "double encoded": f"file://{inside}/%252e%252e/secret.jpg",
        "symlink out": f"file://{inside}/link.jpg",
        "http": "http://127.0.0.1:8080/front.jpg",
        "ftp": "ftp://files.example/front.jpg",
        "remote host": f"file://evil.example{inside}/front.jpg",
        "fifo": f"file://{inside}/pipe.jpg",
        "device": "file:///dev/zero",
        "nul byte": f"file://{inside}/front.jpg%00.png",
        "relative": "front.jpg",
    }


def test_every_hostile_reference_is_refused_and_the_stage_keeps_going(
    root: Path, tmp_path: Path
) -> None:
    settings = Settings(document_roots=[root])
    store = DocumentStore([root], 10_000_000)
    processor = build_processor(stage_named("quality"), settings, memory_state_store(), store)
    good_front, good_back = root / "front.jpg", root / "back.jpg"
    front, back = write_pair(random_spec(random.Random(5), "SG"), tmp_path / "up", "ok")
    good_front.write_bytes(front.read_bytes())
    good_back.write_bytes(back.read_bytes())
    back_ref = document_ref(good_back, Side.BACK)
    refused = 0
    for name, uri in hostile_uris(root, tmp_path).items():
        hostile = DocumentRef(
            side=Side.FRONT, uri=uri, sha256=SHA, media_type="image/jpeg", size_bytes=1
        )
        event = submission(application=application(documents=(hostile, back_ref)))
        [out] = processor.process(encode_event(event), Source("kyb.submissions")).outputs
        assert isinstance(out, QualityChecked), name
        assert (out.passed, out.refusal, out.refused_side, out.findings) == (
            False,
            SubmissionRefusal.DOCUMENT_REFUSED,
            Side.FRONT,
            (),
        ), name
        refused += 1
    front_ref = document_ref(good_front, Side.FRONT)
    mistakes = {
        SubmissionRefusal.HASH_MISMATCH: front_ref.model_copy(update={"sha256": SHA}),
        SubmissionRefusal.SIZE_MISMATCH: front_ref.model_copy(update={"size_bytes": 7}),
        SubmissionRefusal.MEDIA_TYPE_MISMATCH: front_ref.model_copy(
            update={"media_type": "image/png"}
        ),
        SubmissionRefusal.DOCUMENT_MISSING: front_ref.model_copy(
            update={"uri": (root / "gone.jpg").as_uri()}
        ),
    }
    for reason, ref in mistakes.items():
        event = submission(application=application(documents=(ref, back_ref)))
        [out] = processor.process(encode_event(event), Source("kyb.submissions")).outputs
        assert isinstance(out, QualityChecked)
        assert out.refusal is reason
        assert not out.findings
    good = submission(
        application=application(documents=(document_ref(good_front, Side.FRONT), back_ref))
    )
    [checked] = processor.process(encode_event(good), Source("kyb.submissions")).outputs
    assert isinstance(checked, QualityChecked)
    print(f"\nsecurity: {refused} hostile document references refused")
