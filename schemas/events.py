"""Every event on the pipeline's topics (ARCHITECTURE.md, "Event flow"; the topics and who
reads them are in `catalog.py`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pycountry
from pydantic import AfterValidator, EmailStr, Field, model_validator

from schemas.base import DocumentRef, Envelope, Identifier, Model, UtcDatetime
from schemas.enums import (
    AccountType,
    ComplianceStatus,
    DeadLetterReason,
    Decision,
    EntityType,
    FieldName,
    IdentityStatus,
    Locale,
    MainlandAnswer,
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


#: Every value a status track can take (which one depends on `track`).
StatusValue = IdentityStatus | ComplianceStatus | AccountType | MainlandAnswer


# ---------------------------------------------------------------- shared payload parts


class CompanyDetails(Model):
    """What the customer typed on the portal."""

    company_name: RequiredText
    """The registered company name as the customer typed it; compared with the certificate."""
    registration_number: Annotated[RequiredText, Field(max_length=64)]
    """The business registration number (USCC on the China site), as typed; checked for its
    country's format and check digits and compared with the certificate.
    """
    state_province: RequiredText
    """State or province of the registered address."""
    city: RequiredText
    """City of the registered address."""
    address_line1: RequiredText
    """First line of the registered address."""
    address_line2: OptionalText = None
    """Second line of the registered address, if any."""
    entity_type: EntityType = EntityType.COMPANY
    """What the customer declares: a company or a sole proprietorship (verified with restrictions).
    """


class Application(Model):
    """One verification request: who asks, what they typed, and the two document images."""

    site: Site
    """Which portal the customer uses: international, or china (Chinese business licences, USCC)."""
    account_type: AccountType
    """The account's type as the portal knows it today, for the reviewer. Never trusted as state: an
    account becomes enterprise only through a verified decision.
    """
    registered_country: CountryCode
    """ISO 3166-1 alpha-2 code of the country the account is registered in; the certificate must be
    issued there.
    """
    contact_email: EmailStr
    """Where results are emailed. The portal must have verified this address."""
    locale: Locale = Locale.EN
    """Language of the emails: en or zh-CN."""
    company: CompanyDetails
    """What the customer typed about the company."""
    mainland_resources: bool
    """The customer's answer to "will you buy resources in the Chinese mainland?"; yes requests a
    separate compliance review.
    """
    documents: Annotated[tuple[DocumentRef, ...], Field(max_length=2)]
    """The certificate's sides by reference (at most one per side); a missing side is a quality
    finding.
    """

    @model_validator(mode="after")
    def _one_document_per_side(self) -> Application:
        sides = [doc.side for doc in self.documents]
        if len(sides) != len(set(sides)):
            raise ValueError("at most one document per side")
        return self

    def document(self, side: Side) -> DocumentRef | None:
        return next((doc for doc in self.documents if doc.side == side), None)


class QualityFinding(Model):
    """One thing wrong with the pictures, with the sentence the customer is emailed."""

    code: QualityCode
    """What is wrong, machine-readable (see QualityCode)."""
    side: Side | None
    """Which side it concerns; null for both (e.g. the same picture twice)."""
    message: Annotated[str, Field(min_length=1, max_length=600)]  # verbatim in the email
    """The customer-facing sentence, mailed as it is (English); translated texts come from the code.
    """
    value: float | None = None
    """The measured value that is out of range, if the check measures one."""
    threshold: float | None = None
    """The limit it was compared with."""
    blocking: bool = True  # False: advice only, the submission still passes
    """True: the submission fails quality and the customer is asked for new pictures. False: advice
    only.
    """


class TamperSignal(Model):
    """A hint for the reviewer that a document may have been edited; never a decision."""

    name: Annotated[str, Field(min_length=1, max_length=64)]
    """Which signal, e.g. editing_software, pdf_incremental_updates, recompression."""
    flagged: bool
    """True when the signal exceeds its threshold; a hint for the reviewer, never a decision."""
    value: float | str | None = None
    """What was measured or found (a number or a short text such as the producer software)."""
    threshold: float | None = None
    """The limit the value was compared with, if numeric."""
    detail: Annotated[str, Field(max_length=300)] = ""
    """A short explanation for the reviewer."""
    region: tuple[float, float, float, float] | None = None  # x, y, w, h as picture fractions
    """Where on the picture, as fractions (x, y, width, height) of its width and height."""


class SideMeasurements(Model):
    """What the quality stage measured on one side, for OCR and the reviewer."""

    side: Side
    """Which side was measured."""
    media_type: str | None = None
    """The type sniffed from the file's content."""
    width: int | None = None
    """Picture width in pixels (a PDF: its first page as rendered)."""
    height: int | None = None
    """Picture height in pixels."""
    values: dict[str, float] = Field(default_factory=dict)
    """Every measurement by name (sharpness, contrast, resolution, exposure, ...); units per name,
    see README.
    """
    document_quad: tuple[tuple[float, float], ...] = ()  # corners as picture fractions
    """The document's corners as fractions of the picture (clockwise from top left); empty when the
    page fills the picture.
    """
    skew_deg: float | None = None  # passed on to OCR for deskewing
    """How far the text lines are rotated, in degrees; OCR deskews by it."""
    tamper: tuple[TamperSignal, ...] = ()
    """Signals that the document may have been edited, for the reviewer: filled in by the OCR
    stage (`FieldsMatched`), empty on `QualityChecked` (the customer's answer does not wait)."""


class Evidence(Model):
    """Where on which image a value was read."""

    side: Side
    """The side the value was read on."""
    box: tuple[int, int, int, int] | None = None  # left, top, width, height
    """Where, in pixels of the original picture: left, top, width, height."""
    confidence: float | None = None
    """The OCR engine's confidence, 0-100."""


class FieldMatch(Model):
    """One typed field against what the certificate says."""

    field: FieldName
    """Which typed field this compares."""
    submitted: str | None
    """What the customer typed."""
    found: str | None
    """What the certificate says, as read; null when nothing was found."""
    score: Annotated[float, Field(ge=0, le=100)]
    """Similarity of typed and found, 0-100 (after normalising case, spacing and legal forms)."""
    status: MatchStatus
    """match, partial (the reviewer must look), mismatch, or not_found."""
    evidence: Evidence | None = None
    """Where the value was read, for the reviewer's view."""
    notes: tuple[str, ...] = ()  # e.g. format / check-digit result, why a date is a finding
    """Remarks such as the registration number's check-digit result."""


# ---------------------------------------------------------------- events


class SubmissionReceived(Envelope):
    """A customer submitted both sides of the certificate and the company details (the portal
    writes it)."""

    event_type: Literal["SubmissionReceived"] = "SubmissionReceived"
    """Always "SubmissionReceived": selects this schema."""
    application: Application
    """What the customer submitted."""


class ComplianceSelectionChanged(Envelope):
    """The customer changed the "resources in the Chinese mainland" answer on the portal."""

    event_type: Literal["ComplianceSelectionChanged"] = "ComplianceSelectionChanged"
    """Always "ComplianceSelectionChanged": selects this schema."""
    mainland_resources: bool
    """The customer's new answer; yes requests a compliance review, no cancels a pending one."""


class AccountErasureRequested(Envelope):
    """Forget an account's personal data (`kyb erase`, or the portal on the customer's request).

    Every stage drops the account's events that were already on their way, the stages holding
    state delete it, open review tasks are cancelled without repeating the application, and
    document files are deleted. `submission_id` is "-": the erasure covers every submission made
    before `occurred_at`; a submission made after it starts the account afresh."""

    event_type: Literal["AccountErasureRequested"] = "AccountErasureRequested"
    """Always "AccountErasureRequested": selects this schema."""
    requested_by: Identifier  # the operator or system asking, for the audit trail
    """The operator or system asking (an id or ticket), for the audit trail."""


class QualityChecked(Envelope):
    """The image-quality result of a submission: passed, what the customer must fix, or refused
    (the portal's mistake)."""

    event_type: Literal["QualityChecked"] = "QualityChecked"
    """Always "QualityChecked": selects this schema."""
    application: Application
    """The submission's application, passed on."""
    submitted_at: UtcDatetime | None = None  # the review SLA counts from here
    """When the customer submitted; the review SLA counts from here."""
    passed: bool
    """True when no blocking finding was made and the submission was not refused."""
    findings: tuple[QualityFinding, ...] = ()
    """What the customer must fix (blocking) or may improve (advice)."""
    measurements: tuple[SideMeasurements, ...] = ()
    """Per side: the measured values, document outline and skew (no tamper signals yet)."""
    #: Set when the submission cannot be processed at all (the portal's mistake): then
    #: `passed` is false, there are no findings, and the customer is not emailed.
    refusal: SubmissionRefusal | None = None
    """Set when the submission cannot be processed at all (the portal's mistake); then there are no
    findings and the customer is not emailed.
    """
    refused_side: Side | None = None
    """The side whose reference was refused."""


class FieldsMatched(Envelope):
    """The certificate read and every typed field compared with it; the reviewer's evidence."""

    event_type: Literal["FieldsMatched"] = "FieldsMatched"
    """Always "FieldsMatched": selects this schema."""
    application: Application
    """The submission's application, passed on."""
    submitted_at: UtcDatetime | None = None
    """When the customer submitted; the review SLA counts from here."""
    quality_findings: tuple[QualityFinding, ...] = ()
    """The quality stage's advice-only findings, for the reviewer."""
    measurements: tuple[SideMeasurements, ...] = ()  # picture sizes and tamper signals
    """The quality stage's measurements with this stage's tamper signals, for the reviewer."""
    fields: tuple[FieldMatch, ...]
    """Every typed field against what the certificate says."""
    recommendation: Recommendation
    """clean or attention: how closely the reviewer should look; never a decision."""
    reasons: tuple[str, ...] = ()
    """Why the recommendation, one sentence each."""
    ocr_text: dict[Side, str] = Field(default_factory=dict)
    """The text read from the front side (for the reviewer; kept only as long as the topic keeps
    it).
    """
    engine: str
    """Which OCR path read it, e.g. tesserocr or pdf-text-layer+tesserocr."""


class ComplianceRequested(Envelope):
    """A Chinese mainland compliance review is needed for this submission."""

    event_type: Literal["ComplianceRequested"] = "ComplianceRequested"
    """Always "ComplianceRequested": selects this schema."""
    application: Application
    """The application the compliance reviewer checks."""
    trigger: Literal["submission", "selection_changed"]
    """What asked for the review: the submission, or a changed mainland answer."""


class TaskHistoryEntry(Model):
    """One change in a review task's life."""

    at: UtcDatetime
    """When (UTC)."""
    action: Annotated[str, Field(min_length=1, max_length=40)]  # created, assigned, unassigned…
    """created, assigned, unassigned, waiting, cancelled, decided or breached."""
    reviewer_id: str = ""
    """The reviewer concerned, if any."""
    reason: Annotated[str, Field(max_length=300)] = ""
    """Why, e.g. "idle for 8 h" or "superseded by a newer submission"."""


class ReviewTask(Envelope):
    """A task's latest change. `reviewer_id` is the new owner (assigned) or the one who lost it
    (unassigned: reassigned elsewhere or put back; cancelled: superseded)."""

    event_type: Literal["ReviewTask"] = "ReviewTask"
    """Always "ReviewTask": selects this schema."""
    task_id: Identifier
    """The task: `<submission_id>.identity`, or `<submission_id>.compliance.<request>`."""
    action: TaskAction = TaskAction.ASSIGNED
    """What changed: assigned (to reviewer_id), unassigned (taken from reviewer_id), cancelled."""
    queue: ReviewQueue
    """identity or compliance review."""
    reviewer_id: Identifier
    """The new owner (assigned) or the one who lost the task (unassigned, cancelled)."""
    assignment: Annotated[int, Field(ge=0)] = 1  # how many times the task has been given out
    """How many times the task has been given out; a later assignment supersedes an earlier one."""
    priority: Annotated[int, Field(ge=0, le=9)] = 5  # 0 is the most urgent
    """0 is the most urgent; 4 for tasks with tamper signals or attention, 5 otherwise."""
    assigned_at: UtcDatetime
    """When the current owner got it (UTC)."""
    due_at: UtcDatetime
    """When the review is due: 3 business days after submission in the account's country (UTC)."""
    #: What the reviewer checks. Only a cancellation caused by an account's erasure leaves it
    #: out (and the findings, fields and reasons with it): erasing must not publish it again.
    application: Application | None = None
    """What the reviewer checks; left out only on a cancellation caused by an erasure."""
    quality_findings: tuple[QualityFinding, ...] = ()
    """The quality stage's findings, for the reviewer."""
    measurements: tuple[SideMeasurements, ...] = ()
    """The quality stage's measurements, for the reviewer."""
    fields: tuple[FieldMatch, ...] = ()
    """Typed fields against the certificate (identity queue)."""
    recommendation: Recommendation | None = None
    """clean or attention, from the OCR stage."""
    reasons: tuple[str, ...] = ()
    """Why the recommendation."""
    history: tuple[TaskHistoryEntry, ...] = ()
    """Every change of the task so far."""

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
    """A reviewer's signed decision on a task (the reviewers' tools write it)."""

    event_type: Literal["ReviewDecision"] = "ReviewDecision"
    """Always "ReviewDecision": selects this schema."""
    task_id: Identifier
    """The task decided."""
    queue: ReviewQueue
    """The task's queue."""
    reviewer_id: Identifier
    """The reviewer deciding; must own the task."""
    decision: Decision
    """approve or reject (final for the task)."""
    reason_codes: Annotated[tuple[ReasonCode, ...], Field(min_length=1)]
    """Why, machine-readable; shown to the customer in plain words."""
    note: Annotated[str, Field(max_length=2000)] = ""
    """The reviewer's note for the record (never emailed)."""
    signature: Annotated[str, Field(max_length=128)] = ""  # HMAC-SHA256 by the reviewers' tool
    """HMAC-SHA256 over the decision by the reviewers' tool; unsigned or forged decisions are
    refused.
    """


class StatusChanged(Envelope):
    """One entry of the audit trail; `refused` entries record a transition that was not made."""

    event_type: Literal["StatusChanged"] = "StatusChanged"
    """Always "StatusChanged": selects this schema."""
    track: StatusTrack
    """Which status machine: identity, compliance, account_type or mainland_resources."""
    from_status: StatusValue | None
    """The status before (null for the first)."""
    to_status: StatusValue
    """The status after. Identity: submitted, checking, in_review, then final verified, rejected,
    resubmission_required or refused. Compliance: not_required, pending, then final approved or
    rejected. Account type: individual, enterprise.
    """
    refused: bool = False
    """True when the transition was asked for but not made (e.g. enterprise back to individual): an
    audit entry only.
    """
    reasons: tuple[str, ...] = ()
    """Why, human-readable; for identity `refused`: the SubmissionRefusal code and the side."""
    cause_event_id: str
    """The event that caused the transition."""


class NotificationRequested(Envelope):
    """An email to send to the customer (the verdict stage writes it; notify sends it once)."""

    event_type: Literal["NotificationRequested"] = "NotificationRequested"
    """Always "NotificationRequested": selects this schema."""
    notification_id: Identifier
    """Unique per email (`<submission_id>.<template>`); an email is sent at most once per id."""
    template: NotificationTemplate
    """Which email."""
    to: EmailStr
    """The recipient (the application's contact address)."""
    locale: Locale
    """The email's language."""
    context: dict[str, Any] = Field(default_factory=dict)
    """Values the template shows (reasons, finding codes, restrictions); never typed company
    details.
    """


class NotificationSent(Envelope):
    """An email was accepted by the mail server."""

    event_type: Literal["NotificationSent"] = "NotificationSent"
    """Always "NotificationSent": selects this schema."""
    notification_id: Identifier
    """The email sent."""
    message_id: Text
    """Its Message-ID header (deterministic, so a duplicate can be recognised)."""
    attempts: Annotated[int, Field(ge=1)]
    """How many tries it took."""


class NotificationFailed(Envelope):
    """An email could not be sent."""

    event_type: Literal["NotificationFailed"] = "NotificationFailed"
    """Always "NotificationFailed": selects this schema."""
    notification_id: Identifier
    """The email that could not be sent."""
    error: Text
    """What the mail server or transport said."""
    permanent: bool
    """True when retrying cannot help (5xx, refused recipient)."""
    attempts: Annotated[int, Field(ge=1)]
    """How many tries were made."""


class StageMetric(Envelope):
    """Counters of one worker over one window; never any personal data."""

    event_type: Literal["StageMetric"] = "StageMetric"
    """Always "StageMetric": selects this schema."""
    stage: Identifier
    """The stage reporting."""
    worker_id: Identifier
    """The worker process (client id)."""
    window_start: UtcDatetime
    """Start of the counting window (UTC)."""
    window_end: UtcDatetime
    """End of the counting window (UTC)."""
    events_in: int = 0
    """Records read in the window."""
    events_out: int = 0
    """Events produced."""
    failures: int = 0
    """Records that failed (dead-lettered or refused)."""
    dead_letters: int = 0
    """Dead letters written."""
    retries: int = 0
    """Handler retries."""
    latency_p50_ms: float = 0.0
    """Median handler latency, milliseconds."""
    latency_p95_ms: float = 0.0
    """95th percentile handler latency, milliseconds."""
    latency_max_ms: float = 0.0
    """Longest handler latency, milliseconds."""
    outcomes: dict[Identifier, int] = Field(
        default_factory=dict, max_length=256, description="label → count; labels are names"
    )
    """Counts per outcome label the stage declares (enum values only, no personal data)."""


class ConsumerLag(Envelope):
    """How far a stage's consumer group is behind on one topic (from the broker's offsets)."""

    event_type: Literal["ConsumerLag"] = "ConsumerLag"
    """Always "ConsumerLag": selects this schema."""
    stage: Identifier
    """The stage whose group this is."""
    group: Identifier
    """The consumer group."""
    topic: Identifier
    """The topic."""
    partitions: Annotated[int, Field(ge=0)]
    """How many partitions were summed."""
    committed: Annotated[int, Field(ge=0)]  # summed over the partitions
    """Committed offsets, summed over the partitions."""
    end: Annotated[int, Field(ge=0)]
    """End offsets, summed."""
    lag: Annotated[int, Field(ge=0)]
    """Records not yet processed (end minus committed)."""


class DeadLetter(Envelope):
    """An input a stage could not use, with why. `payload` describes the record without its
    content (ids, field names, size, sha256; see pipeline/redaction.py): replay it from
    `source_topic` at `source_offset`."""

    event_type: Literal["DeadLetter"] = "DeadLetter"
    """Always "DeadLetter": selects this schema."""
    stage: Identifier
    """The stage that could not use the record."""
    reason: DeadLetterReason
    """Why, machine-readable (see DeadLetterReason)."""
    error: Annotated[str, Field(max_length=4000)]
    """What went wrong, without the record's content."""
    source_topic: str
    """Where the record is: replay it from here."""
    source_partition: int | None = None
    """Its partition."""
    source_offset: int | None = None
    """Its offset."""
    payload: str
    """A description of the record without its content: ids, field names, size and sha256."""
    payload_truncated: bool = False
    """True when the description was cut short."""
    attempts: int = 1
    """How many times the handler tried."""


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
