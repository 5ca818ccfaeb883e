"""Erasure: once an account is erased, nothing made before that moment reaches a handler again.

`AccountErasureRequested` leaves a marker in the state store (the erasure time, and the
submissions made after it). `ErasureGate`, middleware around every stage's handler, drops any
event of a marked account unless it belongs to a submission made after the erasure; a dropped
submission's document files are deleted on the way. So records still on the topics (retention
is days to a year) and replays never bring erased data back, whichever stage reads them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from pipeline.processing import HandlerCall
from pipeline.stage import Context, Stage
from pipeline.state import StateStore, get_json, get_json_many, update_json
from schemas import TOPICS, Envelope
from schemas.events import AccountErasureRequested, ComplianceSelectionChanged, SubmissionReceived

log = logging.getLogger(__name__)

#: The marker outlives every record it must stop: the longest topic retention, plus a day.
MARKER_TTL_S: Final = int((max(topic.retention_days for topic in TOPICS) + 1) * 86_400)
ALLOWED_LIMIT: Final = 100  # submissions after the erasure remembered per account


def marker_key(account_id: str) -> str:
    return f"erased:{account_id}"


def mark_erased(state: StateStore, account_id: str, at: datetime) -> None:
    """Record the erasure (idempotent; a later request moves the erasure time forward)."""

    def mutate(doc: dict[str, Any] | None) -> tuple[dict[str, Any], None]:
        if doc is not None and doc["at"] >= at.timestamp():
            return doc, None
        return {"at": at.timestamp(), "allowed": []}, None

    update_json(state, marker_key(account_id), mutate, ttl_s=MARKER_TTL_S)


def erased_at(state: StateStore, account_id: str) -> float | None:
    """When the account was last erased (POSIX seconds), or None."""
    marker = get_json(state, marker_key(account_id))
    return None if marker is None else float(marker["at"])


def admits(state: StateStore, event: Envelope, prefetched: Mapping[str, Any] | None = None) -> bool:
    """May `event` reach a handler? Only if its account was never erased, or it belongs to a
    submission (or a portal answer) made after the erasure. `prefetched`: markers already
    read for a batch, by account (None where there is none)."""
    if prefetched is not None and event.account_id in prefetched:
        marker = prefetched[event.account_id]
    else:
        marker = get_json(state, marker_key(event.account_id))
    if marker is None or event.submission_id in marker["allowed"]:
        return True
    fresh = isinstance(event, SubmissionReceived | ComplianceSelectionChanged)
    if not (fresh and event.occurred_at.timestamp() > marker["at"]):
        return False
    if isinstance(event, SubmissionReceived):
        _allow(state, event.account_id, event.submission_id)
    return True


def _allow(state: StateStore, account_id: str, submission_id: str) -> None:
    def mutate(doc: dict[str, Any] | None) -> tuple[dict[str, Any] | None, None]:
        if doc is None or submission_id in doc["allowed"]:
            return doc, None
        allowed = [*doc["allowed"], submission_id][-ALLOWED_LIMIT:]
        return {"at": doc["at"], "allowed": allowed}, None

    update_json(state, marker_key(account_id), mutate, ttl_s=MARKER_TTL_S)


@dataclass
class ErasureGate:
    """Middleware: marks erasures, and keeps events of erased data away from the handler.

    A runtime that reads records in batches calls `begin_batch` with the records' keys (the
    account ids): the batch's markers are then read with one `MGET` instead of one round trip
    per event, which was most of a light stage's time. A marker this gate writes during the
    batch is read again; one another worker writes while the batch runs counts from the next
    batch, the same window as an event already inside a handler when the erasure lands."""

    dropped: int = field(default=0, init=False)
    # a worker may run handlers in two threads (`Stage.records_at_once`)
    _counting: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _prefetched: dict[str, Any] = field(default_factory=dict, init=False)

    def begin_batch(self, ctx: Context, keys: Sequence[bytes | None]) -> None:
        accounts = sorted({key.decode("utf-8", "replace") for key in keys if key})
        self._prefetched = {}
        if len(accounts) < 2:
            return  # nothing to save
        try:
            markers = get_json_many(ctx.state, [marker_key(account) for account in accounts])
        except Exception as exc:  # read per event instead, where outages are handled
            log.debug("erasure markers not prefetched (%s)", type(exc).__name__)
            return
        self._prefetched = dict(zip(accounts, markers, strict=True))

    def end_batch(self) -> None:
        self._prefetched = {}

    def wrap(self, stage: Stage, call: HandlerCall) -> HandlerCall:
        def gated(event: Envelope, ctx: Context) -> Sequence[Envelope]:
            if isinstance(event, AccountErasureRequested):
                self._prefetched.pop(event.account_id, None)
                mark_erased(ctx.state, event.account_id, event.occurred_at)
                return call(event, ctx)
            admitted = admits(ctx.state, event, self._prefetched)
            if isinstance(event, SubmissionReceived):
                self._prefetched.pop(event.account_id, None)  # admits may have written
            if admitted:
                return call(event, ctx)
            with self._counting:
                self.dropped += 1
            files = 0
            if isinstance(event, SubmissionReceived):
                files = sum(ctx.documents.erase(ref) for ref in event.application.documents)
            log.info(
                "stage=%s event_id=%s dropped: its account was erased (%d file(s) deleted)",
                stage.name,
                event.event_id,
                files,
            )
            return []

        return gated
