"""The sandbox's child process, where customer files are decoded, keeps the worker's limits."""

from __future__ import annotations

import os

import cv2

from pipeline.sandbox import Sandbox


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
