"""Every event on the pipeline's topics (ARCHITECTURE.md, "Event flow"; the topics and who
reads them are in `catalog.py`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pycountry
from pydantic import AfterValidator, EmailStr, Field, model_validator

from schemas.base import DocumentRef, Envelope, Identifier, Model, UtcDatetime
from schemas.enums import (
    AccountType,
    DeadLetterReason,
    Decision,
    EntityType,
    FieldName,
    Locale,
    MatchStatus,
    NotificationTemplate,
    QualityCode,
    ReasonCode,
    Recommendation,
    ReviewQueue,
    Side,
    Site,
    StatusTrack,
    SubmissionRefusal,
    TaskAction,
)


def _known_country(code: str) -> str:
    code = code.upper()
    if pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"unknown ISO 3166-1 alpha-2 country code {code!r}")
    return code


CountryCode = Annotated[str, Field(min_length=2, max_length=2), AfterValidator(_known_country)]
Text = Annotated[str, Field(min_length=1, max_length=300)]
OptionalText = Annotated[str | None, Field(default=None, max_length=300)]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


RequiredText = Annotated[Text, AfterValidator(_not_blank)]


# ---------------------------------------------------------------- shared payload parts


class CompanyDetails(Model):
    """What the customer typed on the portal."""

    company_name: RequiredText
    registration_number: Annotated[RequiredText, Field(max_length=64)]
    state_province: RequiredText
    city: RequiredText
    address_line1: RequiredText
    address_line2: OptionalText = None
    entity_type: EntityType = EntityType.COMPANY


class Application(Model):
    """One verification request: who asks, what they typed, and the two document images."""

    site: Site
    account_type: AccountType
    registered_country: CountryCode
    contact_email: EmailStr
    locale: Locale = Locale.EN
    company: CompanyDetails
    mainland_resources: bool
    documents: Annotated[tuple[DocumentRef, ...], Field(max_length=2)]

    @model_validator(mode="after")
    def _one_document_per_side(self) -> Application:
        sides = [doc.side for doc in self.documents]
        if len(sides) != len(set(sides)):
            raise ValueError("at most one document per side")
        return self

    def document(self, side: Side) -> DocumentRef | None:
        return next((doc for doc in self.documents if doc.side == side), None)


class QualityFinding(Model):
    code: QualityCode
    side: Side | None
    message: Annotated[str, Field(min_length=1, max_length=600)]  # verbatim in the email
    value: float | None = None
    threshold: float | None = None
    blocking: bool = True  # False: advice only, the submission still passes


class TamperSignal(Model):
    """A hint for the reviewer that a document may have been edited; never a decision."""

    name: Annotated[str, Field(min_length=1, max_length=64)]
    flagged: bool
    value: float | str | None = None
    threshold: float | None = None
    detail: Annotated[str, Field(max_length=300)] = ""
    region: tuple[float, float, float, float] | None = None  # x, y, w, h as picture fractions


class SideMeasurements(Model):
    side: Side
    media_type: str | None = None
    width: int | None = None
    height: int | None = None
    values: dict[str, float] = Field(default_factory=dict)
    document_quad: tuple[tuple[float, float], ...] = ()  # corners as picture fractions
    skew_deg: float | None = None  # passed on to OCR for deskewing
    tamper: tuple[TamperSignal, ...] = ()


class Evidence(Model):
    """Where on which image a value was read."""

    side: Side
    box: tuple[int, int, int, int] | None = None  # left, top, width, height
    confidence: float | None = None


class FieldMatch(Model):
    field: FieldName
    submitted: str | None
    found: str | None
    score: Annotated[float, Field(ge=0, le=100)]
    status: MatchStatus
    evidence: Evidence | None = None
    notes: tuple[str, ...] = ()  # e.g. format / check-digit result, why a date is a finding


# ---------------------------------------------------------------- events


class SubmissionReceived(Envelope):
    event_type: Literal["SubmissionReceived"] = "SubmissionReceived"
    application: Application


class ComplianceSelectionChanged(Envelope):
    """The customer changed the "resources in the Chinese mainland" answer on the portal."""

    event_type: Literal["ComplianceSelectionChanged"] = "ComplianceSelectionChanged"
    mainland_resources: bool


class AccountErasureRequested(Envelope):
    """Forget an account's personal data (`kyb erase`, or the portal on the customer's request).

    Every stage drops the account's events that were already on their way, the stages holding
    state delete it, open review tasks are cancelled without repeating the application, and
    document files are deleted. `submission_id` is "-": the erasure covers every submission made
    before `occurred_at`; a submission made after it starts the account afresh."""

    event_type: Literal["AccountErasureRequested"] = "AccountErasureRequested"
    requested_by: Identifier  # the operator or system asking, for the audit trail


class QualityChecked(Envelope):
    event_type: Literal["QualityChecked"] = "QualityChecked"
    application: Application
    submitted_at: UtcDatetime | None = None  # the review SLA counts from here
    passed: bool
    findings: tuple[QualityFinding, ...] = ()
    measurements: tuple[SideMeasurements, ...] = ()
    #: Set when the submission cannot be processed at all (the portal's mistake): then
    #: `passed` is false, there are no findings, and the customer is not emailed.
    refusal: SubmissionRefusal | None = None
    refused_side: Side | None = None


class FieldsMatched(Envelope):
    event_type: Literal["FieldsMatched"] = "FieldsMatched"
    application: Application
    submitted_at: UtcDatetime | None = None
    quality_findings: tuple[QualityFinding, ...] = ()
    measurements: tuple[SideMeasurements, ...] = ()  # picture sizes and tamper signals
    fields: tuple[FieldMatch, ...]
    recommendation: Recommendation
    reasons: tuple[str, ...] = ()
    ocr_text: dict[Side, str] = Field(default_factory=dict)
    engine: str


class ComplianceRequested(Envelope):
    event_type: Literal["ComplianceRequested"] = "ComplianceRequested"
    application: Application
    trigger: Literal["submission", "selection_changed"]


class TaskHistoryEntry(Model):
    at: UtcDatetime
    action: Annotated[str, Field(min_length=1, max_length=40)]  # created, assigned, unassigned…
    reviewer_id: str = ""
    reason: Annotated[str, Field(max_length=300)] = ""


class ReviewTask(Envelope):
    """A task's latest change. `reviewer_id` is the new owner (assigned) or the one who lost it
    (unassigned: reassigned elsewhere or put back; cancelled: superseded)."""

    event_type: Literal["ReviewTask"] = "ReviewTask"
    task_id: Identifier
    action: TaskAction = TaskAction.ASSIGNED
    queue: ReviewQueue
    reviewer_id: Identifier
    assignment: Annotated[int, Field(ge=0)] = 1  # how many times the task has been given out
    priority: Annotated[int, Field(ge=0, le=9)] = 5  # 0 is the most urgent
    assigned_at: UtcDatetime
    due_at: UtcDatetime
    #: What the reviewer checks. Only a cancellation caused by an account's erasure leaves it
    #: out (and the findings, fields and reasons with it): erasing must not publish it again.
    application: Application | None = None
    quality_findings: tuple[QualityFinding, ...] = ()
    measurements: tuple[SideMeasurements, ...] = ()
    fields: tuple[FieldMatch, ...] = ()
    recommendation: Recommendation | None = None
    reasons: tuple[str, ...] = ()
    history: tuple[TaskHistoryEntry, ...] = ()

    @model_validator(mode="after")
    def _application_unless_cancelled(self) -> ReviewTask:
        if self.application is None and self.action is not TaskAction.CANCELLED:
            raise ValueError("application is required unless the task is cancelled")
        return self

    @property
    def details(self) -> Application:
        """The application of a task a reviewer can work on (assigned or moved)."""
        if self.application is None:
            raise ValueError(f"task {self.task_id} was cancelled by an erasure: no application")
        return self.application


class ReviewDecision(Envelope):
    event_type: Literal["ReviewDecision"] = "ReviewDecision"
    task_id: Identifier
    queue: ReviewQueue
    reviewer_id: Identifier
    decision: Decision
    reason_codes: Annotated[tuple[ReasonCode, ...], Field(min_length=1)]
    note: Annotated[str, Field(max_length=2000)] = ""
    signature: Annotated[str, Field(max_length=128)] = ""  # HMAC-SHA256 by the reviewers' tool


class StatusChanged(Envelope):
    """One entry of the audit trail; `refused` entries record a transition that was not made."""

    event_type: Literal["StatusChanged"] = "StatusChanged"
    track: StatusTrack
    from_status: str | None
    to_status: str
    refused: bool = False
    reasons: tuple[str, ...] = ()
    cause_event_id: str


class NotificationRequested(Envelope):
    event_type: Literal["NotificationRequested"] = "NotificationRequested"
    notification_id: Identifier
    template: NotificationTemplate
    to: EmailStr
    locale: Locale
    context: dict[str, Any] = Field(default_factory=dict)


class NotificationSent(Envelope):
    event_type: Literal["NotificationSent"] = "NotificationSent"
    notification_id: Identifier
    message_id: Text
    attempts: Annotated[int, Field(ge=1)]


class NotificationFailed(Envelope):
    event_type: Literal["NotificationFailed"] = "NotificationFailed"
    notification_id: Identifier
    error: Text
    permanent: bool
    attempts: Annotated[int, Field(ge=1)]


class StageMetric(Envelope):
    """Counters of one worker over one window; never any personal data."""

    event_type: Literal["StageMetric"] = "StageMetric"
    stage: Identifier
    worker_id: Identifier
    window_start: UtcDatetime
    window_end: UtcDatetime
    events_in: int = 0
    events_out: int = 0
    failures: int = 0
    dead_letters: int = 0
    retries: int = 0
    latency_p50_ms: float = 0.0
    latency_p95_ms: float = 0.0
    latency_max_ms: float = 0.0
    outcomes: dict[Identifier, int] = Field(
        default_factory=dict, max_length=256, description="label → count; labels are names"
    )


class ConsumerLag(Envelope):
    """How far a stage's consumer group is behind on one topic (from the broker's offsets)."""

    event_type: Literal["ConsumerLag"] = "ConsumerLag"
    stage: Identifier
    group: Identifier
    topic: Identifier
    partitions: Annotated[int, Field(ge=0)]
    committed: Annotated[int, Field(ge=0)]  # summed over the partitions
    end: Annotated[int, Field(ge=0)]
    lag: Annotated[int, Field(ge=0)]


class DeadLetter(Envelope):
    """An input a stage could not use, with why. `payload` describes the record without its
    content (ids, field names, size, sha256; see pipeline/redaction.py): replay it from
    `source_topic` at `source_offset`."""

    event_type: Literal["DeadLetter"] = "DeadLetter"
    stage: Identifier
    reason: DeadLetterReason
    error: Annotated[str, Field(max_length=4000)]
    source_topic: str
    source_partition: int | None = None
    source_offset: int | None = None
    payload: str
    payload_truncated: bool = False
    attempts: int = 1


__all__ = [
    "AccountErasureRequested",
    "Application",
    "CompanyDetails",
    "ComplianceRequested",
    "ComplianceSelectionChanged",
    "ConsumerLag",
    "DeadLetter",
    "Evidence",
    "FieldMatch",
    "FieldsMatched",
    "NotificationFailed",
    "NotificationRequested",
    "NotificationSent",
    "QualityChecked",
    "QualityFinding",
    "ReviewDecision",
    "ReviewTask",
    "SideMeasurements",
    "StageMetric",
    "StatusChanged",
    "SubmissionReceived",
    "TamperSignal",
    "TaskHistoryEntry",
]
