"""Native resources of CPU-bound workers: one thread each (scale with processes), memory
handed back after each batch, and image buffers reused inside a sandbox child.

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
    trim = _libc_function("malloc_trim")
    if trim is not None:
        trim(0)


#: glibc's `mallopt` parameters (malloc.h) and what a sandbox child sets them to.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
HEAP_BUFFERS_UP_TO = 32 << 20  # glibc's largest heap threshold; larger buffers are mapped
HEAP_KEPT_FREE = 64 << 20


def reuse_freed_memory() -> None:
    """Serve image-sized buffers from the heap and keep them there once freed.

    glibc maps every buffer over 128 KB afresh and unmaps it when freed, so each image a
    child checked was decoded and copied into new pages that the kernel zeroed and faulted in
    again (~180 faults a side: ~5 % of its CPU). Buffers up to 32 MB now come from the heap,
    which keeps up to 64 MB free for the next call; larger ones (a 12-MP photo decoded whole)
    are still mapped and handed back at once.
    """
    mallopt = _libc_function("mallopt")
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, HEAP_BUFFERS_UP_TO)
        mallopt(_M_TRIM_THRESHOLD, HEAP_KEPT_FREE)


@cache
def _libc_function(name: str) -> Callable[..., int] | None:
    """A glibc function (None elsewhere), looked up once: `find_library` runs `ldconfig -p`
    in a child process (~1.3 ms), which every batch of a CPU-bound worker paid before."""
    import ctypes
    import ctypes.util

    library = ctypes.util.find_library("c")
    if library is None:
        return None
    function: Callable[..., int] | None = getattr(ctypes.CDLL(library), name, None)
    return function
