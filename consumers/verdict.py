"""Verdict stage: owner of each account's status machines (DESIGN.md, "Status machines").

Issue-2 scope: the happy paths of the identity, compliance and account-type machines and the
emails they trigger. Supersession, refusals and sole-proprietorship policy come with issue 6.

Idempotency: the account document remembers the outputs of the last events it applied, keyed
by event id; a replayed event re-emits exactly those outputs (same event ids) and changes
nothing, so a crash between the state write and the produce loses nothing either.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from consumers.assign.ledger import describe, ledger_for
from pipeline.errors import RefusedError
from pipeline.stage import Context
from pipeline.state import StateStore, update_json
from schemas import Envelope, decode_event, encode_event
from schemas.enums import (
    AccountType,
    ComplianceStatus,
    Decision,
    IdentityStatus,
    Locale,
    NotificationTemplate,
    ReviewQueue,
    StatusTrack,
    TaskAction,
)
from schemas.events import (
    ComplianceRequested,
    ComplianceSelectionChanged,
    NotificationRequested,
    QualityChecked,
    ReviewDecision,
    ReviewTask,
    StatusChanged,
    SubmissionReceived,
)

REMEMBERED_EVENTS = 100
HISTORY_LIMIT = 500


class AccountState(BaseModel):
    account_type: AccountType = AccountType.INDIVIDUAL
    identity: IdentityStatus | None = None
    compliance: ComplianceStatus = ComplianceStatus.NOT_REQUIRED
    submission_id: str | None = None
    contact_email: str | None = None
    locale: Locale = Locale.EN
    company_name: str | None = None
    applied: dict[str, list[str]] = Field(default_factory=dict)
    history: list[dict[str, Any]] = Field(default_factory=list)


def account_key(account_id: str) -> str:
    return f"verdict:account:{account_id}"


def load_account(state: StateStore, account_id: str) -> AccountState | None:
    raw = state.get(account_key(account_id))
    return None if raw is None else AccountState.model_validate_json(raw)


def handle(event: Envelope, ctx: Context) -> Sequence[Envelope]:
    if isinstance(event, ReviewDecision):
        _check_decision(event, ctx)

    def mutate(doc: dict[str, Any] | None) -> tuple[dict[str, Any], list[str]]:
        state = AccountState.model_validate(doc or {})
        key = str(event.event_id)
        if key in state.applied:
            return state.model_dump(mode="json"), state.applied[key]
        outputs = [encode_event(out).decode() for out in _apply(state, event, ctx)]
        state.applied[key] = outputs
        while len(state.applied) > REMEMBERED_EVENTS:
            state.applied.pop(next(iter(state.applied)))
        state.history = state.history[-HISTORY_LIMIT:]
        return state.model_dump(mode="json"), outputs

    encoded = update_json(ctx.state, account_key(event.account_id), mutate)
    return [decode_event(raw.encode()) for raw in encoded]


def _check_decision(event: ReviewDecision, ctx: Context) -> None:
    """Only a decision the task ledger accepts is applied (the assign stage checks it too; the
    ledger's check is idempotent, so whichever stage sees the decision first records it)."""
    refusal = ledger_for(ctx.state).decide(
        event.task_id,
        event.reviewer_id,
        str(event.event_id),
        event.account_id,
        event.queue,
        ctx.clock().timestamp(),
    )
    if refusal is not None:
        raise RefusedError(f"decision refused ({refusal.value}): {describe(refusal)}")


class _Transitions:
    """Collects the audit entries and emails one input causes."""

    def __init__(self, state: AccountState, cause: Envelope, ctx: Context) -> None:
        self.state, self.cause, self.ctx = state, cause, ctx
        self.outputs: list[Envelope] = []

    def move(self, track: StatusTrack, to: str, reasons: Sequence[str] = ()) -> None:
        current = getattr(self.state, track.value)
        before = None if current is None else str(current)
        if before == to:
            return
        setattr(self.state, track.value, to)
        change = self.ctx.derive(
            StatusChanged,
            self.cause,
            tag=f"{track.value}:{to}",
            track=track,
            from_status=before,
            to_status=to,
            reasons=tuple(reasons),
            cause_event_id=str(self.cause.event_id),
        )
        self.state.history.append(change.model_dump(mode="json"))
        self.outputs.append(change)

    def notify(self, template: NotificationTemplate, **context: Any) -> None:
        if self.state.contact_email is None:
            return
        self.outputs.append(
            self.ctx.derive(
                NotificationRequested,
                self.cause,
                tag=f"mail:{template.value}",
                notification_id=f"{self.cause.submission_id}.{template.value}",
                template=template,
                to=self.state.contact_email,
                locale=self.state.locale,
                context={
                    "company_name": self.state.company_name,
                    "submission_id": self.cause.submission_id,
                }
                | context,
            )
        )


def _apply(state: AccountState, event: Envelope, ctx: Context) -> list[Envelope]:
    t = _Transitions(state, event, ctx)
    if isinstance(event, SubmissionReceived):
        app = event.application
        state.submission_id = event.submission_id
        state.contact_email = str(app.contact_email)
        state.locale = app.locale
        state.company_name = app.company.company_name
        if state.identity is None:
            state.account_type = app.account_type
        state.identity = None  # a new submission starts a new identity run
        t.move(StatusTrack.IDENTITY, IdentityStatus.SUBMITTED)
        if not app.mainland_resources and state.compliance is ComplianceStatus.PENDING:
            t.move(StatusTrack.COMPLIANCE, ComplianceStatus.NOT_REQUIRED, ["customer answered no"])
        t.notify(NotificationTemplate.RECEIVED)
        return t.outputs
    if event.submission_id != state.submission_id:
        return []  # belongs to an older submission
    if isinstance(event, QualityChecked):
        if event.passed:
            t.move(StatusTrack.IDENTITY, IdentityStatus.CHECKING)
        else:
            reasons = [finding.message for finding in event.findings]
            t.move(StatusTrack.IDENTITY, IdentityStatus.RESUBMISSION_REQUIRED, reasons)
            t.notify(NotificationTemplate.RESUBMISSION_REQUIRED, reasons=reasons)
    elif isinstance(event, ReviewTask):
        if event.queue is ReviewQueue.IDENTITY and event.action is TaskAction.ASSIGNED:
            t.move(StatusTrack.IDENTITY, IdentityStatus.IN_REVIEW)
    elif isinstance(event, ComplianceRequested):
        t.move(StatusTrack.COMPLIANCE, ComplianceStatus.PENDING)
        t.notify(NotificationTemplate.COMPLIANCE_PENDING)
    elif isinstance(event, ComplianceSelectionChanged):
        if not event.mainland_resources and state.compliance is ComplianceStatus.PENDING:
            t.move(StatusTrack.COMPLIANCE, ComplianceStatus.NOT_REQUIRED, ["customer answered no"])
    elif isinstance(event, ReviewDecision):
        _decide(t, event)
    return t.outputs


def _decide(t: _Transitions, event: ReviewDecision) -> None:
    reasons = [code.value for code in event.reason_codes]
    if event.queue is ReviewQueue.COMPLIANCE:
        approved = event.decision is Decision.APPROVE
        t.move(
            StatusTrack.COMPLIANCE,
            ComplianceStatus.APPROVED if approved else ComplianceStatus.REJECTED,
            reasons,
        )
        t.notify(
            NotificationTemplate.COMPLIANCE_APPROVED
            if approved
            else NotificationTemplate.COMPLIANCE_REJECTED,
            reasons=reasons,
        )
        return
    if event.decision is Decision.APPROVE:
        t.move(StatusTrack.IDENTITY, IdentityStatus.VERIFIED, reasons)
        t.move(StatusTrack.ACCOUNT_TYPE, AccountType.ENTERPRISE)
        t.notify(NotificationTemplate.VERIFIED)
    elif event.decision is Decision.REJECT:
        t.move(StatusTrack.IDENTITY, IdentityStatus.REJECTED, reasons)
        t.notify(NotificationTemplate.REJECTED, reasons=reasons)
    else:
        t.move(StatusTrack.IDENTITY, IdentityStatus.RESUBMISSION_REQUIRED, reasons)
        t.notify(NotificationTemplate.RESUBMISSION_REQUIRED, reasons=reasons)
