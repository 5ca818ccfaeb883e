"""The assign stage's handler and tick on the in-process Redis: events in, ReviewTasks out."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from consumers import assign
from consumers.assign.ledger import ledger_for
from pipeline.app.topology import stage_named
from pipeline.processing import Source, StageProcessor
from pipeline.stage import Context
from schemas import encode_event
from schemas.enums import (
    DeadLetterReason,
    Decision,
    FieldName,
    MatchStatus,
    ReasonCode,
    Recommendation,
    ReviewQueue,
    TaskAction,
)
from schemas.events import (
    ComplianceRequested,
    ComplianceSelectionChanged,
    DeadLetter,
    FieldMatch,
    FieldsMatched,
    ReviewDecision,
    ReviewTask,
    StageMetric,
    SubmissionReceived,
)
from tests.helpers import followed_by, roster, signed, submission

SUBMITTED = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # a Friday


def matched(sub: SubmissionReceived) -> FieldsMatched:
    name = FieldMatch(
        field=FieldName.COMPANY_NAME,
        submitted="Harbour Logistics Pte. Ltd.",
        found="Harbour Logistics Pte. Ltd.",
        score=100,
        status=MatchStatus.MATCH,
    )
    return followed_by(
        sub,
        FieldsMatched,
        application=sub.application,
        submitted_at=sub.occurred_at,
        fields=(name,),
        recommendation=Recommendation.CLEAN,
        engine="test",
    )


def fresh() -> SubmissionReceived:
    """A submission of an account of its own (one account's tasks supersede each other)."""
    return submission(account_id=f"acct-{uuid.uuid4().hex[:8]}")


def decide(task: ReviewTask, reviewer: str | None = None) -> ReviewDecision:
    return signed(
        followed_by(
            task,
            ReviewDecision,
            task_id=task.task_id,
            queue=task.queue,
            reviewer_id=reviewer or task.reviewer_id,
            decision=Decision.APPROVE,
            reason_codes=(ReasonCode.DOCUMENTS_CONSISTENT,),
        )
    )


@pytest.fixture
def ctx(ctx_for) -> Context:  # type: ignore[no-untyped-def]
    built: Context = ctx_for("assign")
    return built


def at(ctx: Context, moment: datetime) -> Context:
    return replace(ctx, clock=lambda: moment)


def test_a_match_becomes_a_task_due_in_three_business_days(ctx: Context) -> None:
    ledger_for(ctx.state).load(roster(ana={"countries": ["SG"]}), 0)
    sub = submission()
    sub = sub.model_copy(update={"occurred_at": SUBMITTED})
    [task] = assign.handle(matched(sub), ctx)
    assert (task.action, task.reviewer_id, task.queue) == (
        TaskAction.ASSIGNED,
        "ana",
        ReviewQueue.IDENTITY,
    )
    assert task.due_at == SUBMITTED + timedelta(days=5)  # Fri + 3 business days = Wed
    assert task.fields[0].status is MatchStatus.MATCH
    assert [h.action for h in task.history] == ["created", "assigned"]
    assert assign.handle(matched(sub), ctx) == []  # another OCR result: still one task
    assert ledger_for(ctx.state).open_tasks("ana") == 1


def test_replaying_the_same_event_re_emits_the_same_task(ctx: Context) -> None:
    ledger_for(ctx.state).load(roster(ana={}), 0)
    event = matched(fresh())
    first = assign.handle(event, ctx)
    second = assign.handle(event, ctx)
    assert [t.event_id for t in first] == [t.event_id for t in second]
    assert ledger_for(ctx.state).open_tasks("ana") == 1


def test_no_reviewer_means_backlog_until_the_tick_after_one_is_added(ctx: Context) -> None:
    event = matched(fresh())
    assert assign.handle(event, ctx) == []
    result = assign.tick(ctx)
    [metric] = result.outputs
    assert isinstance(metric, StageMetric)
    assert metric.outcomes["backlog"] == 1
    ledger_for(ctx.state).load(roster(bo={}), 0)
    result = assign.tick(ctx)
    tasks = [e for e in result.outputs if isinstance(e, ReviewTask)]
    assert [(t.reviewer_id, t.action) for t in tasks] == [("bo", TaskAction.ASSIGNED)]
    assert assign.tick(ctx).outputs[0].event_id == tasks[0].event_id  # not acknowledged yet
    result.acknowledge()
    assert not [e for e in assign.tick(ctx).outputs if isinstance(e, ReviewTask)]


def test_a_decision_frees_the_slot_and_drains_the_backlog(ctx: Context) -> None:
    ledger_for(ctx.state).load(roster(ana={"max_open": 1}), 0)
    [first] = assign.handle(matched(fresh()), ctx)
    assert assign.handle(matched(fresh()), ctx) == []  # ana is full
    decision = decide(first)
    [second] = assign.handle(decision, ctx)
    assert second.reviewer_id == "ana"
    assert second.task_id != first.task_id
    assert [t.event_id for t in assign.handle(decision, ctx)] == [second.event_id]  # replay


def test_refused_decisions_are_dead_lettered(ctx: Context) -> None:
    ledger_for(ctx.state).load(roster(ana={}, bo={}), 0)
    [task] = assign.handle(matched(fresh()), ctx)
    processor = StageProcessor(stage_named("assign"), ctx)
    source = Source("kyb.review.decisions", 0, 7)
    cases = {
        "unknown_reviewer": decide(task, "mallory"),
        "not_assigned": decide(task, "bo" if task.reviewer_id == "ana" else "ana"),
    }
    good = decide(task)
    assert processor.process(encode_event(good), source).dead_letters == []
    cases["already_decided"] = decide(task)
    for reason, event in cases.items():
        [letter] = processor.process(encode_event(event), source).outputs
        assert isinstance(letter, DeadLetter)
        assert letter.reason is DeadLetterReason.REFUSED
        assert reason in letter.error


def test_a_newer_submission_cancels_the_open_task_and_late_decisions_are_refused(
    ctx: Context,
) -> None:
    ledger_for(ctx.state).load(roster(ana={}), 0)
    old = submission(account_id="acct-9")
    old = old.model_copy(update={"occurred_at": SUBMITTED})
    [task] = assign.handle(matched(old), ctx)
    new = submission(account_id="acct-9").model_copy(
        update={"occurred_at": SUBMITTED + timedelta(hours=1)}
    )
    [cancelled] = assign.handle(new, ctx)
    assert (cancelled.action, cancelled.task_id, cancelled.reviewer_id) == (
        TaskAction.CANCELLED,
        task.task_id,
        "ana",
    )
    assert ledger_for(ctx.state).open_tasks("ana") == 0
    processor = StageProcessor(stage_named("assign"), ctx)
    [letter] = processor.process(encode_event(decide(task)), Source("kyb.review.decisions")).outputs
    assert isinstance(letter, DeadLetter)
    assert "cancelled" in letter.error
    assert assign.handle(matched(old), ctx) == []  # the older submission never gets a task again


def test_compliance_tasks_use_their_own_skills_and_a_no_cancels_them(ctx: Context) -> None:
    ledger_for(ctx.state).load(
        roster(ana={"queues": ["identity"]}, cy={"queues": ["compliance"], "countries": ["SG"]}), 0
    )
    sub = submission()
    request = followed_by(
        sub, ComplianceRequested, application=sub.application, trigger="submission"
    )
    [task] = assign.handle(request, ctx)
    assert (task.queue, task.reviewer_id) == (ReviewQueue.COMPLIANCE, "cy")
    no = followed_by(sub, ComplianceSelectionChanged, mainland_resources=False)
    [cancelled] = assign.handle(no, ctx)
    assert cancelled.action is TaskAction.CANCELLED


def test_the_tick_reassigns_idle_tasks_and_counts_breaches(ctx: Context) -> None:
    ledger_for(ctx.state).load(roster(ana={}, bo={}), 0)
    sub = submission().model_copy(update={"occurred_at": SUBMITTED})
    start = SUBMITTED + timedelta(minutes=5)
    [task] = assign.handle(matched(sub), at(ctx, start))
    idle = start + timedelta(seconds=ctx.settings.review_idle_reassign_s + 1)
    result = assign.tick(at(ctx, idle))
    [moved] = [e for e in result.outputs if isinstance(e, ReviewTask)]
    assert moved.task_id == task.task_id
    assert moved.reviewer_id != task.reviewer_id
    assert moved.assignment == 2
    assert any(h.action == "unassigned" and "idle" in h.reason for h in moved.history)
    result.acknowledge()
    late = task.due_at + timedelta(seconds=1)
    [metric] = [e for e in assign.tick(at(ctx, late)).outputs if isinstance(e, StageMetric)]
    assert metric.outcomes["sla_breaches"] == 1
    [metric] = [e for e in assign.tick(at(ctx, late)).outputs if isinstance(e, StageMetric)]
    assert (metric.outcomes["sla_breaches"], metric.outcomes["sla_breaches_total"]) == (0, 1)


def test_task_ids_are_per_submission_and_queue() -> None:
    sid = str(uuid.uuid4())
    assert assign.task_id(sid, ReviewQueue.COMPLIANCE) == f"{sid}.compliance"
