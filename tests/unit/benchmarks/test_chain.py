"""`chain.py`'s share of the cores (and CPU seconds) while customers waited: read at the last
answer itself, not at the sample after it; the workers' families, listed again at most once a
second; the status verdict makes of the quality answer, timed from its record."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time

import psutil
import pytest

from benchmarks.chain import Families, Observer, cpu_share_until, cpu_until
from pipeline.settings import Settings
from schemas import encode_event
from schemas.enums import IdentityStatus, StatusTrack
from schemas.events import StatusChanged, SubmissionReceived
from tests.helpers import followed_by, submission


def test_a_worker_busy_until_the_last_answer_had_one_core() -> None:
    # One core busy from the start until the last answer at 1.23 s, then idle; sampled every
    # 0.1 s. Read at the sample after the answer and over its span, as before, it had 0.92.
    samples = [(t / 10, {"quality": min(t / 10, 1.23)}) for t in range(1, 14)]
    share = cpu_share_until(samples, started=0.0, until=1.23)["quality"]
    assert share == pytest.approx(1.0, abs=0.025)
    assert share > 1.23 / 1.3 + 0.02  # the sample after, over its own span


def test_between_two_samples_the_cpu_is_interpolated() -> None:
    samples = [(1.0, {"quality": 1.6, "verdict": 0.4}), (2.0, {"quality": 3.6, "verdict": 0.6})]
    assert cpu_share_until(samples, started=0.0, until=1.5) == {"quality": 1.73, "verdict": 0.33}


def test_before_the_first_sample_every_name_counts_from_zero() -> None:
    samples = [(1.0, {"quality": 1.6, "verdict": 0.4}), (2.0, {"quality": 3.6, "verdict": 0.6})]
    assert cpu_share_until(samples, started=0.0, until=0.5) == {"quality": 1.6, "verdict": 0.4}


def test_an_answer_after_the_last_sample_uses_that_sample() -> None:
    samples = [(0.5, {"broker": 0.05}), (1.0, {"broker": 0.1})]
    assert cpu_share_until(samples, started=0.0, until=1.0) == {"broker": 0.1}
    assert cpu_share_until(samples, started=0.0, until=2.0) == {"broker": 0.05}


def test_the_cpu_spent_until_the_answer_is_in_seconds_not_cores() -> None:
    # Verdict spent 0.5 s by 1 s and 0.6 s by 2 s: 0.55 s by 1.5 s, whatever it did after.
    samples = [(1.0, {"verdict": 0.5}), (2.0, {"verdict": 0.6}), (60.0, {"verdict": 4.0})]
    assert cpu_until(samples, started=0.0, until=1.5) == pytest.approx({"verdict": 0.55})
    assert cpu_share_until(samples, started=0.0, until=1.5) == {"verdict": 0.37}


def _worker_with_child(after_s: float = 0.0) -> subprocess.Popen[bytes]:
    """A process that starts one child after `after_s`, as a worker its sandbox children."""
    script = (
        f"import subprocess, sys, time; time.sleep({after_s});"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']);"
        "time.sleep(30)"
    )
    return subprocess.Popen([sys.executable, "-c", script])


def _wait_for_child(worker: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while not psutil.Process(worker.pid).children() and time.monotonic() < deadline:
        time.sleep(0.05)


def _kill(worker: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process(worker.pid).children():
            child.kill()
    worker.kill()
    worker.wait()


def test_a_child_started_later_is_listed_only_after_the_interval() -> None:
    now = [0.0]
    worker = _worker_with_child(after_s=2.0)
    try:
        families = Families([worker], every_s=1.0, clock=lambda: now[0])
        assert [p.pid for p in families.members()[0]] == [worker.pid]
        _wait_for_child(worker)
        now[0] = 0.9
        assert len(families.members()[0]) == 1  # not listed again yet
        now[0] = 1.0
        assert len(families.members()[0]) == 2
    finally:
        _kill(worker)


def test_a_worker_gone_keeps_its_last_listing() -> None:
    now = [0.0]
    worker = _worker_with_child()
    try:
        _wait_for_child(worker)
        families = Families([worker], every_s=1.0, clock=lambda: now[0])
        assert len(families.members()[0]) == 2
        child = psutil.Process(worker.pid).children()[0]
        _kill(worker)
        now[0] = 2.0
        assert [p.pid for p in families.members()[0]] == [worker.pid, child.pid]
    finally:
        _kill(worker)


def _status(cause: SubmissionReceived, track: StatusTrack, to: str) -> bytes:
    event = followed_by(
        cause, StatusChanged, track=track, from_status=None, to_status=to, cause_event_id="c"
    )
    return encode_event(event)


def test_the_status_made_of_the_quality_answer_is_timed_once() -> None:
    observer = Observer(Settings(), [])
    sub = submission()
    produced_ms = int((observer.clock_offset + 10.0) * 1000)
    for track, to, at in (
        (StatusTrack.IDENTITY, IdentityStatus.SUBMITTED, produced_ms),
        (StatusTrack.COMPLIANCE, "pending", produced_ms),
        (StatusTrack.IDENTITY, IdentityStatus.RESUBMISSION_REQUIRED, produced_ms + 500),
        (StatusTrack.IDENTITY, IdentityStatus.RESUBMISSION_REQUIRED, produced_ms + 900),
    ):
        observer._see(_status(sub, track, to), at, decisions=None)  # type: ignore[arg-type]
    assert observer.seen[sub.submission_id] == {"status": pytest.approx(10.5, abs=0.01)}
    observer._see(_status(sub, StatusTrack.IDENTITY, "checking"), produced_ms + 1, None)  # type: ignore[arg-type]
    assert observer.seen[sub.submission_id]["status"] == pytest.approx(10.5, abs=0.01)
