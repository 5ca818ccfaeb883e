"""Every stage in one process, topics as in-memory queues. For `kyb demo` and fast tests.

Each stage sees every record of the topics it reads, exactly as separate consumer groups would;
records are processed one at a time in publication order, so runs are deterministic.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable

from pipeline.processing import ProcessResult, Source, StageProcessor
from schemas import Envelope, decode_event, encode_event, topic_for
from schemas.events import StageMetric


class LocalRuntime:
    def __init__(self, processors: Iterable[StageProcessor]) -> None:
        self._processors = list(processors)
        self._subscribers: dict[str, list[StageProcessor]] = defaultdict(list)
        for processor in self._processors:
            for topic in processor.stage.reads:
                self._subscribers[topic.name].append(processor)
        self._queue: deque[tuple[str, bytes, bytes | None]] = deque()
        self._offsets: dict[str, int] = defaultdict(int)
        self.topics: dict[str, list[Envelope]] = defaultdict(list)
        self.listeners: list[Callable[[str, Envelope], None]] = []

    # Publisher protocol
    def publish(self, event: Envelope) -> None:
        self.publish_raw(topic_for(event).name, encode_event(event), event.account_id.encode())

    def flush(self) -> None:
        """Nothing is buffered locally."""

    def publish_raw(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        self._queue.append((topic, value, key))

    def run_until_idle(self, max_records: int = 1_000_000, max_ticks: int = 10) -> int:
        """Deliver queued records, then run the stages' periodic work, until neither produces
        anything; returns how many records were delivered."""
        delivered = self._deliver(max_records)
        for _ in range(max_ticks):
            if not self.tick():
                break
            delivered += self._deliver(max_records)
        self.report_metrics()
        return delivered + self._deliver(max_records)

    def report_metrics(self) -> None:
        """Publish every stage's metrics window now (the local runtime has no clock to wait on)."""
        for processor in self._processors:
            if processor.metrics is not None:
                self.publish(processor.metrics.flush())

    def tick(self) -> int:
        """Run every stage's periodic work once; returns how many events it published that are
        work for someone (metrics are reports, not work, so they do not keep the loop going)."""
        work = 0
        for processor in self._processors:
            result = processor.tick()
            for event in result.outputs:
                self.publish(event)
                work += not isinstance(event, StageMetric)
            result.acknowledge()
        return work

    def _deliver(self, max_records: int) -> int:
        delivered = 0
        while self._queue:
            if delivered >= max_records:
                raise RuntimeError(f"still busy after {max_records} records (a feedback loop?)")
            topic, value, key = self._queue.popleft()
            offset = self._offsets[topic]
            self._offsets[topic] += 1
            self._record(topic, value)
            for processor in self._subscribers.get(topic, []):
                result: ProcessResult = processor.process(value, Source(topic, 0, offset, key))
                for event in result.outputs:
                    self.publish(event)
            delivered += 1
        return delivered

    def _record(self, topic: str, value: bytes) -> None:
        try:
            event = decode_event(value)
        except ValueError:
            return  # bad records are dead-lettered by the stages that read them
        self.topics[topic].append(event)
        for listener in self.listeners:
            listener(topic, event)
