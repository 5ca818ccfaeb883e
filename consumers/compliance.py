"""Compliance branching stage — MINIMAL version (issue 2).

A "yes" to the mainland question, on submission or changed later, requests a compliance review.
Issue 6 adds cancelling on "no" and starting only after verification for later changes.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.errors import PermanentError
from pipeline.stage import Context
from schemas import Envelope
from schemas.events import (
    Application,
    ComplianceRequested,
    ComplianceSelectionChanged,
    SubmissionReceived,
)


def handle(event: Envelope, ctx: Context) -> Sequence[ComplianceRequested]:
    if isinstance(event, SubmissionReceived):
        ctx.state.set(_application_key(event.account_id), event.application.model_dump_json())
        if event.application.mainland_resources:
            return [
                ctx.derive(
                    ComplianceRequested, event, application=event.application, trigger="submission"
                )
            ]
        return []
    if isinstance(event, ComplianceSelectionChanged) and event.mainland_resources:
        raw = ctx.state.get(_application_key(event.account_id))
        if raw is None:
            raise PermanentError("mainland answer changed for an account with no submission")
        application = Application.model_validate_json(raw).model_copy(
            update={"mainland_resources": True}
        )
        return [
            ctx.derive(
                ComplianceRequested, event, application=application, trigger="selection_changed"
            )
        ]
    return []


def _application_key(account_id: str) -> str:
    return f"compliance:application:{account_id}"
