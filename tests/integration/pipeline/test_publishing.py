"""Closing a publisher against a broker that has stopped answering."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

from pipeline.publishing import KafkaPublisher
from pipeline.settings import Settings
from tests.conftest import start_broker, stop_process
from tests.helpers import submission, wait_for


def _producer_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if "producer" in t.name and t.is_alive()]


def test_close_gives_up_on_unconfirmed_sends_within_its_bound(tmp_path: Path) -> None:
    """kafka-python 3 flushes inside `close()` and raised `KafkaTimeoutError` when the broker
    had not confirmed everything in time, skipping the rest of the close: a stopping worker
    then never left its group or released its stage. Unconfirmed outputs are re-read (their
    inputs are not committed); closing must still finish, within its bound."""
    broker = start_broker(tmp_path)
    try:
        publisher = KafkaPublisher(Settings(bootstrap_servers=broker.bootstrap))
        publisher.publish(submission("acct-close-0"))
        publisher.flush(30)  # connected, topic metadata known
        os.kill(broker.process.pid, signal.SIGSTOP)  # the broker hangs: nothing is confirmed
        try:
            sends = [publisher.publish(submission(f"acct-close-{n}")) for n in range(1, 4)]
            started = time.monotonic()
            publisher.close(1.0)
            took = time.monotonic() - started
        finally:
            os.kill(broker.process.pid, signal.SIGCONT)
        assert took < 1.0 + 3, took
        assert not any(send.succeeded() for send in sends)  # what the close gave up on
        wait_for(lambda: not _producer_threads(), 5, what="the producer's thread to stop")
    finally:
        stop_process(broker.process)
