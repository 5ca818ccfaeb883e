"""Follows the task and decision topics from now on, on top of a snapshot of the open tasks.

No consumer group and no replay of the topics' history (so they can be kept for days, not for
as long as a task may stay open): the feed first fixes its position at the end of the task
topic, then adds the snapshot (the ledger's open tasks), so every change after the snapshot
arrives from the topic and none falls in between. Decisions are read from a short look-back,
so a decision the assign stage has not applied yet still hides its task after a restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from pipeline.kafka_runtime import consumer_config
from pipeline.settings import Settings
from producers.review.inbox import Inbox
from schemas import Envelope, UndecodableEvent, catalog, decode_event

log = logging.getLogger(__name__)

TOPICS = (catalog.REVIEW_TASKS.name, catalog.REVIEW_DECISIONS.name)


def _nothing() -> Iterable[Envelope]:
    return ()


class TaskFeed:
    def __init__(
        self,
        settings: Settings,
        inbox: Inbox,
        snapshot: Callable[[], Iterable[Envelope]] = _nothing,
        decisions_lookback_s: float = 86_400,
    ) -> None:
        self.inbox = inbox
        self._consumer = KafkaConsumer(**consumer_config(settings, None))
        partitions = []
        for topic in TOPICS:
            numbers = self._consumer.partitions_for_topic(topic)
            if not numbers:
                self._consumer.close()
                raise LookupError(f"topic {topic} does not exist (run `kyb topics create`)")
            partitions += [TopicPartition(topic, n) for n in sorted(numbers)]
        self._consumer.assign(partitions)
        self._start_positions(partitions, decisions_lookback_s)
        self._partitions = partitions
        self._stopping = threading.Event()
        inbox.add_all(snapshot())

    def _start_positions(self, partitions: list[TopicPartition], lookback_s: float) -> None:
        """Tasks from the end, decisions from `lookback_s` ago; fixed before the snapshot."""
        tasks = [tp for tp in partitions if tp.topic == catalog.REVIEW_TASKS.name]
        decisions = [tp for tp in partitions if tp.topic == catalog.REVIEW_DECISIONS.name]
        self._consumer.seek_to_end(*tasks)
        since_ms = int((time.time() - lookback_s) * 1000)
        try:
            found = self._consumer.offsets_for_times({tp: since_ms for tp in decisions}) or {}
        except KafkaError:  # a broker without timestamp lookup: the whole (short) topic
            found = {}
        for tp in decisions:
            at = found.get(tp)
            if at is not None:
                self._consumer.seek(tp, at.offset)
            elif tp in found:  # nothing that recent
                self._consumer.seek_to_end(tp)
            else:
                self._consumer.seek_to_beginning(tp)
        for tp in partitions:
            self._consumer.position(tp)  # resolves the seeks now, not at the first poll

    def poll(self, timeout_ms: int = 200) -> int:
        """Feed what has arrived to the inbox; returns how many records were read."""
        read = 0
        for records in self._consumer.poll(timeout_ms=timeout_ms).values():
            for record in records:
                read += 1
                try:
                    self.inbox.add(decode_event(record.value))
                except (UndecodableEvent, ValueError):
                    log.warning(
                        "skipped an undecodable record at %s/%s", record.topic, record.offset
                    )
        return read

    def catch_up(self, timeout_s: float = 30) -> None:
        """Read up to the end of both topics as they are now (bounded by `timeout_s`)."""
        end = self._consumer.end_offsets(self._partitions)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all(self._consumer.position(tp) >= offset for tp, offset in end.items()):
                return
            self.poll()
        raise TimeoutError(f"could not read the review topics within {timeout_s} s")

    def follow(self) -> None:
        """Keep feeding the inbox until `stop()`; for a background thread."""
        while not self._stopping.is_set():
            self.poll(timeout_ms=500)

    def stop(self) -> None:
        self._stopping.set()

    def close(self) -> None:
        self._consumer.close()
