"""The worker's hand-over on stop and rebalance, with the producer faked (pure bookkeeping)."""

from __future__ import annotations

from dataclasses import dataclass, field

from kafka.errors import KafkaTimeoutError
from kafka.structs import TopicPartition

from pipeline.delivery import Deliveries
from pipeline.kafka_runtime import _delivered
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
