"""The worker's hand-over on stop and rebalance, with the producer faked (pure bookkeeping),
and how many records it reads per poll."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from kafka.errors import KafkaTimeoutError
from kafka.structs import TopicPartition

from pipeline.app.topology import stage_named
from pipeline.delivery import Deliveries
from pipeline.kafka_runtime import _delivered, records_per_poll
from pipeline.settings import Settings
from tests.unit.pipeline.test_delivery import FakeSend, upto

P0 = TopicPartition("kyb.submissions", 0)


@dataclass
class StalledPublisher:
    """A producer whose broker stopped answering: flush gives up after its timeout."""

    acknowledged: list[FakeSend] = field(default_factory=list)
    timeouts: list[float | None] = field(default_factory=list)

    def flush(self, timeout_s: float | None = None) -> None:
        self.timeouts.append(timeout_s)
        for send in self.acknowledged:
            send.ack()
        raise KafkaTimeoutError("flush timed out")


def test_handing_over_waits_a_bounded_time_and_commits_only_what_arrived() -> None:
    deliveries = Deliveries()
    arrived, stuck = FakeSend(), FakeSend()
    deliveries.add([arrived], {P0: 0}, {P0: upto(3)})
    deliveries.add([stuck], {P0: 3}, {P0: upto(5)})
    publisher = StalledPublisher(acknowledged=[arrived])

    offsets = _delivered(publisher, deliveries, 2.5)  # type: ignore[arg-type]

    assert publisher.timeouts == [2.5]
    assert offsets == {P0: upto(3)}  # records 3-4 are re-read by the next owner
    assert len(deliveries) == 0


def test_nothing_in_flight_never_touches_the_producer() -> None:
    """On close the consumer calls the rebalance listener after the producer is closed."""
    publisher = StalledPublisher()
    assert _delivered(publisher, Deliveries(), 2.5) == {}  # type: ignore[arg-type]
    assert publisher.timeouts == []


def test_a_cpu_bound_stage_reads_small_batches_times_its_records_at_once() -> None:
    settings = Settings(max_poll_records=100, max_poll_records_cpu_bound=3)
    assert records_per_poll(stage_named("verdict"), settings) == 100
    assert records_per_poll(stage_named("ocr"), settings) == 3
    assert stage_named("ocr").records_per_poll is None
    two_at_once = replace(stage_named("ocr"), records_at_once=2)
    assert records_per_poll(two_at_once, settings) == 6  # two at once: the batch takes as long


def test_a_stage_of_quick_records_reads_its_own_batch() -> None:
    """Quality's records take milliseconds: its batch is its own, whatever OCR's is."""
    quality = stage_named("quality")
    assert quality.records_per_poll == 64
    for cpu_bound_batch in (1, 3, 50):
        settings = Settings(max_poll_records_cpu_bound=cpu_bound_batch)
        assert records_per_poll(quality, settings) == 64
    assert records_per_poll(replace(quality, records_per_poll=5), Settings()) == 5
