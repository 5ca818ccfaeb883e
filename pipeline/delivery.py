"""Which consumed offsets may be committed: those whose outputs the broker has acknowledged.

At-least-once means an input is marked consumed only after everything it caused is durable.
Waiting for each batch's acknowledgements and then committing synchronously costs two broker
round trips per batch (~3.7 ms per two-record batch of a CPU-bound stage, measured through the
peers benchmark) while nothing else runs. Instead the worker records each batch's sends and
offsets here and handles the next batch while the producer's I/O thread delivers them; batches
settle strictly in the order they were handled, so no offset is committed ahead of an earlier
batch's outputs, and a send the broker refused stops the commits and says where to re-read.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from kafka.structs import OffsetAndMetadata, TopicPartition


class Send(Protocol):
    """The delivery future of one produced record (kafka-python's `FutureRecordMetadata`)."""

    is_done: bool
    exception: BaseException | None

    def failed(self) -> bool: ...


@dataclass(frozen=True)
class _Batch:
    sends: tuple[Send, ...]
    first: Mapping[TopicPartition, int]  # first offset handled, per partition
    next: Mapping[TopicPartition, OffsetAndMetadata]  # offset to commit, per partition


@dataclass(frozen=True)
class Settled:
    """What settling found: offsets safe to commit, and where to re-read after a refused send."""

    commit: dict[TopicPartition, OffsetAndMetadata] = field(default_factory=dict)
    rewind: dict[TopicPartition, int] = field(default_factory=dict)
    error: BaseException | None = None


class Deliveries:
    """Handled batches whose outputs may still be in flight, oldest first."""

    def __init__(self) -> None:
        self._batches: deque[_Batch] = deque()

    def __len__(self) -> int:
        return len(self._batches)

    def add(
        self,
        sends: Iterable[Send],
        first: Mapping[TopicPartition, int],
        next_offsets: Mapping[TopicPartition, OffsetAndMetadata],
    ) -> None:
        if next_offsets:
            self._batches.append(_Batch(tuple(sends), dict(first), dict(next_offsets)))

    def settle(self) -> Settled:
        """Pop the leading batches whose sends are all done.

        Their offsets are returned to commit, the newest per partition winning. A batch with a
        failed send is not committed; it and every later batch are dropped, and `rewind` gives,
        per partition, the offset to re-read from (the earliest of the dropped batches).
        """
        commit: dict[TopicPartition, OffsetAndMetadata] = {}
        while self._batches and all(send.is_done for send in self._batches[0].sends):
            batch = self._batches[0]
            refused = next((send for send in batch.sends if send.failed()), None)
            if refused is not None:
                rewind: dict[TopicPartition, int] = {}
                for dropped in self._batches:
                    for partition, offset in dropped.first.items():
                        rewind[partition] = min(offset, rewind.get(partition, offset))
                self._batches.clear()
                return Settled(commit, rewind, refused.exception)
            self._batches.popleft()
            commit.update(batch.next)
        return Settled(commit)

    def forget(self) -> None:
        """Drop what is unsettled (the partitions went to another member, which re-reads)."""
        self._batches.clear()
