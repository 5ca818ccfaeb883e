"""The compliance branch: when a mainland review is asked for, and when it is not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from consumers import compliance
from pipeline.errors import PermanentError
from pipeline.stage import Context
from schemas.events import ComplianceSelectionChanged, StatusChanged
from tests.helpers import application, followed_by, submission


def answer(sub, yes: bool) -> ComplianceSelectionChanged:  # type: ignore[no-untyped-def]
    return followed_by(sub, ComplianceSelectionChanged, mainland_resources=yes)


def decided(sub, status: str = "approved") -> StatusChanged:  # type: ignore[no-untyped-def]
    return followed_by(
        sub,
        StatusChanged,
        track="compliance",
        from_status="pending",
        to_status=status,
        cause_event_id="x",
    )


@pytest.fixture
def ctx(ctx_for) -> Context:  # type: ignore[no-untyped-def]
    built: Context = ctx_for("compliance")
    return built


def test_yes_on_the_submission_asks_at_once_and_no_does_not(ctx: Context) -> None:
    yes = submission(application=application(mainland_resources=True))
    [request] = compliance.handle(yes, ctx)
    assert (request.trigger, request.application.mainland_resources) == ("submission", True)
    assert compliance.handle(submission(account_id="acct-2"), ctx) == []


def test_changing_the_answer_any_time(ctx: Context) -> None:
    sub = submission()  # answered no
    assert compliance.handle(sub, ctx) == []
    assert compliance.handle(answer(sub, False), ctx) == []
    first_yes = answer(sub, True)
    [request] = compliance.handle(first_yes, ctx)  # e.g. after the identity is verified
    assert request.trigger == "selection_changed"
    assert request.application.mainland_resources is True
    assert [r.event_id for r in compliance.handle(first_yes, ctx)] == [request.event_id]  # replay
    assert compliance.handle(answer(sub, True), ctx) == []  # already pending: not asked twice
    assert compliance.handle(answer(sub, False), ctx) == []  # cancels (assign and verdict act)
    [again] = compliance.handle(answer(sub, True), ctx)
    assert again.event_id != request.event_id
    compliance.handle(decided(sub), ctx)
    compliance.handle(answer(sub, False), ctx)
    assert compliance.handle(answer(sub, True), ctx) == []  # decided for this submission


def test_a_refused_or_other_submissions_status_does_not_count(ctx: Context) -> None:
    sub = submission()
    compliance.handle(sub, ctx)
    refused = decided(sub).model_copy(update={"refused": True})
    other = decided(submission())
    compliance.handle(refused, ctx)
    compliance.handle(other, ctx)
    assert len(compliance.handle(answer(sub, True), ctx)) == 1


def test_a_new_submission_starts_over_and_an_older_one_arriving_late_is_ignored(
    ctx: Context,
) -> None:
    old = submission(occurred_at=datetime(2026, 11, 20, 8, tzinfo=UTC))
    new = submission(
        occurred_at=datetime(2026, 11, 20, 12, tzinfo=UTC),
        application=application(mainland_resources=True),
    )
    compliance.handle(new, ctx)
    late = submission(
        occurred_at=datetime(2026, 11, 20, 9, tzinfo=UTC),
        application=application(mainland_resources=True),
    )
    assert compliance.handle(late, ctx) == []
    assert compliance.handle(old, ctx) == []


def test_a_change_without_any_submission_is_an_error(ctx: Context) -> None:
    with pytest.raises(PermanentError, match="no submission"):
        compliance.handle(answer(submission(), True), ctx)


def test_no_compliance_review_for_documents_that_fail_the_claim_check(
    ctx: Context, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """Attack (security issue 14.1): a submission whose documents failed the claim check
    (outside the roots, or changed since upload) still got a compliance task, whose reviewer
    was then shown the attacker's file."""
    from schemas.enums import Side
    from tests.helpers import document_ref

    outside = tmp_path.parent / "outside-front.jpg"
    outside.write_bytes(b"\xff\xd8\xff attacker")
    refs = (document_ref(outside, Side.FRONT),)
    yes = submission(application=application(documents=refs, mainland_resources=True))
    with pytest.raises(PermanentError, match="claim check: document_refused"):
        compliance.handle(yes, ctx)
    inside = tmp_path / "front.jpg"
    inside.write_bytes(b"\xff\xd8\xff real")
    changed = document_ref(inside, Side.FRONT)
    inside.write_bytes(b"\xff\xd8\xff swapped after upload")
    swapped = submission(
        account_id="acct-2", application=application(documents=(changed,), mainland_resources=True)
    )
    with pytest.raises(PermanentError, match="document_hash_mismatch"):
        compliance.handle(swapped, ctx)
    # a later answer change for that account finds nothing to review either
    with pytest.raises(PermanentError, match="no submission"):
        compliance.handle(answer(swapped, True), ctx)
