"""Native thread pools for CPU-bound workers: one thread each, scale with processes.

OpenCV and Tesseract (OpenMP) would otherwise each start a pool per process, and several
worker processes on a 2-core machine would fight over the cores.
"""

from __future__ import annotations

import os


def limit_native_threads(threads: int) -> None:
    os.environ["OMP_THREAD_LIMIT"] = str(threads)  # read by tesseract when it starts
    import cv2

    cv2.setNumThreads(threads)
