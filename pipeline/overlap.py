"""A few records handled at once, their results taken in the records' order.

A CPU-bound stage's worker spends most of a record waiting: its sandbox children decode and
measure the images while the worker thread sits in `get()`. With a second record in hand, the
worker reads that record's documents and validates its event meanwhile, and publishes the
first record's answer while the children work on the second. The results are still taken (and
published, and committed) in the records' order, and two records with the same key (one
account) are never in a handler at once, so an account's events keep their order (an erasure
is marked before that account's next submission is admitted).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Hashable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Generic, TypeVar

__all__ = ["InOrder"]

T = TypeVar("T")
R = TypeVar("R")


class InOrder(Generic[T, R]):
    """Runs `handle` on up to `at_once` items at a time; `at_once=1` runs each inline, in the
    caller's thread, exactly when the one before it has been taken."""

    def __init__(self, handle: Callable[[T], R], at_once: int = 1) -> None:
        if at_once < 1:
            raise ValueError("at_once must be at least 1")
        self._handle = handle
        self._at_once = at_once
        self._pool = (
            ThreadPoolExecutor(at_once, thread_name_prefix="handler") if at_once > 1 else None
        )

    def results(
        self, items: Iterable[T], key: Callable[[T], Hashable], stopping: Callable[[], bool]
    ) -> Generator[tuple[T, Future[R]], None, None]:
        """Each started item with its (finished) future, in the items' order. No item is started
        once `stopping()` is true; those already started are still yielded. Closing the
        iterator early waits for the items still in a handler, so nothing of one batch runs on
        into the next."""
        started: deque[tuple[T, Future[R]]] = deque()
        try:
            for item in items:
                item_key = key(item)
                while started and (
                    len(started) >= self._at_once
                    or any(key(earlier) == item_key for earlier, _ in started)
                ):
                    yield _finished(started.popleft())
                if stopping():
                    break
                started.append((item, self._start(item)))
            while started:
                yield _finished(started.popleft())
        finally:
            wait([future for _, future in started])

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def _start(self, item: T) -> Future[R]:
        if self._pool is not None:
            return self._pool.submit(self._handle, item)
        future: Future[R] = Future()
        try:
            future.set_result(self._handle(item))
        except BaseException as exc:  # handed to the caller by `result()`, as from a thread
            future.set_exception(exc)
        return future


def _finished(started: tuple[T, Future[R]]) -> tuple[T, Future[R]]:
    wait([started[1]])
    return started
