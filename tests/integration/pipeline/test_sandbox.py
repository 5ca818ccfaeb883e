"""The sandbox's child processes, where customer files are decoded, keep the worker's limits
and run independent calls at once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import pytest

from pipeline.sandbox import Sandbox, SandboxCrashed, SandboxTimeout


def _thread_budget() -> tuple[int, str | None]:
    return cv2.getNumThreads(), os.environ.get("OMP_THREAD_LIMIT")


def test_the_child_decodes_with_the_workers_thread_budget() -> None:
    """A forkserver child starts with OpenCV's default of one thread per core; a worker meant
    to use one core would use them all while decoding."""
    limited = Sandbox(native_threads=1)
    default = Sandbox()
    try:
        assert limited.run(30.0, _thread_budget) == (1, "1")
        if (os.cpu_count() or 1) > 1:
            assert default.run(30.0, _thread_budget)[0] > 1  # what the limit changes
    finally:
        limited.close()
        default.close()


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def _loaded(module: str, after_s: float = 0.0) -> tuple[int, bool]:
    time.sleep(after_s)  # long enough that calls made together take different children
    return os.getpid(), module in sys.modules


def _load(module: str) -> None:
    __import__(module)


def test_warmed_children_are_prepared_before_the_first_call_and_after_a_kill() -> None:
    """A worker prepares its children while it joins its group: the first customer after a
    start (and, in a burst, everyone behind them) no longer waits for a child to get ready,
    nor does the one after a file that cost a child its life."""
    module = "colorsys"  # loaded by nothing the children load otherwise
    cold = Sandbox(native_threads=1)
    warmed = Sandbox(native_threads=1, children=2)
    try:
        assert cold.run(30.0, _loaded, module)[1] is False  # what preparing changes
        warmed.warm(_load, module)
        outcomes = warmed.run_each(30.0, _loaded, [(module, 0.3), (module, 0.3)])
        assert all(isinstance(outcome, tuple) for outcome in outcomes)
        assert len({pid for pid, _ in outcomes}) == 2  # both children, not one twice
        assert [loaded for _, loaded in outcomes] == [True, True]
        with pytest.raises(SandboxTimeout):
            warmed.run(0.5, _pid_after, 10.0)  # the child that ran it is replaced
        after = warmed.run_each(30.0, _loaded, [(module, 0.3), (module, 0.3)])
        assert all(isinstance(outcome, tuple) for outcome in after)
        pids = {pid for pid, _ in after}
        assert len(pids) == 2
        assert len(pids - {pid for pid, _ in outcomes}) == 1  # one child new, one as before
        assert [loaded for _, loaded in after] == [True, True]
    finally:
        cold.close()
        warmed.close()


def _mark(path: str) -> None:
    with open(path, "a", encoding="ascii") as marks:
        marks.write(f"{os.getpid()}\n")


def test_a_stage_wired_twice_prepares_each_child_once(tmp_path: Path) -> None:
    """Tests and the local runtime wire stages again and again in one process: the shared
    sandbox's children must not pile up preparations to run on every start."""
    marks = tmp_path / "marks"
    sandbox = Sandbox(native_threads=1, children=2)
    try:
        sandbox.warm(_mark, str(marks))
        sandbox.warm(_mark, str(marks))
        sandbox.run_each(30.0, _pid_after, [(0.0,), (0.0,)])  # queued behind the preparations
        pids = marks.read_text().split()
        assert len(pids) == 2
        assert len(set(pids)) == 2
    finally:
        sandbox.close()


def _refuse(value: int) -> int:
    raise ValueError(f"no {value}")


def test_independent_calls_run_at_once_in_separate_children() -> None:
    """A submission's two sides are checked side by side: the wait is the longer call's."""
    sandbox = Sandbox(native_threads=1, children=2)
    try:
        sandbox.run_each(30.0, _pid_after, [(0.0,), (0.0,)])  # both children started
        started = time.perf_counter()
        first, second = sandbox.run_each(30.0, _pid_after, [(1.0,), (1.0,)])
        elapsed = time.perf_counter() - started
        assert isinstance(first, int)
        assert isinstance(second, int)
        assert first != second
        assert os.getpid() not in (first, second)
        assert elapsed < 1.7, elapsed  # one after the other takes 2 s
        # more calls than children: in turns, results still in order
        assert [type(r) for r in sandbox.run_each(30.0, _pid_after, [(0.0,)] * 3)] == [int] * 3
    finally:
        sandbox.close()


def test_calls_from_two_threads_take_whichever_child_is_free() -> None:
    """A worker handling two submissions at once: the second one's sides start as soon as a
    child is free, not after the first submission's slower side (lock-step: 1.5 + 0.2 s)."""
    sandbox = Sandbox(native_threads=1, children=2)
    try:
        sandbox.run_each(30.0, _pid_after, [(0.0,), (0.0,)])  # both children started
        with ThreadPoolExecutor(2) as handlers:
            started = time.perf_counter()
            slow = handlers.submit(sandbox.run_each, 30.0, _pid_after, [(1.5,), (0.2,)])
            time.sleep(0.05)  # the first submission takes both children
            quick = handlers.submit(sandbox.run_each, 30.0, _pid_after, [(0.2,), (0.2,)])
            quick_done = [type(r) for r in quick.result()]
            quick_s = time.perf_counter() - started
            assert [type(r) for r in slow.result()] == [int, int]
        assert quick_done == [int, int]
        assert 0.5 < quick_s < 1.3, quick_s  # both in the child freed at 0.2 s, in turn: 0.6
    finally:
        sandbox.close()


def test_a_call_past_its_limit_does_not_cost_its_neighbour_its_result() -> None:
    sandbox = Sandbox(native_threads=1, children=2)
    try:
        stalled, served = sandbox.run_each(1.0, _pid_after, [(30.0,), (0.0,)])
        assert isinstance(stalled, SandboxTimeout)
        assert isinstance(served, int)
        assert isinstance(sandbox.run(30.0, _pid_after, 0.0), int)  # the killed child replaced
        with pytest.raises(SandboxTimeout):
            sandbox.run(0.5, _pid_after, 30.0)
        with pytest.raises(ValueError, match="no 7"):  # the function's own error propagates
            sandbox.run_each(30.0, _refuse, [(7,), (8,)])
        assert isinstance(sandbox.run(30.0, _pid_after, 0.0), int)
    finally:
        sandbox.close()


def _die() -> None:
    os._exit(3)  # as a decoder's segmentation fault or the kernel's OOM killer would end it


def _exhaust() -> bytes:
    return bytes(8 << 30)  # past the child's address-space limit


def _unpicklable() -> object:
    return lambda: None


def test_a_child_that_dies_is_a_crash_at_once_and_is_replaced() -> None:
    """Not a wait until the time limit: the pipe's end closes as the child dies."""
    sandbox = Sandbox(native_threads=1)
    try:
        before = sandbox.run(30.0, _pid_after, 0.0)
        started = time.perf_counter()
        with pytest.raises(SandboxCrashed, match="died"):
            sandbox.run(30.0, _die)
        assert time.perf_counter() - started < 5.0
        after = sandbox.run(30.0, _pid_after, 0.0)
        assert after != before
    finally:
        sandbox.close()


def test_memory_past_the_limit_and_an_unsendable_result_are_crashes_not_lost_workers() -> None:
    sandbox = Sandbox(memory_bytes=1 << 30, native_threads=1)
    try:
        before = sandbox.run(30.0, _pid_after, 0.0)
        with pytest.raises(SandboxCrashed, match="memory"):
            sandbox.run(30.0, _exhaust)
        replaced = sandbox.run(30.0, _pid_after, 0.0)
        assert replaced != before
        with pytest.raises(SandboxCrashed, match="not sendable"):
            sandbox.run(30.0, _unpicklable)
        assert isinstance(sandbox.run(30.0, _pid_after, 0.0), int)
    finally:
        sandbox.close()


def _faults_per_image(images: int = 20) -> float:
    """Minor page faults per 'image': a decode-sized buffer and three working copies, made,
    touched and freed, as a check of one side does."""
    import resource

    import numpy as np

    def one_image() -> None:
        decoded = np.ones((490, 700, 3), np.uint8)  # a 1,400-px photo at half scale
        copies = [decoded[..., 0] + 1, decoded[..., 1] * 2, decoded.astype(np.int16)]
        del decoded, copies

    one_image()  # the first one may grow the heap
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(images):
        one_image()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / images


def test_a_child_reuses_image_buffers_instead_of_faulting_in_fresh_pages() -> None:
    """glibc maps every buffer over 128 KB afresh: each image's pages were zeroed and faulted
    in again (~5 % of a side's CPU). A child keeps image-sized buffers in its heap."""
    baseline = subprocess.run(
        [sys.executable, "-c", f"from {__name__} import _faults_per_image as f; print(f())"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    sandbox = Sandbox(native_threads=1)
    try:
        in_child = sandbox.run(30.0, _faults_per_image)
    finally:
        sandbox.close()
    fresh = float(baseline.stdout)  # ~38 here: the copies' pages, zeroed anew each image
    assert fresh > 10
    assert in_child * 10 < fresh
