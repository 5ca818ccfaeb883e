from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from schemas import EVENT_TYPES, TOPICS, UndecodableEvent, decode_event, encode_event, topic_for
from schemas.catalog import describe_validation_error
from schemas.enums import Decision, ReasonCode, ReviewQueue
from schemas.events import ReviewDecision
from tests.helpers import submission


def test_every_event_type_is_carried_by_exactly_one_topic() -> None:
    for name, cls in EVENT_TYPES.items():
        carriers = [topic.name for topic in TOPICS if cls in topic.event_types]
        assert len(carriers) == 1, (name, carriers)


def test_submission_round_trips_through_bytes() -> None:
    event = submission()
    decoded = decode_event(encode_event(event))
    assert decoded == event
    assert topic_for(decoded).name == "kyb.submissions"


def test_unknown_field_is_refused() -> None:
    data = json.loads(encode_event(submission()))
    data["application"]["company"]["nickname"] = "x"
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        decode_event(json.dumps(data).encode())


def test_wrong_type_is_refused() -> None:
    data = json.loads(encode_event(submission()))
    data["application"]["mainland_resources"] = "perhaps"
    with pytest.raises(ValidationError, match="mainland_resources"):
        decode_event(json.dumps(data).encode())


def test_events_are_frozen() -> None:
    event = submission()
    with pytest.raises(ValidationError, match="frozen"):
        event.account_id = "other"  # type: ignore[misc]


def test_naive_timestamp_is_refused() -> None:
    data = json.loads(encode_event(submission()))
    data["occurred_at"] = "2026-11-20T09:00:00"
    with pytest.raises(ValidationError, match="timezone"):
        decode_event(json.dumps(data).encode())


def test_unknown_country_and_bad_email_are_refused() -> None:
    data = json.loads(encode_event(submission()))
    data["application"]["registered_country"] = "XX"
    data["application"]["contact_email"] = "not-an-email"
    with pytest.raises(ValidationError) as info:
        decode_event(json.dumps(data).encode())
    fields = {error["loc"][-1] for error in info.value.errors()}
    assert {"registered_country", "contact_email"} <= fields


def test_blank_company_name_is_refused() -> None:
    data = json.loads(encode_event(submission()))
    data["application"]["company"]["company_name"] = "   "
    with pytest.raises(ValidationError, match="blank"):
        decode_event(json.dumps(data).encode())


def test_unknown_event_type_is_refused() -> None:
    data = json.loads(encode_event(submission()))
    data["event_type"] = "SomethingElse"
    with pytest.raises(ValidationError, match="event_type"):
        decode_event(json.dumps(data).encode())


@pytest.mark.parametrize("raw", [b"not json", b"\xff\xfe", b"[1, 2]", b'"text"'])
def test_non_object_payloads_are_undecodable(raw: bytes) -> None:
    with pytest.raises(UndecodableEvent):
        decode_event(raw)


def test_validation_reason_never_echoes_the_input() -> None:
    data = json.loads(encode_event(submission()))
    data["application"]["contact_email"] = "secret-person@@example"
    with pytest.raises(ValidationError) as info:
        decode_event(json.dumps(data).encode())
    reason = describe_validation_error(info.value)
    assert "application.contact_email" in reason
    assert "secret-person" not in reason


def test_decision_needs_a_reason_code() -> None:
    common = {
        "event_id": uuid.uuid4(),
        "occurred_at": datetime.now(UTC),
        "account_id": "a",
        "submission_id": "s",
        "producer": "reviewer",
        "task_id": "t",
        "queue": ReviewQueue.IDENTITY,
        "reviewer_id": "r",
        "decision": Decision.APPROVE,
    }
    with pytest.raises(ValidationError, match="reason_codes"):
        ReviewDecision(**common, reason_codes=())
    assert (
        ReviewDecision(**common, reason_codes=(ReasonCode.DOCUMENTS_CONSISTENT,)).decision
        == "approve"
    )
