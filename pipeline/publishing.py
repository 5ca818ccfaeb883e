"""Where producers put events: the local runtime in-process, or Kafka."""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Protocol

from kafka import KafkaProducer
from kafka.errors import KafkaTimeoutError

from pipeline.delivery import Send
from pipeline.kafka_security import client_security
from pipeline.settings import Settings
from schemas import Envelope, encode_event, topic_for
from schemas.catalog import key_for

log = logging.getLogger(__name__)


class Publisher(Protocol):
    def publish(self, event: Envelope) -> object: ...
    def flush(self) -> None: ...


class RecordingPublisher:
    """Keeps what is published, in order: for inspecting a handler outside any runtime."""

    def __init__(self) -> None:
        self.events: list[Envelope] = []

    def publish(self, event: Envelope) -> None:
        self.events.append(event)

    def flush(self) -> None:
        """Nothing is buffered."""


def kafka_producer(settings: Settings, **overrides: Any) -> KafkaProducer:
    """The producer every component uses: acks=all, idempotent retries, a linger of
    `producer_linger_ms`."""
    config: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "client_id": settings.client_id,
        "acks": "all",
        "linger_ms": settings.producer_linger_ms,
        "retries": 5,
        "max_in_flight_requests_per_connection": 1,
    } | client_security(settings)
    return KafkaProducer(**(config | overrides))


class KafkaPublisher:
    """Publishes events on their catalog topic, keyed so one account's events stay ordered."""

    def __init__(self, settings: Settings, producer: KafkaProducer | None = None) -> None:
        self._settings = settings
        self._producer = producer

    @property
    def producer(self) -> KafkaProducer:
        """Connected on first use, so refusing bad input never needs a broker."""
        if self._producer is None:
            self._producer = kafka_producer(self._settings)
        return self._producer

    def publish(self, event: Envelope) -> Send:
        """Sends without waiting; the returned future says when the broker has it."""
        return self.publish_raw(topic_for(event).name, encode_event(event), key_for(event))

    def publish_raw(self, topic: str, value: bytes, key: bytes | None = None) -> Send:
        future: Send = self.producer.send(topic, key=key, value=value)
        return future

    def flush(self, timeout_s: float | None = None) -> None:
        """Wait for every send to complete; `KafkaTimeoutError` if `timeout_s` passes first."""
        if self._producer is not None:
            self._producer.flush(timeout_s)

    def close(self, timeout_s: float | None = None) -> None:
        """Close within `timeout_s`; sends the broker has not confirmed by then are given up
        (their inputs were never committed, so they are re-read).

        kafka-python 3 flushes inside `close()` and raises `KafkaTimeoutError` when that flush
        times out, before it stops its network thread: a stopping worker then skipped leaving
        its group. What `close()` would have done next is done here."""
        if self._producer is None:
            return
        try:
            self._producer.close(timeout_s)
        except KafkaTimeoutError:
            log.warning("publisher closed with outputs unconfirmed; their inputs will be re-read")
            sender = getattr(self._producer, "_sender", None)
            if sender is not None:
                sender.force_close()  # fails what is pending, so the close below has nothing
            with contextlib.suppress(KafkaTimeoutError):
                self._producer.close(0)
