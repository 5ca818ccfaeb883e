"""The erasure gate: which events of an erased account still reach a handler."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

from pipeline.app.topology import stage_named
from pipeline.documents import DocumentStore
from pipeline.erasure import MARKER_TTL_S, ErasureGate, admits, erased_at, mark_erased
from pipeline.processing import HandlerCall
from pipeline.settings import Settings
from pipeline.stage import Context
from pipeline.state import memory_state_store
from schemas import TOPICS, Envelope
from schemas.enums import Side
from schemas.events import (
    AccountErasureRequested,
    ComplianceSelectionChanged,
    SubmissionReceived,
)
from tests.helpers import application, document_ref, followed_by, submission

ERASED = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def erasure(at: datetime = ERASED) -> AccountErasureRequested:
    return AccountErasureRequested(
        event_id=uuid4(),
        occurred_at=at,
        account_id="acct-1",
        submission_id="-",
        producer="operator",
        requested_by="ops",
    )


def recording_gate() -> tuple[ErasureGate, HandlerCall, list[Envelope]]:
    """A gate around a handler that records what reaches it."""
    seen: list[Envelope] = []

    def handler(event: Envelope, ctx: Context) -> list[Envelope]:
        seen.append(event)
        return []

    gate = ErasureGate()
    return gate, gate.wrap(stage_named("quality"), handler), seen


def test_before_the_erasure_nothing_passes_after_it_a_new_submission_and_its_events_do() -> None:
    state = memory_state_store()
    old = submission(occurred_at=ERASED - timedelta(days=1))
    assert admits(state, old)  # never erased
    mark_erased(state, "acct-1", ERASED)
    assert not admits(state, old)
    assert not admits(state, followed_by(old, ComplianceSelectionChanged, mainland_resources=True))
    assert admits(state, submission("acct-2", occurred_at=old.occurred_at))  # other accounts
    new = submission(occurred_at=ERASED + timedelta(seconds=1))
    assert admits(state, new)
    later = followed_by(new, ComplianceSelectionChanged, mainland_resources=True)
    derived = later.model_copy(update={"occurred_at": ERASED - timedelta(days=9)})
    assert admits(state, derived)  # its submission is allowed, whatever the event's own time
    answer = followed_by(old, ComplianceSelectionChanged, mainland_resources=False)
    assert admits(state, answer.model_copy(update={"occurred_at": ERASED + timedelta(hours=1)}))


def test_a_repeated_request_keeps_the_latest_erasure_time() -> None:
    state = memory_state_store()
    mark_erased(state, "acct-1", ERASED)
    mark_erased(state, "acct-1", ERASED - timedelta(days=1))  # an old request replayed
    assert erased_at(state, "acct-1") == ERASED.timestamp()
    mark_erased(state, "acct-1", ERASED + timedelta(days=1))
    assert erased_at(state, "acct-1") == (ERASED + timedelta(days=1)).timestamp()
    ttl = state.client.ttl(state.key("erased:acct-1"))
    assert ttl > max(topic.retention_days for topic in TOPICS) * 86_400
    assert ttl <= MARKER_TTL_S


def test_the_gate_marks_on_the_request_and_deletes_the_files_of_a_dropped_submission(
    tmp_path: Path,
) -> None:
    store = DocumentStore([tmp_path], 1000)
    refs = []
    for side in Side:
        path = tmp_path / f"{side.value}.jpg"
        path.write_bytes(side.value.encode())
        refs.append(document_ref(path, side))
    ctx = Context("quality", Settings(), memory_state_store(), store)
    gate, call, seen = recording_gate()
    request = erasure()
    call(request, ctx)
    assert erased_at(ctx.state, "acct-1") == ERASED.timestamp()
    assert seen == [request]
    old = submission(occurred_at=ERASED - timedelta(hours=1), application=application(tuple(refs)))
    assert call(old, ctx) == []
    assert seen == [request]
    assert gate.dropped == 1
    assert not list(tmp_path.glob("*.jpg"))
    new = submission(occurred_at=ERASED + timedelta(hours=1))
    call(new, ctx)
    assert isinstance(seen[-1], SubmissionReceived)
    assert seen[-1] is new


def test_a_batch_reads_its_markers_in_one_round_trip_and_sees_its_own_erasures() -> None:
    ctx = Context("quality", Settings(), memory_state_store(), DocumentStore([Path("/")], 1))
    mark_erased(ctx.state, "acct-2", ERASED)
    gate, call, seen = recording_gate()
    before = ERASED - timedelta(hours=1)
    batch = [
        submission(account_id="acct-1", submission_id="s-1", occurred_at=before),
        submission(account_id="acct-2", submission_id="s-2", occurred_at=before),  # erased
        erasure(),
        submission(account_id="acct-1", submission_id="s-3", occurred_at=before),  # now erased
    ]
    reads: list[str] = []
    real_get = ctx.state.get

    def counting_get(key: str) -> str | None:
        reads.append(key)
        return real_get(key)

    ctx.state.get = counting_get  # type: ignore[method-assign]
    gate.begin_batch(ctx, [e.account_id.encode() for e in batch])
    for event in batch:
        call(event, ctx)
    gate.end_batch()
    assert [e.submission_id for e in seen] == ["s-1", "-"]  # s-1 came before the erasure
    assert gate.dropped == 2  # acct-2's old submission, and acct-1's after its erasure
    # one read only: acct-1's marker again, after the gate wrote it; the rest was prefetched
    assert reads == ["erased:acct-1"]
