"""Hard limits for work on hostile bytes: a child process with a wall-clock and memory bound.

Decoding a customer's file (a progressive-JPEG "scan bomb", a PDF built to loop, a TIFF with a
huge strip) can take minutes or gigabytes inside C libraries that no Python timeout reaches.
Such work runs here in one long-lived child process (started by the forkserver, so it holds no
copy of the worker's Kafka threads or sockets), with an address-space limit; when a call passes
its wall-clock limit, the child is killed and replaced and the caller gets `SandboxTimeout` to
turn into a finding. The child keeps its imports and loaded models between calls, so the cost
per call is one pickle of the arguments each way.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import multiprocessing.pool
import resource
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

__all__ = ["Sandbox", "SandboxCrashed", "SandboxTimeout", "shared_sandbox"]

T = TypeVar("T")
log = logging.getLogger(__name__)


class SandboxTimeout(Exception):
    """The call passed its wall-clock limit; the child that ran it was killed."""


class SandboxCrashed(Exception):
    """The child ran out of memory or died while running the call."""


def _limit_child(memory_bytes: int, native_threads: int) -> None:
    if memory_bytes > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    if native_threads > 0:
        # The worker's thread budget must hold where the pixels are worked on: a forkserver
        # child starts with OpenCV's default (one thread per core), not the worker's setting.
        from pipeline.threads import limit_native_threads

        limit_native_threads(native_threads)


class Sandbox:
    """Runs picklable functions in a bounded child process, one call at a time."""

    def __init__(self, memory_bytes: int = 2 << 30, native_threads: int = 0) -> None:
        """`native_threads`: OpenCV / OpenMP threads in the child (0: the libraries' default)."""
        self._memory_bytes = memory_bytes
        self._native_threads = native_threads
        self._pool: multiprocessing.pool.Pool | None = None
        self._lock = threading.Lock()

    def run(self, timeout_s: float, fn: Callable[..., T], *args: Any) -> T:
        with self._lock:
            pool = self._ensure_pool()
            pending = pool.apply_async(fn, args)
            try:
                return pending.get(timeout_s)
            except multiprocessing.TimeoutError:
                log.warning("sandbox: %s passed %.1f s; child killed", fn.__name__, timeout_s)
                self._kill()
                raise SandboxTimeout(f"{fn.__name__} took longer than {timeout_s} s") from None
            except MemoryError:
                log.warning("sandbox: %s ran out of memory", fn.__name__)
                self._kill()  # a child that hit its limit may be in a bad state
                raise SandboxCrashed(f"{fn.__name__} ran out of memory") from None

    def close(self) -> None:
        with self._lock:
            self._kill()

    def _ensure_pool(self) -> multiprocessing.pool.Pool:
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            self._pool = context.Pool(
                1, initializer=_limit_child, initargs=(self._memory_bytes, self._native_threads)
            )
        return self._pool

    def _kill(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None


@lru_cache(maxsize=4)
def shared_sandbox(memory_bytes: int, native_threads: int = 0) -> Sandbox:
    """One sandbox per worker process and limits (the child is reused across calls)."""
    sandbox = Sandbox(memory_bytes, native_threads)
    atexit.register(sandbox.close)
    return sandbox
