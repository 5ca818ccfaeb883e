from __future__ import annotations

import uuid
from typing import Any

import pytest

from consumers import verdict
from consumers.assign.ledger import ledger_for
from pipeline.errors import RefusedError
from pipeline.stage import Context
from schemas.enums import (
    Decision,
    NotificationTemplate,
    QualityCode,
    ReasonCode,
    ReviewQueue,
)
from schemas.events import (
    NotificationRequested,
    QualityChecked,
    QualityFinding,
    ReviewDecision,
    StatusChanged,
    SubmissionReceived,
)
from tests.helpers import followed_by, open_review_task, roster, submission

follow = followed_by


def decision(
    ctx: Context,
    cause: SubmissionReceived,
    outcome: Decision,
    queue: ReviewQueue = ReviewQueue.IDENTITY,
    reasons: tuple[ReasonCode, ...] = (ReasonCode.DOCUMENTS_CONSISTENT,),
    reviewer: str = "r",
) -> ReviewDecision:
    """A decision on a task that really is open and assigned to `reviewer`."""
    return follow(
        cause,
        ReviewDecision,
        task_id=open_review_task(ctx.state, cause, queue, reviewer),
        queue=queue,
        reviewer_id=reviewer,
        decision=outcome,
        reason_codes=reasons,
    )


def changes(outputs: Any) -> list[tuple[str, str | None, str]]:
    return [
        (o.track.value, o.from_status, o.to_status) for o in outputs if isinstance(o, StatusChanged)
    ]


def mails(outputs: Any) -> list[NotificationTemplate]:
    return [o.template for o in outputs if isinstance(o, NotificationRequested)]


def test_approval_verifies_and_upgrades_the_account(ctx_for) -> None:  # type: ignore[no-untyped-def]
    ctx: Context = ctx_for("verdict")
    sub = submission()
    out = verdict.handle(sub, ctx)
    assert changes(out) == [("identity", None, "submitted")]
    assert mails(out) == [NotificationTemplate.RECEIVED]
    verdict.handle(follow(sub, QualityChecked, application=sub.application, passed=True), ctx)
    out = verdict.handle(decision(ctx, sub, Decision.APPROVE), ctx)
    assert changes(out) == [
        ("identity", "checking", "verified"),
        ("account_type", "individual", "enterprise"),
    ]
    assert mails(out) == [NotificationTemplate.VERIFIED]
    account = verdict.load_account(ctx.state, sub.account_id)
    assert account is not None
    assert account.account_type == "enterprise"


def test_failed_quality_asks_for_resubmission_with_the_reasons(ctx_for) -> None:  # type: ignore[no-untyped-def]
    ctx = ctx_for("verdict")
    sub = submission()
    verdict.handle(sub, ctx)
    finding = QualityFinding(code=QualityCode.MISSING_SIDE, side=None, message="Upload the back.")
    out = verdict.handle(
        follow(sub, QualityChecked, application=sub.application, passed=False, findings=(finding,)),
        ctx,
    )
    assert changes(out) == [("identity", "submitted", "resubmission_required")]
    [mail] = [o for o in out if isinstance(o, NotificationRequested)]
    assert mail.context["reasons"] == ["Upload the back."]


def test_replaying_an_event_re_emits_the_same_outputs_and_changes_nothing(ctx_for) -> None:  # type: ignore[no-untyped-def]
    ctx = ctx_for("verdict")
    sub = submission()
    first = verdict.handle(sub, ctx)
    state_after_first = ctx.state.get(verdict.account_key(sub.account_id))
    second = verdict.handle(sub, ctx)
    assert [e.event_id for e in first] == [e.event_id for e in second]
    account = verdict.load_account(ctx.state, sub.account_id)
    assert account is not None
    assert len(account.history) == 1
    assert ctx.state.get(verdict.account_key(sub.account_id)) == state_after_first


def test_compliance_decision_is_tracked_apart_from_identity(ctx_for) -> None:  # type: ignore[no-untyped-def]
    ctx = ctx_for("verdict")
    sub = submission()
    verdict.handle(sub, ctx)
    out = verdict.handle(
        decision(
            ctx, sub, Decision.REJECT, ReviewQueue.COMPLIANCE, (ReasonCode.COMPLIANCE_RESTRICTED,)
        ),
        ctx,
    )
    assert changes(out) == [("compliance", "not_required", "rejected")]
    account = verdict.load_account(ctx.state, sub.account_id)
    assert account is not None
    assert account.identity == "submitted"


def test_events_of_an_older_submission_are_ignored(ctx_for) -> None:  # type: ignore[no-untyped-def]
    ctx = ctx_for("verdict")
    old, new = submission(), submission()
    verdict.handle(old, ctx)
    verdict.handle(new, ctx)
    assert verdict.handle(decision(ctx, old, Decision.APPROVE), ctx) == []


def test_refused_decisions_are_never_applied(ctx_for) -> None:  # type: ignore[no-untyped-def]
    ctx = ctx_for("verdict")
    sub = submission()
    verdict.handle(sub, ctx)
    approve = decision(ctx, sub, Decision.APPROVE, reviewer="ana")
    cases = {
        "unknown_reviewer": approve.model_copy(
            update={"event_id": uuid.uuid4(), "reviewer_id": "mallory"}
        ),
        "unknown_task": approve.model_copy(update={"event_id": uuid.uuid4(), "task_id": "nope"}),
    }
    ledger_for(ctx.state).load(roster(ana={}, bo={}), 0)
    cases["not_assigned"] = approve.model_copy(
        update={"event_id": uuid.uuid4(), "reviewer_id": "bo"}
    )
    for reason, event in cases.items():
        with pytest.raises(RefusedError, match=reason):
            verdict.handle(event, ctx)
    assert changes(verdict.handle(approve, ctx))[0] == ("identity", "submitted", "verified")
    assert changes(verdict.handle(approve, ctx))[0] == (
        "identity",
        "submitted",
        "verified",
    )  # replay
    second = approve.model_copy(update={"event_id": uuid.uuid4(), "decision": Decision.REJECT})
    with pytest.raises(RefusedError, match="already_decided"):
        verdict.handle(second, ctx)
    account = verdict.load_account(ctx.state, sub.account_id)
    assert account is not None
    assert account.identity == "verified"
