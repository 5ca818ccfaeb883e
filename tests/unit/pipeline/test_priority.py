"""How a worker takes its CPU priority from who waits on its output: each case in a fresh
process (a policy cannot be undone by the process that set it), and the fallback when
SCHED_IDLE is refused."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pipeline import priority
from pipeline.priority import Waiting

#: Starts a thread before yielding (as numpy's pool does at import), yields, starts another,
#: and prints each policy and nice increment it finds on all three.
PROBE = """
import os, sys, threading
from pipeline.priority import Waiting, take_priority
stop = threading.Event()
ids = []
started = threading.Semaphore(0)
def run():
    ids.append(threading.get_native_id())
    started.release()
    stop.wait(30)
threading.Thread(target=run).start()
assert started.acquire(timeout=10)
before = os.getpriority(os.PRIO_PROCESS, 0)
take_priority(Waiting(sys.argv[1]), sys.argv[2], int(sys.argv[3]))
threading.Thread(target=run).start()
assert started.acquire(timeout=10)
for tid in (threading.get_native_id(), *ids):
    print(os.sched_getscheduler(tid), os.getpriority(os.PRIO_PROCESS, tid) - before)
stop.set()
"""


def _yield_in_child(
    policy: str, nice: int, waiting: Waiting = Waiting.REVIEWERS
) -> set[tuple[int, int]]:
    """(policy, nice increment) of the main thread, one started before and one after."""
    lines = subprocess.run(
        [sys.executable, "-c", PROBE, waiting.value, policy, str(nice)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert len(lines) == 3
    return {(int(a), int(b)) for a, b in (line.split() for line in lines)}


def test_idle_policy_sets_sched_idle_and_leaves_nice_alone() -> None:
    assert _yield_in_child("idle", 10) == {(os.SCHED_IDLE, 0)}


def test_nice_policy_lowers_priority_under_the_normal_scheduler() -> None:
    assert _yield_in_child("nice", 7) == {(os.SCHED_OTHER, 7)}
    assert _yield_in_child("nice", 0) == {(os.SCHED_OTHER, 0)}


def test_the_email_stage_runs_niced_under_either_policy() -> None:
    """Behind the instant answer, ahead of the reviewers' SCHED_IDLE work."""
    assert _yield_in_child("idle", 10, Waiting.CUSTOMER_LATER) == {(os.SCHED_OTHER, 10)}
    assert _yield_in_child("nice", 4, Waiting.CUSTOMER_LATER) == {(os.SCHED_OTHER, 4)}


def test_the_instant_answer_keeps_the_normal_priority() -> None:
    assert _yield_in_child("idle", 10, Waiting.CUSTOMER_NOW) == {(os.SCHED_OTHER, 0)}
    assert _yield_in_child("nice", 10, Waiting.CUSTOMER_NOW) == {(os.SCHED_OTHER, 0)}


def test_refused_sched_idle_falls_back_to_nice(monkeypatch: pytest.MonkeyPatch) -> None:
    niced: list[int] = []

    def refuse(*_: object) -> None:
        raise PermissionError("seccomp")

    monkeypatch.setattr(priority.os, "sched_setscheduler", refuse)
    monkeypatch.setattr(priority.os, "getpriority", lambda *_: 0)
    monkeypatch.setattr(priority.os, "setpriority", lambda _w, _t, value: niced.append(value))
    monkeypatch.setattr(priority, "_own_threads", lambda: [101, 102])
    priority.yield_cpu("idle", 10)
    assert niced == [10, 10]
