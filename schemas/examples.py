"""One valid example of every event, for the exported JSON Schemas and the AsyncAPI document.

Built from the models themselves, so an example that no longer validates fails at import (and
in the tests) instead of misleading a portal team. Every value is invented.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from schemas.base import DocumentRef, Envelope
from schemas.enums import (
    DeadLetterReason,
    Decision,
    FieldName,
    MatchStatus,
    NotificationTemplate,
    QualityCode,
    ReasonCode,
    Recommendation,
    ReviewQueue,
    Side,
    StatusTrack,
)
from schemas.events import (
    AccountErasureRequested,
    Application,
    CompanyDetails,
    ComplianceRequested,
    ComplianceSelectionChanged,
    ConsumerLag,
    DeadLetter,
    Evidence,
    FieldMatch,
    FieldsMatched,
    NotificationFailed,
    NotificationRequested,
    NotificationSent,
    QualityChecked,
    QualityFinding,
    ReviewDecision,
    ReviewTask,
    SideMeasurements,
    StageMetric,
    StatusChanged,
    SubmissionReceived,
    TamperSignal,
    TaskHistoryEntry,
)

AT = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
ACCOUNT, SUBMISSION = "acct-1029384756", "sub-7f3a9c2e41"
TASK = f"{SUBMISSION}.identity"


def _envelope(n: int, producer: str, account: str = ACCOUNT) -> dict[str, Any]:
    return {
        "event_id": UUID(int=n),
        "occurred_at": AT + timedelta(minutes=n),
        "account_id": account,
        "submission_id": SUBMISSION,
        "producer": producer,
    }


APPLICATION = Application(
    site="international",
    account_type="individual",
    registered_country="SG",
    contact_email="finance@harbour-logistics.example",
    company=CompanyDetails(
        company_name="Harbour Logistics Pte. Ltd.",
        registration_number="201912345K",
        state_province="Central Region",
        city="Singapore",
        address_line1="12 Market Street",
    ),
    mainland_resources=False,
    documents=tuple(
        DocumentRef(
            side=side,
            uri=f"file:///srv/kyb/documents/{SUBMISSION}/{side.value}-3c9e1a7b.jpg",
            sha256=digest * 64,
            media_type="image/jpeg",
            size_bytes=size,
        )
        for side, digest, size in ((Side.FRONT, "a", 1_482_113), (Side.BACK, "b", 1_210_554))
    ),
)
MEASURED = SideMeasurements(
    side=Side.FRONT,
    media_type="image/jpeg",
    width=4032,
    height=3024,
    values={"sharpness": 412.0, "text_height_px": 31.0},
    skew_deg=1.5,
    tamper=(
        TamperSignal(
            name="recompression",
            flagged=False,
            value=0.12,
            threshold=0.35,
            detail="JPEG saved once, as a camera does",
            region=(0.1, 0.2, 0.5, 0.1),
        ),
    ),
)
NAME = FieldMatch(
    field=FieldName.COMPANY_NAME,
    submitted="Harbour Logistics Pte. Ltd.",
    found="HARBOUR LOGISTICS PTE. LTD.",
    score=100,
    status=MatchStatus.MATCH,
    evidence=Evidence(side=Side.FRONT, box=(412, 618, 1290, 64), confidence=94.0),
)

EXAMPLES: dict[str, Envelope] = {
    event.event_type: event
    for event in (
        SubmissionReceived(**_envelope(1, "portal"), application=APPLICATION),
        ComplianceSelectionChanged(**_envelope(2, "portal"), mainland_resources=True),
        AccountErasureRequested(
            **(_envelope(3, "operator") | {"submission_id": "-"}), requested_by="ticket-981"
        ),
        QualityChecked(
            **_envelope(4, "quality"),
            application=APPLICATION,
            submitted_at=AT,
            passed=True,
            findings=(
                QualityFinding(
                    code=QualityCode.GLARE,
                    side=Side.BACK,
                    message="The back photo has a glare spot; it is still readable.",
                    value=0.04,
                    threshold=0.02,
                    blocking=False,
                ),
            ),
            measurements=(MEASURED.model_copy(update={"tamper": ()}),),  # OCR adds them
        ),
        FieldsMatched(
            **_envelope(5, "ocr"),
            application=APPLICATION,
            submitted_at=AT,
            measurements=(MEASURED,),
            fields=(NAME,),
            recommendation=Recommendation.CLEAN,
            engine="tesserocr",
        ),
        ComplianceRequested(
            **_envelope(6, "compliance"), application=APPLICATION, trigger="submission"
        ),
        ReviewTask(
            **_envelope(7, "assign"),
            task_id=TASK,
            queue=ReviewQueue.IDENTITY,
            reviewer_id="rev-ana",
            assigned_at=AT + timedelta(minutes=7),
            due_at=AT + timedelta(days=3),
            application=APPLICATION,
            fields=(NAME,),
            recommendation=Recommendation.CLEAN,
            history=(
                TaskHistoryEntry(at=AT + timedelta(minutes=6), action="created"),
                TaskHistoryEntry(
                    at=AT + timedelta(minutes=7),
                    action="assigned",
                    reviewer_id="rev-ana",
                    reason="least loaded reviewer for SG",
                ),
            ),
        ),
        ReviewDecision(
            **_envelope(8, "reviewers"),
            task_id=TASK,
            queue=ReviewQueue.IDENTITY,
            reviewer_id="rev-ana",
            decision=Decision.APPROVE,
            reason_codes=(ReasonCode.DOCUMENTS_CONSISTENT,),
            signature="5d41402abc4b2a76b9719d911017c592" * 2,
        ),
        StatusChanged(
            **_envelope(9, "verdict"),
            track=StatusTrack.IDENTITY,
            from_status="in_review",
            to_status="verified",
            cause_event_id=str(UUID(int=8)),
        ),
        NotificationRequested(
            **_envelope(10, "verdict"),
            notification_id=f"{SUBMISSION}.verified",
            template=NotificationTemplate.VERIFIED,
            to="finance@harbour-logistics.example",
            locale="en",
        ),
        NotificationSent(
            **_envelope(11, "notify"),
            notification_id=f"{SUBMISSION}.verified",
            message_id=f"<{SUBMISSION}.verified@kyb.example>",
            attempts=1,
        ),
        NotificationFailed(
            **_envelope(12, "notify"),
            notification_id=f"{SUBMISSION}.verified",
            error="550 5.1.1 mailbox unavailable",
            permanent=True,
            attempts=1,
        ),
        StageMetric(
            **(_envelope(13, "quality", account="-") | {"submission_id": "-"}),
            stage="quality",
            worker_id="kyb-quality-1",
            window_start=AT,
            window_end=AT + timedelta(seconds=10),
            events_in=12,
            events_out=12,
            latency_p50_ms=310.0,
            latency_p95_ms=540.0,
            latency_max_ms=702.0,
            outcomes={"passed": 11, "refused:blurry": 1},
        ),
        ConsumerLag(
            **(_envelope(14, "lag", account="-") | {"submission_id": "-"}),
            stage="ocr",
            group="kyb-ocr",
            topic="kyb.quality.checked",
            partitions=6,
            committed=1840,
            end=1852,
            lag=12,
        ),
        DeadLetter(
            **_envelope(15, "quality"),
            stage="quality",
            reason=DeadLetterReason.INVALID_EVENT,
            error="application.contact_email: value is not a valid email address",
            source_topic="kyb.submissions",
            source_partition=3,
            source_offset=10452,
            payload='{"bytes": 2210, "sha256": "…", "fields": ["account_id", "application"]}',
        ),
    )
}
