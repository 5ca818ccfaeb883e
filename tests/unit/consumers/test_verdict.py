from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr

from consumers import verdict
from consumers.assign.ledger import ledger_for
from pipeline.errors import RefusedError
from pipeline.signing import sign_decision
from pipeline.stage import Context
from schemas import encode_event
from schemas.enums import (
    Decision,
    NotificationTemplate,
    QualityCode,
    ReasonCode,
    ReviewQueue,
    Side,
    SubmissionRefusal,
)
from schemas.events import (
    ComplianceRequested,
    ComplianceSelectionChanged,
    NotificationRequested,
    QualityChecked,
    QualityFinding,
    ReviewDecision,
    StatusChanged,
    SubmissionReceived,
)
from tests.helpers import (
    application,
    company,
    followed_by,
    open_review_task,
    review_task,
    roster,
    signed,
    submission,
)

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
    return signed(
        follow(
            cause,
            ReviewDecision,
            task_id=open_review_task(ctx.state, cause, queue, reviewer),
            queue=queue,
            reviewer_id=reviewer,
            decision=outcome,
            reason_codes=reasons,
        )
    )


def signed_copy(event: ReviewDecision, update: dict[str, Any]) -> ReviewDecision:
    """A changed decision, signed again (a reviewers' tool made it: only the ledger can refuse)."""
    return signed(event.model_copy(update=update))


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
    assert changes(out) == [("identity", None, "submitted"), ("mainland_resources", None, "no")]
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
    # the first time the events themselves, a replay decoded from the state: same records
    assert [encode_event(e) for e in first] == [encode_event(e) for e in second]
    account = verdict.load_account(ctx.state, sub.account_id)
    assert account is not None
    assert len(account.history) == 2  # identity submitted, mainland answer
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
        "unknown_reviewer": signed_copy(
            approve, update={"event_id": uuid.uuid4(), "reviewer_id": "mallory"}
        ),
        "unknown_task": signed_copy(approve, update={"event_id": uuid.uuid4(), "task_id": "nope"}),
    }
    ledger_for(ctx.state).load(roster(ana={}, bo={}), 0)
    cases["not_assigned"] = signed_copy(
        approve, update={"event_id": uuid.uuid4(), "reviewer_id": "bo"}
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
    second = signed_copy(approve, update={"event_id": uuid.uuid4(), "decision": Decision.REJECT})
    with pytest.raises(RefusedError, match="already_decided"):
        verdict.handle(second, ctx)
    account = verdict.load_account(ctx.state, sub.account_id)
    assert account is not None
    assert account.identity == "verified"


def test_an_enterprise_account_never_returns_to_individual(ctx_for) -> None:  # type: ignore[no-untyped-def]
    ctx = ctx_for("verdict")
    sub = submission()
    verdict.handle(sub, ctx)
    verdict.handle(decision(ctx, sub, Decision.APPROVE), ctx)
    before = verdict.load_account(ctx.state, sub.account_id)
    assert before is not None
    assert before.account_type == "enterprise"
    back = submission(application=application(account_type="individual"))
    with pytest.raises(RefusedError, match="never returns to individual") as refused:
        verdict.handle(back, ctx)
    [audit] = refused.value.outputs
    assert isinstance(audit, StatusChanged)
    assert (audit.track, audit.from_status, audit.to_status, audit.refused) == (
        "account_type",
        "enterprise",
        "individual",
        True,
    )
    after = verdict.load_account(ctx.state, sub.account_id)
    assert after is not None
    assert (after.account_type, after.identity, after.submission_id) == (
        "enterprise",
        "verified",
        sub.submission_id,
    )
    with pytest.raises(RefusedError) as again:  # a redelivery: refused the same way, same audit id
        verdict.handle(back, ctx)
    assert [e.event_id for e in again.value.outputs] == [audit.event_id]
    # a new enterprise submission (re-verification) is fine, and a rejection keeps "enterprise"
    renew = submission(
        occurred_at=datetime(2026, 11, 21, tzinfo=UTC),
        application=application(account_type="enterprise"),
    )
    verdict.handle(renew, ctx)
    verdict.handle(
        decision(ctx, renew, Decision.REJECT, reasons=(ReasonCode.DOCUMENT_EXPIRED,)), ctx
    )
    final = verdict.load_account(ctx.state, sub.account_id)
    assert final is not None
    assert (final.identity, final.account_type) == ("rejected", "enterprise")


def test_declaring_enterprise_does_not_make_an_account_enterprise(ctx_for) -> None:  # type: ignore[no-untyped-def]
    ctx = ctx_for("verdict")
    claimed = submission(application=application(account_type="enterprise"))
    outputs = verdict.handle(claimed, ctx)
    account = verdict.load_account(ctx.state, claimed.account_id)
    assert account is not None
    assert account.account_type == "individual"  # was "enterprise", with no audit entry
    assert not [e for e in outputs if isinstance(e, StatusChanged) and e.track == "account_type"]
    verdict.handle(
        decision(ctx, claimed, Decision.REJECT, reasons=(ReasonCode.DOCUMENT_EXPIRED,)), ctx
    )
    rejected = verdict.load_account(ctx.state, claimed.account_id)
    assert rejected is not None
    assert rejected.account_type == "individual"
    again = submission(
        occurred_at=datetime(2026, 11, 21, tzinfo=UTC),
        application=application(account_type="enterprise"),
    )
    verdict.handle(again, ctx)
    approved = verdict.handle(decision(ctx, again, Decision.APPROVE), ctx)
    assert [
        (e.from_status, e.to_status)
        for e in approved
        if isinstance(e, StatusChanged) and e.track == "account_type"
    ] == [("individual", "enterprise")]


def test_a_newer_submission_supersedes_an_older_one_arriving_late_changes_nothing(
    ctx_for,
) -> None:  # type: ignore[no-untyped-def]
    ctx = ctx_for("verdict")
    old = submission(occurred_at=datetime(2026, 11, 20, 9, tzinfo=UTC))
    new = submission(occurred_at=datetime(2026, 11, 20, 11, tzinfo=UTC))
    verdict.handle(old, ctx)
    verdict.handle(follow(old, QualityChecked, application=old.application, passed=True), ctx)
    out = verdict.handle(new, ctx)
    [change] = [c for c in out if isinstance(c, StatusChanged) and c.track == "identity"]
    assert (change.from_status, change.to_status) == ("checking", "submitted")
    assert change.reasons == (f"supersedes submission {old.submission_id} (checking)",)
    late = submission(occurred_at=datetime(2026, 11, 20, 10, tzinfo=UTC))
    assert verdict.handle(late, ctx) == []
    account = verdict.load_account(ctx.state, new.account_id)
    assert account is not None
    assert account.submission_id == new.submission_id


def test_a_sole_proprietorship_is_verified_with_the_policys_restrictions(ctx_for) -> None:  # type: ignore[no-untyped-def]
    ctx = ctx_for("verdict")
    sub = submission(application=application(company=company(entity_type="sole_proprietorship")))
    verdict.handle(sub, ctx)
    out = verdict.handle(decision(ctx, sub, Decision.APPROVE), ctx)
    [verified] = [c for c in out if isinstance(c, StatusChanged) and c.to_status == "verified"]
    limits = ctx.settings.sole_proprietorship_restrictions
    assert limits
    assert [r for r in verified.reasons if r.startswith("sole")] == [
        f"sole proprietorship: may not use {item}" for item in limits
    ]
    [mail] = [o for o in out if isinstance(o, NotificationRequested)]
    assert mail.context["restrictions"] == limits


def test_the_mainland_answer_changed_before_during_and_after_review(ctx_for) -> None:  # type: ignore[no-untyped-def]
    ctx = ctx_for("verdict")
    sub = submission(application=application(mainland_resources=True))
    verdict.handle(sub, ctx)
    request = follow(sub, ComplianceRequested, application=sub.application, trigger="submission")
    out = verdict.handle(request, ctx)
    assert changes(out) == [("compliance", "not_required", "pending")]
    assert mails(out) == [NotificationTemplate.COMPLIANCE_PENDING]
    # during review: "no" cancels it, and the change itself is on the audit trail
    no = follow(sub, ComplianceSelectionChanged, mainland_resources=False)
    assert changes(verdict.handle(no, ctx)) == [
        ("mainland_resources", "yes", "no"),
        ("compliance", "pending", "not_required"),
    ]
    # "yes" again: the compliance stage asks again; a second pending email (another cause)
    yes = follow(sub, ComplianceSelectionChanged, mainland_resources=True)
    assert changes(verdict.handle(yes, ctx)) == [("mainland_resources", "no", "yes")]
    again = follow(
        sub, ComplianceRequested, application=sub.application, trigger="selection_changed"
    )
    out = verdict.handle(again, ctx)
    assert changes(out) == [("compliance", "not_required", "pending")]
    first_mail = [o for o in verdict.handle(request, ctx) if isinstance(o, NotificationRequested)]
    second_mail = [o for o in out if isinstance(o, NotificationRequested)]
    assert first_mail[0].notification_id != second_mail[0].notification_id
    verdict.handle(
        decision(
            ctx, sub, Decision.APPROVE, ReviewQueue.COMPLIANCE, (ReasonCode.COMPLIANCE_CLEARED,)
        ),
        ctx,
    )
    # after review: "no" is audited but an approval stands
    out = verdict.handle(follow(sub, ComplianceSelectionChanged, mainland_resources=False), ctx)
    assert changes(out) == [("mainland_resources", "yes", "no")]
    account = verdict.load_account(ctx.state, sub.account_id)
    assert account is not None
    assert (account.compliance, account.identity) == ("approved", "submitted")


def test_late_events_of_other_topics_never_move_a_status_back(ctx_for) -> None:  # type: ignore[no-untyped-def]
    """Found by the chaos run: a task event arriving after its decision reopened the review."""
    ctx = ctx_for("verdict")
    sub = submission()
    verdict.handle(sub, ctx)
    approve = decision(ctx, sub, Decision.APPROVE)  # overtakes quality and the task event
    assert changes(verdict.handle(approve, ctx))[0] == ("identity", "submitted", "verified")
    late_quality = follow(sub, QualityChecked, application=sub.application, passed=True)
    late_task = review_task(sub, "r")
    assert changes(verdict.handle(late_quality, ctx)) == []
    assert changes(verdict.handle(late_task, ctx)) == []
    account = verdict.load_account(ctx.state, sub.account_id)
    assert account is not None
    assert account.identity == "verified"


def test_results_that_overtake_their_submission_are_applied_when_it_arrives(ctx_for) -> None:  # type: ignore[no-untyped-def]
    """Found by the chaos run: a compliance decision processed before the submission was
    dropped as "older", and the account stayed pending forever."""
    ctx = ctx_for("verdict")
    sub = submission(application=application(mainland_resources=True))
    request = follow(sub, ComplianceRequested, application=sub.application, trigger="submission")
    approve = decision(
        ctx, sub, Decision.APPROVE, ReviewQueue.COMPLIANCE, (ReasonCode.COMPLIANCE_CLEARED,)
    )
    quality = follow(sub, QualityChecked, application=sub.application, passed=True)
    for early in (approve, request, quality):  # even the decision before its request
        assert verdict.handle(early, ctx) == []  # kept, not applied yet
    out = verdict.handle(sub, ctx)
    assert changes(out) == [
        ("identity", None, "submitted"),
        ("mainland_resources", None, "yes"),
        ("compliance", "not_required", "approved"),
        ("identity", "submitted", "checking"),
    ]
    assert verdict.handle(sub, ctx) == out  # a replay re-emits the same, applies nothing twice
    account = verdict.load_account(ctx.state, sub.account_id)
    assert account is not None
    assert (account.compliance, account.identity, account.early) == ("approved", "checking", {})


def test_forged_decisions_are_refused_before_the_ledger_sees_them(ctx_for) -> None:  # type: ignore[no-untyped-def]
    """Attack (security issue 14.2): owner ids are public on kyb.review.tasks, so anyone who
    can produce to kyb.review.decisions approved as the assigned reviewer."""
    ctx = ctx_for("verdict")
    sub = submission()
    verdict.handle(sub, ctx)
    approve = decision(ctx, sub, Decision.APPROVE, reviewer="ana")
    forged = {
        "unsigned": approve.model_copy(update={"signature": ""}),
        "other key": sign_decision(approve, SecretStr("attacker-key")),
        "changed after signing": approve.model_copy(update={"decision": Decision.REJECT}),
    }
    for event in forged.values():
        with pytest.raises(RefusedError, match="bad_signature"):
            verdict.handle(event, ctx)
    unkeyed = Context("verdict", ctx.settings.model_copy(update={"decision_signing_key": None}),
                      ctx.state, ctx.documents, ctx.clock)  # fmt: skip
    with pytest.raises(RefusedError, match="no decision signing key"):
        verdict.handle(approve, unkeyed)
    account = verdict.load_account(ctx.state, sub.account_id)
    assert account is not None
    assert account.identity == "submitted"  # nothing applied, the task still open
    assert changes(verdict.handle(approve, ctx))[0] == ("identity", "submitted", "verified")


def test_a_refused_submission_is_told_to_the_portal_not_mailed_to_the_customer(  # type: ignore[no-untyped-def]
    ctx_for,
) -> None:
    ctx: Context = ctx_for("verdict")
    sub = submission()
    verdict.handle(sub, ctx)
    refused = follow(
        sub,
        QualityChecked,
        application=sub.application,
        passed=False,
        refusal=SubmissionRefusal.HASH_MISMATCH,
        refused_side=Side.BACK,
    )
    out = verdict.handle(refused, ctx)
    assert changes(out) == [("identity", "submitted", "refused")]
    [change] = [o for o in out if isinstance(o, StatusChanged)]
    assert change.reasons == ("hash_mismatch", "back")
    assert mails(out) == []
    late = follow(sub, QualityChecked, application=sub.application, passed=True)
    assert changes(verdict.handle(late, ctx)) == []  # refused is final for the submission
