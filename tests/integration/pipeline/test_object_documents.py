"""Documents in S3-compatible object storage (moto's S3 server on loopback): the same claim
check as `file://` (allow-listed buckets and prefixes, size before download, sha256 of what was
read), and the whole pipeline on `s3://` uploads."""

from __future__ import annotations

import hashlib
import random
import time
from pathlib import Path

import pytest

from consumers.assign.ledger import ledger_for
from pipeline.app.demo import demo_roster
from pipeline.app.topology import STAGES
from pipeline.documents import (
    DocumentHashMismatch,
    DocumentNotFound,
    DocumentRefused,
    DocumentTooLarge,
)
from pipeline.local_runtime import LocalRuntime
from pipeline.settings import Settings
from pipeline.state import memory_state_store
from pipeline.wiring import build_documents, build_processor
from producers.decisions import SIMULATED_REVIEWER
from producers.portal import PortalPublisher
from producers.synthetic import portal_form, random_spec, write_pair
from schemas import DocumentRef
from schemas.enums import Side
from schemas.events import NotificationRequested, StatusChanged


def settings_for(endpoint: str, bucket: str, tmp_path: Path, **extra: object) -> Settings:
    values: dict[str, object] = {
        "document_roots": [tmp_path],
        "document_buckets": [f"{bucket}/uploads"],
        "document_upload_to": f"s3://{bucket}/uploads",
        "s3_endpoint": endpoint,
        "s3_allow_http": True,
        "s3_access_key_id": "test-key",
        "s3_secret_access_key": "test-secret-never-logged",
        "s3_timeout_s": 5,
        "s3_retries": 1,
    }
    return Settings(**(values | extra))  # type: ignore[arg-type]


def ref(uri: str, data: bytes) -> DocumentRef:
    return DocumentRef(
        side=Side.FRONT,
        uri=uri,
        sha256=hashlib.sha256(data).hexdigest(),
        media_type="image/jpeg",
        size_bytes=len(data),
    )


def test_s3_documents_are_held_to_the_claim_check(
    s3_endpoint: str, s3_bucket: str, tmp_path: Path
) -> None:
    store = build_documents(settings_for(s3_endpoint, s3_bucket, tmp_path, document_max_bytes=64))
    upload = tmp_path / "front.jpg"
    upload.write_bytes(b"\xff\xd8\xff" + b"x" * 40)
    stored = store.put(upload, Side.FRONT, "sub-s3-1")
    assert stored.uri.startswith(f"s3://{s3_bucket}/uploads/sub-s3-1/front-")
    assert store.read(stored) == upload.read_bytes()

    with pytest.raises(DocumentHashMismatch):
        store.read(stored.model_copy(update={"sha256": "0" * 64}))
    big = tmp_path / "big.jpg"
    big.write_bytes(b"\xff\xd8\xff" + b"y" * 60)
    assert store.objects is not None
    store.objects.write(f"s3://{s3_bucket}/uploads/big.jpg", b"z" * 100)  # past the limit
    with pytest.raises(DocumentTooLarge):
        store.read(ref(f"s3://{s3_bucket}/uploads/big.jpg", b"z" * 100))
    with pytest.raises(DocumentNotFound):
        store.read(ref(f"s3://{s3_bucket}/uploads/gone.jpg", b"a"))
    for hostile in (
        f"s3://{s3_bucket}/elsewhere/front.jpg",  # outside the allowed prefix
        f"s3://{s3_bucket}/uploads/../secret.jpg",
        f"s3://{s3_bucket}/uploads/a%2f..%2fb.jpg",
        "s3://another-bucket/uploads/front.jpg",
        f"s3://user:pw@{s3_bucket}/uploads/front.jpg",
        f"s3://{s3_bucket}/uploads/front.jpg?versionId=1",
    ):
        with pytest.raises(DocumentRefused) as refused:
            store.read(ref(hostile, b"a"))
        assert "test-secret" not in str(refused.value)

    assert store.erase_submission("sub-s3-1") == 1
    with pytest.raises(DocumentNotFound):
        store.read(stored)


def test_the_whole_pipeline_runs_on_s3_uploads(
    s3_endpoint: str, s3_bucket: str, tmp_path: Path
) -> None:
    settings = settings_for(
        s3_endpoint,
        s3_bucket,
        tmp_path,
        mail_transport="outbox",
        outbox_dir=tmp_path / "out",
        retry_backoff_ms=0,
    )
    documents, state = build_documents(settings), memory_state_store()
    ledger_for(state).load(demo_roster(), time.time())
    runtime = LocalRuntime(
        build_processor(stage, settings, state, documents)
        for stage in (*STAGES, SIMULATED_REVIEWER)
    )
    spec = random_spec(random.Random(11), "GB")
    front, back = write_pair(spec, tmp_path / "up", "s3")
    event = PortalPublisher(runtime, documents).submit(
        portal_form(spec, "acct-s3-1", "owner@s3.example"), front, back
    )
    assert all(doc.uri.startswith("s3://") for doc in event.application.documents)
    runtime.run_until_idle()
    identity = [
        c.to_status
        for c in runtime.topics["kyb.status"]
        if isinstance(c, StatusChanged) and c.track == "identity"
    ]
    assert identity[-1] == "verified", identity
    mails = [
        n.template
        for n in runtime.topics["kyb.notifications"]
        if isinstance(n, NotificationRequested)
    ]
    assert "verified" in mails
    assert not runtime.topics["kyb.deadletter"]
