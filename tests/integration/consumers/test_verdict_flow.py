"""Compliance branching, supersession and irreversibility across the real stages (compliance,
assign, verdict, notify) on real Redis, then `kyb status` reading the audit trail."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from consumers.assign.ledger import ledger_for
from consumers.verdict import load_account
from pipeline.app.topology import stage_named
from pipeline.documents import DocumentStore
from pipeline.local_runtime import LocalRuntime
from pipeline.settings import Settings
from pipeline.state import RedisStateStore
from pipeline.wiring import build_processor
from producers.decisions import DecisionPublisher
from schemas import Envelope
from schemas.enums import Decision, ReasonCode, Recommendation, TaskAction
from schemas.events import (
    ComplianceSelectionChanged,
    DeadLetter,
    FieldsMatched,
    ReviewTask,
    StatusChanged,
)
from tests.helpers import application, followed_by, roster, run_kyb, submission

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class World:
    def __init__(self, store: RedisStateStore, tmp_path: Path) -> None:
        settings = Settings(
            document_roots=[tmp_path], mail_transport="outbox", outbox_dir=tmp_path / "outbox"
        )
        documents = DocumentStore([tmp_path], 1_000_000)
        stages = ("compliance", "assign", "verdict", "notify")
        self.runtime = LocalRuntime(
            build_processor(stage_named(name), settings, store, documents) for name in stages
        )
        self.store = store
        ledger_for(store).load(
            roster(ana={"queues": ["identity"]}, cy={"queues": ["compliance"]}), 0
        )

    def send(self, event: Envelope) -> None:
        self.runtime.publish(event)
        self.runtime.run_until_idle()

    def tasks(self, account: str) -> list[ReviewTask]:
        events = self.runtime.topics["kyb.review.tasks"]
        return [t for t in events if isinstance(t, ReviewTask) and t.account_id == account]

    def letters(self) -> list[DeadLetter]:
        return [d for d in self.runtime.topics["kyb.deadletter"] if isinstance(d, DeadLetter)]

    def decide(self, task: ReviewTask, decision: Decision, *reasons: ReasonCode) -> None:
        DecisionPublisher(self.runtime).decide(task, decision, reasons)
        self.runtime.run_until_idle()

    def compliance(self, account: str) -> str:
        state = load_account(self.store, account)
        assert state is not None
        return state.compliance.value


def answer(cause: Envelope, yes: bool) -> ComplianceSelectionChanged:
    return followed_by(cause, ComplianceSelectionChanged, mainland_resources=yes)


def test_the_mainland_answer_changed_before_during_and_after_review(
    redis_store: RedisStateStore, tmp_path: Path
) -> None:
    world = World(redis_store, tmp_path)
    account = f"acct-{uuid.uuid4().hex[:6]}"
    sub = submission(account, occurred_at=T0)  # answered no
    world.send(sub)
    assert world.compliance(account) == "not_required"
    world.send(answer(sub, True))  # before any review
    [first] = world.tasks(account)
    assert (first.queue, first.reviewer_id, first.action) == ("compliance", "cy", "assigned")
    assert world.compliance(account) == "pending"

    world.send(answer(sub, False))  # during review: cancelled
    assert [t.action for t in world.tasks(account)] == [TaskAction.ASSIGNED, TaskAction.CANCELLED]
    assert world.compliance(account) == "not_required"
    world.decide(first, Decision.APPROVE, ReasonCode.COMPLIANCE_CLEARED)  # too late
    refused = [d for d in world.letters() if d.reason == "refused"]
    assert {d.stage for d in refused} == {"assign", "verdict"}
    assert all("cancelled" in d.error for d in refused)
    assert world.compliance(account) == "not_required"

    world.send(answer(sub, True))  # yes again: a new task
    second = world.tasks(account)[-1]
    assert second.task_id != first.task_id
    world.decide(second, Decision.APPROVE, ReasonCode.COMPLIANCE_CLEARED)
    assert world.compliance(account) == "approved"
    world.send(answer(sub, False))  # after review: audited, the approval stands
    world.send(answer(sub, True))
    assert world.compliance(account) == "approved"
    assert len(world.tasks(account)) == 3  # assigned, cancelled, assigned: nothing new
    mails = sorted(p.name for p in (tmp_path / "outbox").glob("*.eml"))
    assert sum("compliance_pending" in m for m in mails) == 2
    assert sum("compliance_approved" in m for m in mails) == 1
    trail = [
        (c.track.value, c.to_status)
        for c in world.runtime.topics["kyb.status"]
        if isinstance(c, StatusChanged) and c.track == "mainland_resources"
    ]
    assert trail == [("mainland_resources", a) for a in ("no", "yes", "no", "yes", "no", "yes")]


def matched(cause: Envelope) -> FieldsMatched:
    return followed_by(
        cause,
        FieldsMatched,
        application=application(),
        fields=(),
        recommendation=Recommendation.CLEAN,
        engine="test",
    )


def test_enterprise_is_irreversible_and_a_newer_submission_supersedes(
    redis_store: RedisStateStore, redis_url: str, tmp_path: Path
) -> None:
    world = World(redis_store, tmp_path)
    account = f"acct-{uuid.uuid4().hex[:6]}"
    first = submission(account, occurred_at=T0)
    world.send(first)
    world.send(matched(first))
    [task] = world.tasks(account)
    world.decide(task, Decision.APPROVE, ReasonCode.DOCUMENTS_CONSISTENT)
    state = load_account(redis_store, account)
    assert state is not None
    assert (state.identity, state.account_type) == ("verified", "enterprise")

    back = submission(
        account,
        occurred_at=T0 + timedelta(days=1),
        application=application(account_type="individual"),
    )
    world.send(back)
    [letter] = [d for d in world.letters() if d.stage == "verdict"]
    assert (letter.reason, letter.error) == (
        "refused",
        "an enterprise-verified account never returns to individual",
    )
    refused = [
        c for c in world.runtime.topics["kyb.status"] if isinstance(c, StatusChanged) and c.refused
    ]
    assert [(c.from_status, c.to_status) for c in refused] == [("enterprise", "individual")]

    # re-verification: a newer submission supersedes an unfinished older one
    renew: dict[str, Any] = {"application": application(account_type="enterprise")}
    older = submission(account, occurred_at=T0 + timedelta(days=2), **renew)
    world.send(older)
    world.send(matched(older))
    old_task = world.tasks(account)[-1]
    newer = submission(account, occurred_at=T0 + timedelta(days=3), **renew)
    world.send(newer)
    assert world.tasks(account)[-1].action is TaskAction.CANCELLED
    world.decide(old_task, Decision.REJECT, ReasonCode.NAME_MISMATCH)
    assert sum("cancelled" in d.error for d in world.letters()) == 2  # assign and verdict
    state = load_account(redis_store, account)
    assert state is not None
    assert (state.identity, state.account_type, state.submission_id) == (
        "submitted",
        "enterprise",
        newer.submission_id,
    )
    assert ledger_for(redis_store).open_tasks("ana") == 0

    env = {
        "KYB_STATE_BACKEND": "redis",
        "KYB_REDIS_URL": redis_url,
        "KYB_KEY_PREFIX": redis_store.prefix,
        "COLUMNS": "200",
    }
    run = run_kyb("status", account, env=env)
    assert run.returncode == 0, run.stderr
    assert "account type: enterprise" in run.stdout
    assert "identity:   submitted" in run.stdout
    assert "REFUSED" in run.stdout
    assert f"supersedes submission {older.submission_id}" in run.stdout
    missing = run_kyb("status", "acct-none", env=env)
    assert missing.returncode == 1
    assert "no account 'acct-none'" in missing.stderr
