"""Reads the task and decision topics from the beginning and keeps following them.

No consumer group: every reviewer tool rebuilds its inbox from the topics, so it needs no state
of its own and a restart picks up exactly where the topics are.
"""

from __future__ import annotations

import logging
import threading
import time

from kafka import KafkaConsumer, TopicPartition

from pipeline.kafka_runtime import consumer_config
from pipeline.settings import Settings
from producers.review.inbox import Inbox
from schemas import UndecodableEvent, catalog, decode_event

log = logging.getLogger(__name__)

TOPICS = (catalog.REVIEW_TASKS.name, catalog.REVIEW_DECISIONS.name)


class TaskFeed:
    def __init__(self, settings: Settings, inbox: Inbox) -> None:
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
        self._consumer.seek_to_beginning(*partitions)
        self._partitions = partitions
        self._stopping = threading.Event()

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
