"""Assignment stage: every case to one human reviewer, within capacity, due in 3 business days.

The ledger (`ledger.py`) makes every ownership change atomically in Redis; this module turns
input events into ledger calls and ledger notices into `ReviewTask` events. A newer submission
cancels the older one's open tasks; a decision frees its reviewer's slot and drains the backlog.
The periodic `tick` drains the backlog (a reviewer added or reactivated), reassigns idle tasks
and counts SLA breaches.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from consumers.assign.calendar import add_business_days
from consumers.assign.ledger import Ledger, Notice, TaskRecord, describe, worker_ledger
from pipeline.errors import RefusedError
from pipeline.signing import require_signed
from pipeline.stage import Context, TickResult
from schemas import Envelope
from schemas.base import Model
from schemas.enums import Recommendation, ReviewQueue, TaskAction
from schemas.events import (
    AccountErasureRequested,
    Application,
    ComplianceRequested,
    ComplianceSelectionChanged,
    FieldMatch,
    FieldsMatched,
    QualityFinding,
    ReviewDecision,
    ReviewTask,
    SideMeasurements,
    StageMetric,
    SubmissionReceived,
    TaskHistoryEntry,
)

log = logging.getLogger(__name__)

STAGE = "assign"
URGENT, NORMAL = 4, 5


class TaskSpec(Model):
    """What a task shows its reviewer; stored with the task so any later owner gets it too."""

    account_id: str
    submission_id: str
    priority: int = NORMAL
    application: Application
    quality_findings: tuple[QualityFinding, ...] = ()
    measurements: tuple[SideMeasurements, ...] = ()
    fields: tuple[FieldMatch, ...] = ()
    recommendation: Recommendation | None = None
    reasons: tuple[str, ...] = ()


def task_id(submission_id: str, queue: ReviewQueue, request: str = "") -> str:
    """One identity task per submission; one compliance task per request (the customer may say
    no and then yes again within one submission)."""
    return f"{submission_id}.{queue.value}" + (f".{request}" if request else "")


def handle(event: Envelope, ctx: Context) -> Sequence[ReviewTask]:
    ledger = worker_ledger(ctx)
    now = ctx.clock().timestamp()
    cause = str(event.event_id)
    if isinstance(event, SubmissionReceived):
        ledger.submitted(
            event.account_id, event.submission_id, event.occurred_at.timestamp(), now, cause
        )
    elif isinstance(event, FieldsMatched):
        _open(ledger, event, ReviewQueue.IDENTITY, event.submitted_at or event.occurred_at, ctx)
    elif isinstance(event, ComplianceRequested):
        _open(ledger, event, ReviewQueue.COMPLIANCE, event.occurred_at, ctx)
    elif isinstance(event, ComplianceSelectionChanged) and not event.mainland_resources:
        reason = "customer no longer buys mainland resources"
        ledger.cancel_account(event.account_id, ReviewQueue.COMPLIANCE, now, reason, cause)
    elif isinstance(event, AccountErasureRequested):
        blanked = ledger.erase_account(event.account_id, now, cause)
        log.info("assign: erased account's tasks cancelled and blanked (%d)", blanked)
    elif isinstance(event, ReviewDecision):
        require_signed(event, ctx.settings.decision_signing_key)
        refusal = ledger.decide(
            event.task_id, event.reviewer_id, cause, event.account_id, event.queue, now
        )
        if refusal is not None:
            raise RefusedError(f"decision refused ({refusal.value}): {describe(refusal)}")
        ledger.drain(now, cause=cause)
    return _events(ledger, ledger.caused_by(cause), ctx)


def tick(ctx: Context) -> TickResult:
    """Drain the backlog, reassign idle tasks, count SLA breaches; report the queue's health."""
    ledger = worker_ledger(ctx)
    at = ctx.clock()
    now = at.timestamp()
    ledger.drain(now)
    moved = ledger.reassign_idle(now, ctx.settings.review_idle_reassign_s)
    breached = ledger.check_sla(now)
    notices = ledger.outbox()
    stats = ledger.stats()
    metric = StageMetric(
        event_id=uuid.uuid4(),
        occurred_at=at,
        account_id="-",
        submission_id="-",
        producer=STAGE,
        stage=STAGE,
        worker_id=ctx.settings.client_id,
        window_start=at,
        window_end=at,
        outcomes={
            "sla_breaches": breached,
            "sla_breaches_total": stats.breaches_total,
            "reassigned_idle": moved,
            "backlog": stats.backlog,
            "open_tasks": stats.open,
        },
    )
    if breached or moved:
        log.info("assign tick: %d new SLA breach(es), %d idle task(s) reassigned", breached, moved)
    return TickResult(
        [*_events(ledger, notices, ctx), metric], acknowledge=lambda: ledger.acknowledge(notices)
    )


def open_tasks(ledger: Ledger, now: datetime) -> list[ReviewTask]:
    """Every task a reviewer holds now, as the `ReviewTask` that gave it to them (same event
    id): what reviewers' tools start from instead of replaying `kyb.review.tasks`."""
    found = []
    for task in ledger.open_task_ids():
        record = ledger.task(task)
        if record is None or record.state != "open" or not record.spec or not record.reviewer_id:
            continue
        raw = f"{TaskAction.ASSIGNED.value}|{task}|{record.reviewer_id}|{record.assignment}"
        found.append(_task_event(record, Notice.parse(raw), now))
    return found


def _open(
    ledger: Ledger,
    event: FieldsMatched | ComplianceRequested,
    queue: ReviewQueue,
    submitted_at: datetime,
    ctx: Context,
) -> None:
    app = event.application
    spec = TaskSpec(account_id=event.account_id, submission_id=event.submission_id, application=app)
    if isinstance(event, FieldsMatched):
        flagged = any(signal.flagged for m in event.measurements for signal in m.tamper)
        spec = spec.model_copy(
            update={
                "priority": URGENT
                if flagged or event.recommendation is Recommendation.ATTENTION
                else NORMAL,
                "quality_findings": event.quality_findings,
                "measurements": event.measurements,
                "fields": event.fields,
                "recommendation": event.recommendation,
                "reasons": event.reasons,
            }
        )
    due = add_business_days(submitted_at, ctx.settings.review_business_days, app.registered_country)
    request = event.event_id.hex[:12] if queue is ReviewQueue.COMPLIANCE else ""
    ledger.open(
        task_id(event.submission_id, queue, request),
        queue,
        app.registered_country,
        due.timestamp(),
        ctx.clock().timestamp(),
        spec.model_dump_json(),
        event.account_id,
        event.submission_id,
        cause=str(event.event_id),
    )


def _events(ledger: Ledger, notices: Sequence[Notice], ctx: Context) -> list[ReviewTask]:
    events = []
    for notice in notices:
        record = ledger.task(notice.task_id)
        if record is None:  # expired long after it was finished
            continue
        if not record.spec and notice.action is not TaskAction.CANCELLED:
            continue  # erased: only its cancellation is still told, without details
        events.append(_task_event(record, notice, ctx.clock()))
    return events


def _task_event(record: TaskRecord, notice: Notice, now: datetime) -> ReviewTask:
    change: dict[str, Any] = {
        # one id per change: a replay or a second ticking worker yields the same event
        "event_id": uuid.uuid5(uuid.NAMESPACE_URL, f"kyb/assign/{notice.raw}"),
        "occurred_at": now,
        "producer": STAGE,
        "task_id": record.task_id,
        "action": notice.action,
        "queue": record.queue,
        "reviewer_id": notice.reviewer_id,
        "assignment": notice.assignment,
        "due_at": _utc(record.due),
    }
    if not record.spec:  # the account was erased: ids only
        return ReviewTask(
            **change,
            account_id=record.account_id,
            submission_id=record.submission_id,
            assigned_at=now,
        )
    spec = TaskSpec.model_validate_json(record.spec)
    assigned = [entry for entry in record.history if entry.action == "assigned"]
    assigned_at = (
        assigned[notice.assignment - 1].at if 0 < notice.assignment <= len(assigned) else None
    )
    return ReviewTask(
        **change,
        account_id=spec.account_id,
        submission_id=spec.submission_id,
        priority=spec.priority,
        assigned_at=_utc(assigned_at) if assigned_at is not None else now,
        application=spec.application,
        quality_findings=spec.quality_findings,
        measurements=spec.measurements,
        fields=spec.fields,
        recommendation=spec.recommendation,
        reasons=spec.reasons,
        history=tuple(
            TaskHistoryEntry(
                at=_utc(entry.at),
                action=entry.action,
                reviewer_id=entry.reviewer_id,
                reason=entry.reason,
            )
            for entry in record.history
        ),
    )


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def outcomes(event: Envelope) -> list[str]:
    if not isinstance(event, ReviewTask):
        return []
    return [f"task:{event.queue.value}:{event.action.value}"]


__all__ = ["TaskSpec", "handle", "open_tasks", "outcomes", "task_id", "tick"]
