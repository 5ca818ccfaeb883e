"""A reviewer's open tasks, folded from `kyb.review.tasks` and `kyb.review.decisions`.

Pure logic, no Kafka: the feed (or a test) hands it events in any order, as often as it likes.
Replays are harmless, and a restarted tool rebuilds the same inbox from the topics, so decided
tasks never come back.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from schemas import Envelope
from schemas.enums import TaskAction
from schemas.events import ReviewDecision, ReviewTask


def _rank(task: ReviewTask) -> tuple[int, int]:
    """Later changes win: a higher assignment number, and within one, losing it after getting it."""
    return task.assignment, 0 if task.action is TaskAction.ASSIGNED else 1


class Inbox:
    """Thread-safe: the feed thread adds, the UI thread reads."""

    def __init__(self) -> None:
        self._latest: dict[str, ReviewTask] = {}
        self._decided: dict[str, str] = {}  # task id -> reviewer who decided
        self._lock = threading.Lock()

    def add(self, event: Envelope) -> None:
        with self._lock:
            if isinstance(event, ReviewTask):
                known = self._latest.get(event.task_id)
                if known is None or _rank(event) >= _rank(known):
                    self._latest[event.task_id] = event
            elif isinstance(event, ReviewDecision):
                self._decided.setdefault(event.task_id, event.reviewer_id)

    def add_all(self, events: Iterable[Envelope]) -> None:
        for event in events:
            self.add(event)

    def mark_decided(self, task_id: str, reviewer_id: str) -> None:
        """Hide a task at once, before its decision comes back from the topic."""
        with self._lock:
            self._decided.setdefault(task_id, reviewer_id)

    def open_tasks(self, reviewer_id: str) -> list[ReviewTask]:
        """The reviewer's undecided tasks, the earliest due first (then the more urgent)."""
        with self._lock:
            mine = [
                task
                for task in self._latest.values()
                if task.action is TaskAction.ASSIGNED
                and task.reviewer_id == reviewer_id
                and task.task_id not in self._decided
            ]
        return sorted(mine, key=lambda task: (task.due_at, task.priority, task.task_id))

    def task(self, reviewer_id: str, task_id: str) -> ReviewTask | None:
        """The task if it is open and this reviewer's; None otherwise (never someone else's)."""
        return next((t for t in self.open_tasks(reviewer_id) if t.task_id == task_id), None)
