"""Submissions through all six stages, each a separate `kyb worker` process: one from our
portal publisher, one from outside clients (librdkafka, aiokafka) built from the JSON Schema.

Real components only: the Tansu broker, Redis, aiosmtpd and the tesseract CLI. Two bad
records go first (not JSON; wrong schema); they must be dead-lettered with their reasons and
must not stop the good submission from reaching the customer's inbox.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import confluent_kafka
import jsonschema
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from kafka import KafkaConsumer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.partitioner import murmur2

from consumers.assign.roster import hash_token
from pipeline.app.topology import STAGES
from pipeline.kafka_runtime import consumer_config
from pipeline.publishing import KafkaPublisher
from pipeline.settings import Settings
from pipeline.wiring import build_documents
from producers.decisions import DecisionPublisher, simulated_decision
from producers.portal import PortalPublisher
from producers.synthetic import portal_form, random_spec, write_pair
from schemas import decode_event
from schemas.enums import FINAL_IDENTITY_STATUSES, TaskAction
from schemas.events import ReviewTask
from tests.conftest import SmtpServer, stop_process
from tests.helpers import kyb_command, read_topic

pytestmark = pytest.mark.e2e


@pytest.fixture
def worker_env(
    kafka_broker: str, redis_url: str, redis_prefix: str, smtp_server: SmtpServer, tmp_path: Path
) -> dict[str, str]:
    (tmp_path / "documents").mkdir()
    return os.environ | {
        "KYB_BOOTSTRAP_SERVERS": kafka_broker,
        "KYB_STATE_BACKEND": "redis",
        "KYB_REDIS_URL": redis_url,
        "KYB_KEY_PREFIX": redis_prefix,
        "KYB_DOCUMENT_ROOTS": json.dumps([str(tmp_path / "documents")]),
        "KYB_SMTP_PORT": str(smtp_server.port),
        "KYB_SESSION_TIMEOUT_MS": "6000",
        "KYB_HEARTBEAT_INTERVAL_MS": "1000",
        "KYB_RETRY_BACKOFF_MS": "100",
        "OMP_THREAD_LIMIT": "1",
    }


@pytest.fixture
def workers(
    worker_env: dict[str, str], tmp_path: Path
) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    created = subprocess.run(
        kyb_command("topics", "create"), env=worker_env, capture_output=True, timeout=60
    )
    assert created.returncode == 0, created.stderr.decode()
    assert b"created 11 topic(s)" in created.stdout
    roster = tmp_path / "roster.yaml"
    roster.write_text(
        "reviewers:\n  - {id: rev-e2e, name: E2E Reviewer, email: rev@kyb.example,"
        f" token_sha256: {hash_token('t-e2e')},"
        " queues: [identity, compliance]}\n"
    )
    loaded = subprocess.run(
        kyb_command("reviewers", "load", str(roster)),
        env=worker_env,
        capture_output=True,
        timeout=60,
    )
    assert loaded.returncode == 0, loaded.stderr.decode()
    procs = {
        stage.name: subprocess.Popen(
            kyb_command("worker", stage.name),
            env=worker_env,
            stdout=(tmp_path / f"{stage.name}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for stage in STAGES
    }
    try:
        yield procs
    finally:
        for proc in procs.values():
            stop_process(proc, timeout=20)


class AutoReviewer(threading.Thread):
    """Stands in for a human: consumes review tasks and decides from the evidence."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        self.settings, self.stop = settings, threading.Event()
        self.tasks: list[ReviewTask] = []

    def run(self) -> None:
        consumer = KafkaConsumer(
            "kyb.review.tasks",
            **consumer_config(self.settings, "test-reviewer", session_timeout_ms=6000),
        )
        decisions = DecisionPublisher(KafkaPublisher(self.settings))
        while not self.stop.is_set():
            for records in consumer.poll(timeout_ms=200).values():
                for record in records:
                    task = decode_event(record.value)
                    assert isinstance(task, ReviewTask)
                    if task.action is not TaskAction.ASSIGNED:
                        continue
                    self.tasks.append(task)
                    decisions.decide(task, *simulated_decision(task), note="e2e test reviewer")
            consumer.commit()
        consumer.close()


def test_submission_flows_through_six_worker_processes_to_an_email(
    workers: dict[str, subprocess.Popen[bytes]],
    worker_env: dict[str, str],
    smtp_server: SmtpServer,
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    settings = Settings(
        bootstrap_servers=worker_env["KYB_BOOTSTRAP_SERVERS"],
        document_roots=json.loads(worker_env["KYB_DOCUMENT_ROOTS"]),
    )
    reviewer = AutoReviewer(settings)
    reviewer.start()
    publisher = KafkaPublisher(settings)
    publisher.publish_raw("kyb.submissions", b"this is not json", key=b"acct-bad-1")
    publisher.publish_raw(
        "kyb.submissions",
        json.dumps({"event_type": "SubmissionReceived", "account_id": "acct-bad-2"}).encode(),
        key=b"acct-bad-2",
    )
    publisher.flush()

    spec = random_spec(random.Random(3), "GB")
    front, back = write_pair(spec, tmp_path / "uploads", "e2e")
    portal = PortalPublisher(publisher, build_documents(settings))
    form = portal_form(spec, "acct-e2e-1", "owner@harbour.example", mainland_resources=False)
    event = portal.submit(form, front, back)

    try:
        verified = smtp_server.wait_for_subject("Your enterprise identity is verified", timeout=120)
    finally:
        reviewer.stop.set()
        reviewer.join(15)
    elapsed = time.monotonic() - started
    assert verified["To"] == "owner@harbour.example"
    assert event.submission_id in verified.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    received = [m for m in smtp_server.messages if "We received" in str(m["Subject"])]
    assert len(received) == 1
    assert [t.submission_id for t in reviewer.tasks] == [event.submission_id]

    letters = read_topic(settings, "kyb.deadletter")  # all of them, however many
    by_stage: dict[str, set[str]] = {}
    for letter in letters:
        by_stage.setdefault(letter.stage, set()).add(letter.reason.value)
    # Four stages read kyb.submissions; its guard (quality) reports each bad record once.
    assert by_stage == {"quality": {"unparseable", "invalid_event"}}, by_stage
    assert len(letters) == 2
    assert any("not valid JSON" in letter.error for letter in letters)
    assert any("application: Field required" in letter.error for letter in letters)

    for name, proc in workers.items():
        assert proc.poll() is None, f"worker {name} died"
        proc.terminate()
    for name, proc in workers.items():
        assert proc.wait(20) == 0, f"worker {name} did not shut down cleanly"
    print(f"\ne2e: submission to verified email in {elapsed:.1f} s")


def test_a_portal_on_other_clients_submits_from_the_schema_and_follows_the_status(
    workers: dict[str, subprocess.Popen[bytes]],
    worker_env: dict[str, str],
    smtp_server: SmtpServer,
    tmp_path: Path,
) -> None:
    """What a portal in Go, Node or .NET does: build the record from the exported JSON Schema
    (validated with `jsonschema`, not our models), produce it with librdkafka (confluent-kafka)
    using the Java-compatible partitioner, and follow `kyb.status` with another client (aiokafka)
    to the final status; the decision's email arrives."""
    broker = worker_env["KYB_BOOTSTRAP_SERVERS"]
    exported = subprocess.run(
        kyb_command("schema", "export", str(tmp_path / "schemas")), capture_output=True, timeout=60
    )
    assert exported.returncode == 0, exported.stderr.decode()
    schema = json.loads((tmp_path / "schemas" / "SubmissionReceived.schema.json").read_text())

    # the portal stores the uploads where the workers read them and hashes them itself
    account, submission_id = "acct-outside-1", f"sub-{uuid.uuid4().hex[:10]}"
    folder = Path(json.loads(worker_env["KYB_DOCUMENT_ROOTS"])[0]) / submission_id
    spec = random_spec(random.Random(5), "GB")
    front, back = write_pair(spec, folder, "upload")
    documents = [
        {
            "side": side,
            "uri": path.as_uri(),
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "media_type": "image/jpeg",
            "size_bytes": path.stat().st_size,
        }
        for side, path in (("front", front), ("back", back))
    ]
    record = {
        "event_id": str(uuid.uuid4()),
        "event_type": "SubmissionReceived",
        "schema_version": 1,
        "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "account_id": account,
        "submission_id": submission_id,
        "producer": "go-portal",
        "application": {
            "site": "international",
            "account_type": "individual",
            "registered_country": spec.country,
            "contact_email": "owner@outside.example",
            "locale": "en",
            "company": {
                "company_name": spec.company_name,
                "registration_number": spec.registration_number,
                "state_province": spec.state_province,
                "city": spec.city,
                "address_line1": spec.address_line1,
                "entity_type": "company",
            },
            "mainland_resources": False,
            "documents": documents,
        },
    }
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    validator.validate(record)
    broken = {**record, "account_id": "has spaces"}
    assert list(validator.iter_errors(broken)), "the schema must refuse what the workers refuse"

    # librdkafka's default partitioner (crc32) differs from the Java/kafka-python murmur2 one:
    # a portal on librdkafka sets partitioner=murmur2_random, and then they agree on every key
    admin = KafkaAdminClient(bootstrap_servers=broker)
    admin.create_topics([NewTopic("outside.partitions", 6, 1)])
    admin.close()
    delivered: dict[str, int] = {}

    def on_delivery(error: object, message: confluent_kafka.Message) -> None:
        assert error is None, error
        delivered[message.key().decode()] = message.partition()

    producer = confluent_kafka.Producer(
        {"bootstrap.servers": broker, "partitioner": "murmur2_random"}
    )
    keys = [f"acct-{n}" for n in range(24)]
    for key in keys:
        producer.produce("outside.partitions", b"{}", key.encode(), on_delivery=on_delivery)
    producer.produce(
        "kyb.submissions", json.dumps(record).encode(), account.encode(), on_delivery=on_delivery
    )
    # a portal mistake: a document URI outside the shared roots gets a final status, no email
    bad_account = "acct-outside-bad"
    bad = json.loads(json.dumps(record))
    bad |= {"event_id": str(uuid.uuid4()), "account_id": bad_account, "submission_id": "sub-bad"}
    bad["application"]["documents"][0]["uri"] = "file:///etc/passwd"
    bad["application"]["contact_email"] = "bad@outside.example"
    validator.validate(bad)
    sent_bad = time.monotonic()
    producer.produce("kyb.submissions", json.dumps(bad).encode(), bad_account.encode())
    assert producer.flush(30) == 0
    for key in [*keys, account]:
        assert delivered[key] == (murmur2(key.encode()) & 0x7FFFFFFF) % 6, key

    settings = Settings(bootstrap_servers=broker)
    reviewer = AutoReviewer(settings)
    reviewer.start()

    finals: dict[str, tuple[str, list[str], float]] = {}

    async def final_statuses() -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=broker)
        await consumer.start()
        try:
            partitions = [TopicPartition("kyb.status", p) for p in range(6)]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            deadline = time.monotonic() + 150
            while time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=500)
                for message in (m for messages in batch.values() for m in messages):
                    change = json.loads(message.value)
                    assert message.key == change["account_id"].encode()
                    if (
                        change["account_id"] in (account, bad_account)
                        and change["track"] == "identity"
                        and change["to_status"] in FINAL_IDENTITY_STATUSES
                    ):
                        finals.setdefault(
                            change["account_id"],
                            (change["to_status"], change["reasons"], time.monotonic()),
                        )
                if len(finals) == 2:
                    return
            raise TimeoutError(f"final identity statuses on kyb.status: {finals}")
        finally:
            await consumer.stop()

    try:
        asyncio.run(final_statuses())
        mail = smtp_server.wait_for_subject("Your enterprise identity is verified", timeout=60)
    finally:
        reviewer.stop.set()
        reviewer.join(15)
    assert finals[account][0] == "verified"
    status, reasons, at = finals[bad_account]
    assert (status, reasons) == ("refused", ["document_refused", "front"])
    assert at - sent_bad < 30, "the portal hears of its mistake within seconds"
    assert mail["To"] == "owner@outside.example"
    assert submission_id in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    to_bad = [m for m in smtp_server.messages if m["To"] == "bad@outside.example"]
    # only the acknowledgement: nothing asks the customer to fix the portal's mistake
    assert all("We received" in str(m["Subject"]) for m in to_bad), to_bad
    print(f"\noutside client: refused status {at - sent_bad:.1f} s after the bad record")
