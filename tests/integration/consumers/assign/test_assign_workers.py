"""Two `kyb worker assign` processes, 500 tasks, the real broker and real Redis.

Capacity is 300 slots for 500 tasks: 300 are assigned at once, 200 wait in the backlog; the
decisions on 250 of the first tasks free slots and the backlog drains. Throughout, no reviewer
holds more than `max_open`, and every task is assigned exactly once.
"""

from __future__ import annotations

import os
import subprocess
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from kafka import KafkaConsumer

from consumers.assign.ledger import Ledger
from pipeline.kafka_runtime import consumer_config
from pipeline.publishing import KafkaPublisher
from pipeline.settings import Settings
from producers.decisions import DecisionPublisher
from schemas import decode_event
from schemas.enums import Decision, ReasonCode, Recommendation, TaskAction
from schemas.events import FieldsMatched, ReviewTask
from tests.conftest import stop_process
from tests.helpers import application, kyb_command, roster, wait_for

TASKS = 500
CAPACITY = {"ana": 140, "bo": 160}


@pytest.fixture
def assign_workers(
    kafka_broker: str, redis_url: str, redis_prefix: str, tmp_path: Path
) -> Iterator[dict[str, str]]:
    env = os.environ | {
        "KYB_BOOTSTRAP_SERVERS": kafka_broker,
        "KYB_STATE_BACKEND": "redis",
        "KYB_REDIS_URL": redis_url,
        "KYB_KEY_PREFIX": redis_prefix,
        "KYB_SESSION_TIMEOUT_MS": "6000",
        "KYB_HEARTBEAT_INTERVAL_MS": "1000",
        "KYB_TICK_INTERVAL_S": "1",
    }
    created = subprocess.run(kyb_command("topics", "create"), env=env, capture_output=True)
    assert created.returncode == 0, created.stderr.decode()
    procs = [
        subprocess.Popen(
            kyb_command("worker", "assign"),
            env=env,
            stdout=(tmp_path / f"assign-{n}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for n in range(2)
    ]
    try:
        yield env
    finally:
        for proc in procs:
            stop_process(proc, timeout=20)
    for proc in procs:
        assert proc.returncode == 0, (tmp_path / "assign-0.log").read_text()[-3000:]


class TaskWatcher(threading.Thread):
    """Collects every ReviewTask on the topic (deduplicated by event id)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        self.settings, self.stop = settings, threading.Event()
        self.events: dict[uuid.UUID, ReviewTask] = {}
        self.lock = threading.Lock()

    def run(self) -> None:
        consumer = KafkaConsumer("kyb.review.tasks", **consumer_config(self.settings, None))
        while not self.stop.is_set():
            for records in consumer.poll(timeout_ms=200).values():
                for record in records:
                    task = decode_event(record.value)
                    assert isinstance(task, ReviewTask)
                    with self.lock:
                        self.events[task.event_id] = task
        consumer.close()

    def assigned(self) -> dict[str, list[ReviewTask]]:
        by_task: dict[str, list[ReviewTask]] = defaultdict(list)
        with self.lock:
            for task in self.events.values():
                if task.action is TaskAction.ASSIGNED:
                    by_task[task.task_id].append(task)
        return by_task


def test_two_assign_workers_share_500_tasks_without_over_assigning(
    assign_workers: dict[str, str], redis_url: str, redis_prefix: str
) -> None:
    env = assign_workers
    settings = Settings(bootstrap_servers=env["KYB_BOOTSTRAP_SERVERS"])
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    ledger = Ledger(client, redis_prefix)
    ledger.load(roster(**{name: {"max_open": n} for name, n in CAPACITY.items()}), 0)
    watcher = TaskWatcher(settings)
    watcher.start()
    peaks: dict[str, int] = defaultdict(int)
    sampling = threading.Event()

    def sample_open_counts() -> None:
        while not sampling.is_set():
            for name in CAPACITY:
                peaks[name] = max(peaks[name], ledger.open_tasks(name))
            sampling.wait(0.05)

    sampler = threading.Thread(target=sample_open_counts, daemon=True)
    sampler.start()
    publisher = KafkaPublisher(settings)
    app = application()
    for n in range(TASKS):
        publisher.publish(
            FieldsMatched(
                event_id=uuid.uuid4(),
                occurred_at=datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
                account_id=f"acct-{n:03d}",
                submission_id=f"sub-{n:03d}",
                producer="test",
                application=app,
                fields=(),
                recommendation=Recommendation.CLEAN,
                engine="test",
            )
        )
    publisher.flush()
    try:
        wait_for(lambda: len(watcher.assigned()) >= 300, 120, what="the first 300 assignments")
        # the rest wait in the backlog (the workers may still be reading the last matches)
        wait_for(lambda: len(ledger.backlog()) == TASKS - 300, 60, what="200 in the backlog")
        assert len(watcher.assigned()) == 300
        first = [tasks[0] for tasks in watcher.assigned().values()]
        decisions = DecisionPublisher(publisher)
        for task in first[:250]:
            decisions.decide(task, Decision.APPROVE, [ReasonCode.DOCUMENTS_CONSISTENT])
        wait_for(lambda: len(watcher.assigned()) == TASKS, 120, what="the backlog to drain")
        wait_for(lambda: sum(map(ledger.open_tasks, CAPACITY)) == 250, 30, what="open == 250")
    finally:
        sampling.set()
        watcher.stop.set()
        watcher.join(10)
        sampler.join(5)
    assigned = watcher.assigned()
    assert len(assigned) == TASKS
    # exactly once: one assignment event per task (redeliveries share the event id)
    assert all(len(tasks) == 1 and tasks[0].assignment == 1 for tasks in assigned.values())
    assert ledger.backlog() == []
    for name, limit in CAPACITY.items():
        assert peaks[name] <= limit, f"{name} held {peaks[name]} > {limit}"
        assert ledger.open_tasks(name) == len(ledger.tasks_of(name))
    per_reviewer = defaultdict(int)
    for tasks in assigned.values():
        per_reviewer[tasks[0].reviewer_id] += 1
    assert sum(per_reviewer.values()) == TASKS
    assert set(per_reviewer) == set(CAPACITY)
    print(f"\nassign: 2 workers, {TASKS} tasks, per reviewer {dict(per_reviewer)}, peaks {peaks}")
    assert all(peaks[name] > 0 for name in CAPACITY)  # the sampler did see the load
