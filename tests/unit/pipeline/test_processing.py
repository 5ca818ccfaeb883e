"""The processor that both runtimes share: decoding, validation, retries and dead letters."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.documents import DocumentStore
from pipeline.errors import PermanentError, RefusedError
from pipeline.processing import Retries, Source, StageProcessor
from pipeline.settings import Settings
from pipeline.stage import Context, Stage
from pipeline.state import memory_state_store
from schemas import Envelope, catalog, encode_event
from schemas.enums import DeadLetterReason
from schemas.events import DeadLetter, QualityChecked, SubmissionReceived
from tests.helpers import submission

SOURCE = Source("kyb.submissions", 2, 41, b"acct-1")


def make(handler, tmp_path: Path, attempts: int = 3) -> StageProcessor:  # type: ignore[no-untyped-def]
    stage = Stage(
        "probe",
        (catalog.SUBMISSIONS,),
        (SubmissionReceived,),
        (QualityChecked,),
        handler,
        "test stage",
    )
    ctx = Context("probe", Settings(), memory_state_store(), DocumentStore([tmp_path], 100))
    return StageProcessor(
        stage,
        ctx,
        [Retries(max_attempts=attempts, backoff_s=0, sleep=lambda _: None)],
    )


def ok_handler(event: SubmissionReceived, ctx: Context) -> Sequence[Envelope]:
    return [ctx.derive(QualityChecked, event, application=event.application, passed=True)]


def only_letter(outputs: Sequence[Envelope]) -> DeadLetter:
    assert len(outputs) == 1
    assert isinstance(outputs[0], DeadLetter)
    return outputs[0]


def test_good_event_is_handled_with_a_derived_id(tmp_path: Path) -> None:
    event = submission()
    first = make(ok_handler, tmp_path).process(encode_event(event), SOURCE).outputs
    again = make(ok_handler, tmp_path).process(encode_event(event), SOURCE).outputs
    assert isinstance(first[0], QualityChecked)
    assert first[0].event_id == again[0].event_id != event.event_id
    assert first[0].submission_id == event.submission_id


def test_not_json_is_dead_lettered_with_its_source_and_a_redacted_payload(tmp_path: Path) -> None:
    letter = only_letter(make(ok_handler, tmp_path).process(b"x" * 200, SOURCE).outputs)
    assert letter.reason is DeadLetterReason.UNPARSEABLE
    assert "not valid JSON" in letter.error
    assert letter.source_topic == "kyb.submissions"
    assert letter.source_partition == 2
    assert letter.source_offset == 41
    assert json.loads(letter.payload) == {
        "redacted": True,
        "bytes": 200,
        "sha256": hashlib.sha256(b"x" * 200).hexdigest(),
        "json": False,
    }
    assert letter.account_id == "acct-1"


def test_a_dead_letter_keeps_ids_and_field_names_but_no_personal_data(tmp_path: Path) -> None:
    event = submission()
    data = json.loads(encode_event(event))
    del data["application"]["company"]["city"]  # invalid: dead-lettered
    letter = only_letter(
        make(ok_handler, tmp_path).process(json.dumps(data).encode(), SOURCE).outputs
    )
    kept = json.loads(letter.payload)
    assert kept["event_id"] == str(event.event_id)
    assert kept["submission_id"] == event.submission_id
    assert kept["account_id"] == event.account_id
    assert "application" in kept["fields"]
    company = event.application.company
    for secret in (
        company.company_name,
        company.registration_number,
        company.address_line1,
        str(event.application.contact_email),
        event.application.documents[0].uri if event.application.documents else "file:",
    ):
        assert secret not in letter.payload


def test_wrong_schema_is_dead_lettered_with_the_field(tmp_path: Path) -> None:
    data = json.loads(encode_event(submission()))
    del data["application"]["company"]["city"]
    letter = only_letter(
        make(ok_handler, tmp_path).process(json.dumps(data).encode(), SOURCE).outputs
    )
    assert letter.reason is DeadLetterReason.INVALID_EVENT
    assert "application.company.city: Field required" in letter.error


def test_event_on_the_wrong_topic_is_dead_lettered(tmp_path: Path) -> None:
    raw = encode_event(submission())
    letter = only_letter(make(ok_handler, tmp_path).process(raw, Source("kyb.status")).outputs)
    assert letter.reason is DeadLetterReason.WRONG_TOPIC


def test_transient_failure_is_retried_then_succeeds(tmp_path: Path) -> None:
    calls = []

    def flaky(event: SubmissionReceived, ctx: Context) -> Sequence[Envelope]:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("down")
        return ok_handler(event, ctx)

    outputs = make(flaky, tmp_path).process(encode_event(submission()), SOURCE).outputs
    assert isinstance(outputs[0], QualityChecked)
    assert len(calls) == 3


def test_persistent_failure_is_dead_lettered_after_bounded_attempts(tmp_path: Path) -> None:
    calls = []

    def broken(event: SubmissionReceived, ctx: Context) -> Sequence[Envelope]:
        calls.append(1)
        raise ConnectionError("still down")

    letter = only_letter(
        make(broken, tmp_path, attempts=4).process(encode_event(submission()), SOURCE).outputs
    )
    assert len(calls) == 4
    assert letter.attempts == 4
    assert letter.reason is DeadLetterReason.PROCESSING_FAILED
    assert "ConnectionError: still down" in letter.error


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (PermanentError, DeadLetterReason.PROCESSING_FAILED),
        (RefusedError, DeadLetterReason.REFUSED),
    ],
)
def test_permanent_errors_are_not_retried(
    tmp_path: Path, error: type[Exception], reason: DeadLetterReason
) -> None:
    calls = []

    def refuse(event: SubmissionReceived, ctx: Context) -> Sequence[Envelope]:
        calls.append(1)
        raise error("no")

    letter = only_letter(make(refuse, tmp_path).process(encode_event(submission()), SOURCE).outputs)
    assert calls == [1]
    assert letter.reason is reason


def test_events_the_stage_does_not_accept_are_skipped(tmp_path: Path) -> None:
    from schemas.events import ComplianceSelectionChanged

    change = ComplianceSelectionChanged(
        **submission().model_dump(exclude={"application", "event_type"}), mainland_resources=True
    )
    result = make(ok_handler, tmp_path).process(encode_event(change), SOURCE)
    assert result.skipped
    assert result.outputs == []


def test_undeclared_outputs_are_dead_lettered(tmp_path: Path) -> None:
    def sneaky(event: SubmissionReceived, ctx: Context) -> Sequence[Envelope]:
        return [event]

    letter = only_letter(make(sneaky, tmp_path).process(encode_event(submission()), SOURCE).outputs)
    assert "undeclared" in letter.error


def test_an_unreachable_state_store_is_an_outage_not_a_bad_record(tmp_path: Path) -> None:
    import redis

    from pipeline.errors import DependencyDown

    def redis_down(event: SubmissionReceived, ctx: Context) -> Sequence[Envelope]:
        raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379")

    processor = make(redis_down, tmp_path)
    with pytest.raises(DependencyDown, match="ConnectionError"):
        processor.process(encode_event(submission()), SOURCE)


def test_a_stage_makes_its_worker_resources_once_and_releases_them(tmp_path: Path) -> None:
    made: list[str] = []
    closed: list[list[str]] = []

    def open_pool(ctx: Context) -> None:
        ctx.resource("pool", lambda: made.append("pool") or ["connection"])

    def handler(event: SubmissionReceived, ctx: Context) -> Sequence[Envelope]:
        pool = ctx.resource("pool", lambda: made.append("again") or [])
        pool.append("used")
        return ok_handler(event, ctx)

    probe = make(handler, tmp_path)
    stage = replace(
        probe.stage,
        on_startup=open_pool,
        on_shutdown=lambda ctx: closed.append(ctx.resources["pool"]),
    )
    processor = StageProcessor(stage, probe.ctx)
    assert made == ["pool"]  # before any event
    for _ in range(2):
        processor.process(encode_event(submission()), SOURCE)
    processor.close()
    assert made == ["pool"]
    assert closed == [["connection", "used", "used"]]


def test_a_newer_schema_version_is_set_aside_with_that_reason(tmp_path: Path) -> None:
    record = json.loads(encode_event(submission()))
    record["schema_version"] = 2
    record["application"]["new_v2_field"] = "something v1 cannot judge"
    result = make(ok_handler, tmp_path).process(json.dumps(record).encode(), SOURCE)
    letter = only_letter(result.outputs)
    assert letter.reason is DeadLetterReason.UNSUPPORTED_VERSION
    assert "schema_version 2 is newer" in letter.error
    record["schema_version"] = 1
    del record["application"]["new_v2_field"]
    again = make(ok_handler, tmp_path).process(json.dumps(record).encode(), SOURCE)
    assert isinstance(again.outputs[0], QualityChecked)  # today's version is processed


def test_a_bad_record_is_reported_by_the_topics_guard_only(tmp_path: Path) -> None:
    guard = make(ok_handler, tmp_path)
    reader = StageProcessor(
        replace(guard.stage, name="other", guards=()),
        guard.ctx,
    )
    assert only_letter(guard.process(b"not json", SOURCE).outputs).reason == "unparseable"
    skipped = reader.process(b"not json", SOURCE)
    assert skipped.outputs == []
    assert skipped.skipped


def test_a_record_keyed_by_something_else_than_its_account_is_set_aside(tmp_path: Path) -> None:
    event = submission()  # account acct-1
    wrong = Source("kyb.submissions", 2, 41, b"acct-2")
    letter = only_letter(make(ok_handler, tmp_path).process(encode_event(event), wrong).outputs)
    assert letter.reason is DeadLetterReason.WRONG_KEY
    right = make(ok_handler, tmp_path).process(encode_event(event), SOURCE).outputs
    assert isinstance(right[0], QualityChecked)
