"""Compliance branching stage: a separate review when the customer will buy mainland resources.

"Yes" on the submission requests a compliance review at once. The customer may change the
answer on the portal at any time: "yes" later (even after the identity is verified) requests the
review then; "no" while it is pending cancels it (the assign stage cancels the task, the verdict
stage moves compliance back to not_required). A review already decided is not asked for again
within the same submission; the stage learns of decisions from the audit trail (`kyb.status`),
so only decisions the verdict stage accepted count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel

from pipeline.documents import DocumentError
from pipeline.errors import PermanentError
from pipeline.stage import Context
from pipeline.state import get_json, update_json
from schemas import Envelope
from schemas.enums import FINAL_COMPLIANCE_STATUSES, StatusTrack
from schemas.events import (
    AccountErasureRequested,
    Application,
    ComplianceRequested,
    ComplianceSelectionChanged,
    StatusChanged,
    SubmissionReceived,
)


class _Account(BaseModel):
    submission_id: str
    submitted_at: float
    application: Application
    request_open: bool = False
    decided: bool = False
    request_cause: str | None = None  # the event that asked for the open request


def handle(event: Envelope, ctx: Context) -> Sequence[ComplianceRequested]:
    if isinstance(event, AccountErasureRequested):
        _erase(event.account_id, ctx)
        return []
    if isinstance(event, SubmissionReceived) and event.application.mainland_resources:
        _claim_check(event.application, ctx)

    def mutate(doc: dict[str, Any] | None) -> tuple[dict[str, Any] | None, Application | None]:
        account = None if doc is None else _Account.model_validate(doc)
        account, request = _apply(account, event)
        return (None if account is None else account.model_dump(mode="json")), request

    ttl_s = ctx.settings.account_state_days * 86_400
    application = update_json(ctx.state, account_key(event.account_id), mutate, ttl_s)
    if application is None:
        return []
    trigger: Literal["submission", "selection_changed"] = (
        "submission" if isinstance(event, SubmissionReceived) else "selection_changed"
    )
    return [ctx.derive(ComplianceRequested, event, application=application, trigger=trigger)]


def _erase(account_id: str, ctx: Context) -> None:
    """Forget the account: its state, and the document files of the application it holds."""
    doc = get_json(ctx.state, account_key(account_id))
    if doc is not None:
        for ref in _Account.model_validate(doc).application.documents:
            ctx.documents.erase(ref)
    ctx.state.delete(account_key(account_id))


def _claim_check(application: Application, ctx: Context) -> None:
    """No compliance review of documents the store will not vouch for (outside the roots,
    changed since upload): a reviewer would be shown, or asked about, something else."""
    for ref in application.documents:
        try:
            ctx.documents.verify(ref)
        except DocumentError as exc:
            raise PermanentError(
                f"{ref.side.value} document failed the claim check: {exc.code}"
            ) from None


def _apply(account: _Account | None, event: Envelope) -> tuple[_Account | None, Application | None]:
    """The account's new state, and the application to review if `event` asks for a review."""
    cause = str(event.event_id)
    if account is not None and account.request_cause == cause:
        return account, account.application  # a replay re-emits the same request
    if isinstance(event, SubmissionReceived):
        if account is not None and (
            event.submission_id == account.submission_id
            or event.occurred_at.timestamp() < account.submitted_at
        ):
            return account, None  # seen already, or an older submission arriving late
        wants = event.application.mainland_resources
        fresh = _Account(
            submission_id=event.submission_id,
            submitted_at=event.occurred_at.timestamp(),
            application=event.application,
            request_open=wants,
            request_cause=cause if wants else None,
        )
        return fresh, event.application if wants else None
    if account is None:
        if isinstance(event, ComplianceSelectionChanged):
            raise PermanentError("mainland answer changed for an account with no submission")
        return None, None
    if isinstance(event, ComplianceSelectionChanged):
        app = account.application.model_copy(
            update={"mainland_resources": event.mainland_resources}
        )
        account = account.model_copy(update={"application": app})
        if not event.mainland_resources:
            return account.model_copy(update={"request_open": False, "request_cause": None}), None
        if account.request_open or account.decided:
            return account, None
        return account.model_copy(update={"request_open": True, "request_cause": cause}), app
    if (
        isinstance(event, StatusChanged)
        and event.track is StatusTrack.COMPLIANCE
        and not event.refused
        and event.to_status in FINAL_COMPLIANCE_STATUSES
        and event.submission_id == account.submission_id
    ):
        return account.model_copy(
            update={"decided": True, "request_open": False, "request_cause": None}
        ), None
    return account, None


def account_key(account_id: str) -> str:
    return f"compliance:account:{account_id}"


def outcomes(event: Envelope) -> list[str]:
    return [f"requested:{event.trigger}"] if isinstance(event, ComplianceRequested) else []
