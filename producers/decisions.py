"""Reviewer decisions: the publisher reviewers' tools use, and the demo's simulated reviewer."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from pydantic import SecretStr

from pipeline.publishing import Publisher
from pipeline.settings import get_settings
from pipeline.signing import sign_decision
from pipeline.stage import Context, Stage, utc_now
from schemas import catalog
from schemas.enums import Decision, MatchStatus, ReasonCode, ReviewQueue, TaskAction
from schemas.events import FieldMatch, ReviewDecision, ReviewTask

_FIELD_REASONS = {
    "company_name": ReasonCode.NAME_MISMATCH,
    "registration_number": ReasonCode.REGISTRATION_NUMBER_MISMATCH,
}


class DecisionPublisher:
    """Publishes decisions signed with the decision key (settings' unless one is given)."""

    def __init__(
        self,
        publisher: Publisher,
        clock: Callable[[], datetime] = utc_now,
        signing_key: SecretStr | None = None,
    ) -> None:
        self._publisher = publisher
        self._clock = clock
        key = signing_key or get_settings().decision_signing_key
        if key is None:
            raise ValueError("no decision signing key: set KYB_DECISION_SIGNING_KEY")
        self._key: SecretStr = key

    def decide(
        self,
        task: ReviewTask,
        decision: Decision,
        reason_codes: Sequence[ReasonCode],
        note: str = "",
        reviewer_id: str | None = None,
    ) -> ReviewDecision:
        event = ReviewDecision(
            event_id=uuid.uuid4(),
            occurred_at=self._clock(),
            account_id=task.account_id,
            submission_id=task.submission_id,
            producer=f"reviewer.{reviewer_id or task.reviewer_id}",
            task_id=task.task_id,
            queue=task.queue,
            reviewer_id=reviewer_id or task.reviewer_id,
            decision=decision,
            reason_codes=tuple(reason_codes),
            note=note,
        )
        event = sign_decision(event, self._key)
        self._publisher.publish(event)
        self._publisher.flush()
        return event


def simulated_decision(task: ReviewTask) -> tuple[Decision, tuple[ReasonCode, ...]]:
    """What the SIMULATED reviewer decides: approve clean evidence, reject mismatches.

    It stands in for a human in the demo and the end-to-end tests only.
    """
    if task.queue is ReviewQueue.COMPLIANCE:
        return Decision.APPROVE, (ReasonCode.COMPLIANCE_CLEARED,)
    reasons = tuple(_FIELD_REASONS[m.field.value] for m in task.fields if _bad(m))
    if reasons:
        return Decision.REJECT, reasons
    return Decision.APPROVE, (ReasonCode.DOCUMENTS_CONSISTENT,)


def _bad(match: FieldMatch) -> bool:
    return match.field.value in _FIELD_REASONS and match.status is not MatchStatus.MATCH


def _simulated_reviewer(task: ReviewTask, ctx: Context) -> list[ReviewDecision]:
    if task.action is not TaskAction.ASSIGNED:
        return []
    decision, reasons = simulated_decision(task)
    key = ctx.settings.decision_signing_key
    if key is None:
        raise ValueError("the simulated reviewer signs like a real tool: set a decision key")
    made = ctx.derive(
        ReviewDecision,
        task,
        task_id=task.task_id,
        queue=task.queue,
        reviewer_id=task.reviewer_id,
        decision=decision,
        reason_codes=reasons,
        note="decided by the SIMULATED reviewer",
    )
    return [sign_decision(made, key)]


SIMULATED_REVIEWER = Stage(
    name="simulated-reviewer",
    reads=(catalog.REVIEW_TASKS,),
    accepts=(ReviewTask,),
    emits=(ReviewDecision,),
    handler=_simulated_reviewer,
    description="SIMULATED reviewer for the demo and tests: approves clean evidence.",
)
