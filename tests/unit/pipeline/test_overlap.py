"""`InOrder`: a few records in handlers at once, results in order, one key at a time."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import closing

import pytest

from pipeline.overlap import InOrder


class Recorder:
    """A handler that notes who ran alongside whom."""

    def __init__(self, seconds: float = 0.02) -> None:
        self.seconds = seconds
        self.lock = threading.Lock()
        self.running: Counter[str] = Counter()
        self.most_at_once = 0
        self.key_clash = False
        self.threads: set[str] = set()

    def __call__(self, item: tuple[str, int]) -> str:
        key, number = item
        with self.lock:
            self.key_clash |= self.running[key] > 0
            self.running[key] += 1
            self.most_at_once = max(self.most_at_once, sum(self.running.values()))
            self.threads.add(threading.current_thread().name)
        time.sleep(self.seconds)
        with self.lock:
            self.running[key] -= 1
        return f"{key}{number}"


def first(item: tuple[str, int]) -> str:
    return item[0]


def never() -> bool:
    return False


def test_results_come_in_the_items_order_with_two_in_handlers_at_once() -> None:
    handler = Recorder()
    overlap = InOrder(handler, at_once=2)
    items = [(f"k{i}", i) for i in range(10)]
    try:
        taken = [(item, done.result()) for item, done in overlap.results(items, first, never)]
    finally:
        overlap.close()
    assert taken == [(item, f"{item[0]}{item[1]}") for item in items]
    assert handler.most_at_once == 2
    assert all(name.startswith("handler") for name in handler.threads)


def test_one_keys_items_are_never_in_handlers_at_once_and_keep_their_order() -> None:
    handler = Recorder()
    overlap = InOrder(handler, at_once=3)
    items = [("a", 0), ("a", 1), ("b", 2), ("a", 3), ("b", 4), ("c", 5)]
    try:
        taken = [done.result() for _, done in overlap.results(items, first, never)]
    finally:
        overlap.close()
    assert taken == ["a0", "a1", "b2", "a3", "b4", "c5"]
    assert not handler.key_clash
    assert handler.most_at_once >= 2  # other keys did overlap


def test_one_at_a_time_runs_inline_each_item_after_the_one_before_is_taken() -> None:
    events: list[str] = []

    def handle(item: tuple[str, int]) -> int:
        events.append(f"handle {item[1]} in {threading.current_thread().name}")
        return item[1]

    overlap = InOrder(handle, at_once=1)
    for _, done in overlap.results([("a", 0), ("b", 1)], first, never):
        events.append(f"take {done.result()}")
    main = threading.current_thread().name
    assert events == [f"handle 0 in {main}", "take 0", f"handle 1 in {main}", "take 1"]


def test_nothing_new_starts_once_stopping_and_the_started_items_are_still_given() -> None:
    handler = Recorder()
    overlap = InOrder(handler, at_once=2)
    stop = threading.Event()
    items = [(f"k{i}", i) for i in range(6)]
    taken = []
    try:
        for _, done in overlap.results(items, first, stop.is_set):
            taken.append(done.result())
            stop.set()
    finally:
        overlap.close()
    assert taken == ["k00", "k11"]  # the second was already in a handler: not lost


def test_closing_early_waits_for_the_items_still_in_a_handler() -> None:
    handler = Recorder(seconds=0.2)
    overlap = InOrder(handler, at_once=2)
    items = [(f"k{i}", i) for i in range(4)]
    try:
        with closing(overlap.results(items, first, never)) as results:
            _, done = next(results)
            assert done.result() == "k00"
        assert sum(handler.running.values()) == 0  # the second ended before closing returned
    finally:
        overlap.close()


def test_a_handlers_error_is_given_with_its_item_and_later_items_still_run() -> None:
    def handle(item: tuple[str, int]) -> int:
        if item[1] == 1:
            raise ConnectionError("store down")
        return item[1]

    for at_once in (1, 2):
        overlap = InOrder(handle, at_once=at_once)
        outcomes: list[Callable[[], int]] = []
        try:
            for _, done in overlap.results([("a", 0), ("b", 1), ("c", 2)], first, never):
                outcomes.append(done.result)
        finally:
            overlap.close()
        assert outcomes[0]() == 0
        with pytest.raises(ConnectionError, match="store down"):
            outcomes[1]()
        assert outcomes[2]() == 2


def test_at_least_one_at_a_time() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        InOrder(first, at_once=0)
