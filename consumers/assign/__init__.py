"""Assignment stage — MINIMAL version (issue 2).

Gives every identity and compliance review to the one configured reviewer, due three business
days after submission in the account country's calendar (weekends and public holidays skipped).
The roster, capacity, backlog and reassignment arrive with issue 5.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from consumers.assign.calendar import add_business_days
from pipeline.stage import Context
from schemas import Envelope
from schemas.enums import ReviewQueue
from schemas.events import ComplianceRequested, FieldsMatched, ReviewDecision, ReviewTask


def handle(event: Envelope, ctx: Context) -> Sequence[ReviewTask]:
    if isinstance(event, FieldsMatched):
        return [
            _task(
                event,
                ReviewQueue.IDENTITY,
                ctx,
                fields=event.fields,
                quality_findings=event.quality_findings,
                recommendation=event.recommendation,
                reasons=event.reasons,
            )
        ]
    if isinstance(event, ComplianceRequested):
        return [_task(event, ReviewQueue.COMPLIANCE, ctx)]
    if isinstance(event, ReviewDecision):
        ctx.state.set(f"assign:decided:{event.task_id}", event.decision.value)
    return []


def task_id(submission_id: str, queue: ReviewQueue) -> str:
    return f"{submission_id}.{queue.value}"


def _task(
    event: FieldsMatched | ComplianceRequested, queue: ReviewQueue, ctx: Context, **evidence: Any
) -> ReviewTask:
    reviewer = ctx.settings.default_reviewer_id
    tid = task_id(event.submission_id, queue)
    ctx.state.set(f"assign:task:{tid}", reviewer)
    return ctx.derive(
        ReviewTask,
        event,
        task_id=tid,
        queue=queue,
        reviewer_id=reviewer,
        assigned_at=ctx.clock(),
        due_at=add_business_days(
            event.occurred_at,
            ctx.settings.review_business_days,
            event.application.registered_country,
        ),
        application=event.application,
        **evidence,
    )
