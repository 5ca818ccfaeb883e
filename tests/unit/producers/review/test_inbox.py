"""The reviewer inbox folds task changes and decisions, in any order, replays included."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from producers.review.inbox import Inbox
from schemas.enums import Decision, ReasonCode, TaskAction
from schemas.events import ReviewDecision
from tests.helpers import followed_by, review_task, submission


def decision_on(task_id: str, reviewer: str) -> ReviewDecision:
    return followed_by(
        submission(),
        ReviewDecision,
        task_id=task_id,
        queue="identity",
        reviewer_id=reviewer,
        decision=Decision.APPROVE,
        reason_codes=(ReasonCode.DOCUMENTS_CONSISTENT,),
    )


def test_only_my_open_tasks_earliest_due_first() -> None:
    inbox = Inbox()
    late = review_task(submission(), "ana", due_at=datetime(2026, 12, 3, tzinfo=UTC))
    soon = review_task(submission(), "ana", due_at=datetime(2026, 12, 1, tzinfo=UTC))
    other = review_task(submission(), "bo")
    inbox.add_all([late, other, soon])
    assert [t.task_id for t in inbox.open_tasks("ana")] == [soon.task_id, late.task_id]
    assert inbox.task("ana", other.task_id) is None  # never someone else's task


def test_moved_cancelled_and_decided_tasks_disappear_in_any_order() -> None:
    sub = submission()
    given = review_task(sub, "ana", assignment=1)
    taken = review_task(sub, "ana", TaskAction.UNASSIGNED, assignment=1)
    to_bo = review_task(sub, "bo", assignment=2)
    for order in ([given, taken, to_bo], [to_bo, taken, given], [taken, given]):
        inbox = Inbox()
        inbox.add_all(order)
        assert inbox.open_tasks("ana") == []
    inbox = Inbox()
    inbox.add_all([given, to_bo])
    assert [t.reviewer_id for t in inbox.open_tasks("bo")] == ["bo"]
    inbox.add(review_task(sub, "bo", TaskAction.CANCELLED, assignment=2))
    assert inbox.open_tasks("bo") == []

    other = review_task(submission(), "ana")
    inbox.add(other)
    inbox.add(other)  # a replay
    assert len(inbox.open_tasks("ana")) == 1
    inbox.add(decision_on(other.task_id, "ana"))
    assert inbox.open_tasks("ana") == []


def test_marking_decided_hides_a_task_before_the_topic_says_so() -> None:
    inbox = Inbox()
    task = review_task(submission(), "ana")
    inbox.add(task)
    inbox.mark_decided(task.task_id, "ana")
    assert inbox.open_tasks("ana") == []
    assert uuid.UUID(str(task.event_id))


def test_a_cancellation_after_an_erasure_carries_no_application_and_hides_the_task() -> None:
    sub = submission()
    inbox = Inbox()
    inbox.add(review_task(sub, "ana"))
    erased = review_task(sub, "ana", action=TaskAction.CANCELLED, application=None)
    assert erased.application is None
    inbox.add(erased)
    assert inbox.open_tasks("ana") == []
    with pytest.raises(ValidationError, match="application is required"):
        review_task(sub, "ana", application=None)  # an assignment must show the application
