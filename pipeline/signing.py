"""Reviewer decisions carry an HMAC-SHA256 signature that assign and verdict check.

Owner ids are public on `kyb.review.tasks`, so without a signature anyone who can produce to
`kyb.review.decisions` could approve as the assigned reviewer. Only the reviewers' tools (the
console and `kyb review`, which sign a reviewer in with their token first) hold the key
(`KYB_DECISION_SIGNING_KEY`); the stages that apply decisions verify it before the ledger sees
the decision. Everything a decision decides is covered: who, which task, what, why.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from pydantic import SecretStr

from pipeline.errors import RefusedError
from schemas.events import ReviewDecision

__all__ = ["require_signed", "sign_decision"]


def _message(decision: ReviewDecision) -> bytes:
    fields = {
        "event_id": str(decision.event_id),
        "account_id": decision.account_id,
        "submission_id": decision.submission_id,
        "task_id": decision.task_id,
        "queue": decision.queue.value,
        "reviewer_id": decision.reviewer_id,
        "decision": decision.decision.value,
        "reason_codes": [code.value for code in decision.reason_codes],
        "note": decision.note,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def _digest(decision: ReviewDecision, key: SecretStr) -> str:
    secret = key.get_secret_value().encode()
    return hmac.new(secret, _message(decision), hashlib.sha256).hexdigest()


def sign_decision(decision: ReviewDecision, key: SecretStr) -> ReviewDecision:
    """The same decision with its signature."""
    return decision.model_copy(update={"signature": _digest(decision, key)})


def require_signed(decision: ReviewDecision, key: SecretStr | None) -> None:
    """Raises `RefusedError` unless the decision was signed with `key`."""
    if key is None or not key.get_secret_value():
        raise RefusedError(
            "decision refused (unsigned): no decision signing key is configured "
            "(set KYB_DECISION_SIGNING_KEY for the reviewers' tools and the stages)"
        )
    if not hmac.compare_digest(decision.signature, _digest(decision, key)):
        raise RefusedError("decision refused (bad_signature): not signed by a reviewers' tool")
