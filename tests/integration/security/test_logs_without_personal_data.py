"""The whole pipeline (every stage, real tesseract) fed good and bad submissions, with every log
record captured at DEBUG: no company name, registration number, email address or document path
appears in clear."""

from __future__ import annotations

import json
import logging
import random
import re
import time
from pathlib import Path

import pytest

from consumers.assign.ledger import ledger_for
from pipeline.app.demo import demo_roster
from pipeline.app.topology import STAGES
from pipeline.documents import DocumentStore
from pipeline.local_runtime import LocalRuntime
from pipeline.settings import Settings
from pipeline.state import memory_state_store
from pipeline.wiring import build_processor
from producers.decisions import SIMULATED_REVIEWER
from producers.portal import PortalPublisher
from producers.synthetic import portal_form, random_spec, with_typo, write_pair


def test_no_personal_data_in_any_log_record(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    root = tmp_path / "documents"
    root.mkdir()
    settings = Settings(
        document_roots=[root],
        mail_transport="outbox",
        outbox_dir=tmp_path / "out",
        retry_backoff_ms=0,
    )
    documents, state = DocumentStore([root], 25_000_000), memory_state_store()
    ledger_for(state).load(demo_roster(), time.time())
    runtime = LocalRuntime(
        build_processor(stage, settings, state, documents)
        for stage in (*STAGES, SIMULATED_REVIEWER)
    )
    portal = PortalPublisher(runtime, documents)
    rng = random.Random(4)
    secrets: set[str] = {str(tmp_path)}
    for n, country in enumerate(("SG", "GB", "HK")):
        spec = random_spec(rng, country)
        typed = with_typo(spec, rng) if n == 1 else spec
        front, back = write_pair(spec, tmp_path / "up", f"c{n}")
        email = f"owner{n}@customer{n}.example"
        secrets |= {spec.company_name, spec.registration_number, typed.registration_number, email}
        form = portal_form(typed, f"acct-log-{n}", email)
        event = portal.submit(form, front, back)
        if n == 2:  # a corrupted upload: dead-lettered or refused, with logging on the way
            documents.resolve(event.application.documents[0].uri).write_bytes(b"\xff\xd8broken")
        runtime.run_until_idle()
    # records that are not even events, carrying personal data in their payload
    leaky = json.dumps(
        {
            "event_type": "SubmissionReceived",
            "company_name": "Leaky Secrets Ltd",
            "contact_email": "leak@secret.example",
        }
    ).encode()
    runtime.publish_raw("kyb.submissions", leaky, b"acct-log-x")
    runtime.publish_raw("kyb.review.decisions", b"\x00not json leak@secret.example", None)
    runtime.run_until_idle()
    secrets |= {"Leaky Secrets Ltd", "leak@secret.example"}

    logged = "\n".join(
        f"{record.getMessage()} {record.exc_text or ''}" for record in caplog.records
    )
    letters = runtime.topics["kyb.deadletter"]
    assert letters, "bad records must have been dead-lettered (and logged)"
    assert any("dead-letter" in r.getMessage() for r in caplog.records)
    leaked = sorted(s for s in secrets if s and s in logged)
    assert leaked == []
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", logged)  # no address of any kind
    print(f"\nlogs: {len(caplog.records)} records scanned for {len(secrets)} personal values")
