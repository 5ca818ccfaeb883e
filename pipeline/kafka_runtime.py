"""One stage as a Kafka consumer group member: poll → validate → handle → produce → commit.

Offsets are committed only after every output of the processed records (and of every record
before them) is acknowledged by the broker, so a crash anywhere re-delivers (at-least-once) and
idempotent handlers absorb the replay. The acknowledgements are awaited while the next batch is
handled, not before it (`pipeline.delivery`); on shutdown and when partitions are taken away,
the worker flushes and commits synchronously, so a clean hand-over re-delivers nothing.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterable
from contextlib import closing
from types import FrameType
from typing import Any

from kafka import AsyncConsumerRebalanceListener, KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import (
    CommitFailedError,
    KafkaError,
    KafkaTimeoutError,
    TopicAlreadyExistsError,
)
from kafka.structs import OffsetAndMetadata

from pipeline.delivery import Deliveries, Send
from pipeline.errors import DependencyDown
from pipeline.kafka_security import client_security
from pipeline.overlap import InOrder
from pipeline.processing import ProcessResult, Source, StageProcessor
from pipeline.publishing import KafkaPublisher, kafka_producer
from pipeline.settings import Settings
from pipeline.stage import Stage
from pipeline.threads import release_native_memory
from schemas import TOPICS, TopicSpec

log = logging.getLogger(__name__)

# Batches handled whose outputs are not all acknowledged yet; past this the worker waits for the
# broker (the producer's buffer would otherwise be the only bound).
_MAX_UNSETTLED_BATCHES = 16


def consumer_config(settings: Settings, group_id: str | None, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "client_id": settings.client_id,
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "session_timeout_ms": settings.session_timeout_ms,
        "heartbeat_interval_ms": settings.heartbeat_interval_ms,
        "max_poll_records": settings.max_poll_records,
        "max_poll_interval_ms": settings.max_poll_interval_ms,
    } | client_security(settings)
    return config | overrides


def records_per_poll(stage: Stage, settings: Settings) -> int:
    """A CPU-bound stage reads small batches, so a rebalance never waits on a long one; one
    that handles several records at once reads that many times more (the batch takes about
    as long, and its handlers are not left idle while the last record of a short batch ends
    and the next batch is read); a stage may set its own (`Stage.records_per_poll`)."""
    if not stage.cpu_bound:
        return settings.max_poll_records
    if stage.records_per_poll is not None:
        return stage.records_per_poll
    return settings.max_poll_records_cpu_bound * stage.records_at_once


def admin_client(settings: Settings, purpose: str = "") -> KafkaAdminClient:
    """An admin client with the same credentials as every producer and consumer."""
    client_id = f"{settings.client_id}-{purpose}" if purpose else settings.client_id
    return KafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers,
        client_id=client_id,
        **client_security(settings),
    )


class KafkaWorker:
    """Feeds one stage from Kafka. `stop()` (or SIGTERM) finishes the in-flight batch first."""

    def __init__(self, processor: StageProcessor, settings: Settings) -> None:
        self.processor = processor
        self.settings = settings
        self.stage = processor.stage
        self._stopping = threading.Event()
        self.processed = 0
        self.dead_lettered = 0
        self._outages = 0
        self._handling = InOrder(self._handle, processor.stage.records_at_once)

    def stop(self) -> None:
        self._stopping.set()

    def install_signal_handlers(self) -> None:
        def on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("stage=%s signal=%d: finishing the in-flight batch", self.stage.name, signum)
            self.stop()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    def run(self, max_seconds: float | None = None) -> None:
        overrides = {"max_poll_records": records_per_poll(self.stage, self.settings)}
        consumer = KafkaConsumer(**consumer_config(self.settings, self.stage.group_id, **overrides))
        # A send blocks while it looks up its topic's partitions; bounded like the hand-over,
        # so the last metrics window cannot hold a worker whose broker is gone (default 60 s).
        bound_ms = int(self.settings.shutdown_timeout_s * 1000)
        publisher = KafkaPublisher(
            self.settings, kafka_producer(self.settings, max_block_ms=bound_ms)
        )
        deliveries = Deliveries()
        consumer.subscribe(
            [topic.name for topic in self.stage.reads],
            listener=_HandOver(self, consumer, publisher, deliveries),
        )
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        next_tick = time.monotonic() + self.settings.tick_interval_s
        log.info("stage=%s group=%s started", self.stage.name, self.stage.group_id)
        try:
            while not self._stopping.is_set():
                if deadline is not None and time.monotonic() > deadline:
                    break
                batch = consumer.poll(timeout_ms=self.settings.poll_timeout_ms)
                if batch:
                    self._process_batch(consumer, publisher, deliveries, batch)
                if len(deliveries) > _MAX_UNSETTLED_BATCHES:
                    publisher.flush()  # the broker lags: wait for it rather than pile up
                self._commit_delivered(consumer, deliveries)
                if self.stage.tick is not None and time.monotonic() >= next_tick:
                    self._tick(publisher)
                    next_tick = time.monotonic() + self.settings.tick_interval_s
                self._report(publisher)
        finally:
            # Each step is bounded, so a broker that stops answering cannot hold the worker
            # past its grace period; whatever is not committed by then is simply re-read.
            deadline = time.monotonic() + self.settings.shutdown_timeout_s
            try:
                self._report(publisher, final=True)
            except KafkaError as exc:
                log.warning("stage=%s last metrics window not sent (%s)", self.stage.name, exc)
            self._hand_over(consumer, publisher, deliveries, deadline)
            publisher.close(_left(deadline))
            # Leaving the group lets the partitions move on at once: always worth a second.
            consumer.close(timeout_ms=int(max(_left(deadline), 1.0) * 1000))
            self._handling.close()
            self.processor.close()
            log.info(
                "stage=%s stopped processed=%d dead_lettered=%d",
                self.stage.name,
                self.processed,
                self.dead_lettered,
            )

    def _commit_delivered(self, consumer: KafkaConsumer, deliveries: Deliveries) -> None:
        """Commit (asynchronously) what the broker has acknowledged; re-read what it refused."""
        settled = deliveries.settle()
        if settled.commit:
            consumer.commit_async(settled.commit, callback=self._on_commit)
        if settled.rewind:
            log.warning(
                "stage=%s an output was not delivered (%s); re-reading from the record that "
                "caused it",
                self.stage.name,
                type(settled.error).__name__,
            )
            assigned = consumer.assignment()
            for partition, offset in settled.rewind.items():
                if partition in assigned:
                    consumer.seek(partition, offset)

    def _on_commit(self, _offsets: object, response: object) -> None:
        if isinstance(response, Exception):
            # The group rebalanced under us: the new owner re-processes; handlers are idempotent.
            log.warning(
                "stage=%s commit failed (%s); records will be redelivered",
                self.stage.name,
                type(response).__name__,
            )

    def _hand_over(
        self,
        consumer: KafkaConsumer,
        publisher: KafkaPublisher,
        deliveries: Deliveries,
        deadline: float,
    ) -> None:
        """On the way out: the next owner of the partitions starts exactly after the last
        record this worker handled (or, past `deadline`, after the last one acknowledged)."""
        offsets = _delivered(publisher, deliveries, _left(deadline))
        if not offsets:
            return
        try:
            consumer.commit(offsets, timeout_ms=int(_left(deadline) * 1000))
        except (CommitFailedError, KafkaError) as exc:
            self._on_commit(offsets, exc)

    def _report(self, publisher: KafkaPublisher, final: bool = False) -> None:
        """Publish this worker's metrics window when it is due (and the last one on exit)."""
        metrics = self.processor.metrics
        if metrics is not None and (final or metrics.due()):
            publisher.publish(metrics.flush())
        self._heartbeat()

    def _heartbeat(self) -> None:
        """Touch the health file: liveness probes check that it is fresh."""
        if self.settings.health_file is not None:
            self.settings.health_file.touch()

    @staticmethod
    def _rewind(
        consumer: KafkaConsumer,
        batch: dict[TopicPartition, Any],
        done: dict[TopicPartition, OffsetAndMetadata],
    ) -> None:
        """Seek every partition of the batch back to its first unprocessed record."""
        for partition, records in batch.items():
            if records:
                consumer.seek(
                    partition, done[partition].offset if partition in done else records[0].offset
                )

    def _tick(self, publisher: KafkaPublisher) -> None:
        result = self.processor.tick()
        if not result.outputs:
            result.acknowledge()
            return
        for event in result.outputs:
            publisher.publish(event)
        try:
            publisher.flush()
        except KafkaError as exc:
            log.warning("stage=%s periodic outputs not confirmed (%s)", self.stage.name, exc)
            return  # not acknowledged: the next tick sends them again
        result.acknowledge()

    def _handle(self, item: tuple[TopicPartition, Any]) -> ProcessResult:
        _, record = item
        source = Source(record.topic, record.partition, record.offset, record.key)
        return self.processor.process(record.value, source)

    def _process_batch(
        self,
        consumer: KafkaConsumer,
        publisher: KafkaPublisher,
        deliveries: Deliveries,
        batch: dict[TopicPartition, Any],
    ) -> None:
        first: dict[TopicPartition, int] = {}
        done: dict[TopicPartition, OffsetAndMetadata] = {}
        sends: list[Send] = []
        outage: DependencyDown | None = None
        handled_count = 0
        records = [
            (partition, record) for partition, records in batch.items() for record in records
        ]
        budget = _BatchBudget(self.settings, self._stopping)
        handled = self._handling.results(records, _account_key, budget.spent)
        with self.processor.batch([record.key for _, record in records]), closing(handled):
            for (partition, record), outcome in handled:
                try:
                    result = outcome.result()
                except DependencyDown as exc:
                    outage = exc
                    break  # finish what is in flight, leave the rest for the next owner
                sends.extend(publisher.publish(event) for event in result.outputs)
                self.processed += 1
                handled_count += 1
                self.dead_lettered += len(result.dead_letters)
                first.setdefault(partition, record.offset)
                done[partition] = OffsetAndMetadata(record.offset + 1, "", -1)
        left = len(records) - handled_count
        if budget.ran_out and left and not self._stopping.is_set():
            log.warning(
                "stage=%s a batch passed %.0f s; %d record(s) left for the next poll",
                self.stage.name,
                budget.seconds,
                left,
            )
        if outage is not None or (left and not self._stopping.is_set()):
            self._rewind(consumer, batch, done)
        deliveries.add(sends, first, done)
        if self.stage.cpu_bound:
            release_native_memory()
        if outage is not None:
            self._outages += 1
            wait = min(10.0, 0.5 * 2 ** min(self._outages, 5))
            log.warning(
                "stage=%s state store unreachable (%s); retrying in %.1f s",
                self.stage.name,
                outage,
                wait,
            )
            self._stopping.wait(wait)
        else:
            self._outages = 0


class _BatchBudget:
    """How long one batch may keep starting records: half the poll interval the group allows.

    A batch is handled before the next poll, and a member that does not poll within
    `max_poll_interval_ms` is put out of its group; its records then go to another member, which
    meets the same files. A side of a file built to stall the decoder is cut off after
    `decode_timeout_s` (20 s), so a batch of such submissions could outlast the interval; past
    the budget no record is started, and the ones left are read again by the next poll."""

    def __init__(self, settings: Settings, stopping: threading.Event) -> None:
        self.seconds = settings.max_poll_interval_ms / 2000
        self._deadline = time.monotonic() + self.seconds
        self._stopping = stopping
        self.ran_out = False

    def spent(self) -> bool:
        """Start no more records: the worker is stopping or the batch's time is up."""
        if not self.ran_out and time.monotonic() > self._deadline:
            self.ran_out = True
        return self.ran_out or self._stopping.is_set()


def _account_key(item: tuple[TopicPartition, Any]) -> bytes | None:
    """Records with one key (an account) are handled one after the other, in order."""
    return item[1].key  # type: ignore[no-any-return]


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def _delivered(
    publisher: KafkaPublisher, deliveries: Deliveries, timeout_s: float
) -> dict[TopicPartition, OffsetAndMetadata]:
    """Wait (at most `timeout_s`) for the outputs in flight; the offsets of the batches whose
    outputs all arrived. Batches behind a refused or unconfirmed send are dropped: whoever
    reads the partitions next starts again from the last commit."""
    if not deliveries:
        return {}  # nothing in flight: never touch a producer that may be closed already
    try:
        publisher.flush(timeout_s)
    except KafkaTimeoutError:
        log.warning("outputs not confirmed within %.1f s; their inputs will be re-read", timeout_s)
    settled = deliveries.settle()
    deliveries.forget()
    return settled.commit


class _HandOver(AsyncConsumerRebalanceListener):  # type: ignore[misc]
    """Before partitions move to another member, commit everything delivered for them.

    kafka-python runs this on the consumer's I/O thread, where only the awaitable commit may
    be used; the producer's flush waits on the producer's own thread, not this one.
    """

    def __init__(
        self,
        worker: KafkaWorker,
        consumer: KafkaConsumer,
        publisher: KafkaPublisher,
        deliveries: Deliveries,
    ) -> None:
        self._worker = worker
        self._consumer = consumer
        self._publisher = publisher
        self._deliveries = deliveries

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        offsets = _delivered(
            self._publisher, self._deliveries, self._worker.settings.shutdown_timeout_s
        )
        if not offsets:
            return
        try:
            await self._consumer.commit_async(offsets)
        except KafkaError as exc:
            self._worker._on_commit(offsets, exc)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Nothing to do: the consumer resumes from the committed offsets."""


def create_topics(settings: Settings, topics: Iterable[TopicSpec] = TOPICS) -> list[str]:
    """Provision every catalog topic; returns the names that were newly created."""
    topics = tuple(topics)
    return ensure_topics(
        settings,
        {topic.name: topic.partitions for topic in topics},
        {topic.name: {"retention.ms": str(topic.retention_ms)} for topic in topics},
    )


def ensure_topics(
    settings: Settings, wanted: dict[str, int], configs: dict[str, dict[str, str]] | None = None
) -> list[str]:
    """Create the named topics (name → partitions) that do not exist yet, with `configs`."""
    admin = admin_client(settings)
    created = []
    try:
        existing = set(admin.list_topics())
        for name, partitions in wanted.items():
            if name in existing:
                continue
            try:
                topic = NewTopic(
                    name,
                    partitions,
                    settings.replication_factor,
                    topic_configs=(configs or {}).get(name, {}),
                )
                admin.create_topics([topic])
                created.append(name)
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()
    return created
