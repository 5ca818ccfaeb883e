"""Native resources of CPU-bound workers: one thread each (scale with processes), and
memory handed back after each batch.

OpenCV and Tesseract (OpenMP) would otherwise each start a pool per process, and several
worker processes on a 2-core machine would fight over the cores.
"""

from __future__ import annotations

import os


def limit_native_threads(threads: int) -> None:
    os.environ["OMP_THREAD_LIMIT"] = str(threads)  # read by tesseract when it starts
    import cv2

    cv2.setNumThreads(threads)


def release_native_memory() -> None:
    """Hand freed heap memory back to the OS (glibc keeps it otherwise, and a worker that
    decodes 12-MP photos would ratchet its RSS up one document at a time)."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None:
        return
    libc = ctypes.CDLL(name)
    trim = getattr(libc, "malloc_trim", None)
    if trim is not None:
        trim(0)
