"""Small helpers shared by the tests: free ports, bounded waiting, sample events."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from kafka import KafkaConsumer
from PIL import Image

from consumers.assign import TaskSpec, open_tasks, task_id
from consumers.assign.ledger import Ledger, ledger_for
from consumers.assign.roster import Roster, hash_token
from pipeline import filetypes
from pipeline.documents import sha256_file
from pipeline.kafka_runtime import consumer_config
from pipeline.settings import Settings
from pipeline.state import StateStore
from schemas import DocumentRef, Envelope, decode_event
from schemas.enums import ReviewQueue, Side, TaskAction
from schemas.events import (
    Application,
    CompanyDetails,
    ReviewDecision,
    ReviewTask,
    SubmissionReceived,
)

T = TypeVar("T")


def kyb_command(*args: str) -> list[str]:
    """The `kyb` CLI as a subprocess of this interpreter (no reliance on PATH)."""
    return [sys.executable, "-m", "pipeline.app.cli", *args]


def run_kyb(
    *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI; `env` adds to (never replaces) this process's environment."""
    return subprocess.run(
        kyb_command(*args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=None if env is None else os.environ | env,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for(
    probe: Callable[[], T | None], timeout: float, interval: float = 0.1, what: str = ""
) -> T:
    """Poll `probe` until it returns something truthy; bounded by `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout}s waiting for {what or probe}")
        time.sleep(interval)


def join_all(threads: list[threading.Thread], timeout: float) -> None:
    """Join every started thread within `timeout` seconds in all; if one is still alive, fail
    with where it is stuck (a hang in CI is otherwise a bare `assert not True`)."""
    deadline = time.monotonic() + timeout
    for thread in threads:
        if thread.ident is not None:  # started
            thread.join(max(0.0, deadline - time.monotonic()))
    frames = sys._current_frames()
    stuck = {
        thread.name: "".join(traceback.format_stack(frames[thread.ident]))
        for thread in threads
        if thread.is_alive() and thread.ident in frames
    }
    assert not stuck, "\n".join(f"{name} still running at:\n{at}" for name, at in stuck.items())


def document_ref(path: Path, side: Side) -> DocumentRef:
    """The reference a correct portal sends: media type from the content (JPEG if unknown)."""
    with path.open("rb") as handle:
        media_type = filetypes.sniff(handle.read(16)) or "image/jpeg"
    return DocumentRef(
        side=side,
        uri=path.resolve().as_uri(),
        sha256=sha256_file(path),
        media_type=media_type,
        size_bytes=path.stat().st_size,
    )


def company(**overrides: object) -> CompanyDetails:
    values: dict[str, object] = {
        "company_name": "Harbour Logistics Pte. Ltd.",
        "registration_number": "201912345K",
        "state_province": "Central Region",
        "city": "Singapore",
        "address_line1": "12 Market Street",
    }
    return CompanyDetails.model_validate(values | overrides)


def application(documents: tuple[DocumentRef, ...] = (), **overrides: object) -> Application:
    values: dict[str, object] = {
        "site": "international",
        "account_type": "individual",
        "registered_country": "SG",
        "contact_email": "ops@customer.example",
        "company": company(),
        "mainland_resources": False,
        "documents": documents,
    }
    return Application.model_validate(values | overrides)


def submission(account_id: str = "acct-1", **overrides: object) -> SubmissionReceived:
    values: dict[str, object] = {
        "event_id": uuid.uuid4(),
        "occurred_at": datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
        "account_id": account_id,
        "submission_id": f"sub-{uuid.uuid4().hex[:8]}",
        "producer": "portal",
        "application": application(),
    }
    return SubmissionReceived.model_validate(values | overrides)


def roster(**people: dict[str, object]) -> Roster:
    """A roster; each keyword is a reviewer id with its fields (defaults: both queues, any
    country, 20 open tasks, token "t-<id>"); a `token` field is stored as its sha256."""

    def reviewer(name: str, fields: dict[str, object]) -> dict[str, object]:
        fields = dict(fields)
        token = str(fields.pop("token", f"t-{name}"))
        return {
            "id": name,
            "name": name.title(),
            "email": f"{name}@kyb.example",
            "token_sha256": hash_token(token),
            "queues": ["identity", "compliance"],
        } | fields

    return Roster.model_validate(
        {"reviewers": [reviewer(name, fields) for name, fields in people.items()]}
    )


def open_review_task(
    state: StateStore, cause: SubmissionReceived, queue: ReviewQueue, reviewer: str = "r"
) -> str:
    """Put `reviewer` on the roster and give them the task for `cause`'s submission."""
    ledger = ledger_for(state)
    now = time.time()
    ledger.load(roster(**{reviewer: {}}), now)
    tid = task_id(cause.submission_id, queue)
    spec = TaskSpec(
        account_id=cause.account_id,
        submission_id=cause.submission_id,
        application=cause.application,
    )
    ledger.open(
        tid,
        queue,
        cause.application.registered_country,
        now + 3 * 86400,
        now,
        spec.model_dump_json(),
        cause.account_id,
        cause.submission_id,
        cause=f"test-{uuid.uuid4()}",
    )
    return tid


def followed_by(cause: Envelope, cls: type[T], **fields: object) -> T:
    """An event of the same account and submission as `cause`."""
    return cls(
        event_id=uuid.uuid4(),
        occurred_at=cause.occurred_at,
        account_id=cause.account_id,
        submission_id=cause.submission_id,
        producer="test",
        **fields,
    )


def review_task(
    cause: SubmissionReceived,
    reviewer: str = "ana",
    action: TaskAction = TaskAction.ASSIGNED,
    assignment: int = 1,
    due_at: datetime | None = None,
    queue: ReviewQueue = ReviewQueue.IDENTITY,
    **fields: object,
) -> ReviewTask:
    """A ReviewTask as the assign stage would publish it for `cause`'s submission."""
    values: dict[str, object] = {
        "event_id": uuid.uuid4(),
        "occurred_at": cause.occurred_at,
        "account_id": cause.account_id,
        "submission_id": cause.submission_id,
        "producer": "assign",
        "task_id": task_id(cause.submission_id, queue),
        "action": action,
        "queue": queue,
        "reviewer_id": reviewer,
        "assignment": assignment,
        "assigned_at": cause.occurred_at,
        "due_at": due_at or datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
        "application": cause.application,
    }
    return ReviewTask.model_validate(values | fields)


def open_in_ledger(
    ledger: Ledger, cause: SubmissionReceived, queue: ReviewQueue, due_at: datetime
) -> ReviewTask:
    """Open a task in the real ledger, as the assign stage does for `cause` (whoever the ledger
    picks gets it); returns the task as reviewers' tools see it."""
    spec = TaskSpec(
        account_id=cause.account_id,
        submission_id=cause.submission_id,
        application=cause.application,
    )
    task = task_id(cause.submission_id, queue)
    now = cause.occurred_at.timestamp()
    ledger.open(
        task,
        queue,
        cause.application.registered_country,
        due_at.timestamp(),
        now,
        spec.model_dump_json(),
        cause.account_id,
        cause.submission_id,
        cause=str(cause.event_id),
    )
    [opened] = [t for t in open_tasks(ledger, cause.occurred_at) if t.task_id == task]
    return opened


def start_kyb(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A long-running `kyb` command (worker, console, dashboard) logging to `log`."""
    return subprocess.Popen(
        kyb_command(*args), env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT
    )


def serve_kyb(
    args: list[str], env: dict[str, str], log: Path, port: int
) -> subprocess.Popen[bytes]:
    """`start_kyb` for a server: returns once it listens on `port` (fails with its log if it
    exits first)."""
    proc = start_kyb(args, env, log)
    wait_for(lambda: proc.poll() is not None or port_open(port), 60, what=f"{args[0]} port")
    assert proc.poll() is None, log.read_text()[-3000:]
    return proc


def read_topic(settings: Settings, topic: str, want: int = 0, timeout: float = 30) -> list[Any]:
    """The events on `topic`, read from the start without a group: at least `want` of them
    (TimeoutError otherwise); with `want=0`, until a poll after the first records finds nothing
    more, or `timeout`."""
    consumer = KafkaConsumer(topic, **consumer_config(settings, None))
    found: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=300)
            found.extend(decode_event(r.value) for records in batch.values() for r in records)
            if (want and len(found) >= want) or (not want and found and not batch):
                return found
    finally:
        consumer.close()
    if want:
        raise TimeoutError(f"{len(found)} of {want} events on {topic} after {timeout} s")
    return found


def signed(decision: ReviewDecision) -> ReviewDecision:
    """A decision signed like the reviewers' tools sign it (the tests' shared key)."""
    from pipeline.settings import Settings
    from pipeline.signing import sign_decision

    key = Settings().decision_signing_key
    assert key is not None, "tests/conftest.py sets KYB_DECISION_SIGNING_KEY"
    return sign_decision(decision, key)


def saved_by_editor(pixels: Any, software: str) -> bytes:
    """A capture (BGR pixels) saved as JPEG by an editor that names itself in EXIF Software."""
    exif = Image.Exif()
    exif[0x0131] = software
    buffer = io.BytesIO()
    Image.fromarray(pixels[:, :, ::-1]).save(buffer, "JPEG", quality=90, exif=exif.tobytes())
    return buffer.getvalue()
