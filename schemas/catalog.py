"""The topic catalog and the one codec every runtime uses to turn bytes into events and back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Final

from pydantic import Field, TypeAdapter, ValidationError

from schemas.base import SCHEMA_VERSION, Envelope
from schemas.events import (
    AccountErasureRequested,
    ComplianceRequested,
    ComplianceSelectionChanged,
    ConsumerLag,
    DeadLetter,
    FieldsMatched,
    NotificationFailed,
    NotificationRequested,
    NotificationSent,
    QualityChecked,
    ReviewDecision,
    ReviewTask,
    StageMetric,
    StatusChanged,
    SubmissionReceived,
)

Event = (
    SubmissionReceived
    | ComplianceSelectionChanged
    | AccountErasureRequested
    | QualityChecked
    | FieldsMatched
    | ReviewTask
    | ReviewDecision
    | ComplianceRequested
    | StatusChanged
    | NotificationRequested
    | NotificationSent
    | NotificationFailed
    | StageMetric
    | ConsumerLag
    | DeadLetter
)
EVENT_TYPES: Final[dict[str, type[Envelope]]] = {
    cls.model_fields["event_type"].default: cls for cls in Event.__args__
}
_EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(
    Annotated[Event, Field(discriminator="event_type")]
)


@dataclass(frozen=True)
class TopicSpec:
    """One Kafka topic: what it carries, how it is keyed, how far it can scale."""

    name: str
    event_types: tuple[type[Envelope], ...]
    partitions: int = 6
    key: str = "account_id"
    description: str = ""
    #: How long the broker keeps records. Personal data (company details, OCR text, contact
    #: addresses) lives on the first topics only as long as a case can take; the audit trail
    #: (`kyb.status`, ids and reasons only) for a year.
    retention_days: float = 30

    @property
    def retention_ms(self) -> int:
        return int(self.retention_days * 86_400_000)

    def carries(self, event_type: str) -> bool:
        return any(cls.model_fields["event_type"].default == event_type for cls in self.event_types)


SUBMISSIONS = TopicSpec(
    "kyb.submissions",
    (SubmissionReceived, ComplianceSelectionChanged, AccountErasureRequested),
    description="What the portal publishes: new submissions, changed mainland answers, and "
    "requests to erase an account.",
)
QUALITY_CHECKED = TopicSpec(
    "kyb.quality.checked", (QualityChecked,), description="Image-quality results per submission."
)
OCR_MATCHED = TopicSpec(
    "kyb.ocr.matched", (FieldsMatched,), description="Typed fields matched against the OCR text."
)
REVIEW_TASKS = TopicSpec(
    "kyb.review.tasks",
    (ReviewTask,),
    description="Every change of a review task: assigned, unassigned (moved), cancelled.",
    retention_days=7,  # reviewers' tools start from the ledger, not from this history
)
REVIEW_DECISIONS = TopicSpec(
    "kyb.review.decisions",
    (ReviewDecision,),
    description="Reviewers' decisions.",
    retention_days=7,  # reviewers' tools look back one day (review_decisions_lookback_s)
)
COMPLIANCE_REQUESTED = TopicSpec(
    "kyb.compliance.requested",
    (ComplianceRequested,),
    description="Mainland compliance reviews to be assigned.",
)
STATUS = TopicSpec(
    "kyb.status",
    (StatusChanged,),
    description="The audit trail of every status transition.",
    retention_days=400,
)
NOTIFICATIONS = TopicSpec(
    "kyb.notifications",
    (NotificationRequested,),
    description="Emails to send.",
    retention_days=14,
)
NOTIFICATION_RESULTS = TopicSpec(
    "kyb.notifications.results",
    (NotificationSent, NotificationFailed),
    description="What happened to each email.",
)
METRICS = TopicSpec(
    "kyb.metrics",
    (StageMetric, ConsumerLag),
    partitions=3,
    key="stage",
    description="Per-worker counters and consumer-group lag.",
    retention_days=7,
)
DEADLETTER = TopicSpec(
    "kyb.deadletter",
    (DeadLetter,),
    partitions=3,
    key="stage",
    description="Inputs that could not be used, with the reason.",
)

TOPICS: Final[tuple[TopicSpec, ...]] = (
    SUBMISSIONS,
    QUALITY_CHECKED,
    OCR_MATCHED,
    REVIEW_TASKS,
    REVIEW_DECISIONS,
    COMPLIANCE_REQUESTED,
    STATUS,
    NOTIFICATIONS,
    NOTIFICATION_RESULTS,
    METRICS,
    DEADLETTER,
)
TOPICS_BY_NAME: Final[dict[str, TopicSpec]] = {topic.name: topic for topic in TOPICS}


def topic_for_type_or_none(cls: type[Envelope]) -> TopicSpec | None:
    return next((topic for topic in TOPICS if cls in topic.event_types), None)


def topic_for_type(cls: type[Envelope]) -> TopicSpec:
    """The one topic an event type is published on."""
    topic = topic_for_type_or_none(cls)
    if topic is None:
        raise LookupError(f"no topic carries {cls.__name__}")
    return topic


def topic_for(event: Envelope) -> TopicSpec:
    return topic_for_type(type(event))


def key_for(event: Envelope) -> bytes:
    """Partition key: the account for business events, the stage for operational ones."""
    if topic_for(event).key == "stage":
        return str(getattr(event, "stage", event.producer)).encode()
    return event.account_id.encode()


class UndecodableEvent(ValueError):
    """The bytes are not a JSON object; nothing about them can be trusted."""


class UnsupportedSchemaVersion(UndecodableEvent):
    """A newer `schema_version` than this worker knows: read as today's version it could be
    misunderstood, so it is set aside (dead letter) until the worker is upgraded."""


def decode_event(raw: bytes) -> Event:
    """Bytes → validated event. Raises `UndecodableEvent` (`UnsupportedSchemaVersion` for a
    newer version) or pydantic's `ValidationError`."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UndecodableEvent(f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise UndecodableEvent(f"expected a JSON object, got {type(data).__name__}")
    version = data.get("schema_version", SCHEMA_VERSION)
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        raise UnsupportedSchemaVersion(
            f"schema_version {version} is newer than this worker's {SCHEMA_VERSION}"
        )
    return _EVENT_ADAPTER.validate_python(data)


def encode_event(event: Envelope) -> bytes:
    return event.model_dump_json().encode()


def describe_validation_error(exc: ValidationError) -> str:
    """A reason safe to log: field locations and messages, never the offending input values."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False)[:10]:
        location = ".".join(str(part) for part in error["loc"]) or "<root>"
        parts.append(f"{location}: {error['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
