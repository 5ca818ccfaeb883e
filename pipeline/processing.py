"""Turning one raw record into output events: decode, validate, handle, or dead-letter.

Both runtimes use `StageProcessor`, so the local demo and the Kafka workers treat bad input
identically. Cross-cutting behaviour (retries, metrics) is middleware wrapped around the
handler, as in dramatiq, never code inside a stage.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from pydantic import TypeAdapter, ValidationError

from pipeline.errors import DependencyDown, PermanentError, RefusedError, is_dependency_down
from pipeline.redaction import redacted
from pipeline.retry import backoff_delays
from pipeline.stage import Context, Stage, TickResult, UnusableRecord
from schemas import TOPICS_BY_NAME, Envelope, UndecodableEvent, decode_event
from schemas.base import Identifier
from schemas.catalog import UnsupportedSchemaVersion, describe_validation_error
from schemas.enums import DeadLetterReason
from schemas.events import DeadLetter

log = logging.getLogger(__name__)

HandlerCall = Callable[[Envelope, Context], Sequence[Envelope]]


@dataclass(frozen=True)
class Source:
    """Where a record came from, for dead letters and logs."""

    topic: str
    partition: int | None = None
    offset: int | None = None
    key: bytes | None = None


class Middleware(Protocol):
    def wrap(self, stage: Stage, call: HandlerCall) -> HandlerCall: ...


@runtime_checkable
class BatchAware(Protocol):
    """A middleware that prepares for a batch of records read at once (e.g. one state-store
    round trip for the whole batch); runtimes without batches never call it."""

    def begin_batch(self, ctx: Context, keys: Sequence[bytes | None]) -> None: ...
    def end_batch(self) -> None: ...


class Observer(Protocol):
    """Sees the result of every record, dead letters included (e.g. metrics)."""

    def observe(self, result: ProcessResult) -> None: ...


class MetricsWindow(Observer, Protocol):
    """Per-worker metrics the runtime flushes to `kyb.metrics` when a window is due."""

    def due(self) -> bool: ...
    def flush(self) -> Envelope: ...


class HandlerFailed(Exception):
    """The handler kept failing; carries how many attempts were made."""

    def __init__(self, cause: BaseException, attempts: int) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.attempts = attempts


@dataclass
class Retries:
    """Retry a failing handler with exponential backoff; permanent errors are not retried."""

    max_attempts: int = 3
    backoff_s: float = 0.2
    sleep: Callable[[float], None] = time.sleep
    retried: int = field(default=0, init=False)
    # a worker may run handlers in two threads (`Stage.records_at_once`): no retry uncounted
    _counting: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def wrap(self, stage: Stage, call: HandlerCall) -> HandlerCall:
        def with_retries(event: Envelope, ctx: Context) -> Sequence[Envelope]:
            delays = backoff_delays(self.backoff_s, self.max_attempts)
            for attempt in range(1, self.max_attempts + 1):
                try:
                    return call(event, ctx)
                except PermanentError:
                    raise
                except Exception as exc:
                    if attempt == self.max_attempts:
                        raise HandlerFailed(exc, attempt) from exc
                    with self._counting:
                        self.retried += 1
                    log.warning(
                        "stage=%s event_id=%s attempt=%d failed (%s); retrying",
                        stage.name,
                        event.event_id,
                        attempt,
                        type(exc).__name__,
                    )
                    self.sleep(next(delays))
            raise AssertionError("unreachable")

        return with_retries


@dataclass
class ProcessResult:
    outputs: list[Envelope]
    skipped: bool = False

    @property
    def dead_letters(self) -> list[DeadLetter]:
        return [event for event in self.outputs if isinstance(event, DeadLetter)]


class StageProcessor:
    """Runs one stage's handler on raw records; never raises for a bad record."""

    def __init__(
        self,
        stage: Stage,
        ctx: Context,
        middlewares: Sequence[Middleware] = (),
        metrics: MetricsWindow | None = None,
    ) -> None:
        self.stage = stage
        self.ctx = ctx
        self.metrics = metrics
        self.observers: tuple[Observer, ...] = () if metrics is None else (metrics,)
        call: HandlerCall = stage.handler
        for middleware in reversed(middlewares):
            call = middleware.wrap(stage, call)
        self._call = call
        self._batch_aware = [m for m in middlewares if isinstance(m, BatchAware)]
        if stage.on_startup is not None:
            stage.on_startup(ctx)

    def close(self) -> None:
        """The stage's `on_shutdown`: release what its `on_startup` (or first use) made."""
        if self.stage.on_shutdown is not None:
            self.stage.on_shutdown(self.ctx)

    def tick(self) -> TickResult:
        """The stage's periodic work; a failure is logged and retried at the next tick."""
        if self.stage.tick is None:
            return TickResult()
        try:
            result = self.stage.tick(self.ctx)
        except Exception:
            log.exception(
                "stage=%s periodic work failed; retrying at the next tick", self.stage.name
            )
            return TickResult()
        unexpected = [
            out.event_type for out in result.outputs if not isinstance(out, self.stage.emits)
        ]
        if unexpected:
            log.error("stage=%s periodic work emitted undeclared %s", self.stage.name, unexpected)
            return TickResult()
        return result

    @contextmanager
    def batch(self, keys: Sequence[bytes | None]) -> Iterator[None]:
        """Process the records with these keys inside the block (see `BatchAware`)."""
        for middleware in self._batch_aware:
            middleware.begin_batch(self.ctx, keys)
        try:
            yield
        finally:
            for middleware in self._batch_aware:
                middleware.end_batch()

    def process(self, raw: bytes, source: Source) -> ProcessResult:
        result = self._process(raw, source)
        for observer in self.observers:
            observer.observe(result)
        return result

    def _process(self, raw: bytes, source: Source) -> ProcessResult:
        try:
            event = decode_event(raw)
        except UnsupportedSchemaVersion as exc:
            return self._unusable(raw, source, DeadLetterReason.UNSUPPORTED_VERSION, str(exc))
        except UndecodableEvent as exc:
            return self._unusable(raw, source, DeadLetterReason.UNPARSEABLE, str(exc))
        except ValidationError as exc:
            return self._unusable(
                raw, source, DeadLetterReason.INVALID_EVENT, describe_validation_error(exc)
            )
        topic = TOPICS_BY_NAME.get(source.topic)
        if topic is not None and not topic.carries(event.event_type):
            return self._unusable(
                raw,
                source,
                DeadLetterReason.WRONG_TOPIC,
                f"{event.event_type} does not belong on {source.topic}",
                event,
            )
        if (
            topic is not None
            and topic.key == "account_id"
            and source.key is not None
            and source.key != event.account_id.encode()
        ):
            return self._unusable(
                raw,
                source,
                DeadLetterReason.WRONG_KEY,
                "record key is not the event's account_id: its events could be read out of order",
                event,
            )
        if not self.stage.wants(event):
            return ProcessResult([], skipped=True)
        try:
            outputs = list(self._call(event, self.ctx))
        except PermanentError as exc:
            reason = (
                DeadLetterReason.REFUSED
                if isinstance(exc, RefusedError)
                else DeadLetterReason.PROCESSING_FAILED
            )
            letter = self._dead(raw, source, reason, str(exc), event)
            return ProcessResult([*self._declared(exc.outputs), *letter.outputs])
        except HandlerFailed as exc:
            if is_dependency_down(exc.cause):
                raise DependencyDown(f"{type(exc.cause).__name__}: {exc.cause}") from exc
            return self._dead(
                raw,
                source,
                DeadLetterReason.PROCESSING_FAILED,
                f"{type(exc.cause).__name__}: {exc.cause}",
                event,
                exc.attempts,
            )
        except Exception as exc:  # a handler bug must not kill the worker
            if is_dependency_down(exc):
                raise DependencyDown(f"{type(exc).__name__}: {exc}") from exc
            log.exception("stage=%s event_id=%s handler crashed", self.stage.name, event.event_id)
            return self._dead(
                raw,
                source,
                DeadLetterReason.PROCESSING_FAILED,
                f"{type(exc).__name__}: {exc}",
                event,
            )
        unexpected = [out.event_type for out in outputs if not isinstance(out, self.stage.emits)]
        if unexpected:
            return self._dead(
                raw,
                source,
                DeadLetterReason.PROCESSING_FAILED,
                f"stage emitted undeclared event types {unexpected}",
                event,
            )
        return ProcessResult(outputs)

    def _unusable(
        self,
        raw: bytes,
        source: Source,
        reason: DeadLetterReason,
        error: str,
        event: Envelope | None = None,
    ) -> ProcessResult:
        """A record no stage can use: dead-lettered by the topic's guard, answered by a stage
        that answers such records (when their ids can be read), skipped by the rest."""
        outputs: list[Envelope] = []
        if self.stage.answer_unusable is not None:
            record = _readable_ids(raw, event, reason, _dead_letter_id("answer", source, raw))
            if record is not None:
                outputs += self._declared(self.stage.answer_unusable(record, self.ctx))
        if self.stage.guards_topic(source.topic):
            outputs += self._dead(raw, source, reason, error, event).outputs
        return ProcessResult(outputs, skipped=not outputs)

    def _declared(self, outputs: Sequence[Envelope]) -> list[Envelope]:
        """Outputs that came with a failure, minus any type the stage does not declare."""
        kept = [out for out in outputs if isinstance(out, self.stage.emits)]
        if len(kept) != len(outputs):
            log.error("stage=%s dropped undeclared outputs of a failure", self.stage.name)
        return kept

    def _dead(
        self,
        raw: bytes,
        source: Source,
        reason: DeadLetterReason,
        error: str,
        event: Envelope | None = None,
        attempts: int = 1,
    ) -> ProcessResult:
        log.warning(
            "stage=%s dead-letter reason=%s topic=%s partition=%s offset=%s event_id=%s",
            self.stage.name,
            reason.value,
            source.topic,
            source.partition,
            source.offset,
            event.event_id if event else "-",
        )
        letter = DeadLetter(
            event_id=_dead_letter_id(self.stage.name, source, raw),
            occurred_at=self.ctx.clock(),
            account_id=event.account_id if event else _key_or_unknown(source.key),
            submission_id=event.submission_id if event else "unknown",
            producer=self.stage.name,
            stage=self.stage.name,
            reason=reason,
            error=error[:4000],
            source_topic=source.topic,
            source_partition=source.partition,
            source_offset=source.offset,
            payload=redacted(raw),
            payload_truncated=False,
            attempts=attempts,
        )
        return ProcessResult([letter])


_ID = TypeAdapter(Identifier)


def _readable_ids(
    raw: bytes, event: Envelope | None, reason: DeadLetterReason, answer_id: uuid.UUID
) -> UnusableRecord | None:
    """The ids an unusable record carries, when they are well-formed identifiers."""
    if event is not None:
        fields: Any = event.model_dump(include={"event_type", "account_id", "submission_id"})
    else:
        try:
            fields = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None
        if not isinstance(fields, dict):
            return None
    try:
        account = _ID.validate_python(fields.get("account_id"))
        submission = _ID.validate_python(fields.get("submission_id"))
    except ValidationError:
        return None
    kind = fields.get("event_type")
    return UnusableRecord(
        reason=reason.value,
        event_type=kind if isinstance(kind, str) else None,
        account_id=account,
        submission_id=submission,
        answer_id=answer_id,
    )


def _dead_letter_id(stage: str, source: Source, raw: bytes) -> uuid.UUID:
    """Deterministic, so a record dead-lettered twice (redelivery) is recognisably one letter."""
    where = f"{stage}/{source.topic}/{source.partition}/{source.offset}"
    if source.offset is None:
        where += "/" + uuid.uuid5(uuid.NAMESPACE_OID, raw.hex()[:4096]).hex
    return uuid.uuid5(uuid.NAMESPACE_URL, where)


def _key_or_unknown(key: bytes | None) -> str:
    try:
        text = (key or b"").decode("ascii")
    except UnicodeDecodeError:
        return "unknown"
    ok = 0 < len(text) <= 128 and all(ch.isalnum() or ch in "_.:-" for ch in text)
    return text if ok else "unknown"
