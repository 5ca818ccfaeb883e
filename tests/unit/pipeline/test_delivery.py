"""Offsets are committed only behind acknowledged outputs, in the order batches were handled."""

from __future__ import annotations

from dataclasses import dataclass

from kafka.structs import OffsetAndMetadata, TopicPartition

from pipeline.delivery import Deliveries

P0 = TopicPartition("kyb.submissions", 0)
P1 = TopicPartition("kyb.submissions", 1)


@dataclass
class FakeSend:
    is_done: bool = False
    exception: BaseException | None = None

    def failed(self) -> bool:
        return self.is_done and self.exception is not None

    def ack(self) -> None:
        self.is_done = True

    def refuse(self, error: BaseException) -> None:
        self.is_done, self.exception = True, error


def upto(offset: int) -> OffsetAndMetadata:
    return OffsetAndMetadata(offset, "", -1)


def test_nothing_is_committed_before_its_outputs_are_acknowledged() -> None:
    deliveries = Deliveries()
    send = FakeSend()
    deliveries.add([send], {P0: 0}, {P0: upto(1)})
    assert deliveries.settle().commit == {}
    assert len(deliveries) == 1
    send.ack()
    assert deliveries.settle().commit == {P0: upto(1)}
    assert len(deliveries) == 0
    assert deliveries.settle().commit == {}  # committed once


def test_a_later_batch_acknowledged_first_waits_for_the_earlier_one() -> None:
    deliveries = Deliveries()
    early, late = FakeSend(), FakeSend()
    deliveries.add([early], {P0: 0}, {P0: upto(2)})
    deliveries.add([late], {P0: 2, P1: 0}, {P0: upto(3), P1: upto(1)})
    late.ack()
    assert deliveries.settle().commit == {}  # P0's offset 3 would skip the undelivered 0-1
    early.ack()
    assert deliveries.settle().commit == {P0: upto(3), P1: upto(1)}  # newest per partition wins


def test_a_batch_without_outputs_settles_at_once_but_only_in_turn() -> None:
    deliveries = Deliveries()
    pending = FakeSend()
    deliveries.add([pending], {P0: 0}, {P0: upto(1)})
    deliveries.add([], {P1: 5}, {P1: upto(6)})  # e.g. a duplicate, absorbed without output
    assert deliveries.settle().commit == {}
    pending.ack()
    assert deliveries.settle().commit == {P0: upto(1), P1: upto(6)}


def test_a_refused_send_commits_nothing_from_its_batch_on_and_says_where_to_reread() -> None:
    deliveries = Deliveries()
    first, refused, after = FakeSend(), FakeSend(), FakeSend()
    deliveries.add([first], {P0: 0}, {P0: upto(2)})
    deliveries.add([refused, FakeSend(is_done=True)], {P0: 2, P1: 7}, {P0: upto(4), P1: upto(9)})
    deliveries.add([after], {P0: 4, P1: 9}, {P0: upto(5), P1: upto(10)})
    first.ack()
    after.ack()
    error = TimeoutError("delivery timed out")
    refused.refuse(error)
    settled = deliveries.settle()
    assert settled.commit == {P0: upto(2)}
    assert settled.rewind == {P0: 2, P1: 7}  # the earliest dropped offset per partition
    assert settled.error is error
    assert len(deliveries) == 0  # the dropped batches are read and handled again


def test_an_empty_batch_is_not_recorded_and_forget_drops_the_rest() -> None:
    deliveries = Deliveries()
    deliveries.add([], {}, {})
    assert len(deliveries) == 0
    deliveries.add([FakeSend()], {P0: 0}, {P0: upto(1)})
    deliveries.forget()
    assert len(deliveries) == 0
    assert deliveries.settle().commit == {}
