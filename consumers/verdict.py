"""Verdict stage: owner of each account's status machines (ARCHITECTURE.md, "Event flow").

identity: submitted → checking → in_review → verified | rejected | resubmission_required;
compliance: not_required | pending → approved | rejected, apart from identity; account type:
individual → enterprise on approval, never back (a request for that is refused: an audit entry
with `refused=True` plus a dead letter, and nothing changes). A newer submission supersedes an
unfinished one; an older one arriving late changes nothing. Every transition is a
`StatusChanged` on `kyb.status`; the customer hears of those that concern them by email.

Idempotency: the account document remembers the outputs (and refusal) of the last events it
applied, keyed by event id; a replayed event re-emits exactly those outputs (same event ids)
and changes nothing, so a crash between the state write and the produce loses nothing either.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from consumers.assign.ledger import describe, worker_ledger
from consumers.eligibility import is_sole_proprietorship, restrictions
from pipeline.errors import RefusedError
from pipeline.signing import require_signed
from pipeline.stage import Context, UnusableRecord
from pipeline.state import StateStore, update_json
from schemas import Envelope, decode_event, encode_event
from schemas.enums import (
    FINAL_IDENTITY_STATUSES,
    AccountType,
    ComplianceStatus,
    Decision,
    IdentityStatus,
    Locale,
    NotificationTemplate,
    ReasonCode,
    ReviewQueue,
    StatusTrack,
    TaskAction,
)
from schemas.events import (
    AccountErasureRequested,
    ComplianceRequested,
    ComplianceSelectionChanged,
    NotificationRequested,
    QualityChecked,
    ReviewDecision,
    ReviewTask,
    StatusChanged,
    SubmissionReceived,
)

_I = IdentityStatus
#: Identity only moves forward within a submission (a new submission restarts at "submitted").
_IDENTITY_RANK: dict[str | None, int] = {
    None: -1,
    _I.SUBMITTED: 0,
    _I.CHECKING: 1,
    _I.IN_REVIEW: 2,
    _I.VERIFIED: 3,
    _I.REJECTED: 3,
    _I.RESUBMISSION_REQUIRED: 3,
    _I.REFUSED: 3,
}
_QUALITY_KEYS = {"code", "side"}  # lets the email say the reason in the customer's language
REMEMBERED_EVENTS = 100
SEEN_LIMIT = 20
EARLY_LIMIT = 50
HISTORY_LIMIT = 500


class AccountState(BaseModel):
    account_type: AccountType = AccountType.INDIVIDUAL
    identity: IdentityStatus | None = None
    compliance: ComplianceStatus = ComplianceStatus.NOT_REQUIRED
    mainland_resources: str | None = None  # "yes" / "no": the customer's latest answer
    submission_id: str | None = None
    submitted_at: datetime | None = None
    contact_email: str | None = None
    locale: Locale = Locale.EN
    company_name: str | None = None
    sole_proprietorship: bool = False
    applied: dict[str, list[str]] = Field(default_factory=dict)
    refusals: dict[str, str] = Field(default_factory=dict)
    compliance_decided_for: str | None = None  # the submission whose compliance was decided
    seen_submissions: list[str] = Field(default_factory=list)
    early: dict[str, list[str]] = Field(default_factory=dict)  # events ahead of their submission
    history: list[dict[str, Any]] = Field(default_factory=list)


def account_key(account_id: str) -> str:
    return f"verdict:account:{account_id}"


def load_account(state: StateStore, account_id: str) -> AccountState | None:
    raw = state.get(account_key(account_id))
    return None if raw is None else AccountState.model_validate_json(raw)


def handle(event: Envelope, ctx: Context) -> Sequence[Envelope]:
    if isinstance(event, AccountErasureRequested):
        _erase(event.account_id, ctx)
        return []
    if isinstance(event, ReviewDecision):
        _check_decision(event, ctx)

    def mutate(doc: dict[str, Any] | None) -> tuple[dict[str, Any], tuple[list[Envelope], str]]:
        state = AccountState.model_validate(doc or {})
        key = str(event.event_id)
        if key in state.applied:  # a replay: the outputs the first time, as they were stored
            stored: list[Envelope] = [decode_event(raw.encode()) for raw in state.applied[key]]
            return state.model_dump(mode="json"), (stored, state.refusals.get(key, ""))
        t = _Transitions(state, event, ctx)
        _apply(t, event)
        state.applied[key] = [encode_event(out).decode() for out in t.outputs]
        if t.refusal:
            state.refusals[key] = t.refusal
        while len(state.applied) > REMEMBERED_EVENTS:
            first = next(iter(state.applied))
            state.applied.pop(first)
            state.refusals.pop(first, None)
        state.history = state.history[-HISTORY_LIMIT:]
        # the events themselves: decoding what was just encoded validated every contact
        # address again, a sixth of the stage's CPU
        return state.model_dump(mode="json"), (list(t.outputs), t.refusal)

    ttl_s = ctx.settings.account_state_days * 86_400
    events, refusal = update_json(ctx.state, account_key(event.account_id), mutate, ttl_s)
    if refusal:
        raise RefusedError(refusal, outputs=events)
    return events


def answer_unusable(record: UnusableRecord, ctx: Context) -> Sequence[StatusChanged]:
    """A submission no stage can read (invalid, a newer schema version, keyed by another
    account): the portal gets identity `refused` with the reason on `kyb.status`, so it is not
    left waiting; the account's state is untouched (nothing in the record can be trusted) and
    the customer is not emailed."""
    if record.event_type != SubmissionReceived.model_fields["event_type"].default:
        return []
    return [
        StatusChanged(
            event_id=record.answer_id,
            occurred_at=ctx.clock(),
            account_id=record.account_id,
            submission_id=record.submission_id,
            producer=ctx.stage,
            track=StatusTrack.IDENTITY,
            from_status=None,
            to_status=IdentityStatus.REFUSED,
            reasons=(record.reason,),
            cause_event_id=str(record.answer_id),
        )
    ]


def _erase(account_id: str, ctx: Context) -> None:
    """Forget the account: its status state (contact address, company name, history) and the
    document folders of every submission it remembers. The audit trail on `kyb.status` holds
    ids and statuses only and stays for its retention."""
    state = load_account(ctx.state, account_id)
    if state is not None:
        known = {state.submission_id, *state.seen_submissions, *state.early} - {None}
        for submission_id in sorted(s for s in known if s is not None):
            ctx.documents.erase_submission(submission_id)
    ctx.state.delete(account_key(account_id))


def _check_decision(event: ReviewDecision, ctx: Context) -> None:
    """Only a signed decision the task ledger accepts is applied (the assign stage checks it
    too; the ledger's check is idempotent, so whichever stage sees it first records it)."""
    require_signed(event, ctx.settings.decision_signing_key)
    refusal = worker_ledger(ctx).decide(
        event.task_id,
        event.reviewer_id,
        str(event.event_id),
        event.account_id,
        event.queue,
        ctx.clock().timestamp(),
    )
    if refusal is not None:
        raise RefusedError(f"decision refused ({refusal.value}): {describe(refusal)}")


def _forward(before: str | None, to: str) -> bool:
    """A later step of the same submission (a final status is never left)."""
    if before is None or before in FINAL_IDENTITY_STATUSES:
        return False
    return _IDENTITY_RANK[to] > _IDENTITY_RANK[before]


class _Transitions:
    """Collects the audit entries and emails one input causes."""

    def __init__(self, state: AccountState, cause: Envelope, ctx: Context) -> None:
        self.state, self.cause, self.ctx = state, cause, ctx
        self.outputs: list[Envelope] = []
        self.refusal = ""

    def move(
        self, track: StatusTrack, to: str, reasons: Sequence[str] = (), always: bool = False
    ) -> None:
        """Change a track and audit it; `always` audits even a change to the same status.

        Events of different topics arrive in any order (a review task after its decision, a
        quality result after a verdict): a move the status machine does not allow from the
        current status is such a late event, and is ignored.
        """
        before = self._current(track)
        if before == to and not always:
            return
        if track is StatusTrack.IDENTITY and not always and not _forward(before, to):
            return
        setattr(self.state, track.value, to)
        self._audit(track, before, to, reasons)

    def refuse(self, track: StatusTrack, to: str, reason: str) -> None:
        """Audit a refused change; the state stays as it is and the event is dead-lettered."""
        self._audit(track, self._current(track), to, [reason], refused=True)
        self.refusal = reason

    def _current(self, track: StatusTrack) -> str | None:
        current = getattr(self.state, track.value)
        return None if current is None else str(current)

    def _audit(
        self,
        track: StatusTrack,
        before: str | None,
        to: str,
        reasons: Sequence[str],
        refused: bool = False,
    ) -> None:
        change = self.ctx.derive(
            StatusChanged,
            self.cause,
            tag=f"{'refused:' if refused else ''}{track.value}:{to}",
            track=track,
            from_status=before,
            to_status=to,
            refused=refused,
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
                # one email per template and cause: a redelivery is the same email, a second
                # "pending" after the customer said no and then yes again is a new one
                notification_id=f"{self.cause.submission_id}.{template.value}."
                f"{self.cause.event_id.hex[:12]}",
                template=template,
                to=self.state.contact_email,
                locale=self.state.locale,
                # no customer-typed text: the contact address is unverified, so a company
                # "name" with a link must not be mailed from our sender
                context={"submission_id": self.cause.submission_id} | context,
            )
        )


def _apply(t: _Transitions, event: Envelope) -> None:
    state = t.state
    if isinstance(event, SubmissionReceived):
        _submitted(t, event)
    elif isinstance(event, ComplianceSelectionChanged):
        answer = "yes" if event.mainland_resources else "no"
        t.move(StatusTrack.MAINLAND_RESOURCES, answer, ["changed by the customer"], always=True)
        if not event.mainland_resources and state.compliance is ComplianceStatus.PENDING:
            t.move(StatusTrack.COMPLIANCE, ComplianceStatus.NOT_REQUIRED, ["customer answered no"])
    elif event.submission_id != state.submission_id:
        if event.submission_id not in state.seen_submissions:
            # a result that overtook its submission (another topic, a restarted worker):
            # kept until the submission arrives, then applied in order
            early = state.early.setdefault(event.submission_id, [])
            if len(early) < EARLY_LIMIT:
                early.append(encode_event(event).decode())
            while len(state.early) > SEEN_LIMIT:  # bounded: the oldest unknown goes first
                state.early.pop(next(iter(state.early)))
        return  # otherwise it belongs to an older submission
    elif isinstance(event, QualityChecked):
        if event.refusal is not None:
            # the portal's mistake: the portal reads the reason on kyb.status; no email
            side = event.refused_side.value if event.refused_side else "-"
            t.move(StatusTrack.IDENTITY, IdentityStatus.REFUSED, [event.refusal.value, side])
        elif event.passed:
            t.move(StatusTrack.IDENTITY, IdentityStatus.CHECKING)
        else:
            reasons = [finding.message for finding in event.findings]
            t.move(StatusTrack.IDENTITY, IdentityStatus.RESUBMISSION_REQUIRED, reasons)
            t.notify(
                NotificationTemplate.RESUBMISSION_REQUIRED,
                reasons=reasons,
                quality=[
                    f.model_dump(mode="json", include={"code", "side"}) for f in event.findings
                ],
            )
    elif isinstance(event, ReviewTask):
        if event.queue is ReviewQueue.IDENTITY and event.action is TaskAction.ASSIGNED:
            state.sole_proprietorship = state.sole_proprietorship or is_sole_proprietorship(
                event.details, event.fields
            )
            t.move(StatusTrack.IDENTITY, IdentityStatus.IN_REVIEW)
    elif isinstance(event, ComplianceRequested):
        # a request its own decision overtook changes nothing
        decided_already = state.compliance_decided_for == event.submission_id
        if state.compliance is not ComplianceStatus.PENDING and not decided_already:
            t.move(StatusTrack.COMPLIANCE, ComplianceStatus.PENDING, [event.trigger])
            t.notify(NotificationTemplate.COMPLIANCE_PENDING)
    elif isinstance(event, ReviewDecision):
        _decide(t, event)


def _submitted(t: _Transitions, event: SubmissionReceived) -> None:
    state, app = t.state, event.application
    if state.submitted_at is not None and event.occurred_at < state.submitted_at:
        _seen(state, event.submission_id)  # an older one arriving late: the newer one stands
        state.early.pop(event.submission_id, None)
        return
    if state.account_type is AccountType.ENTERPRISE and app.account_type is AccountType.INDIVIDUAL:
        t.refuse(
            StatusTrack.ACCOUNT_TYPE,
            AccountType.INDIVIDUAL,
            "an enterprise-verified account never returns to individual",
        )
        return
    unfinished = state.identity in (
        IdentityStatus.SUBMITTED,
        IdentityStatus.CHECKING,
        IdentityStatus.IN_REVIEW,
    )
    superseded = (
        [f"supersedes submission {state.submission_id} ({state.identity})"] if unfinished else []
    )
    # the declared account type is the customer's claim, never state: the account becomes
    # enterprise only through a verified decision (with its audit entry)
    state.submission_id = event.submission_id
    state.submitted_at = event.occurred_at
    state.contact_email = str(app.contact_email)
    state.locale = app.locale
    state.company_name = app.company.company_name
    state.sole_proprietorship = is_sole_proprietorship(app)
    t.move(StatusTrack.IDENTITY, IdentityStatus.SUBMITTED, superseded, always=True)
    t.move(StatusTrack.MAINLAND_RESOURCES, "yes" if app.mainland_resources else "no")
    if not app.mainland_resources and state.compliance is ComplianceStatus.PENDING:
        t.move(StatusTrack.COMPLIANCE, ComplianceStatus.NOT_REQUIRED, ["customer answered no"])
    t.notify(NotificationTemplate.RECEIVED)
    _seen(state, event.submission_id)
    for raw in state.early.pop(event.submission_id, []):
        early = decode_event(raw.encode())
        replay = _Transitions(state, early, t.ctx)
        _apply(replay, early)
        t.outputs.extend(replay.outputs)
    state.early = {
        sid: events for sid, events in state.early.items() if sid not in state.seen_submissions
    }


def _seen(state: AccountState, submission_id: str) -> None:
    state.seen_submissions = [*state.seen_submissions, submission_id][-SEEN_LIMIT:]


def _decide(t: _Transitions, event: ReviewDecision) -> None:
    reasons = [code.value for code in event.reason_codes]
    if event.queue is ReviewQueue.COMPLIANCE:
        t.state.compliance_decided_for = event.submission_id
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
        limits = restrictions(t.state.sole_proprietorship, t.ctx.settings)
        audit = [*reasons, *(f"sole proprietorship: may not use {item}" for item in limits)]
        t.move(StatusTrack.IDENTITY, IdentityStatus.VERIFIED, audit)
        t.move(StatusTrack.ACCOUNT_TYPE, AccountType.ENTERPRISE)
        t.notify(NotificationTemplate.VERIFIED, restrictions=limits)
    elif event.decision is Decision.REJECT:
        t.move(StatusTrack.IDENTITY, IdentityStatus.REJECTED, reasons)
        t.notify(NotificationTemplate.REJECTED, reasons=reasons)
    else:
        t.move(StatusTrack.IDENTITY, IdentityStatus.RESUBMISSION_REQUIRED, reasons)
        t.notify(NotificationTemplate.RESUBMISSION_REQUIRED, reasons=reasons)


def outcomes(event: Envelope) -> list[str]:
    """Transitions (decisions by outcome), decision reasons, refusals and emails asked for."""
    if isinstance(event, NotificationRequested):
        return [f"email:{event.template.value}"]
    if not isinstance(event, StatusChanged):
        return []
    labels = [f"{event.track.value}:{'refused' if event.refused else event.to_status}"]
    codes = {code.value for code in ReasonCode}
    return labels + [f"reason:{reason}" for reason in event.reasons if reason in codes]
