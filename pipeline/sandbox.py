"""Hard limits for work on hostile bytes: child processes with a wall-clock and memory bound.

Decoding a customer's file (a progressive-JPEG "scan bomb", a PDF built to loop, a TIFF with a
huge strip) can take minutes or gigabytes inside C libraries that no Python timeout reaches.
Such work runs here in long-lived child processes (started by the forkserver, so they hold no
copy of the worker's Kafka threads or sockets), each with an address-space limit; when a call
passes its wall-clock limit, its child is killed and replaced and the caller gets
`SandboxTimeout` to turn into a finding. Children keep their imports and loaded models between
calls, so the cost per call is one pickle of the arguments each way. A sandbox with several
children runs independent calls at once (`run_each`: a submission's two sides on two cores),
each in whichever child is free.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import queue
import resource
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

from pipeline.threads import limit_native_threads, reuse_freed_memory

__all__ = ["Sandbox", "SandboxCrashed", "SandboxFailure", "SandboxTimeout", "shared_sandbox"]

T = TypeVar("T")
log = logging.getLogger(__name__)


class SandboxFailure(Exception):
    """The call could not finish within the sandbox's limits."""


class SandboxTimeout(SandboxFailure):
    """The call passed its wall-clock limit; the child that ran it was killed."""


class SandboxCrashed(SandboxFailure):
    """The child ran out of memory or died while running the call."""


#: Work a child does as it starts, before its first call: (function, arguments).
Preparation = tuple[Callable[..., Any], tuple[Any, ...]]


def _start_child(
    memory_bytes: int, native_threads: int, preparations: tuple[Preparation, ...]
) -> None:
    if memory_bytes > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    reuse_freed_memory()  # a child works on one image after another: keep their buffers
    if native_threads > 0:
        # The worker's thread budget must hold where the pixels are worked on: a forkserver
        # child starts with OpenCV's default (one thread per core), not the worker's setting.
        limit_native_threads(native_threads)
    for fn, args in preparations:
        _prepare(fn, *args)


def _prepare(fn: Callable[..., Any], *args: Any) -> None:
    """A preparation that fails costs the first call its time, nothing more: that call meets
    (and reports) whatever is wrong itself."""
    try:
        fn(*args)
    except Exception as exc:
        log.warning("sandbox: preparing a child failed (%s)", type(exc).__name__)


def _serve(
    connection: Connection,
    memory_bytes: int,
    native_threads: int,
    preparations: tuple[Preparation, ...],
) -> None:
    """The child's loop: one call at a time from the pipe, its result or exception back."""
    _start_child(memory_bytes, native_threads, preparations)
    while True:
        try:
            kind, fn, args = connection.recv()
        except EOFError:  # the worker closed its end: nothing more to do
            return
        if kind == "prepare":
            _prepare(fn, *args)
            continue
        try:
            reply: tuple[str, Any] = ("returned", fn(*args))
        except BaseException as exc:  # the caller raises it (or, for MemoryError, replaces us)
            reply = ("raised", exc)
        try:
            connection.send(reply)
        except Exception as exc:  # a result or exception that does not pickle
            connection.send(("raised", SandboxCrashed(f"reply not sendable: {type(exc).__name__}")))


class _Child:
    """One bounded child process, started on first use and replaced after a failure.

    A plain process and a pipe, driven by the calling thread itself: a call is one pickle
    each way. (A one-process `multiprocessing.Pool` did the same through three helper threads
    of its own, which woke for every call and took a fifth of the quality worker's Python time;
    and when its child died the call only ended at its time limit.)"""

    def __init__(self, memory_bytes: int, native_threads: int) -> None:
        self._limits = (memory_bytes, native_threads)
        self._preparations: list[Preparation] = []
        self._process: BaseProcess | None = None
        self._connection: Connection | None = None
        self._sending = threading.Lock()  # `prepare` may write while a call waits for its reply

    def call(
        self, fn: Callable[..., T], args: Sequence[Any], deadline: float, limit: float
    ) -> T | SandboxFailure:
        """`fn(*args)` here, or the failure it became; exceptions `fn` raised propagate."""
        connection = self._running()
        name = fn.__name__
        with self._sending:
            connection.send(("call", fn, tuple(args)))
        try:
            if not connection.poll(max(0.0, deadline - time.monotonic())):
                log.warning("sandbox: %s passed %.1f s; child killed", name, limit)
                self._replace()
                return SandboxTimeout(f"{name} took longer than {limit} s")
            kind, value = connection.recv()
        except (EOFError, OSError):
            log.warning("sandbox: the child running %s died", name)
            self._replace()
            return SandboxCrashed(f"the child running {name} died")
        if kind == "returned":
            return value  # type: ignore[no-any-return]
        if isinstance(value, MemoryError):
            value = SandboxCrashed(f"{name} ran out of memory")
        if isinstance(value, SandboxCrashed):
            log.warning("sandbox: %s: %s; child replaced", name, value)
            self._replace()  # a child that hit its limit may be in a bad state
            return value
        raise value

    def prepare(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        """Run `fn(*args)` in this child now (starting it) and in every child that replaces it;
        once per function (a process that wires a stage again, as tests do, adds nothing)."""
        if any(prepared is fn for prepared, _ in self._preparations):
            return
        if self._connection is not None:
            with self._sending:
                self._connection.send(("prepare", fn, args))
        self._preparations.append((fn, args))
        self._running()

    def _running(self) -> Connection:
        if self._connection is None:  # set together with `_process`
            context = multiprocessing.get_context("forkserver")
            ours, theirs = context.Pipe()
            process = context.Process(
                target=_serve,
                args=(theirs, *self._limits, tuple(self._preparations)),
                name="sandbox-child",
                daemon=True,
            )
            process.start()
            theirs.close()
            self._process, self._connection = process, ours
        return self._connection

    def _replace(self) -> None:
        """Kill the child; a prepared one is replaced at once, to be ready for the next call."""
        self.kill()
        if self._preparations:
            self._running()

    def kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join()
            self._process = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class Sandbox:
    """Runs picklable functions in bounded child processes, one call per child at a time.

    Each call takes whichever child is free: calls from several threads (a worker handling
    two records at once) share the children without waiting for each other's slowest call,
    so a child that finished a submission's quicker side starts the next one's at once."""

    def __init__(
        self, memory_bytes: int = 2 << 30, native_threads: int = 0, children: int = 1
    ) -> None:
        """`native_threads`: OpenCV / OpenMP threads in each child (0: the libraries' default);
        `children`: how many calls run at once (each child is started on first use, so a
        stage that never runs calls side by side keeps one)."""
        if children < 1:
            raise ValueError("a sandbox needs at least one child")
        self._children = [_Child(memory_bytes, native_threads) for _ in range(children)]
        self._free: queue.SimpleQueue[_Child] = queue.SimpleQueue()
        for child in self._children:
            self._free.put(child)
        # One waiting thread per child: `run_each` hands its calls to them.
        self._callers = ThreadPoolExecutor(children, thread_name_prefix="sandbox")
        self._lock = threading.Lock()

    def warm(self, fn: Callable[..., Any], *args: Any) -> None:
        """Start every child now and run `fn(*args)` in it before any call, and again in every
        child that replaces one: a child's start, its imports and OpenCV's first-use tables
        took ~1.8 s, which the first event after every worker start waited for (and, in a
        burst, every event behind it). Does not wait; a call made meanwhile queues behind it.

        The forkserver imports `fn`'s module as well when it has not started yet, so each
        child forks with the stage's code loaded."""
        multiprocessing.get_context("forkserver").set_forkserver_preload([fn.__module__])
        with self._lock:
            for child in self._children:
                child.prepare(fn, args)

    def run(self, timeout_s: float, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a child; raises `SandboxTimeout` / `SandboxCrashed`."""
        outcome = self._call(timeout_s, fn, args)
        if isinstance(outcome, SandboxFailure):
            raise outcome
        return outcome

    def run_each(
        self, timeout_s: float, fn: Callable[..., T], calls: Sequence[Sequence[Any]]
    ) -> list[T | SandboxFailure]:
        """`fn(*args)` for every `args` in `calls`, as many at once as there are free
        children, each under `timeout_s` from its start; results in order, a call that
        failed its limits as the failure (so one hostile file does not cost its neighbour's
        result). An exception `fn` itself raised propagates once every call has finished."""
        if not calls:
            return []
        # The calling thread makes the last call itself: one thread hop fewer per call.
        *others, last = calls
        started = [self._callers.submit(self._call, timeout_s, fn, args) for args in others]
        outcomes: list[T | SandboxFailure] = []
        raised: BaseException | None = None
        last_raised: BaseException | None = None
        try:
            final = self._call(timeout_s, fn, last)
        except Exception as exc:  # fn's own error: raised once every call has ended
            last_raised = exc
        for pending in started:
            try:
                outcomes.append(pending.result())
            except Exception as exc:
                raised = raised or exc  # the first call's error, in the calls' order
        raised = raised or last_raised
        if raised is not None:
            raise raised
        outcomes.append(final)
        return outcomes

    def _call(
        self, timeout_s: float, fn: Callable[..., T], args: Sequence[Any]
    ) -> T | SandboxFailure:
        child = self._free.get()
        try:
            deadline = time.monotonic() + timeout_s
            return child.call(fn, args, deadline, timeout_s)
        finally:
            self._free.put(child)

    def close(self) -> None:
        with self._lock:
            for child in self._children:
                child.kill()


@lru_cache(maxsize=4)
def shared_sandbox(memory_bytes: int, native_threads: int = 0, children: int = 1) -> Sandbox:
    """One sandbox per worker process and limits (the children are reused across calls)."""
    sandbox = Sandbox(memory_bytes, native_threads, children)
    atexit.register(sandbox.close)
    return sandbox
