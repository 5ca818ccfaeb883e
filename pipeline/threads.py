"""Native resources of CPU-bound workers: one thread each (scale with processes), and
memory handed back after each batch.

OpenCV and Tesseract (OpenMP) would otherwise each start a pool per process, and several
worker processes on a 2-core machine would fight over the cores.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache


def limit_native_threads(threads: int) -> None:
    os.environ["OMP_THREAD_LIMIT"] = str(threads)  # read by tesseract when it starts
    import cv2

    cv2.setNumThreads(threads)


def release_native_memory() -> None:
    """Hand freed heap memory back to the OS (glibc keeps it otherwise, and a worker that
    decodes 12-MP photos would ratchet its RSS up one document at a time)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, looked up once: `find_library` runs `ldconfig -p` in a child
    process (~1.3 ms), which every batch of a CPU-bound worker paid before."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None:
        return None
    trim: Callable[[int], int] | None = getattr(ctypes.CDLL(name), "malloc_trim", None)
    return trim
