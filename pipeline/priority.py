"""CPU priority of a stage's worker from who waits on its output, so the customer's instant
feedback (quality, and the status it becomes) gets the cores first on a shared machine.

Linux schedules threads, not processes: the policy is set on every thread the worker already
has (numpy's and OpenCV's pools start at import) and is inherited by every thread and process
it starts later, so `kyb worker` sets it before the Kafka client and the sandbox children start.
"""

from __future__ import annotations

import logging
import os
from enum import Enum
from typing import Literal

__all__ = ["Waiting", "YieldPolicy", "take_priority", "yield_cpu"]

YieldPolicy = Literal["nice", "idle"]


class Waiting(Enum):
    """Who waits on a stage's output: its CPU priority on a shared machine follows from it."""

    CUSTOMER_NOW = "customer_now"  # the instant answer and the status it becomes: normal
    CUSTOMER_LATER = "customer_later"  # an email about a review of days: niced
    REVIEWERS = "reviewers"  # only reviewers: `yield_policy` (SCHED_IDLE by default)


log = logging.getLogger(__name__)


def yield_cpu(policy: YieldPolicy, nice: int) -> None:
    """`nice`: a lower weight under the normal scheduler (still a share of a busy core).
    `idle`: SCHED_IDLE, which runs only when no normal task wants the core; a queue of
    reviewer work then waits behind a feedback burst instead of slowing it. Where SCHED_IDLE
    is missing (not Linux) or refused, the worker runs niced rather than not at all."""
    if policy == "idle":
        try:
            for thread in _own_threads():
                os.sched_setscheduler(thread, os.SCHED_IDLE, os.sched_param(0))
            return
        except (AttributeError, OSError) as error:
            log.warning("SCHED_IDLE unavailable (%s); running niced by %d instead", error, nice)
    if nice:
        for thread in _own_threads():
            current = os.getpriority(os.PRIO_PROCESS, thread)
            os.setpriority(os.PRIO_PROCESS, thread, min(current + nice, 19))


def take_priority(waiting: Waiting, policy: YieldPolicy, nice: int) -> None:
    """Set this worker's priority for `waiting`. Reviewers' stages yield under `policy`. A
    customer reads an email about a review that takes days, not seconds: that stage runs niced
    by `nice` whatever the policy: behind the instant answer in a burst (the feedback p95 of
    `benchmarks/chain.py`'s burst fell 0.75-0.90x), yet with a share of a busy core, so mail keeps
    moving under constant load and ahead of the reviewers' SCHED_IDLE work."""
    if waiting is Waiting.REVIEWERS:
        yield_cpu(policy, nice)
    elif waiting is Waiting.CUSTOMER_LATER:
        yield_cpu("nice", nice)


def _own_threads() -> list[int]:
    """Thread ids of this process (Linux); elsewhere 0, the calling thread."""
    try:
        return [int(name) for name in os.listdir("/proc/self/task")]
    except OSError:
        return [0]
