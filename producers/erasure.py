"""Erasing an account on request: what `kyb erase` (or a portal) publishes, and how to tell
that the stages are done.

The marker is written before the event is published, so OCR and notify (which never read the
request) stop at once; the stages holding state delete it when the request reaches them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from consumers import compliance, verdict
from consumers.assign.ledger import Ledger
from pipeline.erasure import mark_erased
from pipeline.publishing import Publisher
from pipeline.stage import utc_now
from pipeline.state import StateStore
from schemas.events import AccountErasureRequested

NO_SUBMISSION = "-"


def request_erasure(
    publisher: Publisher,
    state: StateStore,
    account_id: str,
    requested_by: str,
    clock: Callable[[], datetime] = utc_now,
) -> AccountErasureRequested:
    """Mark the account erased and publish the request; raises `ValidationError` for an id
    that is no account id."""
    event = AccountErasureRequested(
        event_id=uuid.uuid4(),
        occurred_at=clock(),
        account_id=account_id,
        submission_id=NO_SUBMISSION,
        producer="operator",
        requested_by=requested_by,
    )
    mark_erased(state, account_id, event.occurred_at)
    publisher.publish(event)
    publisher.flush()
    return event


def remaining(state: StateStore, ledger: Ledger, account_id: str) -> list[str]:
    """What the stages still hold of the account; empty once every one has erased it."""
    left = []
    if state.get(verdict.account_key(account_id)) is not None:
        left.append("status state (verdict)")
    if state.get(compliance.account_key(account_id)) is not None:
        left.append("compliance state")
    if ledger.account_tasks(account_id):
        left.append("review tasks (assign)")
    return left
